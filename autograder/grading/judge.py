"""Stage 4, judge: decide every test cell's points from the values the sandbox returned, never from its outputs.

A test cell gets its points when it ran to the end without an error (its visible asserts passed) and every
hidden check in it matched the reference on every case (``autograder.grading.checking.compare``, or the spec's own
``compare``). Otherwise it gets 0 and a reason (``autograder.reasons.Reason``: a code and its parameters, worded
only by the reports) that names the case, never the expected values. Notes on the run are reasons too.
"""
from __future__ import annotations

from dataclasses import dataclass

from autograder.grading import sandbox
from autograder.grading.cases import compare, describe
from autograder.grading.probe import wire
from autograder.reasons import R, Reason, from_sandbox, is_code, load
from autograder.grading.collect import Submission
from autograder.grading.prepare import Assignment, FunctionCases


@dataclass
class StudentResult:
    student: str
    scores: dict            # grade_id -> points obtained
    reasons: dict           # grade_id -> Reason (absent when full marks); a plain string in an old stored result
    notes: list             # Reasons: anything unusual (goes to the log; student-facing ones to feedback)
    review: bool            # needs a human look
    cells: list             # merged cells with their outputs, for feedback
    seconds: float
    key: str
    language: str = "en"    # the release the student worked in: "en" or "zh_CN" (feedback is written in it)
    origin: str = ""        # where the submission was found (shown in the log)

    def __post_init__(self):
        # A stored result (``dataclasses.asdict``) holds its reasons as dicts: back to Reasons; strings stay.
        self.reasons = {g: load(r) for g, r in self.reasons.items()}
        self.notes = [load(n) for n in self.notes]

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


def _test_error(record: dict) -> tuple[str, Reason]:
    """A test cell's error when its process sent no ``cell`` frame, from the supervisor's record of how it ended:
    the kind (the prefix of the cell's error, as a Python exception would give it) and the reason."""
    status = record.get("status")
    if status == "timeout":
        return "CellTimeout", R("test_process_timeout", seconds=float(record.get("budget", 0)))
    if status == "signal":
        return "Crash", R("test_process_signal", signal=str(record.get("code")))
    if status == "fork":
        return "ProcessLimit", R("test_process_fork", detail=str(record.get("detail"))[:80])
    return "Exit", R("test_process_exit", status=str(record.get("code")))


@dataclass
class Streams:
    """The frames of one run in the notebook's order, put together from the sandbox's channels."""

    frames: list            # (header, payload), as if one process had run every cell in order
    corrupted: str | None   # the first malformed frame of the notebook's own channel (or the supervisor's)
    stopped: dict | None    # the supervisor stopped the notebook: {"why": "hung" | "timeout", "index": ...}
    done: bool              # the notebook ran to its end
    guards: dict            # test cell index -> why a correct implementation of its function was within reach
    ended: dict = None      # test cell index -> how the supervisor saw its process end (a Reason), if it sent no result


