"""A term on a tiny class, command by command, with the seconds each took (docs/grading.md, "A term").

    python benchmarks/term_walkthrough.py [--keep DIR]

Three students of 03-qkv (tests/samples/a03_qkv.py: ``correct`` 12 points, ``wrong-cosine`` 10, ``blank`` 0) hand
in through nbgrader's exchange layout (``submitted/<student>/03-qkv/`` with ``timestamp.txt``); ``wrong-cosine``
is 36 hours late. Four more people hand in through a Canvas download (by user id, and by name only), a Moodle
folder (participant id) and a file named by e-mail, with a stranger beside them: with the roster, seven people
are seven ids, and the stranger is listed as "not on the roster". Each step runs the real command (``python -m autograder ...``) in a fresh process and prints
its wall-clock seconds and what it says. Nothing is asserted here (tests/test_term.py checks the behaviour).
"""
from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.samples import build, modules  # noqa: E402

A = "03-qkv"
STAMPS = {"correct": "2026-11-20 11:00:00.000000 UTC", "wrong-cosine": "2026-11-22 00:00:00.000000 UTC",
          "blank": "2026-11-20 09:30:00.000000 UTC"}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--keep", type=Path, default=None, help="work in this folder and keep it")
    args = parser.parse_args()
    root = args.keep or Path(tempfile.mkdtemp(prefix="term-"))
    course, grading = root / "course", root / "grading"
    samples = modules()[A].SAMPLES
    for student, stamp in STAMPS.items():
        folder = course / "submitted" / student / A
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "qkv.ipynb").write_text(json.dumps(build(A, samples[student])))
        (folder / "timestamp.txt").write_text(stamp + "\n")
    # Four more people from other sources (docs/grading.md, "One person, one id"): a Canvas download (user id),
    # a Canvas name only, a Moodle folder (participant id), a file named by e-mail; and one stranger.
    more = root / "lms"
    more.mkdir(parents=True, exist_ok=True)
    nb = json.dumps(build(A, samples["correct"]))
    (more / "liddellalice_1005_77_qkv.ipynb").write_text(nb)
    (more / "hammingrichard_9999_78_qkv.ipynb").write_text(nb)
    (more / "Edsger Dijkstra_507_assignsubmission_file_").mkdir(exist_ok=True)
    (more / "Edsger Dijkstra_507_assignsubmission_file_" / "qkv.ipynb").write_text(nb)
    (more / "barbara@example.org.ipynb").write_text(nb)
    (more / "mallory.ipynb").write_text(nb)
    (root / "students.csv").write_text("id,first_name,last_name,email,lms_user_id,moodle_id\n"
                                       "correct,Ada,Lovelace,ada@example.org,1001,\n"
                                       "wrong-cosine,Alan,Turing,alan@example.org,1002,\n"
                                       "blank,Grace,Hopper,grace@example.org,1003,\n"
                                       "alice,Alice,Liddell,alice@example.org,1005,509\n"
                                       "hamming,Richard,Hamming,rh@example.org,,\n"
                                       "dijkstra,Edsger,Dijkstra,ewd@example.org,,507\n"
                                       "liskov,Barbara,Liskov,barbara@example.org,,\n")
    grading.mkdir(parents=True, exist_ok=True)
    (grading / "nbgrader_config.py").write_text(
        "import math\nfrom nbgrader.plugins import LateSubmissionPlugin\n\n"
        "class TenPercentPerDay(LateSubmissionPlugin):\n"
        "    def late_submission_penalty(self, student_id, score, total_seconds_late):\n"
        "        return score * 0.1 * math.ceil(total_seconds_late / 86400)\n\n"
        "c = get_config()\nc.AssignLatePenalties.plugin_class = TenPercentPerDay\n")
    # The term total (docs/grading.md, "A term total"): one assignment so far, letters from cut-offs; an
    # exclusion counts as 0 here, so the withdrawn student's total says so.
    (grading / "term.toml").write_text(f'drop_lowest = 0\nexcluded = "zero"\n\n[weights]\n{A} = 1\n\n'
                                       '[letters]\nA = 90\nB = 80\nC = 70\nF = 0\n')
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO), str(REPO / "lib")]))
    common = ["--out-root", str(grading)]
    steps = [
        ["roster", str(root / "students.csv")],
        ["duedate", A, "2026-11-20 13:00:00 Europe/Paris"],
        ["grade", A, str(course), "--quiet"],
        ["grade", A, str(course), "--quiet"],
        ["score", A, "wrong-cosine", "cosine-tests", "1.5", "--comment", "right idea, keys not normalised"],
        ["extend", A, "wrong-cosine", "--days", "1"],
        ["extend", A, "blank", "--time-factor", "2"],
        ["grade", A, str(course), "--quiet"],
        ["grade", A, str(course), "--quiet", "--student", "correct", "--force"],
        ["grade", A, str(more), "--quiet"],
        ["exclude", A, "blank", "--reason", "withdrew"],
        ["term"],
        ["export", A, "--format", "canvas", "--db", f"sqlite:///{grading / 'gradebook.db'}",
         "--out", str(grading / A / "grades-canvas.csv")],
        ["export", A, "--format", "moodle", "--db", f"sqlite:///{grading / 'gradebook.db'}",
         "--out", str(grading / A / "grades-moodle.csv")],
        ["export", A, "--format", "nbgrader", "--db", f"sqlite:///{grading / 'gradebook.db'}",
         "--out", str(grading / A / "grades-nbgrader.csv")],
    ]
    print(f"class of 7 (3 through the exchange, 4 from Canvas, Moodle and a file) and a stranger in {root}")
    for step in steps:
        cmd = [sys.executable, "-m", "autograder", *step, *(common if step[0] != "export" else [])]
        start = time.perf_counter()
        done = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, env=env)
        took = time.perf_counter() - start
        print(f"\n$ python -m autograder {shlex.join(step)}   [{took:.1f} s, exit {done.returncode}]")
        print("\n".join("    " + ln for ln in (done.stdout + done.stderr).strip().splitlines()[-6:]))
    print("\ngrading/grades.csv:")
    print((grading / "grades.csv").read_text())
    summary = (grading / A / "summary.md").read_text()
    print("\nNot graded (summary.md):")
    print("\n".join(ln for ln in summary.splitlines() if "roster" in ln))
    for name in ("term-grades.csv", "term-grades.report.txt", f"{A}/grades-canvas.csv",
                 f"{A}/grades-canvas.csv.report.txt", f"{A}/grades-moodle.csv", f"{A}/grades-moodle.csv.report.txt",
                 f"{A}/grades-nbgrader.csv", f"{A}/grades-nbgrader-questions.csv"):
        print(f"\ngrading/{name}:")
        print((grading / name).read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
