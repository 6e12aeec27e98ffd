"""Grade every submission of one assignment, with student code contained in a sandbox.

    python -m autograder grade 03-qkv SUBMISSIONS [--out grading/03-qkv] [--db URL] [--jobs 2]

SUBMISSIONS is nbgrader's ``submitted/`` folder (``<student>/<assignment>/<notebook>.ipynb``, or
the course folder that contains ``submitted/``), or a flat folder of ``<student>.ipynb`` files
and/or ``<student>.zip`` archives as a learning-management system exports them.

How a grade is decided (docs/grading.md explains it in full): the grader draws every hidden case
from a secret per-run seed and writes the inputs as plain arrays; each student's notebook runs in
a bubblewrap sandbox where ``check(...)`` only runs the student's function on those inputs and
sends the returned arrays back; the grader compares them with the reference, computed here, and
writes ``auto_score`` of every graded cell into nbgrader's gradebook. Nothing a notebook prints or
displays is read as a score, and the sandbox holds neither the reference, nor the expected
values, nor the gradebook.

Written under ``--out``: ``gradebook.db`` (unless ``--db``), ``grades.csv`` (``nbgrader export``
format), ``feedback/<student>/<assignment>/<notebook>.html``, ``summary.md`` and
``histogram.png``, ``logs/<student>.log``, and ``work/`` (the run's secret seed and cached
results; re-running resumes from it). Exit status 0 if every submission was graded normally,
1 if at least one needs a human look (listed in summary.md), 2 on a usage error.
"""
from __future__ import annotations

import argparse
import ast
import copy
import csv
import hashlib
import json
import os
import queue
import re
import secrets
import shutil
import sys
import time
import zipfile
import zlib
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from autograder import sandbox
from autograder.checking import compare, describe, rng_for
from autograder.probe import wire
from autograder.release import REPO, SOLUTIONS

VERSION = "2"  # cached results are also invalidated by any change of the package's code (_code_digest)
_CODE_DIGEST = ""
MAX_NOTEBOOK_BYTES = 100 << 20
HIDDEN_RE = re.compile(r"^[ \t]*### BEGIN HIDDEN TESTS[ \t]*\n(.*?)^[ \t]*### END HIDDEN TESTS[ \t]*\n?", re.S | re.M)
CHECK_RE = re.compile(r"""\bcheck\(\s*["']([^"']+)["']\s*,\s*["']([^"']+)["']""")
SAFE_ID = re.compile(r"[^A-Za-z0-9_.@+-]")


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
    from autograder.specs import get_spec

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
                    trees.append({"args": wire.encode(tuple(c.args), store, memo),
                                  "kwargs": wire.encode(dict(c.kwargs), store, memo)})
                except wire.WireError as exc:
                    raise SystemExit(f"{a}/{f}, case {c.label!r}: {exc}. The sandbox carries arrays, numbers, strings, "
                                     "None, tuples, lists, dicts with string keys, numpy Generators and torch tensors.")
            folder = inputs / a
            folder.mkdir(parents=True, exist_ok=True)
            np.savez(folder / f"{f}.npz", **store)
            (folder / f"{f}.json").write_text(json.dumps({"cases": trees}))
            functions[(a, f)] = FunctionCases(a, f, spec, cases, expected)
    return functions


# --------------------------------------------------------------------------- submissions


@dataclass
class Submission:
    student: str
    origin: str
    data: bytes | None = None
    problem: str | None = None
    notes: list[str] = field(default_factory=list)
    review: bool = False
    timestamp: str | None = None


def _pick(names: list[str], notebook: str) -> tuple[str | None, list[str]]:
    names = [n for n in names if n.endswith(".ipynb") and "__MACOSX" not in n and ".ipynb_checkpoints" not in n]
    if not names:
        return None, []
    exact = [n for n in names if Path(n).name == f"{notebook}.ipynb"]
    chosen = (exact or sorted(names))[0]
    return chosen, [n for n in names if n != chosen]


