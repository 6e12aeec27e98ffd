"""The one comparison helper every hidden test calls.

A hidden test cell in a solution notebook ends with, for example::

    ### BEGIN HIDDEN TESTS
    from autograder.checking import check
    check("03-qkv", "softmax", softmax)
    ### END HIDDEN TESTS

``check`` runs the student's function on the assignment's cases (``autograder.specs``):
randomised inputs drawn from a fresh seed on every grading run plus fixed edge cases, and
compares each result with the hidden reference. It raises ``AssertionError`` with a readable
reason (which case, what went wrong, never the expected numbers), which nbgrader turns into
zero points for that test cell. How comparisons are made is decided here, in one place.
"""
from __future__ import annotations

import copy
import os
import warnings
import secrets
import zlib
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

import numpy as np

#: Tolerances are float32-level on purpose: correct code written in float32 gets full marks.
RTOL = 1e-4
ATOL = 1e-5


@dataclass
class Case:
    """One call of the function under test: a label shown in feedback, and its arguments."""

    label: str
    args: tuple
    kwargs: dict = field(default_factory=dict)


@dataclass
class FunctionSpec:
    """How one graded function is checked: its reference and a generator of cases."""

    name: str
    reference: Callable
    cases: Callable[[np.random.Generator], Iterable[Case]]
    rtol: float = RTOL
    atol: float = ATOL
    # Optional custom comparison, for functions whose output is not determined exactly
    # (e.g. sampling): compare(student_output, case, reference_output) -> problem or None.
    compare: Callable[[Any, Case, Any], str | None] | None = None
    # The text says the function must not warn ("no nan and no warning"): a warning on a case is an error.
    no_warnings: bool = False


class CheckFailed(AssertionError):
    """A student's function disagreed with the reference; the message says where and how."""


def grading_seed() -> int:
    """The seed of this grading run: ``AUTOGRADER_SEED`` if set (to reproduce a run), else fresh."""
    env = os.environ.get("AUTOGRADER_SEED")
    return int(env) if env else secrets.randbits(32)


def rng_for(name: str, seed: int | None = None) -> np.random.Generator:
    """A generator that differs per function but is reproducible from the run's seed."""
    seed = grading_seed() if seed is None else seed
    return np.random.default_rng([seed, zlib.crc32(name.encode())])


def describe(x: Any) -> str:
    """Short description of an argument for feedback: shapes and dtypes, never values."""
    if isinstance(x, np.ndarray):
        return f"array{x.shape} {x.dtype}"
    if isinstance(x, (list, tuple)):
        return type(x).__name__ + "(" + ", ".join(describe(v) for v in x) + ")"
    if isinstance(x, np.random.Generator):
        return "rng"
    return repr(x) if isinstance(x, (int, float, bool, str, type(None))) else type(x).__name__


def as_plain_array(value: Any) -> np.ndarray | None:
    """Convert a returned value to a plain ``numpy.ndarray`` (None if it is not array-like numbers)."""
    if type(value) is np.ndarray:
        arr = value
    elif isinstance(value, (np.ndarray, np.generic, int, float, bool, list)):
        arr = np.array(value, subok=False)
    elif hasattr(value, "detach") and hasattr(value, "numpy"):  # a torch tensor
        arr = np.array(value.detach().cpu().numpy(), subok=False)
    else:
        return None
    if arr.dtype.kind not in "biuf":
        return None
    return arr


