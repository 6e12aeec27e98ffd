"""nbgrader's own course layout under the grading root, so that nbgrader's tools work on this command's results.

The grading root (``grading/``, the parent of an assignment's ``--out`` folder) is an nbgrader course root:

* ``autograded/<student>/<assignment>/<notebook>.ipynb``: the notebook that was run (the student's answer cells
  and added cells, the instructor's locked and test cells, with their nbgrader metadata from the source) with
  the outputs it produced, as ``nbgrader autograde`` leaves it; ``timestamp.txt`` beside it when the submission
  had one. A submission that could not be read gets the instructor's notebook with empty answers and a first
  cell that says why, so that a teaching assistant reviewing the flagged submission finds something to open;
* ``source/<assignment>/`` (the instructor's notebook) and ``release/<assignment>/`` (the student version, when
  ``exercises/`` has it), which nbgrader's formgrader lists assignments from.

The scores are in the gradebook (``autograder.gradebook.store``); nbgrader's ``generate_feedback``, ``export``
and the formgrader read them from there. Hidden tests are not written: the test cells show what students saw.
"""
from __future__ import annotations

import base64
import binascii
import copy
import json
import os
import re
import shutil
from pathlib import Path

from autograder.course import EXERCISES, REPO
from autograder.reasons import R
from autograder.grading.collect import Submission
from autograder.grading.judge import StudentResult
from autograder.grading.prepare import Assignment

NBGRADER_SCHEMA = 3
CELL_ID_RE = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")  # nbformat 4.5 cell ids


def course_root(out: Path) -> Path:
    """The nbgrader course root of an assignment's output folder (``grading/03-qkv`` -> ``grading``).

    An output folder directly in the repository (``--out results``) keeps the nbgrader folders inside itself,
    so that ``source/``, ``release/`` and ``autograded/`` never land among the course's own folders."""
    out = Path(out).resolve()
    return out if out.parent == REPO.resolve() else out.parent


def _source_cells(assignment: Assignment) -> tuple[dict, dict]:
    nb = json.loads(assignment.path.read_text())
    by_id = {}
    for cell in nb.get("cells", []):
        gid = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if gid:
            by_id[gid] = cell
    return nb, by_id


def _lines(text: str) -> list[str]:
    return text.splitlines(keepends=True)


def _png(data) -> str | None:
    """A display's PNG, only if it really is one (re-encoded: nothing else reaches a reviewer's browser)."""
    if not isinstance(data, str):
        return None
    try:
        raw = base64.b64decode(data, validate=False)
    except (binascii.Error, ValueError):
        return None
    return base64.b64encode(raw).decode() if raw.startswith(b"\x89PNG\r\n\x1a\n") else None


def _outputs(cell: dict) -> list[dict]:
    outputs = []
    for stream in ("stdout", "stderr"):
        if cell.get(stream):
            outputs.append({"output_type": "stream", "name": stream, "text": _lines(str(cell[stream]))})
    for disp in cell.get("displays") or []:
        if not isinstance(disp, dict):
            continue
        data = {}
        png = _png(disp.get("image/png"))
        if png:
            data["image/png"] = png
        if isinstance(disp.get("text/plain"), str):
            data["text/plain"] = _lines(disp["text/plain"])
        if data:
            outputs.append({"output_type": "display_data", "data": data, "metadata": {}})
    if cell.get("error"):
        text = str(cell["error"])
        ename, _, evalue = text.partition(":")
        outputs.append({"output_type": "error", "ename": ename.strip()[:200] or "Error", "evalue": evalue.strip(),
                        "traceback": [text]})
    return outputs