def collect(submissions: Path, assignment: str, notebook: str) -> list[Submission]:
    """Every submission found in ``submissions`` (see the module docstring for the layouts)."""
    if not submissions.is_dir():
        raise SystemExit(f"no such folder of submissions: {submissions}")
    if (submissions / "submitted").is_dir():
        submissions = submissions / "submitted"
    found: dict[str, Submission] = {}
    for item in sorted(submissions.iterdir()):
        if item.name.startswith("."):
            continue
        student = SAFE_ID.sub("_", item.stem if item.is_file() else item.name)
        sub = Submission(student, str(item))
        if item.is_dir():
            folder = item / assignment if (item / assignment).is_dir() else item
            chosen, others = _pick([p.name for p in folder.glob("*.ipynb")], notebook)
            if (folder / "timestamp.txt").is_file():
                sub.timestamp = (folder / "timestamp.txt").read_text()[:64].strip() or None
            if chosen is None:
                sub.problem = f"no notebook was found in the submission ({item.name}/)"
            else:
                sub.data = _read_capped(folder / chosen, sub)
                if others:
                    sub.notes.append(f"several notebooks submitted; graded {chosen}, ignored {', '.join(others)}")
                    sub.review = True
        elif item.suffix == ".ipynb":
            sub.data = _read_capped(item, sub)
        elif item.suffix == ".zip":
            try:
                with zipfile.ZipFile(item) as zf:
                    chosen, others = _pick(zf.namelist(), notebook)
                    if chosen is None:
                        sub.problem = "the zip archive holds no notebook"
                    elif zf.getinfo(chosen).file_size > MAX_NOTEBOOK_BYTES:
                        sub.problem = "the notebook in the zip archive is larger than 100 MB"
                    else:
                        with zf.open(chosen) as fh:
                            sub.data = fh.read(MAX_NOTEBOOK_BYTES + 1)
                        if others:
                            sub.notes.append(f"several notebooks in the archive; graded {chosen}, ignored {', '.join(others)}")
                            sub.review = True
            except (zipfile.BadZipFile, OSError, RuntimeError) as exc:
                sub.problem = f"the zip archive cannot be read ({type(exc).__name__})"
        else:
            continue
        if sub.student in found:
            n = 2
            while f"{sub.student}-{n}" in found:
                n += 1
            sub.notes.append(f"two submissions map to the id {sub.student!r}; this one is {sub.student}-{n}")
            sub.student, sub.review = f"{sub.student}-{n}", True
        if sub.problem:
            sub.review = True
        found[sub.student] = sub
    return list(found.values())


def _read_capped(path: Path, sub: Submission) -> bytes | None:
    if path.stat().st_size > MAX_NOTEBOOK_BYTES:
        sub.problem = "the notebook is larger than 100 MB"
        return None
    return path.read_bytes()


# --------------------------------------------------------------------------- merging cells


def _first_line(text: str) -> str:
    for line in text.splitlines():
        if line.strip():
            return line.strip()
    return ""


def _defined_names(text: str) -> set[str]:
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError):
        return {m.group(1) for m in re.finditer(r"^(?:def|class)\s+(\w+)", text, re.M)}
    return {n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))}


def parse_notebook(data: bytes) -> tuple[list[dict] | None, str | None, list[str]]:
    """The student's cells as ``{"kind", "source", "grade_id"}``, or a reason why there are none."""
    notes = []
    if len(data) > MAX_NOTEBOOK_BYTES:
        return None, "the notebook is larger than 100 MB", notes
    try:
        nb = json.loads(data.decode("utf-8", errors="replace"))
    except ValueError as exc:
        return None, f"the file is not valid notebook JSON ({str(exc)[:100]})", notes
    if not isinstance(nb, dict) or not isinstance(nb.get("cells"), list):
        if isinstance(nb, dict) and "worksheets" in nb:
            return None, "the notebook uses the old format 3; save it again with Jupyter", notes
        return None, "the file is JSON but not a Jupyter notebook (no list of cells)", notes
    if nb.get("nbformat") not in (4, None):
        notes.append(f"the notebook declares nbformat {nb.get('nbformat')!r}; its cells were read as format 4")
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


def merge(assignment: Assignment, student: list[dict]) -> tuple[list[dict], list[str]]:
    """The cells to run and show: the student's answers and extra cells, the instructor's locked and test cells.

    Cells are matched by nbgrader ``grade_id``; cells whose metadata were stripped are matched by
    content (locked cells by their first line, answer cells by the functions they define). Deleted
    locked or test cells come back from the source, in their place.
    """
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
                    notes.append(f"cell {sc.grade_id!r} had lost its nbgrader metadata; matched by its content")
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
                notes.append(f"answer cell {sc.grade_id!r} is missing from the notebook")
                continue
            text = student[j]["source"]
            merged.append({"kind": sc.kind, "role": "answer", "grade_id": sc.grade_id, "source": text,
                           "shown": text, "origin": "student"})
        else:
            if j is None and sc.role == "test":
                notes.append(f"test cell {sc.grade_id!r} was missing; the original was put back")
            merged.append({"kind": sc.kind, "role": sc.role, "grade_id": sc.grade_id, "source": sc.source,
                           "shown": sc.shown, "origin": "source", "points": sc.points, "checks": sc.checks})
    extras(len(student))
    return merged, notes


