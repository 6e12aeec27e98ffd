"""Where the notebooks run: a local pool on this machine (the default), or a Dask distributed cluster.

Only stage 3 (run sandboxed) leaves the grader's process. A task carries the assignment's structure, one
submission's bytes and the limits; the hidden cases' *inputs* travel once per run and worker (a tar archive
scattered to the workers). Each worker stages the probe and the inputs in a folder of its own machine and runs
the notebook in the same bubblewrap sandbox as a one-machine run (forked from the one warm template the worker
keeps for its life, ``warm.py``, unless ``--cold-start``), then sends back the raw output
(:class:`autograder.grading.run.Ran`). Judging, the gradebook, the cache and the reports stay with the process
that called :func:`autograder.term.grade`: the expected values never leave it, and every result is written
once, by that process, whichever worker ran the notebook and however often a dead worker's task was retried.

    python -m autograder grade 03-qkv submitted/ --scheduler tcp://head-node:8786

A worker must run the same ``autograder`` code as the grader (it is checked: a worker with other code makes
the run stop with a clear error, not grade with another reference) and, unless ``--unsafe-no-sandbox``, have
bubblewrap. docs/grading.md shows how to start workers by hand and with dask-jobqueue on Slurm or PBS.
"""
from __future__ import annotations

import atexit
import io
import os
import shutil
import socket
import tarfile
import tempfile
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path
from typing import Callable, Iterable, Iterator

from autograder import catalogs
from autograder.errors import SetupError
from autograder.grading import sandbox, staging, warm
from autograder.grading.run import Ran, execute


class WorkerMismatch(SetupError):
    """A worker cannot grade like this process (other code, no sandbox): the run stops instead of grading wrongly."""


# --------------------------------------------------------------------------- the worker's side

_STAGES: dict[str, staging.Staged] = {}
_STAGE_LOCK = threading.Lock()
_UIDS: staging.UidPool | None = None
_CODE: str | None = None
_TEMPLATE: "warm.Template | None" = None


def code_digest() -> str:
    """A digest of the ``autograder`` package's code on this machine (``staging.code_digest``), computed once."""
    global _CODE
    if _CODE is None:
        _CODE = staging.code_digest()
    return _CODE


def _uid_pool() -> staging.UidPool:
    """Sandbox uids of this worker process (as root): distinct from every other grader process on the machine."""
    global _UIDS
    with _STAGE_LOCK:
        if _UIDS is None:
            _UIDS = staging.UidPool()
    return _UIDS


def pack_inputs(inputs: Path) -> bytes:
    """The hidden cases' inputs folder as an uncompressed tar archive (they are arrays; gzip gains little)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        tar.add(inputs, arcname="inputs")
    return buf.getvalue()


def _stage(run_id: str, blob: bytes) -> staging.Staged:
    """This worker's copy of the run's probe and inputs (made once per run and worker process)."""
    with _STAGE_LOCK:
        if run_id in _STAGES and _STAGES[run_id].lib.exists():
            return _STAGES[run_id]
        root = Path(tempfile.mkdtemp(prefix=f"autograder-{run_id[:12]}-", dir=_scratch()))
        with tarfile.open(fileobj=io.BytesIO(blob)) as tar:
            tar.extractall(root, filter="data")
        _STAGES[run_id] = staging.stage(root)
        return _STAGES[run_id]


def _scratch() -> str | None:
    """The Dask worker's own scratch folder (what a killed worker leaves there, Dask clears), else the temp dir."""
    try:
        from distributed import get_worker

        return get_worker().local_directory
    except (ImportError, ValueError):
        return None


def cleanup(run_id: str) -> int:
    """Remove this worker's staged copy of a run (called on every worker when the run ends)."""
    with _STAGE_LOCK:
        staged = _STAGES.pop(run_id, None)
    if staged:
        if _TEMPLATE is not None:
            _TEMPLATE.forget(staged.inputs)
        shutil.rmtree(staged.lib.parent.parent, ignore_errors=True)
    return os.getpid()


def _template(unsafe: bool, warm_start: bool):
    """How this worker starts a sandbox: forked from its one warm template (started on its first task and kept for
    the worker's life), or cold."""
    global _TEMPLATE
    if unsafe or not warm_start:
        return sandbox.run
    with _STAGE_LOCK:
        if _TEMPLATE is None:
            _TEMPLATE = warm.Template()
            atexit.register(_TEMPLATE.close)
    return _TEMPLATE.run


def template_pid() -> int | None:
    """The process of this worker's warm template (None before its first task, or when it could not start)."""
    return _TEMPLATE.proc.pid if _TEMPLATE is not None and _TEMPLATE.ok and _TEMPLATE.proc else None