def assemble(run: sandbox.RunOutput, code: list[dict]) -> Streams:
    """Put the channels of a run together (``runner.Zygote``): the supervisor's control channel, the ``main``
    channel of the process that ran every cell but the tests, and each test cell's own channel.

    A frame counts only where it belongs: on ``main``, the frames of a non-test cell between its ``start`` and
    the next one; on a test cell's channel, its ``result``, ``function`` and ``cell`` frames, for that cell only.
    So no process can speak for a cell it did not run. A test cell's frames come in at its place in the notebook,
    if the supervisor ran it (the notebook reached it).
    """
    control, c_problem = _parse_channel(run.channel)
    tests = {h["index"]: h for h, _ in control if h.get("kind") == "test" and isinstance(h.get("index"), int)}
    stopped = next((h for h, _ in control if h.get("kind") == "stopped"), None)
    done = any(h.get("kind") == "done" for h, _ in control)
    main, corrupted = _parse_channel(run.streams.get("main", b""))
    is_test = {i for i, c in enumerate(code) if c["role"] == "test"}
    groups: dict[int, list] = {}
    current = None
    for header, payload in main:
        kind, index = header.get("kind"), header.get("index")
        if kind == "start":
            current = index if isinstance(index, int) and 0 <= index < len(code) and index not in is_test else None
            if current is not None:
                groups.setdefault(current, []).append((header, payload))
        elif current is not None and kind in ("cell", "result", "function") and (kind != "cell" or index == current):
            groups[current].append((header, payload))
    last = max(groups) if groups else -1
    frames, guards, ended = [], {}, {}
    for j in range(len(code)):
        if corrupted and j > last:
            break  # nothing after the point where the notebook's channel went bad counts, as in one process
        if j not in is_test:
            frames.extend(groups.get(j, []))
            continue
        record = tests.get(j)
        if record is None:
            continue
        frames.append(({"kind": "start", "index": j}, b""))
        got, _ = _parse_channel(run.streams.get(str(j), b""))  # a test's own garbage ends only its own frames
        finished = False
        for header, payload in got:
            kind = header.get("kind")
            if kind in ("result", "function"):
                frames.append((header, payload))
            elif kind == "cell" and header.get("index") == j and not finished:
                frames.append((header, payload))
                finished = True
            elif kind == "guard" and j not in guards:
                guards[j] = str(header.get("detail"))[:300]
        if not finished:
            kind, why = _test_error(record)
            ended[j] = R("process_ended", kind=kind, why=why)
            frames.append(({"kind": "cell", "index": j, "error": f"{kind}: {why}"}, b""))
    return Streams(frames, corrupted or c_problem, stopped, done, guards, ended)


def judge_function(fc: FunctionCases, record: dict | None, results: dict) -> Reason | None:
    """Compare one function's returned values with the reference: None, or the first problem."""
    status = (record or {}).get("status")
    name = fc.name
    if status == "not-callable":
        return R("not_function", name=name, got=str(record.get("detail"))[:40])
    for i, case in enumerate(fc.cases):
        args = ", ".join([describe(a) for a in case.args] + [f"{k}={describe(v)}" for k, v in case.kwargs.items()])
        got = results.get(i)
        if got is None:
            if status == "timeout":
                problem = R("case_timeout", seconds=float(record.get("detail", 0)))
            elif status == "crashed":
                problem = R("case_crashed", detail=str(record.get("detail"))[:80])
            else:
                problem = R("no_result")
            return R("on_case", name=name, label=case.label, call=f"{name}({args})", problem=problem)
        header, payload = got
        if "error" in header:
            problem = from_sandbox(header["error"])
        else:
            try:
                value = wire.decode(header.get("value"), wire.unpack_arrays(payload))
            except Exception as exc:  # noqa: BLE001 - anything malformed is the submission's problem
                value, problem = None, R("unreadable_value", type=type(exc).__name__)
            else:
                problem = None
            if problem is None and header.get("modified"):
                problem = R("modified_input")
            if problem is None:
                try:
                    if fc.spec.compare is not None:
                        problem = fc.spec.compare(value, case, fc.expected[i])
                    else:
                        problem = compare(value, fc.expected[i], fc.spec.rtol, fc.spec.atol)
                except Exception as exc:  # noqa: BLE001
                    problem = R("not_comparable", type=type(exc).__name__, message=str(exc)[:100])
        if problem:
            return R("on_case", name=name, label=case.label, call=f"{name}({args})", problem=problem)
    return None


