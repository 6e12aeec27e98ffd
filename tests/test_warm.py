"""Sandboxes forked from a warm template are as isolated as cold ones, and grade the same (issue 24).

Each test grades submissions that try one way of reaching another student (``tests/warm_samples.py``):

- a sibling running at the same time: reading its files, shared memory, queues, keys and sockets, finding its
  processes and signalling them, writing anywhere it could see (``test_siblings_cannot_reach_each_other``);
- the next student of the same template: a file, a thread, a detached process, an ``atexit`` hook, a patched
  NumPy, ... (``test_nothing_reaches_the_next_student``);
- the template's memory: a student reads every process it can see and scans its own memory (a copy of the
  template's) for an earlier student's secret; and, as root, the test reads the template's whole memory for any
  student's notebook, the hidden cases' inputs and the stand-ins (``test_the_template_holds_nothing_secret``);
- every process of a child is gone when it ends (same test); a template that cannot start, or cannot make a
  child's sandbox, falls back to cold sandboxes with the same grades (``test_falls_back_to_cold``).

``test_cold_and_warm_give_identical_results`` grades every sample of ``tests/samples`` and the whole hostile suite
both ways and compares grades, reasons and flags. The hostile suite itself (``tests/test_hostile*.py``) runs on the
warm path, the default.
"""
from __future__ import annotations

import json
import logging
import os
import time
from pathlib import Path

import pytest

from autograder.grading import sandbox, standins, warm
from autograder.term import grade
from tests import hostile_samples as hs
from tests import warm_samples as ws
from tests.samples import modules, write_all

pytestmark = [pytest.mark.xdist_group("hostile"),
              pytest.mark.skipif(not sandbox.available()[0], reason="bubblewrap cannot run here")]

FULL = 12.0


def limits():
    # Generous: the seeker walks the sandbox's file system, and other jobs may share the machine.
    return sandbox.Limits(function_timeout=15, cell_timeout=40, notebook_timeout=150, cpu_seconds=300)


def results(out: Path) -> dict:
    return {p.stem: json.loads(p.read_text()) for p in (out / "work" / "results").glob("*.json")}


def test_siblings_cannot_reach_each_other(tmp_path):
    token = ws.secret()
    folder = tmp_path / "subs"
    folder.mkdir()
    (folder / "plant.ipynb").write_bytes(ws.plant(token, seconds=8))
    (folder / "seek.ipynb").write_bytes(ws.seek(token, seconds=8))
    rows = grade(ws.ASSIGNMENT, folder, tmp_path / "out", limits=limits(), jobs=2, progress=False)
    got = results(tmp_path / "out")
    assert {r["student_id"]: float(r["score"]) for r in rows} == {"plant": FULL, "seek": FULL}, \
        {k: v["reasons"] for k, v in got.items()}
    plant, seek = got["plant"], got["seek"]
    # They ran at the same time (each in a sandbox forked from the one template).
    assert ws.found(seek, "START") < ws.found(plant, "END") and ws.found(plant, "START") < ws.found(seek, "END")
    assert ws.found(seek, "FOUND") == [], "the seeker reached what its sibling planted"
    assert ws.found(seek, "FOREIGN") == [], "the seeker saw or signalled a process that is not its own"
    assert ws.found(seek, "WRITABLE") == [], "the seeker could write outside its own scratch folders"
    assert ws.found(plant, "INTACT") is True
    summary = (tmp_path / "out" / "summary.md").read_text()
    assert "Sandboxes forked from a warm template: 2; started cold: 0" in summary


