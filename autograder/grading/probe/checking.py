"""``check`` inside the sandbox: run the student's function on the grader's inputs, send back results.

Each call runs every case of one function under its own time limit, in the test cell's process (which
runs one test cell and nothing after it), so an infinite loop, ``os._exit`` or a crash in one function
costs that function only. Results are plain arrays (``wire.encode_value``), sent to the grader over
the test's results channel.
Nothing here knows the expected values: whatever this process claims, the grader judges the
returned arrays against the reference on inputs drawn from its own secret seed.
"""
from __future__ import annotations

import copy
import ctypes
import json
import os
import select
import signal
import time
import warnings

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


class FunctionTimeout(BaseException):
    """Raised in the function under test when its hidden cases run longer than the function's time limit."""


#: ``armed``: the function under test (or code it reaches: its return value's conversion) is running, so the
#: alarm may interrupt it; ``expired``: the time limit of the cases has passed.
_alarm = {"armed": False, "expired": False}


def _on_alarm(signum, frame):
    _alarm["expired"] = True
    if _alarm["armed"]:  # never inside the probe's own code: a frame half written would end the results
        raise FunctionTimeout("the hidden cases ran longer than the function's time limit")


#: A function still running this long after its time limit has passed (it swallowed every alarm, or is stuck in a
#: library call that never returns to Python) is killed with its test's process, by the kernel.
KILL_AFTER = 1.0


class _Sigevent(ctypes.Structure):  # struct sigevent (64 bytes on Linux)
    _fields_ = [("value", ctypes.c_void_p), ("signo", ctypes.c_int), ("notify", ctypes.c_int),
                ("pad", ctypes.c_int * 12)]


class _Timespec(ctypes.Structure):
    _fields_ = [("sec", ctypes.c_long), ("nsec", ctypes.c_long)]


class _Itimerspec(ctypes.Structure):
    _fields_ = [("interval", _Timespec), ("value", _Timespec)]


class KillTimer:
    """A POSIX timer (``timer_create``) that sends this process SIGKILL when it expires: no handler, mask or
    ``setitimer`` of the student's code stops it. One per process; None where the system has none."""

    CLOCK_MONOTONIC, SIGEV_SIGNAL = 1, 0
    _made: "KillTimer | None" = None

    def __init__(self):
        self.libc = ctypes.CDLL(None, use_errno=True)
        self.id = ctypes.c_void_p()
        event = _Sigevent(None, signal.SIGKILL, self.SIGEV_SIGNAL)
        if self.libc.timer_create(self.CLOCK_MONOTONIC, ctypes.byref(event), ctypes.byref(self.id)) != 0:
            raise OSError(ctypes.get_errno(), "timer_create")

    @classmethod
    def get(cls) -> "KillTimer | None":
        if cls._made is None or cls._made.pid != os.getpid():
            try:
                cls._made = cls()
                cls._made.pid = os.getpid()  # timers are not inherited: a forked process makes its own
            except (OSError, AttributeError):
                return None
        return cls._made

    def arm(self, seconds: float) -> None:
        whole = int(seconds)
        spec = _Itimerspec(_Timespec(0, 0), _Timespec(whole, int((seconds - whole) * 1e9) or (0 if whole else 1)))
        self.libc.timer_settime(self.id, 0, ctypes.byref(spec), None)

    def disarm(self) -> None:
        self.libc.timer_settime(self.id, 0, ctypes.byref(_Itimerspec()), None)


def _run_case(fn, case: dict, arrays) -> tuple[dict, bytes]:
    """One hidden case: the ``result`` frame's header and payload (the returned value as plain arrays, or why not)."""
    memo: dict = {}
    args = wire.decode(case["args"], arrays, memo, objects=True)
    kwargs = wire.decode(case["kwargs"], arrays, memo, objects=True)
    pristine = copy.deepcopy((args, kwargs))
    header, payload = {}, b""
    try:
        _alarm["armed"] = True
        value = fn(*args, **kwargs)
        store: dict = {}
        header["value"] = wire.encode_value(value, store, strict=False)
        header["modified"] = not _same(pristine, (args, kwargs))
        _alarm["armed"] = False
        payload = wire.pack_arrays(store)
    except FunctionTimeout:
        raise
    except NotImplementedError:
        header["error"] = {"code": "case_not_implemented", "params": {}}  # autograder.reasons
    except BaseException as exc:  # noqa: BLE001 - anything the student raises is a reason
        header["error"] = {"code": "raised", "params": {"type": type(exc).__name__, "message": str(exc)[:200]}}
    finally:
        _alarm["armed"] = False
    return header, payload


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
    """Run ``fn`` on every hidden case of ``assignment``/``name`` and send the results to the grader.

    The cases run in this process (the test cell's own, which holds nothing of any other test), one ``result``
    frame each, under the function's time limit: an alarm interrupts the function when the limit has passed, and
    again every quarter of a second if it swallows that; ``KILL_AFTER`` seconds later the kernel kills the process
    (:class:`KillTimer`). A ``function`` frame with the status ``running`` goes first, so that if the function ends
    the process (a crash, ``os._exit``, the kill), the grader takes how the process ended as how the function ended
    (``judge.assemble``); a second one, ``ok`` or ``timeout``, says the cases are done.
    """
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
    timer = runner.pause_timer()
    start = time.monotonic()
    runner.send({**record, "status": "running", "cases": len(cases)})
    n, state, detail = 0, "ok", ""
    previous = signal.signal(signal.SIGALRM, _on_alarm)
    _alarm.update(armed=False, expired=False)
    killer = KillTimer.get()
    if killer is not None:
        killer.arm(runner.function_timeout + KILL_AFTER)
    signal.setitimer(signal.ITIMER_REAL, max(runner.function_timeout, 0.001), 0.25)
    try:
        with warnings.catch_warnings(), np.load(base + ".npz", allow_pickle=False) as arrays:
            if no_warnings:
                warnings.simplefilter("error")  # the text says the function must not warn: a warning is an error
            for i, case in enumerate(cases):
                if _alarm["expired"]:
                    break
                header, payload = _run_case(fn, case, arrays)
                if _alarm["expired"]:
                    break  # the limit passed during this case: its value does not count
                runner.send({"kind": "result", "assignment": record["assignment"], "function": record["function"],
                             "case": i, **header}, payload)
                n += 1
    except FunctionTimeout:
        pass
    except Exception as exc:  # noqa: BLE001 - the cases could not be read or sent: the function's cases are lost
        state, detail = "crashed", f"{type(exc).__name__}: {exc}"[:80]
    finally:
        if killer is not None:
            killer.disarm()
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    if _alarm["expired"]:
        state, detail = "timeout", f"{runner.function_timeout:g}"
    runner.send({**record, "status": state, "detail": detail, "cases": len(cases), "received": n,
                 "seconds": round(time.monotonic() - start, 3)})
    runner.resume_timer(timer)
    return None