def judge(student: str, merged: list[dict], run: sandbox.RunOutput, functions: dict, limits: sandbox.Limits,
          notes: list, key: str) -> StudentResult:
    code = [c for c in merged if c["kind"] == "code"]
    streams = assemble(run, code)
    frames, corrupted = streams.frames, streams.corrupted
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
                    notes.append(R("hidden_cases_timeout", function=str(header.get("function"))))
                    review = True
                elif header.get("status") == "crashed":
                    notes.append(R("function_crashed", function=str(header.get("function")),
                                   detail=str(header.get("detail"))))
    done = streams.done and not corrupted  # as in one process: nothing after a corrupted frame counts, not even the end
    if corrupted:
        notes.append(R("channel_corrupted", detail=str(corrupted)))
        review = True
    if run.channel_overflow:
        notes.append(R("channel_overflow", mb=limits.channel_mb))
        review = True
    notes.extend(run.notes)
    last = started[-1] if started else None
    oom = any(is_code(n, "sandbox_memory") for n in run.notes)
    if done:
        stop = None
    elif oom:
        stop = R("out_of_memory", mb=limits.total_memory_mb)
    elif corrupted:
        stop = R("corrupted_results")
    elif streams.stopped and streams.stopped.get("why") == "hung":
        stop = R("cell_hung", seconds=float(limits.cell_timeout))
    elif run.timed_out or streams.stopped:
        stop = R("notebook_timeout", seconds=float(limits.notebook_timeout))
    elif not started:
        stop = R("not_started")
    elif run.returncode is not None and run.returncode < 0:
        stop = R("killed_signal", signal=-run.returncode)
    elif run.returncode and run.returncode > 128:
        stop = R("killed_resources", signal=run.returncode - 128)
    else:
        stop = R("process_exit", status=str(run.returncode))
    if stop:
        if last is not None and last < len(code):
            notes.append(R("stopped_at", stop=stop, cell=last + 1, role=_role(code[last])))
        else:
            notes.append(stop)
        review = True
        if not started:
            notes.append(R("sandbox_stderr", text=run.stderr.decode(errors="replace")[-500:]))
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
                notes.append(R("test_note", grade_id=cell["grade_id"],
                               reason=streams.ended.get(index) or str(info.get("error"))))
            if str(info.get("error") or "").startswith("CellTimeout"):
                # A hanging cell costs its time limit and maybe points a human should check: flagged.
                notes.append(R("cell_timeout", cell=index + 1, role=_role(cell), seconds=float(limits.cell_timeout)))
                review = True
            for stream in ("stdout", "stderr"):
                total = info.get(f"{stream}_total", 0)
                if isinstance(total, int) and total > limits.output_limit:
                    notes.append(R("output_cut", cell=index + 1, total=total, stream=stream, limit=limits.output_limit))
        if cell["role"] != "test":
            continue
        gid = cell["grade_id"]
        reason = None
        if index in streams.guards:
            # The grader's isolation failed (a stand-in of the graded function was within reach): no automatic
            # score can be trusted, so 0 and a human look.
            names = ", ".join(sorted({f for a, f in cell["checks"]}))
            reason = R("guard", names=names, detail=streams.guards[index])
            notes.append(R("test_note", grade_id=gid, reason=reason))
            review = True
        elif index not in started:
            reason = R("test_not_run", why=stop or R("stopped_before"))
        elif info is None:
            reason = R("test_not_finished", why=stop or R("stopped_in"))
        else:
            for a, f in cell["checks"]:
                slot = calls.get(index, {}).get((a, f))
                if slot is None or slot["record"] is None and not slot["results"]:
                    error = str(info.get("error") or "")
                    if error.startswith("NotImplementedError"):
                        reason = R("not_answered")
                    elif error.startswith("CellTimeout"):
                        reason = R("test_time_limit", seconds=float(limits.cell_timeout))
                    elif error:
                        reason = R("failed_before_hidden", error=streams.ended.get(index) or error)
                    else:
                        reason = R("hidden_not_run", function=f)
                    break
                reason = judge_function(functions[(a, f)], slot["record"], slot["results"])
                if reason:
                    break
            if reason is None and info.get("error"):
                reason = R("test_raised", error=str(info.get("error")))
        scores[gid] = 0.0 if reason else float(cell["points"])
        if reason:
            reasons[gid] = reason
    return StudentResult(student, scores, reasons, notes, review, merged, run.seconds, key)


def _role(cell: dict) -> Reason:
    """What a code cell is, for a note: "your answer", "test cosine-tests", ..."""
    role = R(f"role_{cell['role']}")
    return R("role_named", role=role, grade_id=cell["grade_id"]) if cell.get("grade_id") else role


def failed_result(assignment: Assignment, sub: Submission, reason: Reason | str, key: str) -> StudentResult:
    scores = {c.grade_id: 0.0 for c in assignment.tests}
    reasons = {c.grade_id: reason for c in assignment.tests}
    return StudentResult(sub.student, scores, reasons, sub.notes + [reason], True, [], 0.0, key, origin=sub.origin)
