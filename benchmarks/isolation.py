"""Points lost by breaking one graded function at a time, before and after the stand-ins (issue 14).

    python benchmarks/isolation.py [ASSIGNMENT ...]

For every graded function of every assignment, the function is broken three ways (it raises, loops forever,
returns wrong values) and every test cell is run as the grader runs it (``tests/isolation.py``). "Before"
replays the grader without the stand-ins for the other graded functions; "after" with them. The table shows,
per function, the points its own cell loses and the points *other* cells lose (the worst of the three ways).
"""
from __future__ import annotations

import contextlib
import io
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from autograder.course import assignments  # noqa: E402
from tests import isolation as iso  # noqa: E402


def main(argv: list[str]) -> int:
    print("| assignment | function (own points) | other cells' points lost before | after |")
    print("| --- | --- | --- | --- |")
    for assignment in argv or assignments():
        limits = {st: iso.limits(assignment, standins=st) for st in (False, True)}
        for name in iso.graded_functions(assignment):
            own = iso.own_cell(assignment, name)
            worst = {}
            for standins in (False, True):
                lost_other, detail = 0.0, set()
                for mode in iso.MODES:
                    with contextlib.redirect_stdout(io.StringIO()):
                        lost = iso.run(assignment, name, mode, standins=standins, cell_seconds=limits[standins]).lost
                    other = {k: v for k, v in lost.items() if k != own}
                    if sum(other.values()) > lost_other:
                        lost_other = sum(other.values())
                    detail |= set(other)
                worst[standins] = (lost_other, sorted(detail))
            points = next(c.points for c in iso.load_assignment(assignment).tests if c.grade_id == own)
            before, after = worst[False], worst[True]
            print(f"| {assignment} | {name} ({points:g}) | {before[0]:g}" + (f" ({', '.join(before[1])})" if before[1] else "")
                  + f" | {after[0]:g}" + (f" ({', '.join(after[1])})" if after[1] else "") + " |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
