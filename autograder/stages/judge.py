"""Stage 4, judge: decide every test cell's points from the values the sandbox returned, never from its outputs.

A test cell gets its points when it ran to the end without an error (its visible asserts passed) and every
hidden check in it matched the reference on every case (``autograder.checking.compare``, or the spec's own
``compare``). Otherwise it gets 0 and a readable reason that names the case, never the expected values.
"""
from __future__ import annotations

from dataclasses import dataclass

from autograder import sandbox
from autograder.checking import compare, describe
from autograder.probe import wire
from autograder.stages.collect import Submission
from autograder.stages.prepare import Assignment, FunctionCases


@dataclass
class StudentResult:
    student: str
    scores: dict            # grade_id -> points obtained
    reasons: dict           # grade_id -> readable reason (absent when full marks)
    notes: list             # anything unusual (goes to the log; student-facing ones to feedback)
    review: bool            # needs a human look
    cells: list             # merged cells with their outputs, for feedback
    seconds: float
    key: str
    language: str = "en"    # the release the student worked in: "en" or "zh_CN" (feedback is written in it)
    origin: str = ""        # where the submission was found (shown in the log)

    @property
    def total(self) -> float:
        return float(sum(self.scores.values()))


def _parse_channel(data: bytes):
    frames, problem = [], None
    try:
        for header, payload in wire.read_frames(data):
            frames.append((header, payload))
    except wire.WireError as exc:
        problem = str(exc)
    return frames, problem


def judge_function(fc: FunctionCases, record: dict | None, results: dict) -> str | None:
    """Compare one function's returned values with the reference: None, or the first problem."""
    status = (record or {}).get("status")
    name = fc.name
    if status == "not-callable":
        return f"{name} should be a function, got {str(record.get('detail'))[:40]}"
    for i, case in enumerate(fc.cases):
        args = ", ".join([describe(a) for a in case.args] + [f"{k}={describe(v)}" for k, v in case.kwargs.items()])
        where = f"{name}: on the hidden case '{case.label}' ({name}({args}))"
        got = results.get(i)
        if got is None:
            if status == "timeout":
                return f"{where}: did not finish within {float(record.get('detail', 0)):g} s (the time limit of a function's hidden cases)"
            if status == "crashed":
                return f"{where}: the function stopped the process ({str(record.get('detail'))[:80]})"
            return f"{where}: no result came back"
        header, payload = got
        if "error" in header:
            problem = str(header["error"])[:300]
        else:
            try:
                value = wire.decode(header.get("value"), wire.unpack_arrays(payload))
            except Exception as exc:  # noqa: BLE001 - anything malformed is the submission's problem
                value, problem = None, f"returned a value the grader could not read ({type(exc).__name__})"
            else:
                problem = None
            if problem is None and header.get("modified"):
                problem = "modified its input arrays in place (it must leave them unchanged)"
            if problem is None:
                try:
                    if fc.spec.compare is not None:
                        problem = fc.spec.compare(value, case, fc.expected[i])
                    else:
                        problem = compare(value, fc.expected[i], fc.spec.rtol, fc.spec.atol)
                except Exception as exc:  # noqa: BLE001
                    problem = f"returned a value that could not be compared ({type(exc).__name__}: {str(exc)[:100]})"
        if problem:
            return f"{where}: {problem}"
    return None


