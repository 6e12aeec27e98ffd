"""A wrong function costs only its own points (issue 14), in every assignment.

Each graded function is broken three ways in turn (it raises, loops forever, returns wrong values), and every
test cell is run as the grader runs it (``tests/isolation.py``): only the broken function's own cell may lose
its points. Assignment 03 is also graded end to end with the real command, broken functions included
(``tests/samples/a03_qkv.py``, run by ``tests/test_grading.py``).
"""
from __future__ import annotations

import contextlib
import io

import pytest

from tests import isolation as iso
from tests.conftest import ASSIGNMENTS


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_breaking_one_function_costs_only_its_own_points(assignment):
    limits = iso.limits(assignment)
    wrong = []
    for name in iso.graded_functions(assignment):
        own = iso.own_cell(assignment, name)
        for mode in iso.MODES:
            with contextlib.redirect_stdout(io.StringIO()):
                lost = iso.run(assignment, name, mode, cell_seconds=limits).lost
            if set(lost) != {own}:
                wrong.append(f"{name} ({mode}): lost {lost}")
    assert not wrong, "\n".join(wrong)


def test_without_the_stand_ins_a_broken_function_costs_others_too():
    """The check above can fail: replayed as the grader was before the stand-ins, a broken masked_softmax also
    cost attention's 3 points, and a broken softmax cost masked_softmax's 3 (its visible test called softmax)."""
    with contextlib.redirect_stdout(io.StringIO()):
        limits = iso.limits("03-qkv", standins=False)
        masked = iso.run("03-qkv", "masked_softmax", "raises", standins=False, cell_seconds=limits).lost
        soft = iso.run("03-qkv", "softmax", "loops", standins=False, cell_seconds=limits).lost
    assert masked == {"masked-softmax-tests": 3.0, "attention-tests": 3.0}
    assert soft == {"softmax-tests": 2.0, "masked-softmax-tests": 3.0}
