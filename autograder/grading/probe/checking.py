"""``check`` inside the sandbox: run the student's function on the grader's inputs, send back results.

Each call forks a child that runs every case of one function under its own time limit, so an
infinite loop, ``os._exit`` or a crash in one function costs that function only. Results are
plain arrays (``wire.encode_value``); the parent forwards them to the grader over the results channel.
Nothing here knows the expected values: whatever this process claims, the grader judges the
returned arrays against the reference on inputs drawn from its own secret seed.
"""
from __future__ import annotations

import copy
import json
import os
import select
import signal
import time

import numpy as np

from . import wire

INPUTS = os.environ.get("AUTOGRADER_INPUTS", "/grader/inputs")

#: Set by the runner: an object with ``send(header, payload)``, ``function_timeout``,
#: ``pause_timer()`` and ``resume_timer(state)``. None outside a grading run.
_runner = None


def _same(before, after) -> bool:
    if isinstance(before, np.ndarray):
        return (isinstance(after, np.ndarray) and before.shape == after.shape and before.dtype == after.dtype
                and np.array_equal(before, after, equal_nan=before.dtype.kind in "fc"))
    if isinstance(before, (list, tuple)):
        return isinstance(after, (list, tuple)) and len(before) == len(after) and all(map(_same, before, after))
    if isinstance(before, dict):
        return isinstance(after, dict) and before.keys() == after.keys() and all(_same(before[k], after[k]) for k in before)
    return True


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        view = view[n:]


def _run_cases(fn, cases, npz_path, out_path, no_warnings: bool = False) -> None:
    """In the child: every case, one frame each, appended to ``out_path``.

    With ``no_warnings`` (the text says the function must not warn), a warning is raised as an error.
    """
    if no_warnings:
        import warnings

        warnings.simplefilter("error")
    fd = os.open(out_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with np.load(npz_path, allow_pickle=False) as arrays:
        for i, case in enumerate(cases):
            memo: dict = {}
            args = wire.decode(case["args"], arrays, memo, objects=True)
            kwargs = wire.decode(case["kwargs"], arrays, memo, objects=True)
            pristine = copy.deepcopy((args, kwargs))
            header, payload = {"case": i}, b""
            try:
                value = fn(*args, **kwargs)
                store: dict = {}
                header["value"] = wire.encode_value(value, store, strict=False)
                header["modified"] = not _same(pristine, (args, kwargs))
                payload = wire.pack_arrays(store)
            except NotImplementedError:
                header["error"] = {"code": "case_not_implemented", "params": {}}  # autograder.reasons
            except BaseException as exc:  # noqa: BLE001 - anything the student raises is a reason
                header["error"] = {"code": "raised", "params": {"type": type(exc).__name__, "message": str(exc)[:200]}}
            _write_all(fd, wire.frame(header, payload))
    os.close(fd)


def _wait(pid: int, timeout: float):
    """Wait for ``pid`` at most ``timeout`` seconds; return its wait status, or None if it was killed."""
    deadline = time.monotonic() + timeout
    try:
        pidfd = os.pidfd_open(pid)
    except (AttributeError, OSError):
        pidfd = None
    try:
        while True:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                return status
            left = deadline - time.monotonic()
            if left <= 0:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                return None
            if pidfd is not None:
                select.select([pidfd], [], [], left)
            else:
                time.sleep(min(left, 0.002))
    finally:
        if pidfd is not None:
            os.close(pidfd)


def check(assignment, name, fn, seed=None) -> None:
    """Run ``fn`` on every hidden case of ``assignment``/``name`` and send the results to the grader."""
    runner = _runner
    if runner is None:
        raise RuntimeError("the hidden tests only run during grading")
    record = {"kind": "function", "assignment": str(assignment), "function": str(name)}
    base = os.path.join(INPUTS, str(assignment), str(name))
    if "/" in str(name) or "/" in str(assignment) or not os.path.exists(base + ".json"):
        runner.send({**record, "status": "unknown"})
        return None
    if not callable(fn):
        runner.send({**record, "status": "not-callable", "detail": type(fn).__name__})
        return None
    with open(base + ".json") as fh:
        spec = json.load(fh)
    cases, no_warnings = spec["cases"], bool(spec.get("no_warnings"))
    out_path = f"/tmp/.results-{os.getpid()}-{time.monotonic_ns()}"
    timer = runner.pause_timer()
    start = time.monotonic()
    try:
        try:
            pid = os.fork()
        except OSError as exc:
            runner.send({**record, "status": "crashed", "cases": len(cases), "received": 0,
                         "detail": f"could not start a process to run its hidden cases ({exc.strerror}; too many processes?)"})
            return None
        if pid == 0:  # the child: run the cases, never return into the notebook
            code = 0
            try:
                _run_cases(fn, cases, base + ".npz", out_path, no_warnings)
            except BaseException:  # noqa: BLE001
                code = 70
            os._exit(code)
        status = _wait(pid, runner.function_timeout)
        seconds = time.monotonic() - start
        data = wire.take_file(out_path)
        n = 0
        try:
            for header, payload in wire.read_frames(data):
                runner.send({"kind": "result", "assignment": record["assignment"], "function": record["function"],
                             **header}, payload)
                n += 1
        except wire.WireError:
            pass
        if status is None:
            state, detail = "timeout", f"{runner.function_timeout:g}"
        elif os.WIFSIGNALED(status):
            state, detail = "crashed", f"killed by signal {os.WTERMSIG(status)}"
        elif os.WEXITSTATUS(status) != 0 or n < len(cases):
            state, detail = "crashed", f"the process exited (status {os.WEXITSTATUS(status)})"
        else:
            state, detail = "ok", ""
        runner.send({**record, "status": state, "detail": detail, "cases": len(cases), "received": n,
                     "seconds": round(seconds, 3)})
    finally:
        runner.resume_timer(timer)
    return None
