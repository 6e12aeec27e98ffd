"""Stage 5, record: the scores into nbgrader's gradebook (``auto_score`` only; a manual score stays and wins),
and each student's result into the run's cache (``work/results/``), so that a re-run resumes.
"""
from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

from autograder.stages.judge import StudentResult
from autograder.stages.prepare import Assignment


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


def record(gb, assignment: Assignment, result: StudentResult, timestamp=None, *, reviewed: bool = False) -> None:
    """Write ``auto_score`` of every graded cell; a manual score, if a grader set one, stays and wins. A flagged
    result asks nbgrader's formgrader for a human (``needs_manual_grade``) unless a grader ``reviewed`` it."""
    gb.update_or_create_student(result.student)
    kwargs = {"timestamp": timestamp} if timestamp else {}
    # nbgrader builds the new submission's rows from objects already in the session; with SQLAlchemy 2 (no
    # backref cascade) each lazy load in between autoflushes a half-built row and warns (SAWarning "not in
    # session"). Building it without autoflush adds the whole tree at once: nothing to warn about.
    with gb.db.no_autoflush:
        gb.update_or_create_submission(assignment.name, result.student, **kwargs)
    for cell in assignment.tests:
        grade = gb.find_grade(cell.grade_id, assignment.notebook, assignment.name, result.student)
        grade.auto_score = float(result.scores.get(cell.grade_id, 0.0))
        # A flagged submission waits for a human in nbgrader's formgrader until someone gives a manual score.
        grade.needs_manual_grade = bool(result.review) and not reviewed and grade.manual_score is None
    gb.db.commit()


def save_cached(cache: Path, result: StudentResult) -> None:
    """Keep one student's result for re-runs (written atomically)."""
    tmp = cache / f".{result.student}.json.tmp"
    tmp.write_text(json.dumps(asdict(result)))
    tmp.replace(cache / f"{result.student}.json")


def load_cached(cache: Path, student: str, key: str) -> StudentResult | None:
    """The cached result of ``student`` if it was made with the same ``key`` (same bytes, seed, code, limits)."""
    path = cache / f"{student}.json"
    if not path.exists():
        return None
    try:
        data = json.loads(path.read_text())
        if data.get("key") == key:
            return StudentResult(**data)
    except (ValueError, TypeError):
        pass
    return None
