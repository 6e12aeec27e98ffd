"""The grading tests pass as an ordinary user too (most instructors grade without root, on a laptop or JupyterHub),
and the summary says which limits did not apply there.

Run as root (as CI does), this test prepares the user ``autograder-ci`` with its own venv from Debian's Python
(``tests/ordinary_user.py``; built once, then reused) and a copy of the checkout, and runs as that user, with
``runuser``: the grading test of one assignment (03-qkv), a representative subset of the hostile suite
(``SUBSET`` below: escape, theft, forged results, crashes, memory and fork bombs, a hang, unreadable input;
the whole suite runs as root in the same CI run), the warm template's isolation tests (siblings, the next student,
the template's memory: ``tests/test_warm.py``), and the grading command, whose summary must say that the
cgroup limits did not apply. Run without root, the suite itself is already the ordinary user's run, and this
test is skipped.
"""
from __future__ import annotations

import pytest

from tests import ordinary_user as ou

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("ordinary-user"),
              pytest.mark.skipif(ou.why_not() is not None, reason=str(ou.why_not()))]

SUBSET = ["correct", "allclose-patched", "steal-reference", "write-gradebook", "forges-results", "eq-always-true", "os-exit-in-function",
          "crash-segfault", "memory-bomb", "fork-bomb", "huge-output", "hang-forever", "invalid-json",
          "plots-inline", "memory-kill"]


def test_grading_and_hostile_subset_pass_as_an_ordinary_user():
    venv, built = ou.prepare()
    checkout = ou.copy_checkout(ou.HOME / "checkout")
    python = str(venv / "bin" / "python")
    env = {"PYTHONPATH": f"{checkout}:{checkout / 'lib'}", "MPLBACKEND": "Agg", "PYDEVD_DISABLE_FILE_VALIDATION": "1",
           "AUTOGRADER_HOSTILE_CASES": ",".join(SUBSET), "PATH": f"{venv / 'bin'}:/usr/bin:/bin"}
    done = ou.as_user([python, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-rs",
                       "tests/test_hostile.py", "tests/test_grading.py::test_every_assignment_has_samples",
                       "tests/test_grading.py::test_sample_submissions_get_their_exact_scores[03-qkv-en]",
                       "tests/test_warm.py::test_siblings_cannot_reach_each_other",
                       "tests/test_warm.py::test_nothing_reaches_the_next_student",
                       "tests/test_warm.py::test_the_template_holds_nothing_secret"],
                      env=env, cwd=checkout, timeout=1200)
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-3000:]
    assert " passed" in done.stdout and " failed" not in done.stdout
    # The cases that need cgroups (memory-kill) are skipped, not passed, without root; every other case ran.
    assert "SKIPPED" in done.stdout and "cannot make memory cgroups" in done.stdout

    # The command as the user: it grades, and says (summary and console) which limits did not apply.
    script = ("from pathlib import Path; from tests import hostile_samples as hs; "
              "hs.write_all(Path('subs'), ['correct', 'fork-bomb'])")
    work = ou.HOME / "command"
    ou.as_user(["rm", "-rf", str(work)])
    ou.as_user(["mkdir", "-p", str(work)])
    made = ou.as_user([python, "-c", script], env=env, cwd=work)
    assert made.returncode == 0, made.stderr
    graded = ou.as_user([python, "-m", "autograder", "grade", "03-qkv", "subs", "--out", "grading/03-qkv", "--quiet",
                         "--function-timeout", "5", "--notebook-timeout", "60"], env=env, cwd=work, timeout=600)
    assert graded.returncode in (0, 1), graded.stderr[-3000:]
    assert "12.0 / 12" in graded.stdout
    assert "limit not applied here: memory and process-count cgroups" in graded.stdout
    summary = (work / "grading" / "03-qkv" / "summary.md").read_text()
    assert "Notebooks ran on this machine as an ordinary user." in summary
    assert "- **not applied**: memory and process-count cgroups" in summary
    assert "- **not applied**: separate sandbox uid" in summary
    assert "- held: sandbox (bubblewrap): private file system view, no network" in summary