# --------------------------------------------------------------------------- judging


@dataclass
class StudentResult:
    student: str
    scores: dict            # grade_id -> points obtained
    reasons: dict           # grade_id -> readable reason (absent when full marks)
    notes: list             # anything unusual (goes to the log; student-facing ones to feedback)
    review: bool            # needs a human look
    cells: list             # merged cells with their outputs, for feedback
    seconds: float
    key: str

    @property
    def total(self) -> float:
        return float(sum(self.scores.values()))


def _parse_channel(data: bytes):
    frames, problem = [], None
    try:
        for header, payload in wire.read_frames(data):
            frames.append((header, payload))
    except wire.WireError as exc:
        problem = str(exc)
    return frames, problem


def judge_function(fc: FunctionCases, record: dict | None, results: dict) -> str | None:
    """Compare one function's returned values with the reference: None, or the first problem."""
    status = (record or {}).get("status")
    name = fc.name
    if status == "not-callable":
        return f"{name} should be a function, got {str(record.get('detail'))[:40]}"
    for i, case in enumerate(fc.cases):
        args = ", ".join([describe(a) for a in case.args] + [f"{k}={describe(v)}" for k, v in case.kwargs.items()])
        where = f"{name}: on the hidden case '{case.label}' ({name}({args}))"
        got = results.get(i)
        if got is None:
            if status == "timeout":
                return f"{where}: did not finish within {float(record.get('detail', 0)):g} s (the time limit of a function's hidden cases)"
            if status == "crashed":
                return f"{where}: the function stopped the process ({str(record.get('detail'))[:80]})"
            return f"{where}: no result came back"
        header, payload = got
        if "error" in header:
            problem = str(header["error"])[:300]
        else:
            try:
                value = wire.decode(header.get("value"), wire.unpack_arrays(payload))
            except Exception as exc:  # noqa: BLE001 - anything malformed is the submission's problem
                value, problem = None, f"returned a value the grader could not read ({type(exc).__name__})"
            else:
                problem = None
            if problem is None and header.get("modified"):
                problem = "modified its input arrays in place (it must leave them unchanged)"
            if problem is None:
                try:
                    if fc.spec.compare is not None:
                        problem = fc.spec.compare(value, case, fc.expected[i])
                    else:
                        problem = compare(value, fc.expected[i], fc.spec.rtol, fc.spec.atol)
                except Exception as exc:  # noqa: BLE001
                    problem = f"returned a value that could not be compared ({type(exc).__name__}: {str(exc)[:100]})"
        if problem:
            return f"{where}: {problem}"
    return None


