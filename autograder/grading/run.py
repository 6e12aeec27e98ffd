"""Stage 3, run sandboxed: rebuild the notebook to run from the student's cells and the source, run it in the sandbox.

``merge`` keeps the student's answer cells and any cells they added, in their order, and puts the
instructor's version of every locked and test cell (also deleted or metadata-stripped ones) in place.
``execute`` writes the cells for the sandbox's runner and runs them (``autograder.grading.sandbox``); ``judge_ran``
hands the raw output to the judge. A test cell runs in a process of its own, forked from the sandbox's supervisor
(never from the notebook's process), which replays the notebook's earlier cells; there, every *other* graded
function of the assignment is replaced by a public stand-in (``autograder.grading.standins``),
so that a wrong, failing or endless earlier function costs only its own points.
"""
from __future__ import annotations

import ast
import json
import re
import shutil
from dataclasses import dataclass, replace

from autograder import syntax_trees
from autograder.grading import sandbox, staging, standins
from autograder.reasons import R, Reason
from autograder.grading import submission
from autograder.grading.submission import Submission
from autograder.grading.judge import StudentResult, failed_result, judge
from autograder.grading.prepare import Assignment, _text
from autograder.catalogs import code_translations, notebook_language, translate_code


def given_names(assignment: Assignment, cell_checks: list) -> list[str]:
    """The graded functions replaced by their stand-ins while a test cell runs: every graded function of the
    assignment that has a stand-in, except the ones this cell grades."""
    graded = {f for c in assignment.tests for a, f in c.checks if a == assignment.name}
    own = {f for a, f in cell_checks}
    return sorted(n for n in graded - own if n in standins.STANDINS.get(assignment.name, {}))


def given_source(assignment: Assignment, cell_checks: list) -> str:
    """The source of the stand-ins a test cell is given: those of ``given_names``, never one of a function it grades."""
    names = given_names(assignment, cell_checks)
    own = {f for a, f in cell_checks}
    assert not own & set(names), f"a test cell would be given a stand-in of a function it grades: {own & set(names)}"
    return standins.source_for(assignment.name, names)


def _first_line(text: str) -> str:
    for line in text.splitlines():
        if line.strip():
            return line.strip()
    return ""


def _defined_names(text: str) -> set[str]:
    try:
        tree = syntax_trees.parse(text)
    except (SyntaxError, ValueError):
        return {m.group(1) for m in re.finditer(r"^(?:def|class)\s+(\w+)", text, re.M)}
    return {n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))}


def parse_notebook(data: bytes) -> tuple[list[dict] | None, Reason | None, list[Reason]]:
    """The student's cells as ``{"kind", "source", "grade_id"}``, or a reason why there are none."""
    notes = []
    if len(data) > submission.MAX_NOTEBOOK_BYTES:
        return None, R("too_large"), notes
    try:
        nb = json.loads(data.decode("utf-8", errors="replace"))
    except ValueError as exc:
        return None, R("not_json", detail=str(exc)[:100]), notes
    if not isinstance(nb, dict) or not isinstance(nb.get("cells"), list):
        if isinstance(nb, dict) and "worksheets" in nb:
            return None, R("nbformat3"), notes
        return None, R("not_notebook"), notes
    if nb.get("nbformat") not in (4, None):
        notes.append(R("nbformat", version=repr(nb.get("nbformat"))))
    cells = []
    for cell in nb["cells"]:
        if not isinstance(cell, dict):
            continue
        meta = cell.get("metadata")
        nbg = meta.get("nbgrader") if isinstance(meta, dict) else None
        gid = nbg.get("grade_id") if isinstance(nbg, dict) and isinstance(nbg.get("grade_id"), str) else None
        cells.append({"kind": cell.get("cell_type") if cell.get("cell_type") in ("code", "markdown") else "raw",
                      "source": _text(cell.get("source")), "grade_id": gid})
    return cells, None, notes


