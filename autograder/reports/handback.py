"""The grader's feedback pages handed back through nbgrader's exchange (``python -m autograder release-feedback``).

:func:`stage_feedback` puts each page the grader wrote, ``<grading>/feedback/<student>/<assignment>/<notebook>.html``,
where nbgrader's ``release_feedback`` looks for it, ``<course>/feedback/<student>/<assignment>/``, beside the
``timestamp.txt`` and ``submission_secret.txt`` that ``nbgrader collect`` copied into
``<course>/submitted/<student>/<assignment>/`` (nbgrader names the released page after a hash of that secret, and
a student's ``fetch_feedback`` finds it by the same hash); the command then runs ``nbgrader release_feedback``
(``autograder.authoring.exchange``). No nbgrader gradebook row is needed for that; the score on the page is the
grader's. The page's shared MathJax copy is embedded in the released page, because ``fetch_feedback`` copies one
HTML file and nothing beside it. Students excluded in the term's gradebook are left out, as from every output.
"""
from __future__ import annotations

import shutil
from pathlib import Path

from autograder.gradebook.store import db_url, excluded, open_gradebook
from autograder.reports.report import SHARED_MATHJAX


def _standalone(page: str, shared: Path) -> str:
    """The page with its link to the shared MathJax copy replaced by the copy itself (the page travels alone)."""
    tag = f'<script defer src="{SHARED_MATHJAX}"></script>'
    if tag not in page or not shared.is_file():
        return page
    code = shared.read_text(encoding="utf-8").replace("</script", "<\\/script")
    return page.replace(tag, f"<script>\n{code}\n</script>", 1)


def stage_feedback(assignment: str, grading: Path, course: Path, students: list[str] | None = None) -> tuple[list[str], list[str]]:
    """Copy the grader's feedback pages into ``course/feedback/<student>/<assignment>/`` for nbgrader.

    Returns (students staged, problems). A student whose submission did not come through ``nbgrader collect``
    (no ``submission_secret.txt``) cannot get feedback through the exchange and is listed as a problem.
    """
    feedback = grading / "feedback"
    gone = excluded_students(assignment, grading)
    if not feedback.is_dir():
        raise SystemExit(f"no feedback pages in {feedback}: grade first (python -m autograder grade {assignment} ...)")
    shared = feedback / ".mathjax" / "tex-svg.js"
    staged, problems = [], []
    for folder in sorted(feedback.iterdir()):
        student = folder.name
        if student.startswith(".") or not folder.is_dir() or (students and student not in students):
            continue
        if student in gone:  # excluded: left out of every output, this one too
            continue
        pages = sorted((folder / assignment).glob("*.html"))
        if not pages:
            continue
        submitted = course / "submitted" / student / assignment
        secret = submitted / "submission_secret.txt"
        if not secret.is_file():
            problems.append(f"{student}: no {secret} (not collected with nbgrader collect); feedback not released")
            continue
        target = course / "feedback" / student / assignment
        target.mkdir(parents=True, exist_ok=True)
        for name in ("timestamp.txt", "submission_secret.txt"):
            if (submitted / name).is_file():
                shutil.copyfile(submitted / name, target / name)
        for page in pages:
            (target / page.name).write_text(_standalone(page.read_text(encoding="utf-8"), shared), encoding="utf-8")
        staged.append(student)
    return staged, problems


def excluded_students(assignment: str, grading: Path) -> dict[str, str]:
    """The students excluded from ``assignment`` in the term's gradebook beside ``grading`` (none without one)."""
    if not (Path(grading).parent / "gradebook.db").is_file():
        return {}
    with open_gradebook(db_url(Path(grading).parent)) as gb:
        return excluded(gb, assignment)
