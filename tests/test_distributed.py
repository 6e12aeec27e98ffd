"""Grading on real infrastructure: a Dask cluster of separate processes over TCP (one of whose workers is killed in
the middle of a batch), a PostgreSQL gradebook on a real server, and the command line that replaced ``--shard``.

The scheduler and its two workers are started as separate processes (``tests/servers.py``), the way a second
machine would join; the PostgreSQL server is Debian's, started with initdb/pg_ctl in a temporary folder (as
the ``postgres`` user when the tests run as root).
"""
from __future__ import annotations

import json
import os
import signal
import threading
import time

import pytest

from autograder.errors import SetupError
from autograder.gradebook import cache as cache_module
from autograder.grading import sandbox
from autograder.term import grade
from autograder.grading import staging
from tests import hostile_samples as hs
from tests.servers import DaskCluster, Postgres, postgres_binaries

pytestmark = [pytest.mark.xdist_group("scale"),
              pytest.mark.skipif(not sandbox.available()[0], reason="bubblewrap cannot run here")]

#: Cases whose notebooks run quickly, with and without lost points and flags (and one that cannot be read).
NAMES = ["correct", "allclose-patched", "eq-always-true", "invalid-json", "os-exit-in-function",
         "schema-version-99", "stripped-metadata", "warnings-stderr", "deleted-test-cells", "ndarray-subclass"]


SEED = 20261128


def write(folder, names=NAMES):
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        (folder / f"{name}.ipynb").write_bytes(hs.CASES[name].build())
    return {name: float(hs.CASES[name].score) for name in names}


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    with DaskCluster(tmp_path_factory.mktemp("dask"), workers=2, nthreads=1) as c:
        yield c