def judge(student: str, merged: list[dict], run: sandbox.RunOutput, functions: dict, limits: sandbox.Limits,
          notes: list, key: str) -> StudentResult:
    code = [c for c in merged if c["kind"] == "code"]
    frames, corrupted = _parse_channel(run.channel)
    review = False
    cell_info, calls, started, done = {}, {}, [], False
    current = None
    for header, payload in frames:
        kind = header.get("kind")
        if kind == "start" and isinstance(header.get("index"), int):
            current = header["index"]
            started.append(current)
        elif kind == "cell" and isinstance(header.get("index"), int):
            cell_info[header["index"]] = header
        elif kind in ("result", "function"):
            slot = calls.setdefault(current, {}).setdefault((str(header.get("assignment")), str(header.get("function"))),
                                                            {"record": None, "results": {}})
            if kind == "result" and isinstance(header.get("case"), int):
                slot["results"].setdefault(header["case"], (header, payload))
            elif kind == "function":
                slot["record"] = header
                if header.get("status") == "timeout":
                    notes.append(f"{header.get('function')}: its hidden cases ran out of time")
                    review = True
                elif header.get("status") == "crashed":
                    notes.append(f"{header.get('function')}: the function stopped its process ({header.get('detail')})")
        elif kind == "done":
            done = True
    if corrupted:
        notes.append(f"the results channel was corrupted ({corrupted}); later results were ignored")
        review = True
    if run.channel_overflow:
        notes.append(f"the notebook sent more than {limits.channel_mb} MiB of results; it was stopped")
        review = True
    notes.extend(run.notes)
    last = started[-1] if started else None
    oom = any(n.startswith("the sandbox reached its memory limit") for n in run.notes)
    if done:
        stop = None
    elif oom:
        stop = f"the notebook used more memory than allowed ({limits.total_memory_mb} MB in all) and was killed"
    elif corrupted:
        stop = "the notebook corrupted its results (everything after that point was ignored)"
    elif run.timed_out:
        stop = f"the notebook ran out of time ({limits.notebook_timeout:g} s in all)"
    elif not started:
        stop = "the notebook could not be started"
    elif run.returncode is not None and run.returncode < 0:
        stop = f"the notebook's process was killed (signal {-run.returncode})"
    elif run.returncode and run.returncode > 128:
        stop = f"the notebook's process was killed (signal {run.returncode - 128}; memory, CPU time or a crash)"
    else:
        stop = f"the notebook's process ended (exit status {run.returncode}, e.g. os._exit or exit())"
    if stop:
        where = ""
        if last is not None and last < len(code):
            c = code[last]
            what = {"answer": "your answer", "extra": "a cell you added", "test": "test", "locked": "given code"}[c["role"]]
            where = f" while running code cell {last + 1} ({what}{' ' + c['grade_id'] if c.get('grade_id') else ''})"
        notes.append(stop + where)
        review = True
        if not started:
            notes.append("sandbox stderr: " + run.stderr.decode(errors="replace")[-500:])
    scores, reasons = {}, {}
    for index, cell in enumerate(code):
        info = cell_info.get(index)
        cell["ran"] = index in started
        if info:
            cell["error"] = info.get("error")
            cell["stdout"] = str(info.get("stdout", ""))
            cell["stderr"] = str(info.get("stderr", ""))
            cell["displays"] = info.get("displays") if isinstance(info.get("displays"), list) else []
            if cell["role"] == "test" and str(info.get("error") or "").startswith(("ProcessLimit", "Crash", "Exit")):
                notes.append(f"test {cell['grade_id']}: {info.get('error')}")
            if str(info.get("error") or "").startswith("CellTimeout"):
                notes.append(f"cell {index + 1} ran longer than its time limit ({limits.cell_timeout:g} s) and was interrupted")
            for stream in ("stdout", "stderr"):
                total = info.get(f"{stream}_total", 0)
                if isinstance(total, int) and total > limits.output_limit:
                    notes.append(f"cell {index + 1} wrote {total} characters to {stream}; the first {limits.output_limit} were kept")
        if cell["role"] != "test":
            continue
        gid = cell["grade_id"]
        reason = None
        if index not in started:
            reason = f"this test did not run: {stop or 'the notebook stopped before it'}"
        elif info is None:
            reason = f"this test did not finish: {stop or 'the notebook stopped in it'}"
        else:
            for a, f in cell["checks"]:
                slot = calls.get(index, {}).get((a, f))
                if slot is None or slot["record"] is None and not slot["results"]:
                    error = str(info.get("error") or "")
                    if error.startswith("NotImplementedError"):
                        reason = "not answered yet (the function raised NotImplementedError)"
                    elif error.startswith("CellTimeout"):
                        reason = f"the test ran longer than its time limit ({limits.cell_timeout:g} s for the cell)"
                    elif error:
                        reason = f"the test failed before its hidden tests ran: {error}"
                    else:
                        reason = f"the hidden tests of {f} did not run"
                    break
                reason = judge_function(functions[(a, f)], slot["record"], slot["results"])
                if reason:
                    break
            if reason is None and info.get("error"):
                reason = f"the test cell raised {info.get('error')}"
        scores[gid] = 0.0 if reason else float(cell["points"])
        if reason:
            reasons[gid] = reason
    return StudentResult(student, scores, reasons, notes, review, merged, run.seconds, key)


def failed_result(assignment: Assignment, sub: Submission, reason: str, key: str) -> StudentResult:
    scores = {c.grade_id: 0.0 for c in assignment.tests}
    reasons = {c.grade_id: reason for c in assignment.tests}
    return StudentResult(sub.student, scores, reasons, sub.notes + [reason], True, [], 0.0, key)