def remote_run(run_id: str, code: str, blob: bytes, assignment, sub, limits, unsafe: bool,
               warm_start: bool = True) -> Ran:
    """A Dask task: run one submission's notebook in a sandbox on this worker; the raw output goes back.

    ``code``: the grader's ``<code digest>:<catalog digest>``; a worker whose code that decides scores, or whose
    Chinese catalog of the assignment, differs refuses the task (:class:`WorkerMismatch` stops the run)."""
    theirs, _, their_catalog = code.partition(":")
    if theirs != code_digest():
        raise WorkerMismatch(f"the worker on {os.uname().nodename} (pid {os.getpid()}) runs other autograder code "
                             "than the grader; install the same checkout on every worker")
    if their_catalog != catalogs.digest(assignment.name):
        raise WorkerMismatch(f"the worker on {os.uname().nodename} (pid {os.getpid()}) has another Chinese catalog "
                             f"of {assignment.name} than the grader ({catalogs.catalog_path(assignment.name).name}: "
                             "a Chinese notebook's instructor cells are rebuilt from it); install the same checkout "
                             "on every worker")
    if not unsafe:
        ok, why = sandbox.available()
        if not ok:
            raise WorkerMismatch(f"the worker on {os.uname().nodename} cannot sandbox student code: {why}")
    staged = _stage(run_id, blob)
    ran = execute(assignment, sub, limits, staged, _uid_pool(), unsafe, run=_template(unsafe, warm_start))
    ran.host = f"{os.uname().nodename} (Dask worker, pid {os.getpid()}, {'root' if os.geteuid() == 0 else 'ordinary user'})"
    ran.missing = _missing(unsafe)
    return ran


_MISSING: dict[bool, list[str]] = {}


def _missing(unsafe: bool) -> list[str]:
    """The limits this worker cannot apply (computed once per worker process)."""
    if unsafe not in _MISSING:
        _MISSING[unsafe] = sandbox.isolation_report(unsafe)[1]
    return _MISSING[unsafe]


# --------------------------------------------------------------------------- the grader's side

def run_local(items: Iterable, run_one: Callable, jobs: int) -> Iterator[tuple[object, object]]:
    """``run_one(item)`` for every item in a pool of ``jobs`` threads (each drives one sandbox process);
    yields ``(item, outcome)`` as they finish; an exception is yielded as the outcome."""
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        futures = {pool.submit(run_one, item): item for item in items}
        for fut in as_completed(futures):
            try:
                yield futures[fut], fut.result()
            except Exception as exc:  # noqa: BLE001 - reported per submission by the caller
                yield futures[fut], exc


def connect(scheduler):
    """A Dask client for ``scheduler``: an address (``tcp://host:8786``), a scheduler file (``*.json``), a
    cluster object (dask-jobqueue's ``SLURMCluster``, ``LocalCluster``) or a ``Client``."""
    from distributed import Client

    if isinstance(scheduler, Client):
        return scheduler, False
    if isinstance(scheduler, (str, os.PathLike)):
        text = str(scheduler)
        if text.startswith("tcp://"):
            # Fail at once, not after the client's 30 s of retries, when nothing listens there.
            host, _, port = text[len("tcp://"):].rpartition(":")
            try:
                socket.create_connection((host.strip("[]"), int(port)), timeout=10).close()
            except (OSError, ValueError) as exc:
                raise SetupError(f"cannot reach the Dask scheduler at {text}: {exc}") from None
        try:
            if text.endswith(".json"):
                return Client(scheduler_file=text, timeout="30s"), True
            return Client(text, timeout="30s"), True
        except (OSError, TimeoutError) as exc:
            raise SetupError(f"cannot reach the Dask scheduler at {text}: {exc}") from None
    return Client(scheduler, timeout="30s"), True


def run_dask(scheduler, inputs: Path, assignment, subs: list, limits, unsafe: bool,
             code: str, warm_start: bool = True) -> Iterator[tuple[object, object]]:
    """Run every submission of ``subs`` on the cluster; yield ``(submission, Ran or exception)`` as they finish.

    A worker that dies in the middle of a task is noticed by the scheduler, which runs the task again on
    another worker; after ``allowed-failures`` deaths it gives up (``KilledWorker``), and that submission is
    reported as not graded. Each submission is yielded exactly once.
    """
    from distributed import as_completed as dask_completed

    client, own = connect(scheduler)
    run_id = uuid.uuid4().hex
    try:
        if not client.scheduler_info().get("workers"):
            client.wait_for_workers(1, timeout=120)
        blob = client.scatter(pack_inputs(inputs), broadcast=True, hash=False)
        check = f"{code}:{catalogs.digest(assignment.name)}"  # what each worker must have as this process has it
        futures = {}
        limits_of = limits if callable(limits) else (lambda _sub: limits)  # one student's limits may be longer
        for sub in subs:
            fut = client.submit(remote_run, run_id, check, blob, assignment, sub, limits_of(sub), unsafe, warm_start,
                                key=f"autograder-{run_id[:12]}-{sub.student}", pure=False, retries=0)
            futures[fut] = sub
        for fut in dask_completed(list(futures)):
            sub = futures.pop(fut)
            try:
                outcome = fut.result()
            except WorkerMismatch:
                raise
            except Exception as exc:  # noqa: BLE001 - KilledWorker, or a grader bug on the worker
                outcome = exc
            fut.release()
            yield sub, outcome
    finally:
        try:
            client.run(cleanup, run_id)
        except Exception:  # noqa: BLE001 - a worker that is gone has nothing to clean
            pass
        if own:
            client.close()


def failure_reason(exc: BaseException) -> str:
    """What a submission's log and feedback say when running it failed for a reason that is not the student's."""
    name = type(exc).__name__
    if name == "KilledWorker":
        return ("the notebook's worker died each time it ran this submission (Dask gave up after "
                "distributed.scheduler.allowed-failures attempts); it was not graded")
    return f"the grader failed on this submission ({name}: {str(exc)[:200]})"