def autograded_notebook(assignment: Assignment, result: StudentResult, problem: str | None = None) -> dict:
    """The notebook nbgrader's tools read for one student (nbformat 4, nbgrader cell metadata of the source)."""
    source, by_id = _source_cells(assignment)
    cells = []
    merged = result.cells
    if not merged:
        # Nothing ran (unreadable submission): the instructor's notebook with empty answers, and why.
        # In English, like the rest of nbgrader's view (the grader's own pages are in the student's language).
        reason = str(problem or "; ".join(str(n) for n in result.notes) or R("not_graded"))
        cells.append({"cell_type": "markdown", "metadata": {},
                      "source": _lines(f"**This submission could not be graded automatically:** {reason}")})
        merged = [{"kind": c.kind, "role": c.role, "grade_id": c.grade_id, "shown": "" if c.role == "answer" else c.shown,
                   "origin": "source"} for c in assignment.cells]
    count = 0
    for cell in merged:
        meta = {}
        gid = cell.get("grade_id")
        if gid and gid in by_id:
            meta = {"nbgrader": copy.deepcopy(by_id[gid].get("metadata", {}).get("nbgrader", {}))}
            meta["nbgrader"].setdefault("schema_version", NBGRADER_SCHEMA)
        text = cell.get("shown", cell.get("source", ""))
        if cell["kind"] == "markdown":
            cells.append({"cell_type": "markdown", "metadata": meta, "source": _lines(text)})
            continue
        count += 1
        cells.append({"cell_type": "code", "metadata": meta, "source": _lines(text),
                      "execution_count": count if cell.get("ran") else None, "outputs": _outputs(cell)})
    used = set()
    for i, cell in enumerate(cells):
        gid = (cell["metadata"].get("nbgrader") or {}).get("grade_id")
        ident = gid if isinstance(gid, str) and CELL_ID_RE.match(gid) and gid not in used else f"cell-{i}"
        used.add(ident)
        cell["id"] = ident
    return {"cells": cells, "metadata": source.get("metadata", {}), "nbformat": 4, "nbformat_minor": 5}


def write_autograded(root: Path, assignment: Assignment, result: StudentResult, sub: Submission) -> Path:
    """Write ``autograded/<student>/<assignment>/<notebook>.ipynb`` (and ``timestamp.txt``) under ``root``."""
    folder = root / "autograded" / result.student / assignment.name
    folder.mkdir(parents=True, exist_ok=True)
    nb = autograded_notebook(assignment, result, sub.problem)
    path = folder / f"{assignment.notebook}.ipynb"
    tmp = folder / f".{assignment.notebook}.ipynb.tmp"
    tmp.write_text(json.dumps(nb, indent=1, ensure_ascii=False))
    tmp.replace(path)
    stamp = folder / "timestamp.txt"
    timestamp = getattr(sub, "timestamp", None)
    if timestamp:
        stamp.write_text(str(timestamp))
    elif stamp.exists():
        stamp.unlink()
    # nbgrader's exchange puts a per-submission secret beside the notebook; release_feedback names the released
    # page by a hash of it, so that only that student's fetch_feedback finds it.
    secret = _submission_folder(sub, assignment.name)
    secret = secret / "submission_secret.txt" if secret else None
    kept = folder / "submission_secret.txt"
    if secret and secret.is_file() and not secret.is_symlink() and secret.stat().st_size < 4096:
        kept.write_bytes(secret.read_bytes())
    elif kept.exists():
        kept.unlink()
    return path


def _submission_folder(sub: Submission, assignment: str) -> Path | None:
    """The folder an nbgrader-layout submission came from (``submitted/<student>/<assignment>/``), if any."""
    origin = Path(sub.origin)
    if not origin.is_dir() or origin.is_symlink():
        return None
    inner = origin / assignment
    return inner if inner.is_dir() and not inner.is_symlink() else origin


def write_course_folders(root: Path, assignment: Assignment) -> None:
    """``source/<assignment>/`` and ``release/<assignment>/`` of the grading root, from the repository."""
    src = root / "source" / assignment.name
    src.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(assignment.path, src / assignment.path.name)
    released = EXERCISES / assignment.name / assignment.path.name
    if released.exists():
        rel = root / "release" / assignment.name
        rel.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(released, rel / released.name)
    os.chmod(src, 0o700)  # the instructor's notebook holds the hidden tests
