"""nbgrader's exchange end to end, with real student accounts (docs/grading.md, "The exchange, step by step").

release_assignment (instructor) -> fetch_assignment, submit (each student, as that Unix user) -> collect --update
(instructor) -> `python -m autograder grade` on the course folder -> `python -m autograder release-feedback` ->
fetch_feedback (each student), who must find his own page with his own score, and nothing of the others.
It runs for the English class and for the Chinese one (``ATTN_LANGUAGE=zh``: course ``attention-zh``, release
``exercises/zh/``), whose students fetch the Chinese notebook, submit it, and fetch a feedback page in Chinese.

Students run nbgrader from a virtualenv made from Debian's /usr/bin/python3 (the default python3 here is a pyenv
build under /root, mode 700, which other users cannot execute; docs/grading.md). It is built once with
`pip install nbgrader==0.9.6` and kept in /tmp for later test sessions (about 45 s and 340 MB the first time).
Making the instructor's virtualenv readable instead would mean opening /root: not something a test should do.

Needs root (useradd, runuser), or passwordless sudo; otherwise skipped with that reason.
"""
from __future__ import annotations

import csv
import fcntl
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.samples import build, modules

pytestmark = pytest.mark.xdist_group("hostile")  # grades: not beside the hostile suite's process check

ASSIGNMENT, NOTEBOOK, COURSE_ID = "03-qkv", "qkv", "attention"
NBGRADER_VERSION = "0.9.6"
STUDENT_VENV = Path(tempfile.gettempdir()) / f"attn-student-nbgrader-{NBGRADER_VERSION}"
# Three students, three different sample notebooks, so that each must see his own score.
PICKS = {"a": "correct", "b": "wrong-cosine", "c": "blank"}
TIMES: dict[str, float] = {}


def _sudo() -> list[str]:
    if os.geteuid() == 0:
        return []
    if shutil.which("sudo") and subprocess.run(["sudo", "-n", "true"], capture_output=True).returncode == 0:
        return ["sudo", "-n"]
    pytest.skip("needs root or passwordless sudo to create student accounts (useradd) and run as them (runuser)")


def _timed(label: str, cmd: list[str], **kw) -> subprocess.CompletedProcess:
    start = time.perf_counter()
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=600, **kw)
    TIMES[label] = TIMES.get(label, 0.0) + time.perf_counter() - start
    assert result.returncode == 0, f"{label} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}"
    return result