# --------------------------------------------------------------------------- one student


def grade_one(assignment: Assignment, sub: Submission, functions: dict, limits: sandbox.Limits, lib: Path,
              inputs: Path, jobs_dir: Path, uid: int, unsafe: bool, key: str) -> StudentResult:
    if sub.problem:
        return failed_result(assignment, sub, sub.problem, key)
    cells, problem, notes = parse_notebook(sub.data or b"")
    if problem:
        return failed_result(assignment, sub, problem, key)
    merged, merge_notes = merge(assignment, cells)
    notes = sub.notes + notes + merge_notes
    job = jobs_dir / sub.student
    if job.exists():
        shutil.rmtree(job)
    job.mkdir(parents=True)
    cells_json = [{"source": c["source"], "isolate": c["role"] == "test",
                   "budget": limits.cell_timeout + limits.function_timeout * len(c.get("checks") or []) + 5}
                  for c in merged if c["kind"] == "code"]
    (job / "cells.json").write_text(json.dumps(cells_json))
    (job / "limits.json").write_text(json.dumps(limits.as_json()))
    sandbox._world_readable(job)
    try:
        run = sandbox.run(job, lib, inputs, limits, uid=uid, unsafe=unsafe)
    finally:
        shutil.rmtree(job, ignore_errors=True)
    result = judge(sub.student, merged, run, functions, limits, notes, key)
    result.review = result.review or sub.review
    return result


# --------------------------------------------------------------------------- gradebook and reports


def _fast_alembic_version() -> None:
    """nbgrader asks a subprocess (`alembic heads`) for the schema version of a new gradebook; ask alembic here."""
    try:
        import nbgrader.api
        from alembic.config import Config
        from alembic.script import ScriptDirectory
        from nbgrader.dbutil import ALEMBIC_DIR

        config = Config()
        config.set_main_option("script_location", ALEMBIC_DIR)
        head = ScriptDirectory.from_config(config).get_current_head()
        if head:
            nbgrader.api.get_alembic_version = lambda: head
    except Exception:  # noqa: BLE001 - keep nbgrader's own way
        pass


def ensure_assignment(gb, assignment: Assignment) -> None:
    gb.update_or_create_assignment(assignment.name)
    gb.update_or_create_notebook(assignment.notebook, assignment.name)
    for cell in assignment.cells:
        if cell.role == "test":
            gb.update_or_create_grade_cell(cell.grade_id, assignment.notebook, assignment.name,
                                           max_score=cell.points, cell_type="code")
        elif cell.role == "answer":
            gb.update_or_create_solution_cell(cell.grade_id, assignment.notebook, assignment.name)


def record(gb, assignment: Assignment, result: StudentResult, timestamp: str | None) -> None:
    """Write ``auto_score`` of every graded cell; a manual score, if a grader set one, stays and wins."""
    gb.update_or_create_student(result.student)
    kwargs = {"timestamp": timestamp} if timestamp else {}
    gb.update_or_create_submission(assignment.name, result.student, **kwargs)
    for cell in assignment.tests:
        grade = gb.find_grade(cell.grade_id, assignment.notebook, assignment.name, result.student)
        grade.auto_score = float(result.scores.get(cell.grade_id, 0.0))
        grade.needs_manual_grade = False
    gb.db.commit()


def export_csv(gb, assignment: Assignment, path: Path) -> None:
    from nbgrader.plugins.export import CsvExportPlugin

    CsvExportPlugin(to=str(path), assignment=[assignment.name]).export(gb)


def write_log(path: Path, result: StudentResult, sub: Submission) -> None:
    lines = [f"student: {result.student}", f"submission: {sub.origin}", f"score: {result.total:g}",
             f"needs review: {'yes' if result.review else 'no'}", f"seconds: {result.seconds:.1f}", ""]
    lines += ["unusual:"] + [f"  - {n}" for n in result.notes] if result.notes else ["unusual: nothing"]
    lines += ["", "lost points:"] + [f"  - {g}: {r}" for g, r in result.reasons.items()]
    path.write_text("\n".join(lines) + "\n")


