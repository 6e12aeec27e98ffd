"""Real servers for the tests and benchmarks: a Dask scheduler with workers as separate processes over TCP, and a
PostgreSQL server made with Debian's ``initdb``/``pg_ctl`` in a temporary folder.

PostgreSQL refuses to run as root: run as root, the server runs as the ``postgres`` system user (``runuser``)
in a folder that user owns.
"""
from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests import REPO


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env() -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), str(REPO / "lib"), env.get("PYTHONPATH", "")])
    env.setdefault("DASK_DISTRIBUTED__WORKER__DAEMON", "False")
    return env


class DaskCluster:
    """A scheduler and ``workers`` worker processes (``--no-nanny``: a killed worker stays dead), all over TCP."""

    def __init__(self, folder: Path, workers: int = 2, nthreads: int = 1):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.address = f"tcp://127.0.0.1:{self.port}"
        self.scheduler_file = self.folder / "scheduler.json"
        dask = str(Path(sys.executable).parent / "dask")
        logs = self.folder
        self.scheduler = subprocess.Popen(
            [dask, "scheduler", "--host", "127.0.0.1", "--port", str(self.port), "--no-dashboard",
             "--scheduler-file", str(self.scheduler_file)],
            env=_env(), cwd=REPO, stdout=subprocess.DEVNULL, stderr=open(logs / "scheduler.log", "wb"),
            start_new_session=True)
        self.workers = []
        for i in range(workers):
            self.workers.append(subprocess.Popen(
                [dask, "worker", self.address, "--nthreads", str(nthreads), "--no-nanny", "--no-dashboard",
                 "--name", f"w{i}", "--local-directory", str(self.folder / f"w{i}")],
                env=_env(), cwd=REPO, stdout=subprocess.DEVNULL, stderr=open(logs / f"worker{i}.log", "wb"),
                start_new_session=True))
        self.wait_for_workers(workers)

    def wait_for_workers(self, n: int, timeout: float = 90) -> None:
        from distributed import Client

        deadline = time.monotonic() + timeout
        while not self.scheduler_file.exists():
            if time.monotonic() > deadline or self.scheduler.poll() is not None:
                raise RuntimeError("the Dask scheduler did not start: " + (self.folder / "scheduler.log").read_text()[-2000:])
            time.sleep(0.2)
        with Client(self.address, timeout="30s") as client:
            client.wait_for_workers(n, timeout=max(1, deadline - time.monotonic()))

    def worker_pids(self) -> dict[str, int]:
        """Worker address -> pid, from the scheduler."""
        from distributed import Client

        with Client(self.address, timeout="30s") as client:
            return client.run(os.getpid)

    def worker_names(self) -> dict[str, str]:
        """Worker address -> its name (``w0``, ``w1``: also its scratch folder under ``folder``)."""
        from distributed import Client

        with Client(self.address, timeout="30s") as client:
            return {addr: info["name"] for addr, info in client.scheduler_info()["workers"].items()}

    def worker_count(self) -> int:
        from distributed import Client

        with Client(self.address, timeout="30s") as client:
            return len(client.scheduler_info()["workers"])

    def close(self) -> None:
        for proc in [*self.workers, self.scheduler]:
            if proc.poll() is None:
                with contextlib.suppress(OSError):
                    os.killpg(proc.pid, signal.SIGTERM)
        for proc in [*self.workers, self.scheduler]:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(OSError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def postgres_binaries() -> str | None:
    """Why a PostgreSQL server cannot be started here, or None if it can."""
    for tool in ("initdb", "pg_ctl"):
        if shutil.which(tool) is None:
            return f"PostgreSQL's {tool} is not on PATH (Debian: apt-get install postgresql)"
    if os.geteuid() == 0:
        try:
            import pwd
            pwd.getpwnam("postgres")
        except KeyError:
            return "running as root and there is no 'postgres' system user to run the server as"
    return None


class Postgres:
    """A throwaway PostgreSQL server on a free port with a database ``course``; ``url`` is its SQLAlchemy URL."""

    def __init__(self):
        self.root = Path(tempfile.mkdtemp(prefix="autograder-pg-"))
        self.data = self.root / "data"
        self.port = free_port()
        self.as_root = os.geteuid() == 0
        if self.as_root:
            import pwd
            pw = pwd.getpwnam("postgres")
            os.chown(self.root, pw.pw_uid, pw.pw_gid)
        self._run([shutil.which("initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8",
                   "--no-sync"])
        self._run([shutil.which("pg_ctl"), "-D", str(self.data), "-l", str(self.root / "server.log"), "-w", "-t", "60",
                   "-o", f"-p {self.port} -k {self.root} -h 127.0.0.1 -c fsync=off", "start"])
        self.url_base = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}"
        import psycopg
        with psycopg.connect(f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres", autocommit=True) as conn:
            conn.execute("CREATE DATABASE course")
        self.url = f"{self.url_base}/course"

    def _run(self, cmd: list[str]) -> None:
        if self.as_root:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        done = subprocess.run(cmd, capture_output=True, text=True, cwd=self.root)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed: {done.stderr[-2000:]}")

    def close(self) -> None:
        with contextlib.suppress(RuntimeError):
            self._run([shutil.which("pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop"])
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


