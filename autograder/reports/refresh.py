"""Every output of an assignment, rewritten from the gradebook: what each command that changes the record calls."""
from __future__ import annotations

import logging
import shutil
from pathlib import Path

from autograder.course import secure
from autograder.errors import UsageError
from autograder.gradebook import cache
from autograder.gradebook.nbgrader_layout import course_root
from autograder.gradebook.standing import Standing, export_rows, placeholder, standing
from autograder.gradebook.store import excluded, graded_students
from autograder.grading.prepare import Assignment
from autograder.reports.term_grades import write_term_grades
from autograder.reports.report import shared_mathjax, write_csv, write_feedback, write_log, write_summary

log = logging.getLogger(__name__)


def refresh(gb, spec: Assignment, out: Path, feedback_for: list[str] | tuple = (), *, mathjax: str | None = None,
            seed_note: str = "", skipped: list | None = None, cached: int = 0) -> dict[str, Standing]:
    """Rewrite every output of ``spec`` in ``out`` from the gradebook: ``grades.csv``, the term-wide
    ``ROOT/grades.csv`` (``ROOT`` = the parent of ``out``), ``summary.md`` and ``histogram.png`` for every graded
    student of the assignment (not only those of the last run), every log, and the feedback pages of
    ``feedback_for``. Returns the standings it showed."""
    out = Path(out)
    students = graded_students(gb, spec.name)
    results = {s: cache.kept_result(out, s) for s in students}
    standings = {s: standing(gb, spec, s, results[s]) for s in students}
    results = {s: results[s] or placeholder(spec, standings[s]) for s in students}
    gone = excluded(gb, spec.name)
    for s in gone:  # an excluded student's page and log are not left behind (nor released: nothing to copy)
        shutil.rmtree(out / "feedback" / s, ignore_errors=True)
        (out / "logs" / f"{s}.log").unlink(missing_ok=True)
    (out / "logs").mkdir(parents=True, exist_ok=True)
    for s in students:  # every log shows the record as it is now (a grader's score, an extension, a review)
        write_log(out / "logs" / f"{s}.log", results[s], standings[s])
    if feedback_for:
        mathjax = shared_mathjax(out, mathjax)
        for s in feedback_for:
            if s in standings:
                write_feedback(out, spec, results[s], mathjax, standings[s])
    write_csv(out / "grades.csv", export_rows(gb, [spec.name]))
    write_csv(out.parent / "grades.csv", export_rows(gb))
    try:  # the term's totals, if the term has a configuration (ROOT/term.toml)
        write_term_grades(gb, out.parent)
    except UsageError as exc:  # a wrong term.toml does not stop grading: it is said, and the totals wait
        log.warning("%s", exc)
    if skipped is None:
        skipped = cache.kept_skipped(out)
    else:
        cache.save_skipped(out, skipped)
    if not seed_note and (out / "work" / "seed").exists():
        seed_note = f"Hidden-case seed kept in {out / 'work' / 'seed'} (secret)."
    write_summary(out, spec, [results[s] for s in students], seed_note, skipped, cached,
                  standings=standings, excluded=gone)
    secure(course_root(out), out)
    return standings
