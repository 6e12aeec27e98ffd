"""Break one graded function at a time and see which test cells lose points (issue 14: a wrong function
costs only its own points).

This is the grading rule, replayed in process and without nbgrader so that every function of every
assignment can be broken three ways in a few seconds: the instructor's answers are run, one graded
function is replaced by a broken one (it ``raise``s, loops forever, or returns wrong values), then every
test cell runs as the grader runs it: in a copy of the notebook's namespace where, with ``standins=True``,
every *other* graded function is replaced by its public stand-in (``autograder/grading/standins.py``), defined from the
source the grader builds for that cell (``autograder.grading.run.given_source``: what the sandbox's test process
receives), with the hidden ``check`` comparing against the reference, and a time limit.
``standins=False`` replays the grader before the stand-ins (the "before" column of the closing note).
``tests/test_isolation.py`` checks the rule; ``tests/test_grading.py`` grades assignment 03's broken
variants with the real command, end to end.
"""
from __future__ import annotations

import os
import signal
import time
from dataclasses import dataclass

import numpy as np

from autograder.grading import standins as _standins
from autograder.grading.prepare import HIDDEN_RE, load_assignment
from tests.samples import strip_markers

MODES = ("raises", "loops", "wrong")

BROKEN = {
    "raises": "def {name}(*args, **kwargs):\n    raise RuntimeError('broken on purpose')\n",
    "loops": "def {name}(*args, **kwargs):\n    while True:\n        pass\n",
    "wrong": "_correct_{name} = {name}\n\ndef {name}(*args, **kwargs):\n    return _perturb(_correct_{name}(*args, **kwargs))\n",
}


def _perturb(value):
    """A wrong value of the same kind: numbers shifted, booleans flipped, in tuples too."""
    if isinstance(value, tuple):
        return tuple(_perturb(v) for v in value)
    a = np.asarray(value)
    if a.dtype == bool:
        return ~a
    if a.dtype.kind in "iu":
        return a + 1
    return a + 0.5


class _Timeout(BaseException):
    pass


def _alarm(signum, frame):
    raise _Timeout("the cell ran longer than its time limit")


@dataclass
class Outcome:
    lost: dict  # grade_id -> points lost
    seconds: dict  # grade_id -> seconds the test cell took


def run(assignment: str, broken: str | None, mode: str = "raises", *, standins: bool = True, seed: int = 11,
        cell_seconds: float | dict = 3.0) -> Outcome:
    """Points lost per test cell when ``broken`` (a graded function, or None) is broken in ``mode``.

    ``cell_seconds``: the time limit of every cell, or a dict grade_id -> limit (see ``limits``).
    """
    from autograder.grading import checking

    spec = load_assignment(assignment)
    graded = {f for c in spec.tests for a, f in c.checks}
    if standins and _standins.uses_torch(assignment, sorted(graded)):
        import torch  # noqa: F401 - imported before any timed cell, as by the sandbox's supervisor
    ns: dict = {"__name__": "__main__", "_perturb": _perturb}
    os.environ["MPLBACKEND"] = "Agg"
    lost, seconds = {}, {}
    old = signal.signal(signal.SIGALRM, _alarm)
    try:
        broke = False
        for cell in spec.cells:
            if cell.kind != "code":
                continue
            if cell.role in ("locked", "answer"):
                limit = cell_seconds.get(cell.grade_id, 3.0) if isinstance(cell_seconds, dict) else cell_seconds
                start = time.monotonic()
                signal.setitimer(signal.ITIMER_REAL, limit)
                try:  # a given cell that calls a broken function fails, and the notebook goes on
                    exec(compile(strip_markers(cell.source), f"<{cell.grade_id}>", "exec"), ns)
                except (Exception, _Timeout):  # noqa: BLE001
                    pass
                finally:
                    signal.setitimer(signal.ITIMER_REAL, 0)
                    seconds[cell.grade_id] = time.monotonic() - start
                if broken and not broke and broken in ns and cell.role == "answer":
                    exec(BROKEN[mode].format(name=broken), ns)  # the student's version of it is broken
                    broke = True
                continue
            # a test cell: as in the runner's forked child, whatever it changes in the namespace is undone after
            saved = dict(ns)
            cell_ns = ns
            if standins:
                from autograder.grading.run import given_source

                cell_ns.update(_standins.load(given_source(spec, cell.checks)))
            source = HIDDEN_RE.sub(lambda m: "".join(
                f"check({a!r}, {f!r}, {f}, seed={seed})\n" for a, f in cell.checks), cell.source)
            cell_ns["check"] = checking.check
            ok = True
            limit = cell_seconds.get(cell.grade_id, 3.0) if isinstance(cell_seconds, dict) else cell_seconds
            start = time.monotonic()
            signal.setitimer(signal.ITIMER_REAL, limit)
            try:
                exec(compile(source, f"<{cell.grade_id}>", "exec"), cell_ns)
            except (Exception, _Timeout):  # noqa: BLE001 - the cell fails, as it would in the notebook
                ok = False
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0)
                ns.clear()
                ns.update(saved)
            seconds[cell.grade_id] = time.monotonic() - start
            if not ok:
                lost[cell.grade_id] = cell.points
    finally:
        signal.signal(signal.SIGALRM, old)
    return Outcome(lost, seconds)


def limits(assignment: str, *, standins: bool = True) -> dict:
    """Per-cell time limits: five times what the cell takes with nothing broken plus a second, at least two.

    An endless loop then costs about that, not a fixed minute, and a slow but correct cell is never cut short.
    """
    import contextlib
    import io

    with contextlib.redirect_stdout(io.StringIO()):
        clean = run(assignment, None, standins=standins, cell_seconds=30.0)
    assert not clean.lost, f"{assignment}: the instructor's answers lose points: {clean.lost}"
    return {gid: max(2.0, 5 * t + 1.0) for gid, t in clean.seconds.items()}


def own_cell(assignment: str, name: str) -> str:
    spec = load_assignment(assignment)
    (cell,) = [c for c in spec.tests if any(f == name for a, f in c.checks)]
    return cell.grade_id


def graded_functions(assignment: str) -> list[str]:
    spec = load_assignment(assignment)
    return [f for c in spec.tests for a, f in c.checks]
