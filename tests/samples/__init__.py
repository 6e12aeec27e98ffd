"""Sample submissions, built from the solution and release notebooks of each assignment.

Each assignment has a module ``tests/samples/a<NN>_<slug>.py`` that defines ``ASSIGNMENT``, ``MAX_SCORE``
and ``SAMPLES``: name -> ``Sample``. A sample starts from the released notebook (what a student gets)
and fills answer cells, identified by their nbgrader ``grade_id``, with the instructor's solution or
with code given in ``override``. Its ``score`` is the exact score it must get, derived by hand from the
points of the test cells it should pass (not pasted from a grading run).
"""
from __future__ import annotations

import copy
import importlib
import json
import pkgutil
import re
from dataclasses import dataclass, field
from pathlib import Path

from tests import REPO

_SOLUTION_RE = re.compile(r"^([ \t]*)### BEGIN SOLUTION\n(.*?)^[ \t]*### END SOLUTION\n?", re.S | re.M)


@dataclass
class Sample:
    """A submission: which answer cells get the solution, which get other code, and the expected score."""

    score: float
    solution: bool = True  # fill every answer cell not in `override` with the instructor's solution
    override: dict[str, str] = field(default_factory=dict)  # grade_id -> full cell source


def strip_markers(source: str) -> str:
    """The instructor's solution as a student would write it (markers removed)."""
    return _SOLUTION_RE.sub(lambda m: m.group(2), source)


def build(assignment: str, sample: Sample, release_dir: Path | None = None) -> dict:
    """The notebook JSON of ``sample`` for ``assignment``, starting from the English release (or the one in
    ``release_dir``, e.g. the Chinese release ``exercises/zh``)."""
    folder_s, folder_r = REPO / "solutions" / assignment, (release_dir or REPO / "exercises") / assignment
    (sol_path,) = folder_s.glob("*.ipynb")
    solution = json.loads(sol_path.read_text())
    release = json.loads((folder_r / sol_path.name).read_text())
    answers = {
        c["metadata"]["nbgrader"]["grade_id"]: "".join(c["source"])
        for c in solution["cells"]
        if c.get("metadata", {}).get("nbgrader", {}).get("solution")
    }
    unknown = set(sample.override) - set(answers)
    assert not unknown, f"override names no answer cell: {unknown}"
    nb = copy.deepcopy(release)
    for cell in nb["cells"]:
        gid = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if gid in sample.override:
            cell["source"] = sample.override[gid]
        elif gid in answers and sample.solution:
            cell["source"] = strip_markers(answers[gid])
    return nb


def modules():
    """Every sample module, by assignment id."""
    found = {}
    for info in pkgutil.iter_modules([str(Path(__file__).parent)]):
        mod = importlib.import_module(f"tests.samples.{info.name}")
        found[mod.ASSIGNMENT] = mod
    return found


def write_all(assignment: str, folder: Path, release_dir: Path | None = None) -> dict[str, float]:
    """Write every sample of ``assignment`` as ``folder/<name>.ipynb`` (built from the English release, or the one
    in ``release_dir``); return name -> expected score."""
    mod = modules()[assignment]
    folder.mkdir(parents=True, exist_ok=True)
    for name, sample in mod.SAMPLES.items():
        (folder / f"{name}.ipynb").write_text(json.dumps(build(assignment, sample, release_dir), indent=1))
    return {name: s.score for name, s in mod.SAMPLES.items()}