def compare(student: Any, expected: Any, rtol: float = RTOL, atol: float = ATOL, what: str = "the result") -> str | None:
    """Return None if ``student`` matches ``expected`` (an array or a tuple of them), else the problem."""
    if isinstance(expected, tuple):
        if not isinstance(student, (tuple, list)) or len(student) != len(expected):
            return f"{what} should be a tuple of {len(expected)} values, got {type(student).__name__}"
        for i, (s, e) in enumerate(zip(student, expected)):
            problem = compare(s, e, rtol, atol, what=f"element {i} of {what}")
            if problem:
                return problem
        return None
    expected = np.asarray(expected)
    arr = as_plain_array(student)
    if arr is None:
        return f"{what} should be a numeric numpy array, got {type(student).__name__}"
    if arr.shape != expected.shape:
        return f"{what} has shape {arr.shape}, expected shape {expected.shape}"
    if expected.dtype.kind == "b" or arr.dtype.kind == "b":
        if arr.dtype.kind != "b" and not np.isin(arr, (0, 1)).all():
            return f"{what} should be boolean"
        if not np.array_equal(arr.astype(bool), expected.astype(bool)):
            return f"{what} has {int(np.sum(arr.astype(bool) != expected.astype(bool)))} wrong entries"
        return None
    a = arr.astype(np.float64)
    e = expected.astype(np.float64)
    if not np.array_equal(np.isnan(a), np.isnan(e)):
        n_bad = int(np.sum(np.isnan(a) != np.isnan(e)))
        return f"{what} has NaN in {n_bad} place(s) where it should not (or misses one)"
    finite_e = np.isfinite(e)
    if not np.array_equal(np.isinf(a) & (a > 0), np.isinf(e) & (e > 0)) or not np.array_equal(
        np.isinf(a) & (a < 0), np.isinf(e) & (e < 0)
    ):
        return f"{what} has infinite values in the wrong places"
    if not finite_e.any():
        return None
    scale = max(1.0, float(np.max(np.abs(e[finite_e]))))
    err = np.abs(a[finite_e] - e[finite_e])
    bad = err > atol * scale + rtol * np.abs(e[finite_e])
    if bad.any():
        return (
            f"{what} is wrong in {int(bad.sum())} of {bad.size} entries "
            f"(largest error {float(err.max()):.3g})"
        )
    return None


def _same(before: Any, after: Any) -> bool:
    if isinstance(before, np.ndarray):
        return (
            isinstance(after, np.ndarray)
            and before.shape == after.shape
            and np.array_equal(before, after, equal_nan=before.dtype.kind in "fc")
        )
    if isinstance(before, (list, tuple)):
        return isinstance(after, (list, tuple)) and len(before) == len(after) and all(map(_same, before, after))
    if isinstance(before, dict):
        return isinstance(after, dict) and before.keys() == after.keys() and all(_same(before[k], after[k]) for k in before)
    return True


def run_case(spec: FunctionSpec, fn: Callable, case: Case) -> str | None:
    """Run one case; return None if it passes, else a readable reason."""
    pristine_args, pristine_kwargs = copy.deepcopy(case.args), copy.deepcopy(case.kwargs)
    expected = spec.reference(*copy.deepcopy(case.args), **copy.deepcopy(case.kwargs))
    student_args, student_kwargs = copy.deepcopy(case.args), copy.deepcopy(case.kwargs)
    try:
        with warnings.catch_warnings():
            if spec.no_warnings:
                warnings.simplefilter("error")
            out = fn(*student_args, **student_kwargs)
    except NotImplementedError:
        return "is not implemented yet (it raised NotImplementedError)"
    except Exception as exc:  # noqa: BLE001 - any student error becomes a readable reason
        return f"raised {type(exc).__name__}: {str(exc)[:200]}"
    if not (_same(pristine_args, student_args) and _same(pristine_kwargs, student_kwargs)):
        return "modified its input arrays in place (it must leave them unchanged)"
    if spec.compare is not None:
        return spec.compare(out, case, expected)
    return compare(out, expected, spec.rtol, spec.atol)


def check(assignment: str, name: str, fn: Callable, seed: int | None = None) -> None:
    """Check ``fn`` against the reference on every case of ``assignment``'s function ``name``.

    Raises ``CheckFailed`` at the first failing case. Returns None on purpose: nbgrader reads a
    test cell's displayed value as a partial-credit score, so a check must display nothing.
    """
    from autograder.specs import get_spec

    spec = get_spec(assignment, name)
    if not callable(fn):
        raise CheckFailed(f"{name} should be a function, got {type(fn).__name__}")
    cases = list(spec.cases(rng_for(f"{assignment}/{name}", seed)))
    for case in cases:
        problem = run_case(spec, fn, case)
        if problem:
            args = ", ".join([describe(a) for a in case.args] + [f"{k}={describe(v)}" for k, v in case.kwargs.items()])
            raise CheckFailed(f"{name}: on the hidden case '{case.label}' ({name}({args})): {problem}")
    print(f"{name}: passed all {len(cases)} hidden cases")