def merge(assignment: Assignment, student: list[dict], code_table: dict | None = None) -> tuple[list[dict], list[Reason]]:
    """The cells to run and show: the student's answers and extra cells, the instructor's locked and test cells.

    Cells are matched by nbgrader ``grade_id``; cells whose metadata were stripped are matched by
    content (locked cells by their first line, answer cells by the functions they define). Deleted
    locked or test cells come back from the source, in their place.

    ``code_table``: the Chinese release's code messages (``catalogs.code_translations``) for a notebook of that
    release: the instructor's code cells go back with their comments, docstrings and messages as the student's
    release has them (the code itself unchanged), and a cell whose metadata were stripped matches by that first line.
    """
    if code_table:
        assignment = replace(assignment, cells=[
            replace(sc, source=translate_code(sc.source, code_table), shown=translate_code(sc.shown, code_table))
            if sc.kind == "code" and sc.role != "answer" else sc for sc in assignment.cells])
    notes = []
    ids = {c.grade_id for c in assignment.cells if c.grade_id}
    anchor: dict[str, int] = {}
    for j, cell in enumerate(student):
        gid = cell["grade_id"]
        if gid in ids and gid not in anchor:
            anchor[gid] = j
    used = set(anchor.values())
    # Content fallback for cells whose nbgrader metadata are gone.
    for sc in assignment.cells:
        if not sc.grade_id or sc.grade_id in anchor:
            continue
        for j, cell in enumerate(student):
            if j in used or cell["grade_id"] in ids or cell["kind"] != sc.kind:
                continue
            if sc.role == "answer":
                wanted = _defined_names(sc.source)
                ok = bool(wanted) and wanted <= _defined_names(cell["source"])
            else:
                ok = bool(_first_line(sc.shown)) and _first_line(cell["source"]) == _first_line(sc.shown)
            if ok:
                anchor[sc.grade_id] = j
                used.add(j)
                if sc.role in ("answer", "test"):
                    notes.append(R("metadata_lost", grade_id=repr(sc.grade_id)))
                break
    merged, pos = [], 0

    def extras(upto):
        for j in range(pos, upto):
            cell = student[j]
            if j in used or cell["kind"] == "raw":
                continue
            merged.append({"kind": cell["kind"], "role": "extra", "grade_id": None, "source": cell["source"],
                           "shown": cell["source"], "origin": "student"})

    for sc in assignment.cells:
        j = anchor.get(sc.grade_id) if sc.grade_id else None
        if j is not None and j >= pos:
            extras(j)
            pos = j + 1
        if sc.role == "answer":
            if j is None:
                notes.append(R("answer_missing", grade_id=sc.grade_id))
                continue
            text = student[j]["source"]
            merged.append({"kind": sc.kind, "role": "answer", "grade_id": sc.grade_id, "source": text,
                           "shown": text, "origin": "student"})
        else:
            if j is None and sc.role == "test":
                notes.append(R("test_restored", grade_id=sc.grade_id))
            merged.append({"kind": sc.kind, "role": sc.role, "grade_id": sc.grade_id, "source": sc.source,
                           "shown": sc.shown, "origin": "source", "points": sc.points, "checks": sc.checks})
    extras(len(student))
    return merged, notes


@dataclass
class Ran:
    """What running one notebook gave (on whichever machine ran it): the merged cells, the notes so far and the
    sandbox's raw output; or ``problem`` when there was nothing to run. The judge turns it into a result."""

    student: str
    merged: list
    notes: list
    run: sandbox.RunOutput | None = None
    problem: Reason | None = None
    review: bool = False
    host: str = ""                                # the machine that ran it (a Dask worker's) ...
    missing: list | None = None                   # ... and the limits that could not be applied there


def execute(assignment: Assignment, sub: Submission, limits: sandbox.Limits, staged: staging.Staged,
            uids: staging.UidPool, unsafe: bool, run=sandbox.run) -> Ran:
    """Stage 3 only (no reference, no expected value needed): rebuild the notebook and run it in the sandbox, from
    a staged run (``staging.stage``) with a sandbox uid of ``uids``: the one way the local pool and every Dask
    worker run a notebook.

    ``run``: how (``sandbox.run``, a cold sandbox; or ``warm.Template.run``, one forked from a warm template)."""
    if sub.problem:
        return Ran(sub.student, [], list(sub.notes), problem=sub.problem, review=True)
    cells, problem, notes = parse_notebook(sub.data or b"")
    if problem:
        return Ran(sub.student, [], list(sub.notes), problem=problem, review=True)
    zh = submission_language(sub.data).startswith("zh")
    merged, merge_notes = merge(assignment, cells, code_translations(assignment.name) if zh else None)
    notes = sub.notes + notes + merge_notes
    job = staged.jobs / sub.student
    if job.exists():
        shutil.rmtree(job)
    job.mkdir(parents=True)
    code = [c for c in merged if c["kind"] == "code"]
    # The stand-ins' source is not in the job folder (the sandbox can read it): each test cell's goes to its
    # process alone, through a pipe (sandbox.run).
    tests = {i: given_source(assignment, c.get("checks") or []) for i, c in enumerate(code) if c["role"] == "test"}
    cells_json = [{"source": c["source"], "isolate": c["role"] == "test",
                   "budget": limits.cell_timeout + limits.function_timeout * len(c.get("checks") or []) + 5,
                   "checks": sorted({f for a, f in c.get("checks") or []}),
                   "torch": standins.uses_torch(assignment.name, given_names(assignment, c.get("checks") or []))}
                  if c["role"] == "test" else {"source": c["source"]} for c in code]
    (job / "cells.json").write_text(json.dumps(cells_json))
    (job / "limits.json").write_text(json.dumps(limits.as_json()))
    sandbox._world_readable(job)
    try:
        with uids.uid() as uid:
            output = run(job, staged.lib, staged.inputs, limits, uid=uid, unsafe=unsafe, tests=tests)
    finally:
        shutil.rmtree(job, ignore_errors=True)
    return Ran(sub.student, merged, notes, output, review=sub.review)


def judge_ran(assignment: Assignment, sub: Submission, ran: Ran, functions: dict, limits: sandbox.Limits,
              key: str) -> StudentResult:
    """Stage 4 on the grader's side: the expected values never leave the process that owns the gradebook."""
    language = submission_language(sub.data)
    if ran.problem is not None:
        return _in(language, failed_result(assignment, sub, ran.problem, key))
    result = judge(sub.student, ran.merged, ran.run, functions, limits, list(ran.notes), key)
    result.review = result.review or ran.review
    result.origin = sub.origin
    return _in(language, result)


def submission_language(data: bytes | None) -> str:
    """The language of the release a submission came from (English unless it reads as the Chinese release)."""

    try:
        nb = json.loads(data or b"")
    except (ValueError, UnicodeDecodeError):
        return "en"
    return notebook_language(nb) if isinstance(nb, dict) else "en"


def _in(language: str, result: StudentResult) -> StudentResult:
    result.language = language
    return result
