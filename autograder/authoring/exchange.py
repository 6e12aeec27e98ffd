"""nbgrader's exchange with the course's configuration, and the grader's feedback handed back through it.

    python -m autograder nbgrader release_assignment 03-qkv       # any nbgrader command, course config and PATH set
    python -m autograder nbgrader collect --update 03-qkv
    python -m autograder release-feedback 03-qkv [--grading DIR]  # our feedback pages -> students' fetch_feedback

``nbgrader`` is run with ``JUPYTER_CONFIG_PATH`` holding ``autograder/`` (so it reads the course's
``nbgrader_config.py``: the course folder outside the checkout, ``exercises/`` as the release) and with this
interpreter's ``bin/`` first on ``PATH`` (nbgrader creates a gradebook by running ``alembic`` from PATH).

``release-feedback`` puts the feedback page the grader wrote, ``<grading>/feedback/<student>/<assignment>/
<notebook>.html``, where nbgrader's ``release_feedback`` looks for it, ``<course>/feedback/<student>/<assignment>/``,
beside the ``timestamp.txt`` and ``submission_secret.txt`` that ``nbgrader collect`` copied into
``<course>/submitted/<student>/<assignment>/`` (nbgrader names the released page after a hash of that secret, and
a student's ``fetch_feedback`` finds it by the same hash). Then it runs ``nbgrader release_feedback``. No nbgrader
gradebook row is needed for that; the score on the page is the grader's. The page's shared MathJax copy is
embedded in the released page, because ``fetch_feedback`` copies one HTML file and nothing beside it.
"""
from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

from autograder import term
from autograder.course import REPO, course_dir, nbgrader_env, private_dir

SHARED_MATHJAX = "../../.mathjax/tex-svg.js"  # what report.shared_mathjax links every page to


def run_nbgrader(args: list[str], *, check: bool = False, capture: bool = False, **env: str) -> subprocess.CompletedProcess:
    """Run ``nbgrader ARGS`` with the course's configuration (its course folder is absolute: any cwd will do)."""
    return subprocess.run([sys.executable, "-m", "nbgrader", *args], env=nbgrader_env(**env), check=check,
                          capture_output=capture, text=True)


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
    with term.open_gradebook(term.db_url(Path(grading).parent)) as gb:
        return term.excluded(gb, assignment)


def release_feedback_main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m autograder release-feedback",
        description="Hand the grader's feedback pages back through nbgrader's exchange: copy "
                    "GRADING/feedback/<student>/<assignment>/*.html into <course>/feedback/<student>/<assignment>/ "
                    "and run `nbgrader release_feedback`. Students then run `nbgrader fetch_feedback ASSIGNMENT`.")
    parser.add_argument("assignment", help="assignment id, e.g. 03-qkv")
    parser.add_argument("--grading", type=Path, default=None,
                        help="the grading output folder (default grading/<assignment> in the checkout, as `grade` writes it)")
    parser.add_argument("--course-dir", type=Path, default=None,
                        help="the nbgrader course folder (default $ATTN_COURSE_DIR, else ~/attention-course)")
    parser.add_argument("--student", action="append", default=None, help="only this student (repeatable)")
    args = parser.parse_args(argv)
    grading = args.grading or REPO / "grading" / args.assignment
    course = (args.course_dir or course_dir()).resolve()
    staged, problems = stage_feedback(args.assignment, grading, course, args.student)
    for line in problems:
        print(f"warning: {line}", file=sys.stderr)
    if not staged:
        print(f"no feedback to release for {args.assignment}", file=sys.stderr)
        return 1
    nb_args = ["release_feedback", args.assignment]
    for student in args.student or []:
        nb_args.append(f"--student={student}")
    result = run_nbgrader(nb_args, ATTN_COURSE_DIR=str(course))
    if result.returncode != 0:
        return result.returncode
    print(f"released feedback of {args.assignment} to {len(staged)} student(s)")
    return 1 if problems else 0


def ensure_course_dir(env: dict[str, str] | None = None) -> Path:
    """Create the course folder if it is missing (mode 700: it holds student work); nbgrader's collect cannot open
    its gradebook in a folder that does not exist."""
    root = course_dir(env)
    if not root.exists():
        private_dir(root)
    return root


def nbgrader_main(argv: list[str]) -> int:
    if not argv or argv[0] in ("-h", "--help"):
        print("usage: python -m autograder nbgrader COMMAND [ARGS ...]\n\n"
              "Runs `nbgrader COMMAND ARGS` with the course's nbgrader_config.py (course folder $ATTN_COURSE_DIR, "
              "default ~/attention-course; course id $ATTN_COURSE_ID, default 'attention'; exchange $ATTN_EXCHANGE, "
              "default /srv/nbgrader/exchange) and this virtualenv's bin/ on PATH.\n"
              "e.g. python -m autograder nbgrader release_assignment 03-qkv\n"
              "     python -m autograder nbgrader collect --update 03-qkv\n"
              "`python -m autograder nbgrader --help-all` shows nbgrader's own help.")
        return 0
    if not any(a in ("-h", "--help", "--help-all", "--version") for a in argv):
        ensure_course_dir()
    return run_nbgrader(argv).returncode
