"""Where a run's notebooks are executed from: the one staging path of the local pool and of every Dask worker.

A staged run is a folder readable by the sandbox user: ``probe/`` (the probe package the sandbox imports as
``autograder``), ``inputs/`` (the hidden cases' inputs, never the expected values) and ``jobs/`` (one folder per
notebook run). Each grader or worker process draws sandbox uids from its own :class:`UidPool`, distinct from
every other grader process on the machine. :func:`code_digest` is what a cached result and a Dask worker are
checked against: the code that decides scores.
"""
from __future__ import annotations

import hashlib
import os
import queue
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from autograder import sandbox

PACKAGE = Path(__file__).resolve().parent.parent

#: Files of the package that only read results (reports, gradebook, commands, nbgrader's configuration): a change to
#: them rewrites the reports from the cached results instead of grading everyone again.
NOT_IN_DIGEST = {"nbgrader_config.py", "term.py", "commands.py", "feedback.py", "labels_zh.py", "release.py",
                 "__main__.py", "export.py", "exchange.py", "nbgrader_layout.py", "stages/report.py", "stages/record.py",
                 "course.py"}


def code_digest(package: Path = PACKAGE) -> str:
    """A digest of the course package's code (grader, probe, specs, reference): a change re-grades everyone."""
    h = hashlib.sha256()
    package = Path(package)
    for path in sorted(package.rglob("*.py")):
        if path.relative_to(package).as_posix() in NOT_IN_DIGEST:
            continue
        h.update(str(path.relative_to(package)).encode() + b"\0" + path.read_bytes())
    return h.hexdigest()


@dataclass(frozen=True)
class Staged:
    """A staged run: the probe's folder for PYTHONPATH, the inputs, and the folder of the notebooks' jobs."""

    lib: Path
    inputs: Path
    jobs: Path


def stage(root: Path) -> Staged:
    """Stage a run in ``root``, whose ``inputs/`` is already written: the probe, readable inputs, a jobs folder."""
    root = Path(root)
    lib = sandbox.stage_probe(root / "probe")
    inputs = root / "inputs"
    sandbox._world_readable(inputs)
    jobs = root / "jobs"
    jobs.mkdir()
    os.chmod(root, 0o755)
    return Staged(lib, inputs, jobs)


class UidPool:
    """The sandbox uids of one grader or worker process (as root): distinct from every other process's."""

    SIZE = 64

    def __init__(self, size: int = SIZE):
        self._free: queue.Queue = queue.Queue()
        base = sandbox.SANDBOX_UID_BASE + (os.getpid() % 100_000) * self.SIZE
        for i in range(max(1, min(size, self.SIZE))):
            self._free.put(base + i)

    @contextmanager
    def uid(self):
        uid = self._free.get()
        try:
            yield uid
        finally:
            self._free.put(uid)
