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

from autograder.grading import sandbox

#: The code that decides scores: this folder, ``autograder/grading/`` (the pipeline, the sandbox and its probe, the
#: hidden cases and the reference). The gradebook, the reports, the commands and nbgrader's configuration live
#: outside it: a change to them rewrites the reports from the cached results instead of grading everyone again.
GRADING = Path(__file__).resolve().parent


def code_digest(folder: Path = GRADING) -> str:
    """A digest of the code that decides scores (every module of ``folder``): a change re-grades everyone."""
    h = hashlib.sha256()
    folder = Path(folder)
    for path in sorted(folder.rglob("*.py")):
        h.update(str(path.relative_to(folder)).encode() + b"\0" + path.read_bytes())
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
