"""Stage 4, judge: decide every test cell's points from the values the sandbox returned, never from its outputs.

A test cell gets its points when it ran to the end without an error (its visible asserts passed) and every
hidden check in it matched the reference on every case (``autograder.grading.cases.compare``, or the spec's own
``compare``). Otherwise it gets 0 and a reason (``autograder.reasons.Reason``: a code and its parameters, worded
only by the reports) that names the case, never the expected values. Notes on the run are reasons too.
"""
from __future__ import annotations

import base64
import binascii
import signal
from dataclasses import dataclass, field

from autograder import syntax_trees
from autograder.grading import sandbox
from autograder.grading.cases import compare, describe
from autograder.grading.probe import wire
from autograder.reasons import R, Reason, from_sandbox, is_code, load
from autograder.grading.submission import Submission
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


def _pending_check(got: list) -> dict | None:
    """The ``function`` frame of the hidden cases a test's process was running when it ended (``checking.check``
    sends one with the status ``running`` before the first case and another when the cases are done), or None."""
    pending = None
    for header, _ in got:
        if header.get("kind") == "function":
            pending = header if header.get("status") == "running" else None
    return pending


def _check_ended(pending: dict, record: dict, function_timeout: float, oom: bool = False) -> dict:
    """The record of a function whose hidden cases ended the test's process, from how the supervisor saw it end:
    out of time (killed by the probe's kill timer, ``checking.KillTimer``, a second after its limit, or stopped
    by the supervisor at the test's own), killed by another signal (a crash) or by the memory limit, or exited."""
    status = record.get("status")
    if status == "timeout" or (status == "signal" and record.get("code") == signal.SIGKILL and not oom):
        state, detail = "timeout", f"{function_timeout:g}"
    elif status == "signal":
        state, detail = "crashed", f"killed by signal {record.get('code')}"
    else:
        state, detail = "crashed", f"the process exited (status {record.get('code')})"
    return {"kind": "function", "assignment": pending.get("assignment"), "function": pending.get("function"),
            "status": state, "detail": detail}


@dataclass
class Streams:
    """The frames of one run in the notebook's order, put together from the sandbox's channels."""

    frames: list            # (header, payload), as if one process had run every cell in order
    corrupted: str | None   # the first malformed frame of the notebook's own channel (or the supervisor's)
    stopped: dict | None    # the supervisor stopped the notebook: {"why": "hung" | "timeout", "index": ...}
    done: bool              # the notebook ran to its end
    guards: dict            # test cell index -> why a correct implementation of its function was within reach
    ended: dict = None      # test cell index -> how the supervisor saw its process end (a Reason), if it sent no result


