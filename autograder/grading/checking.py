"""The one comparison helper every hidden test calls.

A hidden test cell in a solution notebook ends with, for example::

    ### BEGIN HIDDEN TESTS
    from autograder.checking import check
    check("03-qkv", "softmax", softmax)
    ### END HIDDEN TESTS

``check`` runs the student's function on the assignment's cases (``autograder.grading.specs``):
randomised inputs drawn from a fresh seed on every grading run plus fixed edge cases, and
compares each result with the hidden reference. It raises ``AssertionError`` with a readable
reason (which case, what went wrong, never the expected numbers), which nbgrader turns into
zero points for that test cell. How comparisons are made is decided here, in one place.
"""
from __future__ import annotations

import copy
import warnings
from typing import Callable

from autograder.grading.cases import (ATOL, RTOL, Case, FunctionSpec, as_plain_array, compare, describe,  # noqa: F401
                              grading_seed, rng_for)
from autograder.grading.probe.checking import _same  # the one comparison of inputs before and after (it compares dtypes)
from autograder.reasons import R, Reason
from autograder.grading.specs import get_spec


class CheckFailed(AssertionError):
    """A student's function disagreed with the reference; the message says where and how."""


def run_case(spec: FunctionSpec, fn: Callable, case: Case) -> Reason | None:
    """Run one case; return None if it passes, else the reason."""
    pristine_args, pristine_kwargs = copy.deepcopy(case.args), copy.deepcopy(case.kwargs)
    expected = spec.reference(*copy.deepcopy(case.args), **copy.deepcopy(case.kwargs))
    student_args, student_kwargs = copy.deepcopy(case.args), copy.deepcopy(case.kwargs)
    try:
        with warnings.catch_warnings():
            if spec.no_warnings:
                warnings.simplefilter("error")
            out = fn(*student_args, **student_kwargs)
    except NotImplementedError:
        return R("case_not_implemented")
    except Exception as exc:  # noqa: BLE001 - any student error becomes a readable reason
        return R("raised", type=type(exc).__name__, message=str(exc)[:200])
    if not (_same(pristine_args, student_args) and _same(pristine_kwargs, student_kwargs)):
        return R("modified_input")
    if spec.compare is not None:
        return spec.compare(out, case, expected)
    return compare(out, expected, spec.rtol, spec.atol)


def check(assignment: str, name: str, fn: Callable, seed: int | None = None) -> None:
    """Check ``fn`` against the reference on every case of ``assignment``'s function ``name``.

    Raises ``CheckFailed`` at the first failing case. Returns None on purpose: nbgrader reads a
    test cell's displayed value as a partial-credit score, so a check must display nothing.
    """
    spec = get_spec(assignment, name)
    if not callable(fn):
        raise CheckFailed(str(R("not_function", name=name, got=type(fn).__name__)))
    cases = list(spec.cases(rng_for(f"{assignment}/{name}", seed)))
    for case in cases:
        problem = run_case(spec, fn, case)
        if problem:
            args = ", ".join([describe(a) for a in case.args] + [f"{k}={describe(v)}" for k, v in case.kwargs.items()])
            raise CheckFailed(str(R("on_case", name=name, label=case.label, call=f"{name}({args})", problem=problem)))
    print(f"{name}: passed all {len(cases)} hidden cases")