def write_summary(out: Path, assignment: Assignment, results: list[StudentResult], seed_note: str,
                  skipped: list[str]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    totals = [r.total for r in results]
    lines = [f"# Grades for {assignment.name}", "", f"{len(results)} submission(s); maximum {assignment.max_score:g} points.",
             f"Mean {np.mean(totals) if totals else 0:.2f}, median {np.median(totals) if totals else 0:.2f}. {seed_note}",
             "", "## Per question", "", "| question | points | mean | full marks |", "| --- | --- | --- | --- |"]
    for cell in assignment.tests:
        got = [r.scores.get(cell.grade_id, 0.0) for r in results]
        full = sum(1 for g in got if g >= cell.points)
        lines.append(f"| {cell.grade_id} | {cell.points:g} | {np.mean(got) if got else 0:.2f} | {full}/{len(got)} |")
    review = [r for r in results if r.review]
    lines += ["", "## Needs a human look", ""]
    lines += [f"- {r.student}: " + "; ".join(r.notes[:3]) + f" (logs/{r.student}.log)" for r in review] or ["Nothing."]
    if skipped:
        lines += ["", "Ignored files in the submissions folder: " + ", ".join(skipped)]
    if assignment.warnings:
        lines += ["", "## Warnings about the assignment", ""] + [f"- {w}" for w in assignment.warnings]
    lines += ["", "## Students", "", "| student | score | review |", "| --- | --- | --- |"]
    lines += [f"| {r.student} | {r.total:g} | {'yes' if r.review else ''} |" for r in sorted(results, key=lambda r: r.student)]
    lines += ["", "![Score histogram](histogram.png)"]
    (out / "summary.md").write_text("\n".join(lines) + "\n")
    fig, ax = plt.subplots(figsize=(6, 3.5))
    bins = np.arange(0, assignment.max_score + 2) - 0.5
    ax.hist(totals, bins=bins, color="#4c72b0", edgecolor="white")
    ax.set_xlabel("score")
    ax.set_ylabel("students")
    ax.set_title(f"{assignment.name}: {len(results)} submissions")
    fig.tight_layout()
    fig.savefig(out / "histogram.png", dpi=100)
    plt.close(fig)


# --------------------------------------------------------------------------- the command


def run_seed(work: Path, seed: int | None) -> int:
    """The run's secret seed: given, else kept in ``work/seed`` so that re-runs draw the same cases."""
    path = work / "seed"
    if seed is None and path.exists():
        return int(path.read_text())
    seed = secrets.randbits(32) if seed is None else int(seed)
    work.mkdir(parents=True, exist_ok=True)
    path.write_text(str(seed))
    os.chmod(path, 0o600)
    return seed


def _code_digest() -> str:
    """A digest of the course package's code (grader, probe, specs, reference): a change re-grades everyone."""
    h = hashlib.sha256()
    package = Path(__file__).resolve().parent
    for path in sorted(package.rglob("*.py")):
        h.update(str(path.relative_to(package)).encode() + b"\0" + path.read_bytes())
    return h.hexdigest()


def _cache_key(assignment: Assignment, sub: Submission, seed: int, limits: sandbox.Limits, unsafe: bool) -> str:
    h = hashlib.sha256()
    for part in (VERSION, _CODE_DIGEST, assignment.digest, str(seed), json.dumps(asdict(limits), sort_keys=True), str(unsafe),
                 sub.problem or "", hashlib.sha256(sub.data or b"").hexdigest()):
        h.update(part.encode() + b"\0")
    return h.hexdigest()


def grade(assignment: str, submissions: Path, out: Path, seed: int | None = None, *, db: str | None = None,
          jobs: int = 2, limits: sandbox.Limits | None = None, unsafe_no_sandbox: bool = False,
          force: bool = False, progress: bool = True, mathjax: str | None = None,
          shard: tuple[int, int] | None = None) -> list[dict]:
    """Grade every submission in ``submissions``; return the rows of the grades CSV (graded students only)."""
    from nbgrader.api import Gradebook
    from tqdm.auto import tqdm

    from autograder.feedback import render as render_feedback

    limits = limits or sandbox.Limits()
    # nbgrader creates or migrates the gradebook by running `alembic` from PATH: this interpreter's.
    bindir = str(Path(sys.executable).parent)
    if bindir not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = os.pathsep.join([bindir, os.environ.get("PATH", "")])
    if not unsafe_no_sandbox:
        ok, why = sandbox.available()
        if not ok:
            raise SystemExit(f"cannot sandbox student code: {why}.\nInstall bubblewrap, or pass --unsafe-no-sandbox "
                             "to run student code with resource limits only (see docs/grading.md).")
    spec = load_assignment(assignment)
    for warning in spec.warnings:
        print(f"warning: {spec.name}: {warning}", file=sys.stderr)
    out = Path(out)
    work = out / "work"
    out.mkdir(parents=True, exist_ok=True)
    seed = run_seed(work, seed)
    cache = work / "results"
    cache.mkdir(parents=True, exist_ok=True)
    for folder in ("logs", "feedback"):
        (out / folder).mkdir(exist_ok=True)
    # The inputs and probe live in a fresh folder readable by the sandbox user; the expected values stay here.
    run_dir = work / "run"
    if run_dir.exists():
        shutil.rmtree(run_dir)
    run_dir.mkdir(parents=True)
    lib = sandbox.stage_probe(run_dir / "probe")
    inputs = run_dir / "inputs"
    functions = prepare_inputs(spec, seed, inputs)
    sandbox._world_readable(inputs)
    jobs_dir = run_dir / "jobs"
    jobs_dir.mkdir()
    os.chmod(run_dir, 0o755)
    os.chmod(work, 0o755)

    global _CODE_DIGEST
    _CODE_DIGEST = _code_digest()
    subs = collect(Path(submissions), assignment, spec.notebook)
    if shard:
        k, n = shard
        subs = [s for s in subs if zlib.crc32(s.student.encode()) % n == k - 1]
    known = {".ipynb", ".zip"}
    src = Path(submissions) / "submitted" if (Path(submissions) / "submitted").is_dir() else Path(submissions)
    skipped = [p.name for p in sorted(src.iterdir()) if p.is_file() and p.suffix not in known and not p.name.startswith(".")]
    db_url = db or f"sqlite:///{(out / 'gradebook.db').resolve()}"
    results: dict[str, StudentResult] = {}
    todo = []
    for sub in subs:
        key = _cache_key(spec, sub, seed, limits, unsafe_no_sandbox)
        cached = cache / f"{sub.student}.json"
        if not force and cached.exists():
            try:
                data = json.loads(cached.read_text())
                if data.get("key") == key:
                    results[sub.student] = StudentResult(**data)
                    continue
            except (ValueError, TypeError):
                pass
        todo.append((sub, key))
    by_student = {s.student: s for s in subs}
    slots: queue.Queue = queue.Queue()
    base = sandbox.SANDBOX_UID_BASE + (os.getpid() % 100_000) * 64  # distinct per grader process
    for i in range(max(1, jobs)):
        slots.put(base + i)

    def work_one(sub, key):
        uid = slots.get()
        try:
            return grade_one(spec, sub, functions, limits, lib, inputs, jobs_dir, uid, unsafe_no_sandbox, key)
        except Exception as exc:  # noqa: BLE001 - a grader bug must not stop the batch
            return failed_result(spec, sub, f"the grader failed on this submission ({type(exc).__name__}: {exc})", key)
        finally:
            slots.put(uid)

    _fast_alembic_version()
    with Gradebook(db_url) as gb:
        ensure_assignment(gb, spec)
        for r in results.values():
            _finish(gb, spec, r, by_student[r.student], out, mathjax, render_feedback, cache=None)
        bar = tqdm(total=len(subs), initial=len(results), desc=f"grading {assignment}", unit="student",
                   disable=not progress)
        with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
            futures = [pool.submit(work_one, sub, key) for sub, key in todo]
            for fut in as_completed(futures):
                r = fut.result()
                results[r.student] = r
                _finish(gb, spec, r, by_student[r.student], out, mathjax, render_feedback, cache=cache)
                bar.update(1)
        bar.close()
        export_csv(gb, spec, out / "grades.csv")
    shutil.rmtree(run_dir, ignore_errors=True)
    ordered = [results[s.student] for s in subs]
    write_summary(out, spec, ordered, f"Hidden-case seed kept in {work / 'seed'} (secret).", skipped)
    rows = list(csv.DictReader((out / "grades.csv").open()))
    students = {s.student for s in subs}
    rows = [r for r in rows if r["student_id"] in students]
    needs = {r.student for r in ordered if r.review}
    for row in rows:
        row["needs_review"] = row["student_id"] in needs
    return rows


def _finish(gb, spec, result, sub, out, mathjax, render_feedback, cache) -> None:
    if cache is not None:
        tmp = cache / f".{result.student}.json.tmp"
        tmp.write_text(json.dumps(asdict(result)))
        tmp.replace(cache / f"{result.student}.json")
    record(gb, spec, result, sub.timestamp)
    folder = out / "feedback" / result.student / spec.name
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{spec.notebook}.html").write_text(render_feedback(spec, result, mathjax=mathjax))
    write_log(out / "logs" / f"{result.student}.log", result, sub)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m autograder grade", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("assignment", help="assignment id, e.g. 03-qkv (a folder of solutions/)")
    parser.add_argument("submissions", type=Path, help="folder of submissions")
    parser.add_argument("--out", type=Path, default=None, help="output folder (default grading/<assignment>)")
    parser.add_argument("--db", default=None, help="gradebook SQLAlchemy URL (default sqlite:///OUT/gradebook.db)")
    parser.add_argument("--seed", type=int, default=None, help="seed of the hidden cases (default: secret, kept in OUT/work/seed)")
    parser.add_argument("--jobs", type=int, default=2, help="notebooks graded in parallel (default 2)")
    parser.add_argument("--force", action="store_true", help="grade again even submissions whose results are cached")
    parser.add_argument("--function-timeout", type=float, default=sandbox.Limits.function_timeout,
                        help="seconds for all hidden cases of one function (default %(default)s)")
    parser.add_argument("--cell-timeout", type=float, default=sandbox.Limits.cell_timeout,
                        help="seconds for one cell, hidden cases not counted (default %(default)s)")
    parser.add_argument("--notebook-timeout", type=float, default=sandbox.Limits.notebook_timeout,
                        help="wall-clock seconds for a whole notebook; also its CPU-time limit (default %(default)s)")
    parser.add_argument("--memory-mb", type=int, default=sandbox.Limits.memory_mb,
                        help="address-space limit of each sandbox process in MB (default %(default)s)")
    parser.add_argument("--total-memory-mb", type=int, default=sandbox.Limits.total_memory_mb,
                        help="memory of a whole sandbox in MB, where cgroups can be made (default %(default)s)")
    parser.add_argument("--processes", type=int, default=sandbox.Limits.processes,
                        help="process limit of a sandbox (default %(default)s)")
    parser.add_argument("--mathjax", default=None,
                        help="MathJax 3 for the feedback pages: a URL or path of tex-*.js, or 'none' "
                             "(default: the course's own copy embedded, when installed; never a CDN)")
    parser.add_argument("--unsafe-no-sandbox", action="store_true",
                        help="run student code without bubblewrap (resource limits only; no file-system or network isolation)")
    parser.add_argument("--shard", default=None, metavar="K/N",
                        help="grade only shard K of N (students split by a hash of their id), e.g. 1/3 on a first machine")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)
    out = args.out or REPO / "grading" / args.assignment
    limits = sandbox.Limits(function_timeout=args.function_timeout, cell_timeout=args.cell_timeout,
                            notebook_timeout=args.notebook_timeout, memory_mb=args.memory_mb,
                            total_memory_mb=args.total_memory_mb,
                            processes=args.processes, cpu_seconds=int(max(args.notebook_timeout, 1)))
    shard = None
    if args.shard:
        try:
            k, n = (int(v) for v in args.shard.split("/"))
            assert 1 <= k <= n
        except (ValueError, AssertionError):
            parser.error("--shard takes K/N with 1 <= K <= N, e.g. 2/3")
        shard = (k, n)
    start = time.perf_counter()
    rows = grade(args.assignment, args.submissions, out, args.seed, db=args.db, jobs=args.jobs, limits=limits,
                 unsafe_no_sandbox=args.unsafe_no_sandbox, force=args.force, progress=not args.quiet,
                 mathjax=args.mathjax, shard=shard)
    took = time.perf_counter() - start
    for r in rows:
        flag = "  needs review" if r["needs_review"] else ""
        print(f"{r['student_id']:>24}  {float(r['score']):5.1f} / {float(r['max_score']):g}{flag}")
    print(f"graded {len(rows)} submission(s) in {took:.1f} s; grades: {out / 'grades.csv'}, "
          f"feedback: {out / 'feedback'}, summary: {out / 'summary.md'}")
    return 1 if any(r["needs_review"] for r in rows) else 0