@pytest.fixture(scope="session")
def student_nbgrader() -> Path:
    """The bin/ folder of an nbgrader every user can execute (built once, under a lock, kept in /tmp)."""
    sudo = _sudo()
    python = Path("/usr/bin/python3")
    if not python.exists():
        pytest.fail("/usr/bin/python3 is missing: students need a Python they can execute")
    with open(Path(tempfile.gettempdir()) / f"{STUDENT_VENV.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (STUDENT_VENV / ".complete").exists():
            shutil.rmtree(STUDENT_VENV, ignore_errors=True)
            start = time.perf_counter()
            subprocess.run([*sudo, str(python), "-m", "venv", str(STUDENT_VENV)], check=True)
            pip = subprocess.run([*sudo, str(STUDENT_VENV / "bin" / "pip"), "install", "--quiet",
                                  f"nbgrader=={NBGRADER_VERSION}"], capture_output=True, text=True)
            assert pip.returncode == 0, f"pip install nbgrader for the students failed:\n{pip.stderr[-3000:]}"
            subprocess.run([*sudo, "chmod", "-R", "a+rX", str(STUDENT_VENV)], check=True)
            (STUDENT_VENV / ".complete").write_text(f"{time.perf_counter() - start:.1f} s\n")
    return STUDENT_VENV / "bin"


@pytest.fixture()
def term(student_nbgrader):
    """A world-traversable folder with an exchange (mode 1777), a course folder and three student accounts."""
    sudo = _sudo()
    base = Path(tempfile.mkdtemp(prefix="attn-exchange-", dir="/tmp"))
    os.chmod(base, 0o755)
    exchange = base / "exchange"
    exchange.mkdir()
    os.chmod(exchange, 0o1777)  # nbgrader's exchange: everyone writes, nobody deletes another's files
    (base / "home").mkdir()
    os.chmod(base / "home", 0o755)
    tag = f"{os.getpid() % 100000:05d}"
    users = {f"attn{tag}{k}": sample for k, sample in PICKS.items()}
    made = []
    try:
        for user in users:
            subprocess.run([*sudo, "useradd", "--create-home", "--home-dir", str(base / "home" / user),
                            "--shell", "/bin/sh", user], check=True, capture_output=True)
            made.append(user)
        yield {"base": base, "exchange": exchange, "course": base / "course", "users": users, "sudo": sudo,
               "bin": student_nbgrader}
    finally:
        for user in made:
            subprocess.run([*sudo, "userdel", user], capture_output=True)
        subprocess.run([*sudo, "rm", "-rf", str(base)], capture_output=True)


def _as_student(term, user: str, label: str, *args: str, course_id: str = COURSE_ID) -> subprocess.CompletedProcess:
    home = term["base"] / "home" / user
    env = ["env", "-i", f"HOME={home}", f"USER={user}", f"LOGNAME={user}", "LANG=C.UTF-8",
           f"PATH={term['bin']}:/usr/bin:/bin"]
    cmd = [*term["sudo"], "runuser", "-u", user, "--", *env, str(term["bin"] / "nbgrader"), *args,
           f"--course={course_id}", f"--Exchange.root={term['exchange']}"]
    return _timed(label, cmd, cwd=home)


@pytest.mark.parametrize("language", ["en", "zh"])
def test_exchange_release_submit_collect_grade_feedback(term, language):
    zh = language == "zh"
    # The Chinese class is told apart only by ATTN_LANGUAGE: its course id and release come from the course's
    # nbgrader_config.py (the course folder is the test's own, as ATTN_COURSE_DIR would be for any class).
    course_id = "attention-zh" if zh else COURSE_ID
    env = dict(os.environ, ATTN_COURSE_DIR=str(term["course"]), ATTN_EXCHANGE=str(term["exchange"]),
               PYTHONPATH=f"{REPO}:{REPO / 'lib'}", ATTN_LANGUAGE=language)
    env.pop("ATTN_COURSE_ID", None)
    student = lambda *a: _as_student(*a, course_id=course_id)  # noqa: E731
    python = sys.executable
    in_repo_before = {p for p in ("gradebook.db", "submitted", "autograded", "feedback") if (REPO / p).exists()}

    # Instructor: release.
    _timed("release_assignment", [python, "-m", "autograder", "nbgrader", "release_assignment", ASSIGNMENT],
           env=env, cwd=REPO)
    released = term["exchange"] / course_id / "outbound" / ASSIGNMENT / f"{NOTEBOOK}.ipynb"
    assert released.is_file()
    source = REPO / "exercises" / ("zh" if zh else "") / ASSIGNMENT / f"{NOTEBOOK}.ipynb"
    assert json.loads(released.read_text())["cells"] == json.loads(source.read_text())["cells"]
    # The wrapper made the course folder, private to the instructor: it will hold student work.
    assert term["course"].is_dir() and term["course"].stat().st_mode & 0o777 == 0o700

    # Students: fetch, answer (each his own sample notebook), submit.
    expected = {}
    for user, sample_name in term["users"].items():
        student(term, user, "fetch_assignment", "fetch_assignment", ASSIGNMENT)
        fetched = term["base"] / "home" / user / ASSIGNMENT / f"{NOTEBOOK}.ipynb"
        assert fetched.is_file()
        given = json.loads(fetched.read_text())
        assert given["metadata"].get("attention_course", {}).get("language", "en").startswith(language)
        sample = modules()[ASSIGNMENT].SAMPLES[sample_name]
        answered = build(ASSIGNMENT, sample)
        answered["metadata"] = given["metadata"]  # the student's own notebook: the release it came from
        fetched.write_text(json.dumps(answered, indent=1))
        expected[user] = sample.score
        student(term, user, "submit", "submit", ASSIGNMENT)

    # Instructor: collect, as nbgrader's own console script with the README's JUPYTER_CONFIG_PATH and a PATH
    # without the virtualenv (the `alembic` pitfall: the course's config puts the virtualenv's bin/ on PATH).
    bare = {k: v for k, v in env.items() if k != "VIRTUAL_ENV"}
    bare.update(PATH="/usr/bin:/bin", JUPYTER_CONFIG_PATH=str(REPO / "autograder"))
    _timed("collect --update", [str(Path(python).parent / "nbgrader"), "collect", "--update", ASSIGNMENT],
           env=bare, cwd=term["base"])
    course = term["course"]
    for user in term["users"]:
        assert (course / "submitted" / user / ASSIGNMENT / f"{NOTEBOOK}.ipynb").is_file()
    with sqlite3.connect(course / "gradebook.db") as db:  # a whole gradebook, not a half-made one
        tables = {row[0] for row in db.execute("select name from sqlite_master where type='table'")}
    assert {"student", "assignment", "alembic_version"} <= tables
    # Student work and nbgrader's gradebook went to the course folder, none into the checkout.
    assert {p for p in ("gradebook.db", "submitted", "autograded", "feedback") if (REPO / p).exists()} == in_repo_before

    # Instructor: grade the collected course folder, then hand the feedback back through the exchange.
    grading = term["base"] / "grading"
    _timed("grade", [python, "-m", "autograder", "grade", ASSIGNMENT, str(course), "--out", str(grading), "--quiet",
                     "--function-timeout", "15", "--cell-timeout", "8", "--notebook-timeout", "300"], env=env, cwd=REPO)
    with (grading / "grades.csv").open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert {r["student_id"]: float(r["score"]) for r in rows} == expected
    assert all(r["timestamp"] for r in rows), "the submission time of nbgrader's timestamp.txt is recorded"
    _timed("release-feedback", [python, "-m", "autograder", "release-feedback", ASSIGNMENT, "--grading", str(grading)],
           env=env, cwd=REPO)

    # Students: fetch the feedback; each sees his own score and nobody else's page.
    max_score = modules()[ASSIGNMENT].MAX_SCORE
    for user in term["users"]:
        student(term, user, "fetch_feedback", "fetch_feedback", ASSIGNMENT)
        pages = list((term["base"] / "home" / user / ASSIGNMENT / "feedback").glob(f"*/{NOTEBOOK}.html"))
        assert len(pages) == 1, pages
        text = pages[0].read_text()
        if zh:
            assert f"{user} 的反馈</h1>" in text and "lang='zh-CN'" in text
            assert f"得分：{expected[user]:g} / {max_score:g}" in text
            assert "Score:" not in text
        else:
            assert f"feedback for {user}</h1>" in text
            assert f"Score: {expected[user]:g} / {max_score:g}" in text
        assert not any(other in text for other in term["users"] if other != user)
        assert "../../.mathjax/" not in text  # the page travels alone: no link to a folder left behind
    print("\nexchange timings (s): " + ", ".join(f"{k} {v:.1f}" for k, v in TIMES.items())
          + f"; student venv build: {(STUDENT_VENV / '.complete').read_text().strip()}")


def test_feedback_is_staged_only_for_students_collected_through_the_exchange(tmp_path):
    """No accounts needed: the copy into nbgrader's feedback folder, with its secret, and the embedded MathJax."""
    from autograder.reports.handback import stage_feedback
    from autograder.reports.report import SHARED_MATHJAX

    grading, course = tmp_path / "grading", tmp_path / "course"
    (grading / "feedback" / ".mathjax").mkdir(parents=True)
    (grading / "feedback" / ".mathjax" / "tex-svg.js").write_text("/* mathjax </script> */")
    for student in ("alice", "canvasbob_102"):
        page = grading / "feedback" / student / ASSIGNMENT / f"{NOTEBOOK}.html"
        page.parent.mkdir(parents=True)
        page.write_text(f'<head><script defer src="{SHARED_MATHJAX}"></script></head><h1>feedback for {student}</h1>')
    submitted = course / "submitted" / "alice" / ASSIGNMENT
    submitted.mkdir(parents=True)
    (submitted / "timestamp.txt").write_text("2026-11-20 09:00:00.000000 UTC")
    (submitted / "submission_secret.txt").write_text("s3cret")
    staged, problems = stage_feedback(ASSIGNMENT, grading, course)
    assert staged == ["alice"]
    assert len(problems) == 1 and problems[0].startswith("canvasbob_102: no ") and "nbgrader collect" in problems[0]
    target = course / "feedback" / "alice" / ASSIGNMENT
    assert (target / "submission_secret.txt").read_text() == "s3cret"
    assert (target / "timestamp.txt").read_text() == "2026-11-20 09:00:00.000000 UTC"
    page = (target / f"{NOTEBOOK}.html").read_text()
    assert SHARED_MATHJAX not in page and "/* mathjax <\\/script> */" in page
    assert not (course / "feedback" / "canvasbob_102").exists()