def sandboxes() -> list[str]:
    """Command lines of every bubblewrap process on the machine."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as fh:
                    args = fh.read().split(b"\0")
            except OSError:
                continue
            if args and args[0].endswith(b"bwrap"):
                found.append(b" ".join(args).decode(errors="replace"))
    return found


def scores_in(db: str, names) -> dict:
    from nbgrader.api import Gradebook

    with Gradebook(db) as gb:
        return {n: gb.find_submission(hs.ASSIGNMENT, n).score for n in names}


def test_a_killed_worker_loses_nobody_and_grades_nobody_twice(tmp_path, monkeypatch, cluster):
    """A worker dies (SIGKILL) while it runs a notebook: the scheduler runs that task again on the other worker;
    every student is judged and recorded exactly once, with the scores a one-machine run gives."""
    expected = write(tmp_path / "subs")
    out = tmp_path / "grading" / hs.ASSIGNMENT
    recorded: dict[str, int] = {}
    real_save = cache_module.save_result

    def counting_save(cache, result):
        recorded[result.student] = recorded.get(result.student, 0) + 1
        real_save(cache, result)

    monkeypatch.setattr(cache_module, "save_result", counting_save)
    box: dict = {}

    def run():
        try:
            box["rows"] = grade(hs.ASSIGNMENT, tmp_path / "subs", out, seed=SEED, limits=hs.limits(), progress=False,
                                scheduler=cluster.address)
        except BaseException as exc:  # noqa: BLE001 - re-raised in the test's thread
            box["error"] = exc

    from distributed import Client

    pids = cluster.worker_pids()
    names = cluster.worker_names()
    thread = threading.Thread(target=run)
    thread.start()
    killed = None
    with Client(cluster.address, timeout="30s") as client:
        deadline = time.monotonic() + 240
        while killed is None and thread.is_alive() and time.monotonic() < deadline:
            # In the middle: some results are in, and a worker is running a notebook right now.
            if recorded:
                busy = {w: keys for w, keys in client.processing().items() if keys}
                if busy:
                    worker, keys = sorted(busy.items())[0]
                    killed = (worker, list(keys))
                    os.kill(pids[worker], signal.SIGKILL)
                    break
            time.sleep(0.1)
    thread.join(timeout=600)
    assert "error" not in box, box.get("error")
    assert killed is not None, "the batch ended before a worker could be killed in its middle"
    worker, keys = killed
    assert any(sub in k for k in keys for sub in NAMES), keys
    assert cluster.worker_count() == 1, "the killed worker should be gone"
    # Its sandboxes died with it (bubblewrap's --die-with-parent): nothing runs from its scratch folder.
    scratch = str(cluster.folder / names[worker])
    deadline = time.monotonic() + 20
    while (left := [p for p in sandboxes() if scratch in p]) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not left, left
    rows = box["rows"]
    assert sorted(r["student_id"] for r in rows) == sorted(expected)
    assert recorded == {name: 1 for name in expected}
    assert {r["student_id"]: float(r["score"]) for r in rows} == expected
    assert scores_in(f"sqlite:///{out.parent / 'gradebook.db'}", expected) == expected
    # The same batch on one machine (local pool, same seed): every cell's score and reason agree.
    monkeypatch.setattr(cache_module, "save_result", real_save)
    local = tmp_path / "local" / hs.ASSIGNMENT
    grade(hs.ASSIGNMENT, tmp_path / "subs", local, seed=SEED, limits=hs.limits(), progress=False)
    for name in expected:
        on_cluster = json.loads((out / "work" / "results" / f"{name}.json").read_text())
        on_one = json.loads((local / "work" / "results" / f"{name}.json").read_text())
        assert on_cluster["scores"] == on_one["scores"], name
        assert on_cluster["reasons"] == on_one["reasons"], name


@pytest.mark.skipif(postgres_binaries() is not None, reason=str(postgres_binaries()))
def test_postgresql_gradebook_on_a_real_server(tmp_path, cluster):
    """The cluster grades into a PostgreSQL gradebook: every cell's score is there; a manual score survives
    a re-run that reuses the results and one that grades everything again (--force)."""
    from nbgrader.api import Gradebook

    names = ["correct", "allclose-patched", "invalid-json", "os-exit-in-function"]
    expected = write(tmp_path / "subs", names)
    out = tmp_path / "grading" / hs.ASSIGNMENT
    with Postgres() as pg:
        rows = grade(hs.ASSIGNMENT, tmp_path / "subs", out, limits=hs.limits(), progress=False,
                     scheduler=cluster.address, db=pg.url)
        assert {r["student_id"]: float(r["score"]) for r in rows} == expected
        results = {n: json.loads((out / "work" / "results" / f"{n}.json").read_text()) for n in names}
        with Gradebook(pg.url) as gb:
            for name in names:
                for question, points in hs.POINTS.items():
                    row = gb.find_grade(question, "qkv", hs.ASSIGNMENT, name)
                    assert row.auto_score == results[name]["scores"][question]
                    assert row.max_score == points
                    lost = question in hs.CASES[name].lost
                    assert row.auto_score == (0 if lost else points)
                    # A flagged submission waits for a human in the formgrader; the others do not.
                    assert row.needs_manual_grade == hs.CASES[name].review
            gb.find_grade("cosine-tests", "qkv", hs.ASSIGNMENT, "allclose-patched").manual_score = 1.5
            gb.db.commit()
        with_manual = dict(expected, **{"allclose-patched": expected["allclose-patched"] + 1.5})
        for force in (False, True):
            rows = grade(hs.ASSIGNMENT, tmp_path / "subs", out, limits=hs.limits(), progress=False,
                         scheduler=cluster.address, db=pg.url, force=force)
            assert {r["student_id"]: float(r["score"]) for r in rows} == with_manual
            assert rows.ran == (len(names) if force else 0)
            assert scores_in(pg.url, names) == with_manual


def test_unreachable_scheduler_is_a_clear_error(tmp_path):
    from tests.servers import free_port

    write(tmp_path / "subs", ["correct"])
    with pytest.raises(SetupError, match="cannot reach the Dask scheduler"):
        grade(hs.ASSIGNMENT, tmp_path / "subs", tmp_path / "out", limits=hs.limits(), progress=False,
              scheduler=f"tcp://127.0.0.1:{free_port()}")


def test_command_line_has_scheduler_and_no_shard(capsys):
    from autograder.commands.grade import main

    with pytest.raises(SystemExit) as exit_:
        main(["--help"])
    assert exit_.value.code == 0
    text = capsys.readouterr().out
    assert "--scheduler" in text and "--shard" not in text
    for bad in (["--shard", "1/2"], ["--scheduler", "localhost"]):
        with pytest.raises(SystemExit) as exit_:
            main([hs.ASSIGNMENT, ".", *bad])
        assert exit_.value.code == 2


def test_a_worker_with_other_code_refuses_to_grade(tmp_path):
    """A worker whose ``autograder`` (or Chinese catalog of the assignment) differs from the grader's stops the run
    instead of grading with other code."""
    from autograder import catalogs
    from autograder.grading import distributed
    from autograder.grading.submission import Submission
    from autograder.grading.prepare import load_assignment

    write(tmp_path / "subs", ["correct"])
    (tmp_path / "inputs").mkdir()
    blob = distributed.pack_inputs(tmp_path / "inputs")
    sub = Submission("correct", "x", data=hs.CASES["correct"].build())
    spec = load_assignment(hs.ASSIGNMENT)
    ours = catalogs.digest(spec.name)
    with pytest.raises(distributed.WorkerMismatch, match="other autograder code"):
        distributed.remote_run("run", f"{'0' * 64}:{ours}", blob, spec, sub, hs.limits(), False)
    assert distributed.code_digest() == staging.code_digest()
    # The same code with another Chinese catalog (a Chinese notebook's instructor cells are rebuilt from it).
    with pytest.raises(distributed.WorkerMismatch, match="another Chinese catalog of 03-qkv"):
        distributed.remote_run("run", f"{distributed.code_digest()}:{'0' * 64}", blob, spec, sub, hs.limits(), False)


def test_command_line_grades_on_the_cluster_by_scheduler_file(tmp_path, cluster, capsys):
    """``--scheduler scheduler.json``: the command grades on the cluster; the summary says, per worker, which
    limits it could not apply (none, where workers are root and can make cgroups)."""
    from autograder.commands.grade import main

    write(tmp_path / "subs", ["correct", "invalid-json"])
    out = tmp_path / "grading" / hs.ASSIGNMENT
    status = main([hs.ASSIGNMENT, str(tmp_path / "subs"), "--out", str(out), "--quiet", "--function-timeout", "5",
                   "--scheduler", str(cluster.scheduler_file)])
    assert status == 1  # invalid-json needs a human look
    printed = capsys.readouterr().out
    assert "needs review" in printed and "12.0 / 12" in printed
    summary = (out / "summary.md").read_text()
    assert "Notebooks ran on Dask workers" in summary and "(Dask worker, pid" in summary
    full = os.geteuid() == 0 and sandbox.cgroups_available()
    assert ("every limit applied" in summary) == full
    assert ("limit not applied here" in printed) == (not full)


def test_each_worker_keeps_one_warm_template(tmp_path, cluster):
    """A worker starts one warm template at its first task and forks every later sandbox from it, in this run and
    the next (issue 24); a notebook's sandbox is never started cold while it lives."""
    from distributed import Client

    from autograder.grading import distributed

    templates = []
    for run in ("first", "second"):
        expected = write(tmp_path / run / "subs", ["correct", "allclose-patched", "os-exit-in-function", "warnings-stderr"])
        rows = grade(hs.ASSIGNMENT, tmp_path / run / "subs", tmp_path / run / "out", seed=SEED, limits=hs.limits(),
                     progress=False, scheduler=cluster.address)
        assert {r["student_id"]: float(r["score"]) for r in rows} == expected
        assert "Sandboxes forked from a warm template: 4; started cold: 0" in (tmp_path / run / "out" / "summary.md").read_text()
        with Client(cluster.address, timeout="30s") as client:
            templates.append({w: pid for w, pid in client.run(distributed.template_pid).items() if pid})
    assert templates[0], "no worker started a warm template"
    for worker, pid in templates[0].items():
        assert templates[1].get(worker) == pid, "a worker started a second template"


def test_a_gradebook_that_cannot_be_opened_is_a_clear_error(tmp_path):
    from autograder.gradebook.store import gradebook_url

    assert gradebook_url("postgresql://u@h/db") == "postgresql+psycopg://u@h/db"
    assert gradebook_url("sqlite:///x.db") == "sqlite:///x.db"
    write(tmp_path / "subs", ["invalid-json"])  # nothing to run: the gradebook is the first thing to fail
    from tests.servers import free_port

    url = f"postgresql://grader:SECRET@127.0.0.1:{free_port()}/course"
    with pytest.raises(SetupError, match="cannot open the gradebook postgresql") as error:
        grade(hs.ASSIGNMENT, tmp_path / "subs", tmp_path / "out", db=url, limits=hs.limits(), progress=False)
    assert "SECRET" not in str(error.value)