def judge(student: str, merged: list[dict], run: sandbox.RunOutput, functions: dict, limits: sandbox.Limits,
          notes: list, key: str) -> StudentResult:
    code = [c for c in merged if c["kind"] == "code"]
    frames, corrupted = _parse_channel(run.channel)
    review = False
    cell_info, calls, started, done = {}, {}, [], False
    current = None
    for header, payload in frames:
        kind = header.get("kind")
        if kind == "start" and isinstance(header.get("index"), int):
            current = header["index"]
            started.append(current)
        elif kind == "cell" and isinstance(header.get("index"), int):
            cell_info[header["index"]] = header
        elif kind in ("result", "function"):
            slot = calls.setdefault(current, {}).setdefault((str(header.get("assignment")), str(header.get("function"))),
                                                            {"record": None, "results": {}})
            if kind == "result" and isinstance(header.get("case"), int):
                slot["results"].setdefault(header["case"], (header, payload))
            elif kind == "function":
                slot["record"] = header
                if header.get("status") == "timeout":
                    notes.append(f"{header.get('function')}: its hidden cases ran out of time")
                    review = True
                elif header.get("status") == "crashed":
                    notes.append(f"{header.get('function')}: the function stopped its process ({header.get('detail')})")
        elif kind == "done":
            done = True
    if corrupted:
        notes.append(f"the results channel was corrupted ({corrupted}); later results were ignored")
        review = True
    if run.channel_overflow:
        notes.append(f"the notebook sent more than {limits.channel_mb} MiB of results; it was stopped")
        review = True
    notes.extend(run.notes)
    last = started[-1] if started else None
    oom = any(n.startswith("the sandbox reached its memory limit") for n in run.notes)
    if done:
        stop = None
    elif oom:
        stop = f"the notebook used more memory than allowed ({limits.total_memory_mb} MB in all) and was killed"
    elif corrupted:
        stop = "the notebook corrupted its results (everything after that point was ignored)"
    elif run.timed_out:
        stop = f"the notebook ran out of time ({limits.notebook_timeout:g} s in all)"
    elif not started:
        stop = "the notebook could not be started"
    elif run.returncode is not None and run.returncode < 0:
        stop = f"the notebook's process was killed (signal {-run.returncode})"
    elif run.returncode and run.returncode > 128:
        stop = f"the notebook's process was killed (signal {run.returncode - 128}; memory, CPU time or a crash)"
    else:
        stop = f"the notebook's process ended (exit status {run.returncode}, e.g. os._exit or exit())"
    if stop:
        where = ""
        if last is not None and last < len(code):
            c = code[last]
            what = {"answer": "your answer", "extra": "a cell you added", "test": "test", "locked": "given code"}[c["role"]]
            where = f" while running code cell {last + 1} ({what}{' ' + c['grade_id'] if c.get('grade_id') else ''})"
        notes.append(stop + where)
        review = True
        if not started:
            notes.append("sandbox stderr: " + run.stderr.decode(errors="replace")[-500:])
    scores, reasons = {}, {}
    for index, cell in enumerate(code):
        info = cell_info.get(index)
        cell["ran"] = index in started
        if info:
            cell["error"] = info.get("error")
            cell["stdout"] = str(info.get("stdout", ""))
            cell["stderr"] = str(info.get("stderr", ""))
            cell["displays"] = info.get("displays") if isinstance(info.get("displays"), list) else []
            if cell["role"] == "test" and str(info.get("error") or "").startswith(("ProcessLimit", "Crash", "Exit")):
                notes.append(f"test {cell['grade_id']}: {info.get('error')}")
            if str(info.get("error") or "").startswith("CellTimeout"):
                # A hanging cell costs its time limit and maybe points a human should check: flagged.
                what = {"answer": "your answer", "extra": "a cell you added", "test": "test",
                        "locked": "given code"}[cell["role"]]
                notes.append(f"cell {index + 1} ({what}{' ' + cell['grade_id'] if cell.get('grade_id') else ''}) ran "
                             f"longer than its time limit ({limits.cell_timeout:g} s) and was interrupted")
                review = True
            for stream in ("stdout", "stderr"):
                total = info.get(f"{stream}_total", 0)
                if isinstance(total, int) and total > limits.output_limit:
                    notes.append(f"cell {index + 1} wrote {total} characters to {stream}; the first {limits.output_limit} were kept")
        if cell["role"] != "test":
            continue
        gid = cell["grade_id"]
        reason = None
        if index not in started:
            reason = f"this test did not run: {stop or 'the notebook stopped before it'}"
        elif info is None:
            reason = f"this test did not finish: {stop or 'the notebook stopped in it'}"
        else:
            for a, f in cell["checks"]:
                slot = calls.get(index, {}).get((a, f))
                if slot is None or slot["record"] is None and not slot["results"]:
                    error = str(info.get("error") or "")
                    if error.startswith("NotImplementedError"):
                        reason = "not answered yet (the function raised NotImplementedError)"
                    elif error.startswith("CellTimeout"):
                        reason = f"the test ran longer than its time limit ({limits.cell_timeout:g} s for the cell)"
                    elif error:
                        reason = f"the test failed before its hidden tests ran: {error}"
                    else:
                        reason = f"the hidden tests of {f} did not run"
                    break
                reason = judge_function(functions[(a, f)], slot["record"], slot["results"])
                if reason:
                    break
            if reason is None and info.get("error"):
                reason = f"the test cell raised {info.get('error')}"
        scores[gid] = 0.0 if reason else float(cell["points"])
        if reason:
            reasons[gid] = reason
    return StudentResult(student, scores, reasons, notes, review, merged, run.seconds, key)


def failed_result(assignment: Assignment, sub: Submission, reason: str, key: str) -> StudentResult:
    scores = {c.grade_id: 0.0 for c in assignment.tests}
    reasons = {c.grade_id: reason for c in assignment.tests}
    return StudentResult(sub.student, scores, reasons, sub.notes + [reason], True, [], 0.0, key, origin=sub.origin)
