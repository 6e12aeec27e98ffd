"""Stage 2, prepare: the assignment's structure (from the instructor's source notebook) and its hidden cases.

``load_assignment`` reads ``solutions/<assignment>/<notebook>.ipynb``: every cell, its role and, for
test cells, the ``check(...)`` calls of its hidden part. ``prepare_inputs`` draws every checked
function's cases from the run's secret seed, computes the reference outputs here (they never leave
the grader), and writes only the inputs, as plain arrays and JSON, for the sandbox.
"""
from __future__ import annotations

import copy
import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from autograder.grading.cases import rng_for
from autograder.grading.probe import wire
from autograder.course import SOLUTIONS
from autograder.grading.specs import get_spec

HIDDEN_RE = re.compile(r"^[ \t]*### BEGIN HIDDEN TESTS[ \t]*\n(.*?)^[ \t]*### END HIDDEN TESTS[ \t]*\n?", re.S | re.M)
CHECK_RE = re.compile(r"""\bcheck\(\s*["']([^"']+)["']\s*,\s*["']([^"']+)["']""")

# --------------------------------------------------------------------------- the assignment


@dataclass
class SourceCell:
    kind: str           # "code" or "markdown"
    role: str           # "answer", "test", "locked" or "text"
    grade_id: str | None
    source: str         # what runs (tests keep their hidden part)
    shown: str          # what feedback shows (hidden tests removed)
    points: float = 0.0
    checks: list = field(default_factory=list)  # [(assignment, function)] of a test cell


@dataclass
class Assignment:
    name: str
    notebook: str
    path: Path
    cells: list[SourceCell]
    digest: str
    warnings: list[str]

    @property
    def tests(self) -> list[SourceCell]:
        return [c for c in self.cells if c.role == "test"]

    @property
    def max_score(self) -> float:
        return sum(c.points for c in self.tests)


def _text(source) -> str:
    if isinstance(source, list):
        return "".join(s for s in source if isinstance(s, str))
    return source if isinstance(source, str) else ""


def load_assignment(name: str, solutions: Path = SOLUTIONS) -> Assignment:
    """The instructor's source notebook of ``name``: cells, graded cells and their ``check`` calls."""
    notebooks = sorted((solutions / name).glob("*.ipynb"))
    if len(notebooks) != 1:
        raise SystemExit(f"expected one notebook in {solutions / name}, found {len(notebooks)}")
    path = notebooks[0]
    raw = path.read_bytes()
    nb = json.loads(raw)
    cells, warnings = [], []
    for cell in nb["cells"]:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        src = _text(cell.get("source"))
        kind = cell.get("cell_type", "markdown")
        hidden = "".join(HIDDEN_RE.findall(src))
        shown = HIDDEN_RE.sub("", src)
        if meta.get("grade") and kind == "code":
            checks = CHECK_RE.findall(hidden)
            extra = [ln for ln in hidden.splitlines() if ln.strip() and not ln.strip().startswith(("#", "from autograder.checking import check", "check("))]
            if not checks:
                warnings.append(f"test cell {meta.get('grade_id')!r} calls no check(): its score would rest on the student's own process")
            if extra:
                warnings.append(f"hidden tests of {meta.get('grade_id')!r} hold more than check() calls; they run in the sandbox where student code can read them")
            cells.append(SourceCell("code", "test", meta.get("grade_id"), src, shown, float(meta.get("points", 0)), checks))
        elif meta.get("solution") and kind == "code":
            cells.append(SourceCell("code", "answer", meta.get("grade_id"), src, shown))
        elif kind == "code":
            cells.append(SourceCell("code", "locked", meta.get("grade_id"), src, shown))
        else:
            cells.append(SourceCell("markdown", "text", meta.get("grade_id"), src, shown))
    return Assignment(name, path.stem, path, cells, hashlib.sha256(raw).hexdigest(), warnings)


# --------------------------------------------------------------------------- hidden cases


@dataclass
class FunctionCases:
    assignment: str
    name: str
    spec: object
    cases: list
    expected: list


def prepare_inputs(assignment: Assignment, seed: int, inputs: Path) -> dict:
    """Draw every checked function's cases, compute the reference outputs here, write the inputs."""
    functions = {}
    for cell in assignment.tests:
        for a, f in cell.checks:
            if (a, f) in functions:
                continue
            spec = get_spec(a, f)
            cases = list(spec.cases(rng_for(f"{a}/{f}", seed)))
            expected = [spec.reference(*copy.deepcopy(c.args), **copy.deepcopy(c.kwargs)) for c in cases]
            store, trees = {}, []
            for c in cases:
                memo = {}
                try:
                    trees.append({"args": wire.encode_value(tuple(c.args), store, memo),
                                  "kwargs": wire.encode_value(dict(c.kwargs), store, memo)})
                except wire.WireError as exc:
                    raise SystemExit(f"{a}/{f}, case {c.label!r}: {exc}. The sandbox carries arrays, numbers, strings, "
                                     "None, tuples, lists, dicts with string keys, numpy Generators and torch tensors.")
            folder = inputs / a
            folder.mkdir(parents=True, exist_ok=True)
            np.savez(folder / f"{f}.npz", **store)
            (folder / f"{f}.json").write_text(json.dumps({"cases": trees, "no_warnings": bool(spec.no_warnings)}))
            functions[(a, f)] = FunctionCases(a, f, spec, cases, expected)
    return functions