def assemble(run: sandbox.RunOutput, code: list[dict], function_timeout: float = 0.0) -> Streams:
    """Put the channels of a run together (``runner.Zygote``): the supervisor's control channel, the ``main``
    channel of the process that ran every cell but the tests, and each test cell's own channel.

    A frame counts only where it belongs: on ``main``, the frames of a non-test cell between its ``start`` and
    the next one; on a test cell's channel, its ``result``, ``function`` and ``cell`` frames, for that cell only.
    So no process can speak for a cell it did not run. A test cell's frames come in at its place in the notebook,
    if the supervisor ran it (the notebook reached it). A test's process that ended inside a function's hidden
    cases ends that function as it ended (``function_timeout``: the limit the function had, for the reason).
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
            pending = _pending_check(got)
            if pending is not None:  # the process ended inside a function's hidden cases: as that function ended
                oom = any(is_code(n, "sandbox_memory") for n in run.notes)
                frames.append((_check_ended(pending, record, function_timeout, oom), b""))
            kind, why = _test_error(record)
            ended[j] = R("process_ended", kind=kind, why=why)
            frames.append(({"kind": "cell", "index": j, "error": f"{kind}: {why}"}, b""))
    return Streams(frames, corrupted or c_problem, stopped, done, guards, ended)


def read_value(header: dict, payload: bytes):
    """The value a ``result`` frame says the function returned (raises on anything malformed)."""
    with syntax_trees.LOCK:  # numpy.load parses each array's header into a syntax tree
        arrays = wire.unpack_arrays(payload)
    return wire.decode(header.get("value"), arrays)


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
                value = read_value(header, payload)
            except SystemError:
                raise  # the interpreter's own error, never a malformed value: the grader failed (and asks for review)
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


@dataclass
class Seen:
    """What the frames of a run say, cell by cell: which cells started, how each ended, and each test cell's
    hidden checks (``(assignment, function)`` -> the function's record and its results by case)."""

    started: list = field(default_factory=list)   # indices of the code cells that started, in order
    finished: dict = field(default_factory=dict)  # code cell index -> its ``cell`` frame (how it ended)
    calls: dict = field(default_factory=dict)     # code cell index -> {(assignment, function): {"record", "results"}}


def read_frames(frames: list, notes: list) -> tuple[Seen, bool]:
    """The frames in order; a function that ran out of time or crashed is noted (the first asks for a human look)."""
    seen, review, current = Seen(), False, None
    for header, payload in frames:
        kind, index = header.get("kind"), header.get("index")
        if kind == "start" and isinstance(index, int):
            current = index
            seen.started.append(index)
        elif kind == "cell" and isinstance(index, int):
            seen.finished[index] = header
        elif kind in ("result", "function"):
            key = (str(header.get("assignment")), str(header.get("function")))
            slot = seen.calls.setdefault(current, {}).setdefault(key, {"record": None, "results": {}})
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
    return seen, review


def stop_reason(streams: Streams, run: sandbox.RunOutput, limits: sandbox.Limits, started: list) -> Reason | None:
    """Why the notebook did not run to its end (None if it did): as in one process, nothing after a corrupted
    frame counts, not even the end."""
    if streams.done and not streams.corrupted:
        return None
    if any(is_code(n, "sandbox_memory") for n in run.notes):
        return R("out_of_memory", mb=limits.total_memory_mb)
    if streams.corrupted:
        return R("corrupted_results")
    if streams.stopped and streams.stopped.get("why") == "hung":
        return R("cell_hung", seconds=float(limits.cell_timeout))
    if run.timed_out or streams.stopped:
        return R("notebook_timeout", seconds=float(limits.notebook_timeout))
    if not started:
        return R("not_started")
    if run.returncode is not None and run.returncode < 0:
        return R("killed_signal", signal=-run.returncode)
    if run.returncode and run.returncode > 128:
        return R("killed_resources", signal=run.returncode - 128)
    return R("process_exit", status=str(run.returncode))


def cell_outputs(cell: dict, index: int, info: dict | None, streams: Streams, limits: sandbox.Limits,
                 notes: list) -> bool:
    """Copy what a cell printed and displayed into it for the reports; note a test process that died, a cell that
    hung (which asks for a human look: returned True) and output cut at the limit."""
    if not info:
        return False
    error = str(info.get("error") or "")
    cell["error"] = info.get("error")
    cell["stdout"] = str(info.get("stdout", ""))
    cell["stderr"] = str(info.get("stderr", ""))
    cell["displays"] = info.get("displays") if isinstance(info.get("displays"), list) else []
    if cell["role"] == "test" and error.startswith(("ProcessLimit", "Crash", "Exit")):
        notes.append(R("test_note", grade_id=cell["grade_id"], reason=streams.ended.get(index) or error))
    hung = error.startswith("CellTimeout")
    if hung:  # a hanging cell costs its time limit and maybe points a human should check: flagged
        notes.append(R("cell_timeout", cell=index + 1, role=_role(cell), seconds=float(limits.cell_timeout)))
    for stream in ("stdout", "stderr"):
        total = info.get(f"{stream}_total", 0)
        if isinstance(total, int) and total > limits.output_limit:
            notes.append(R("output_cut", cell=index + 1, total=total, stream=stream, limit=limits.output_limit))
    return hung


def points_lost(cell: dict, index: int, seen: Seen, streams: Streams, stop: Reason | None, functions: dict,
                limits: sandbox.Limits) -> Reason | None:
    """Why a test cell gets no points (None: full points). It gets them when it ran to the end without an error
    and every hidden check in it matched on every case."""
    info = seen.finished.get(index)
    if index not in seen.started:
        return R("test_not_run", why=stop or R("stopped_before"))
    if info is None:
        return R("test_not_finished", why=stop or R("stopped_in"))
    error = str(info.get("error") or "")
    for a, f in cell["checks"]:
        slot = seen.calls.get(index, {}).get((a, f))
        if slot is None or slot["record"] is None and not slot["results"]:
            if error.startswith("NotImplementedError"):
                return R("not_answered")
            if error.startswith("CellTimeout"):
                return R("test_time_limit", seconds=float(limits.cell_timeout))
            if error:
                return R("failed_before_hidden", error=streams.ended.get(index) or error)
            return R("hidden_not_run", function=f)
        reason = judge_function(functions[(a, f)], slot["record"], slot["results"])
        if reason:
            return reason
    return R("test_raised", error=error) if error else None


def judge(student: str, merged: list[dict], run: sandbox.RunOutput, functions: dict, limits: sandbox.Limits,
          notes: list, key: str) -> StudentResult:
    """The result of one run: every test cell's points and reason, and notes on anything unusual."""
    code = [c for c in merged if c["kind"] == "code"]
    streams = assemble(run, code, limits.function_timeout)
    seen, review = read_frames(streams.frames, notes)
    if streams.corrupted:
        notes.append(R("channel_corrupted", detail=str(streams.corrupted)))
        review = True
    if run.channel_overflow:
        notes.append(R("channel_overflow", mb=limits.channel_mb))
        review = True
    notes.extend(run.notes)
    stop = stop_reason(streams, run, limits, seen.started)
    if stop:
        last = seen.started[-1] if seen.started else None
        notes.append(R("stopped_at", stop=stop, cell=last + 1, role=_role(code[last]))
                     if last is not None and last < len(code) else stop)
        review = True
        if not seen.started:
            notes.append(R("sandbox_stderr", text=run.stderr.decode(errors="replace")[-500:]))
    scores, reasons = {}, {}
    for index, cell in enumerate(code):
        cell["ran"] = index in seen.started
        review |= cell_outputs(cell, index, seen.finished.get(index), streams, limits, notes)
        if cell["role"] != "test":
            continue
        if index in streams.guards:
            # The grader's isolation failed (a stand-in of the graded function was within reach): no automatic
            # score can be trusted, so 0 and a human look.
            reason = R("guard", names=", ".join(sorted({f for a, f in cell["checks"]})), detail=streams.guards[index])
            notes.append(R("test_note", grade_id=cell["grade_id"], reason=reason))
            review = True
        else:
            reason = points_lost(cell, index, seen, streams, stop, functions, limits)
        scores[cell["grade_id"]] = 0.0 if reason else float(cell["points"])
        if reason:
            reasons[cell["grade_id"]] = reason
    return StudentResult(student, scores, reasons, notes, review, merged, run.seconds, key)


def png(data) -> str | None:
    """A figure a cell displayed, as base64, only if it really is a PNG, and re-encoded: nothing else a sandbox sent
    reaches a browser as an image (the feedback page, nbgrader's autograded notebook)."""
    if not isinstance(data, str):
        return None
    try:
        raw = base64.b64decode(data, validate=False)
    except (binascii.Error, ValueError):
        return None
    return base64.b64encode(raw).decode() if raw.startswith(b"\x89PNG\r\n\x1a\n") else None


def _role(cell: dict) -> Reason:
    """What a code cell is, for a note: "your answer", "test cosine-tests", ..."""
    role = R(f"role_{cell['role']}")
    return R("role_named", role=role, grade_id=cell["grade_id"]) if cell.get("grade_id") else role


def failed_result(assignment: Assignment, sub: Submission, reason: Reason | str, key: str) -> StudentResult:
    scores = {c.grade_id: 0.0 for c in assignment.tests}
    reasons = {c.grade_id: reason for c in assignment.tests}
    return StudentResult(sub.student, scores, reasons, sub.notes + [reason], True, [], 0.0, key, origin=sub.origin)
