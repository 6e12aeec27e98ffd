"""What a hidden case is, and how a returned value is compared with the reference's.

The types every ``autograder/grading/specs/<slug>.py`` builds (``Case``, ``FunctionSpec``) and the comparison the grader
applies (``compare``; feedback names arguments by ``describe``, never by value). This module imports nothing of
the course but ``reasons`` (a problem is a ``Reason``): ``specs`` and ``checking`` (which finds a function's spec)
both sit above it.
"""
from __future__ import annotations

import os
import secrets
import zlib
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

import numpy as np

from autograder.reasons import R, Reason

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
    # (e.g. sampling): compare(student_output, case, reference_output) -> problem (a Reason) or None.
    compare: Callable[[Any, Case, Any], Reason | None] | None = None
    # The text says the function must not warn ("no nan and no warning"): a warning on a case is an error.
    no_warnings: bool = False


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


def compare(student: Any, expected: Any, rtol: float = RTOL, atol: float = ATOL, what: Reason | None = None) -> Reason | None:
    """Return None if ``student`` matches ``expected`` (an array or a tuple of them), else the problem."""
    what = what or R("result")
    if isinstance(expected, tuple):
        if not isinstance(student, (tuple, list)) or len(student) != len(expected):
            return R("not_tuple", what=what, n=len(expected), got=type(student).__name__)
        for i, (s, e) in enumerate(zip(student, expected)):
            problem = compare(s, e, rtol, atol, what=R("element", i=i, of=what))
            if problem:
                return problem
        return None
    expected = np.asarray(expected)
    arr = as_plain_array(student)
    if arr is None:
        return R("not_numeric", what=what, got=type(student).__name__)
    if arr.shape != expected.shape:
        return R("wrong_shape", what=what, shape=str(arr.shape), expected=str(expected.shape))
    if expected.dtype.kind == "b" or arr.dtype.kind == "b":
        if arr.dtype.kind != "b" and not np.isin(arr, (0, 1)).all():
            return R("not_boolean", what=what)
        if not np.array_equal(arr.astype(bool), expected.astype(bool)):
            return R("wrong_bool_entries", what=what, n=int(np.sum(arr.astype(bool) != expected.astype(bool))))
        return None
    a = arr.astype(np.float64)
    e = expected.astype(np.float64)
    if not np.array_equal(np.isnan(a), np.isnan(e)):
        return R("wrong_nan", what=what, n=int(np.sum(np.isnan(a) != np.isnan(e))))
    finite_e = np.isfinite(e)
    if not np.array_equal(np.isinf(a) & (a > 0), np.isinf(e) & (e > 0)) or not np.array_equal(
        np.isinf(a) & (a < 0), np.isinf(e) & (e < 0)
    ):
        return R("wrong_inf", what=what)
    if not finite_e.any():
        return None
    scale = max(1.0, float(np.max(np.abs(e[finite_e]))))
    err = np.abs(a[finite_e] - e[finite_e])
    bad = err > atol * scale + rtol * np.abs(e[finite_e])
    if bad.any():
        return R("wrong_values", what=what, n=int(bad.sum()), size=int(bad.size), error=f"{float(err.max()):.3g}")
    return None