def test_nothing_reaches_the_next_student(tmp_path):
    folder = tmp_path / "subs"
    folder.mkdir()
    (folder / "a-leave.ipynb").write_bytes(ws.notebook(ws.LEAVE))
    (folder / "b-find.ipynb").write_bytes(ws.notebook(ws.FIND))
    rows = grade(ws.ASSIGNMENT, folder, tmp_path / "out", limits=limits(), jobs=1, progress=False)
    got = results(tmp_path / "out")
    assert {r["student_id"]: float(r["score"]) for r in rows} == {"a-leave": FULL, "b-find": FULL}
    # One template, one sandbox after the other: the finder started after the leaver ended.
    assert ws.found(got["a-leave"], "END") < ws.found(got["b-find"], "START")
    assert ws.found(got["b-find"], "FOUND") == []
    summary = (tmp_path / "out" / "summary.md").read_text()
    assert "Sandboxes forked from a warm template: 2; started cold: 0" in summary


def _template_process(template: warm.Template) -> int:
    """The host pid of the template's interpreter (below its bubblewrap)."""
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            argv = Path(f"/proc/{name}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"autograder.template" in argv and b"python" in argv[0] and _descends(int(name), template.proc.pid):
            return int(name)
    raise AssertionError("the template's process was not found")


def _descends(pid: int, ancestor: int) -> bool:
    while pid > 1:
        if pid == ancestor:
            return True
        try:
            pid = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            return False
    return False


def _living_descendants(root: int) -> list[int]:
    found = []
    for name in os.listdir("/proc"):
        if name.isdigit() and int(name) != root and _descends(int(name), root):
            try:
                state = Path(f"/proc/{name}/stat").read_text().rsplit(")", 1)[1].split()[0]
            except OSError:
                continue
            if state != "Z":
                found.append(int(name))
    return found


def _memory(pid: int) -> bytes:
    """Every readable mapping of ``pid`` (root only: the template is not dumpable)."""
    parts = []
    with open(f"/proc/{pid}/maps") as maps, open(f"/proc/{pid}/mem", "rb", buffering=0) as mem:
        for line in maps:
            span, perms = line.split()[:2]
            start, stop = (int(x, 16) for x in span.split("-"))
            if "r" not in perms or stop - start > (1 << 30):
                continue
            try:
                mem.seek(start)
                parts.append(mem.read(stop - start))
            except (OSError, OverflowError, ValueError):
                continue
    return b"".join(parts)


def test_the_template_holds_nothing_secret(tmp_path):
    """The template never reads a notebook, an input or a stand-in; a child cannot read another process's memory,
    and finds no earlier student's data in its own (a copy of the template's); a child's processes all end with it."""
    from autograder.grading import staging
    from autograder.grading.prepare import load_assignment, prepare_inputs
    from autograder.grading.run import execute, judge_ran
    from autograder.grading.submission import Submission

    spec = load_assignment(ws.ASSIGNMENT)
    run_dir = tmp_path / "run"
    functions = prepare_inputs(spec, 20240601, run_dir / "inputs")
    staged = staging.stage(run_dir)
    tokens = {"earlier": ws.secret(), "later": ws.secret()}
    subs = [("earlier", ws.notebook(ws.LEAVE, note=tokens["earlier"])), ("spy", ws.notebook(ws.SPY)),
            ("later", ws.notebook("print('done')", note=tokens["later"]))]
    with warm.Template() as template:
        assert template.ok, template.why
        pid = _template_process(template)
        got = {}
        for name, data in subs:
            sub = Submission(student=name, origin=name, data=data)
            ran = execute(spec, sub, limits(), staged, staging.UidPool(1), False, run=template.run)
            assert ran.run.start == "warm"
            got[name] = judge_ran(spec, sub, ran, functions, limits(), "k")
            assert got[name].total == FULL, got[name].reasons
            # Everything the child started (the leaver's detached process too) ended with it.
            deadline = time.monotonic() + 10
            while _living_descendants(pid) and time.monotonic() < deadline:
                time.sleep(0.2)
            assert _living_descendants(pid) == [], f"{name} left processes behind"
        spy = {"cells": [{"stdout": c.get("stdout")} for c in got["spy"].cells]}
        assert ws.found(spy, "OPENED") == [], "the spy read another process's memory"
        seen = ws.found(spy, "SEEN")
        assert not any(tokens["earlier"] in s for s in seen), "an earlier student's notebook is in the template's memory"
        if os.geteuid() == 0:  # only root can read a non-dumpable process's memory: look at the template's own
            memory = _memory(pid)
            assert len(memory) > 50 << 20  # it is the interpreter with NumPy and PyTorch
            for name, token in tokens.items():
                assert token.encode() not in memory, f"{name}'s notebook is in the template's memory"
            standin = standins.source_for(ws.ASSIGNMENT, ["masked_softmax"]).encode()
            line = next(x for x in standin.splitlines() if b"masked_fill" in x).strip()
            assert line not in memory, "a stand-in's source is in the template's memory"
            npz = sorted((run_dir / "inputs").rglob("*.npz"), key=lambda p: p.stat().st_size)[-1].read_bytes()
            chunk = npz[len(npz) // 2:len(npz) // 2 + 64]
            assert chunk not in memory, "the hidden cases' inputs are in the template's memory"


def test_falls_back_to_cold(tmp_path, monkeypatch, caplog):
    """A template that cannot start, or cannot make a child's sandbox, costs time, not grades."""
    folder = tmp_path / "subs"
    folder.mkdir()
    for name in ("correct", "allclose-patched"):
        (folder / f"{name}.ipynb").write_bytes(hs.CASES[name].build())
    want = {"correct": 12.0, "allclose-patched": 10.0}
    with monkeypatch.context() as m, caplog.at_level(logging.WARNING, logger="autograder"):
        m.setattr(warm, "command", lambda lib, fd: ["/bin/false"])
        rows = grade(hs.ASSIGNMENT, folder, tmp_path / "out1", limits=hs.limits(), progress=False)
    assert {r["student_id"]: float(r["score"]) for r in rows} == want
    assert "the warm sandbox template is not available" in caplog.text
    assert "warm template: 0; started cold: 2" in (tmp_path / "out1" / "summary.md").read_text()
    caplog.clear()
    real = warm.pack

    def bad_pack(folder):  # a name the child refuses: it says why, and runs nothing
        fd = real(folder)
        bad = os.memfd_create("bad")
        os.write(bad, ws_entry("../escape", b"x") + os.pread(fd, os.fstat(fd).st_size, 0))
        os.close(fd)
        return bad

    with monkeypatch.context() as m, caplog.at_level(logging.WARNING, logger="autograder"):
        m.setattr(warm, "pack", bad_pack)
        rows = grade(hs.ASSIGNMENT, folder, tmp_path / "out2", limits=hs.limits(), progress=False, jobs=1)
    assert {r["student_id"]: float(r["score"]) for r in rows} == want
    assert "bad name in a packed folder" in caplog.text


def test_a_template_that_dies_costs_a_rerun_not_a_grade(tmp_path):
    """The template killed while a notebook runs: the child dies with it, and that notebook runs again, cold."""
    import signal
    import threading

    from autograder.grading import staging
    from autograder.grading.prepare import load_assignment, prepare_inputs
    from autograder.grading.run import execute, judge_ran
    from autograder.grading.submission import Submission

    spec = load_assignment(ws.ASSIGNMENT)
    functions = prepare_inputs(spec, 7, tmp_path / "run" / "inputs")
    staged = staging.stage(tmp_path / "run")
    sub = Submission("slow", "slow", data=ws.notebook("import time\ntime.sleep(6)\nprint('slept')"))
    with warm.Template() as template:
        assert template.ok, template.why
        pid = _template_process(template)
        threading.Timer(3.0, os.kill, (pid, signal.SIGKILL)).start()
        ran = execute(spec, sub, limits(), staged, staging.UidPool(1), False, run=template.run)
        assert not template.ok and template.fell_back == 1
    assert ran.run.start == "cold"
    result = judge_ran(spec, sub, ran, functions, limits(), "k")
    assert result.total == FULL and not result.review, (result.reasons, result.notes)


def ws_entry(name: str, data: bytes) -> bytes:
    from autograder.grading.probe.template import ENTRY

    return ENTRY.pack(len(name), len(data)) + name.encode() + data


def _outcome(result: dict) -> dict:
    """What a student sees of a result: scores, reasons, the review flag, and the kinds of notes."""
    return {"scores": result["scores"], "reasons": result["reasons"], "review": result["review"],
            "notes": sorted(n["code"] if isinstance(n, dict) else str(n) for n in result["notes"])}


@pytest.mark.slow
def test_cold_and_warm_give_identical_results(tmp_path):
    batches = {a: lambda f, a=a: write_all(a, f) for a in sorted(modules())}
    batches["hostile"] = lambda f: hs.write_all(f)
    differ = []
    for name, write in batches.items():
        folder = tmp_path / name / "subs"
        write(folder)
        assignment = hs.ASSIGNMENT if name == "hostile" else name
        lim = hs.limits() if name == "hostile" else sandbox.Limits(function_timeout=15, cell_timeout=8,
                                                                    notebook_timeout=300)
        both = {}
        for start in ("cold", "warm"):
            out = tmp_path / name / start
            grade(assignment, folder, out, seed=4242, limits=lim, progress=False, warm_start=start == "warm")
            both[start] = {k: _outcome(v) for k, v in results(out).items()}
            summary = (out / "summary.md").read_text()
            n = len(both[start])
            assert (f"warm template: {n if start == 'warm' else 0};" in summary) or name == "hostile", summary[-400:]
        for student in sorted(set(both["cold"]) | set(both["warm"])):
            cold, hot = both["cold"].get(student), both["warm"].get(student)
            if cold != hot:
                differ.append(f"{name}/{student}:\n  cold {cold}\n  warm {hot}")
    assert not differ, "\n".join(differ)


def test_a_python_below_tmp_is_bound_read_only_in_every_child(tmp_path, monkeypatch):
    """A checkout, and so its virtualenv, in /tmp. A cold sandbox binds Python's folders read-only on top of its
    own /tmp; a warm child replaces the template's /tmp with its own and must bind them again. (It once copied
    what fitted of them into the student's /tmp instead: a writable, partial Python, where every module not yet
    imported, such as IPython.core.logger in a test cell, was missing.)"""
    site = tmp_path / "site"
    assert str(site).startswith("/tmp/"), site
    site.mkdir()
    (site / "canary_mod.py").write_text("VALUE = 42\n")
    os.chmod(site, 0o755)
    os.chmod(site / "canary_mod.py", 0o644)
    real = sandbox._python_paths
    monkeypatch.setattr(sandbox, "_python_paths", lambda: real() + [site])
    probe = (f"import json, os, sys\nsys.path.insert(0, {str(site)!r})\nimport canary_mod\n"
             f"print('CANARY=' + json.dumps([canary_mod.VALUE, os.path.ismount({str(site)!r}), "
             f"os.access({str(site)!r}, os.W_OK)]))")
    folder = tmp_path / "subs"
    folder.mkdir()
    for name in ("one", "two"):
        (folder / f"{name}.ipynb").write_bytes(ws.notebook(probe))
    rows = grade(ws.ASSIGNMENT, folder, tmp_path / "out", limits=limits(), jobs=1, progress=False)
    got = results(tmp_path / "out")
    assert {r["student_id"]: float(r["score"]) for r in rows} == {"one": FULL, "two": FULL}, \
        {k: v["reasons"] for k, v in got.items()}
    for name in ("one", "two"):
        assert ws.found(got[name], "CANARY") == [42, True, False], got[name]["cells"][-1]
    assert "Sandboxes forked from a warm template: 2; started cold: 0" in (tmp_path / "out" / "summary.md").read_text()
