"""Execute a notebook's code cells in order inside the sandbox (``python -m autograder.runner JOB``).

``JOB`` holds ``cells.json`` (the code cells to run, prepared by the grader) and ``limits.json``.
Cells run in one IPython shell, like a kernel would run them, with stdout, stderr and rich
displays captured and truncated. Every event is sent as a frame on the results channel (a file
descriptor the grader reads): ``start`` and ``cell`` around each cell, and the ``result`` and
``function`` frames of ``checking.check``. The grader treats all of it as untrusted.
"""
from __future__ import annotations

import json
import os
import signal
import sys
import time

from . import checking, wire


class CellTimeout(BaseException):
    """Raised in the notebook when a cell runs longer than its time limit."""


class CappedStream:
    """A text stream that keeps the first ``limit`` characters and counts the rest."""

    def __init__(self, limit: int):
        self.limit, self.parts, self.kept, self.total = limit, [], 0, 0
        self.encoding, self.errors = "utf-8", "replace"

    def write(self, text) -> int:
        text = str(text)
        self.total += len(text)
        room = self.limit - self.kept
        if room > 0:
            self.parts.append(text[:room])
            self.kept += min(room, len(text))
        return len(text)

    def writelines(self, lines):
        for line in lines:
            self.write(line)

    def flush(self):
        pass

    def isatty(self):
        return False

    def fileno(self):
        raise OSError("captured stream")

    def getvalue(self) -> str:
        return "".join(self.parts)


class Runner:
    def __init__(self, fd: int, limits: dict):
        self.fd = fd
        self.function_timeout = float(limits["function_timeout"])
        self.cell_timeout = float(limits["cell_timeout"])
        self.output_limit = int(limits["output_limit"])

    def send(self, header: dict, payload: bytes = b"") -> None:
        data = wire.frame(header, payload)
        view = memoryview(data)
        while view:
            view = view[os.write(self.fd, view):]

    def pause_timer(self):
        return signal.setitimer(signal.ITIMER_REAL, 0)[0]

    def resume_timer(self, left) -> None:
        if left and left > 0:
            signal.setitimer(signal.ITIMER_REAL, left)


def _on_alarm(signum, frame):
    raise CellTimeout("the cell ran longer than its time limit")


def _displays(publisher, limit: int) -> list:
    kept = []
    for out in getattr(publisher, "outputs", [])[:20]:
        data = out.get("data", {}) if isinstance(out, dict) else getattr(out, "data", {})
        entry = {}
        png = data.get("image/png")
        if isinstance(png, str) and len(png) <= 2_000_000:
            entry["image/png"] = png
        text = data.get("text/plain")
        if isinstance(text, str):
            entry["text/plain"] = text[:limit]
        if entry:
            kept.append(entry)
    return kept


def run_cell(shell, runner: Runner, index: int, source: str) -> dict:
    """Run one cell with its output captured and its time limited; return its ``cell`` frame."""
    from IPython.core.displaypub import CapturingDisplayPublisher

    out, err = CappedStream(runner.output_limit), CappedStream(runner.output_limit)
    shell.display_pub = CapturingDisplayPublisher()
    real_out, real_err = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = out, err
    start = time.monotonic()
    error = None
    try:
        signal.setitimer(signal.ITIMER_REAL, runner.cell_timeout)
        result = shell.run_cell(source, store_history=False)
        signal.setitimer(signal.ITIMER_REAL, 0)
        exc = result.error_before_exec or result.error_in_exec
        if exc is not None:
            error = f"{type(exc).__name__}: {str(exc)[:500]}"
    except BaseException as exc:  # noqa: BLE001 - e.g. the timeout landing outside the cell's code
        signal.setitimer(signal.ITIMER_REAL, 0)
        error = f"{type(exc).__name__}: {str(exc)[:500]}"
    finally:
        sys.stdout, sys.stderr = real_out, real_err
    return {
        "kind": "cell", "index": index, "error": error, "seconds": round(time.monotonic() - start, 3),
        "stdout": out.getvalue(), "stderr": err.getvalue(), "stdout_total": out.total, "stderr_total": err.total,
        "displays": _displays(shell.display_pub, runner.output_limit),
    }


def run_isolated(shell, runner: Runner, index: int, source: str, budget: float, given: dict | None = None) -> None:
    """Run a test cell in a forked child: whatever it does (exit, crash, endless loop) ends there.

    ``given`` names the other graded functions that are replaced, in the child only, by their public
    stand-ins (``standins``): the test then depends on the function it grades and on nothing else.
    """
    if given and given.get("names"):
        from . import standins

        standins.prepare(given["names"], given.get("assignment", ""))  # imports torch once, before forking
    path = f"/tmp/.cell-{os.getpid()}-{index}"
    try:
        pid = os.fork()
    except OSError as exc:
        runner.send({"kind": "cell", "index": index, "error": f"ProcessLimit: could not start a process for this "
                     f"test ({exc.strerror}; too many processes?)"})
        return
    if pid == 0:
        try:
            runner.fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            if given and given.get("names"):
                standins.install(shell.user_ns, given.get("assignment", ""), given["names"])
            runner.send(run_cell(shell, runner, index, source))
        finally:
            os._exit(0)
    status = checking._wait(pid, budget)
    data = wire.take_file(path)
    finished = False
    try:
        for header, payload in wire.read_frames(data):
            runner.send(header, payload)
            finished = finished or header.get("kind") == "cell"
    except wire.WireError:
        pass
    if finished:
        return
    if status is None:
        error = f"CellTimeout: the test ran longer than its time limit ({budget:g} s) and was stopped"
    elif os.WIFSIGNALED(status):
        error = f"Crash: the test's process was killed by signal {os.WTERMSIG(status)}"
    else:
        error = f"Exit: the test's process ended (exit status {os.WEXITSTATUS(status)}) before the test finished"
    runner.send({"kind": "cell", "index": index, "error": error})


def _seed_matplotlib_cache() -> None:
    """Copy the grader's matplotlib font list into this sandbox's (empty) matplotlib config folder."""
    src = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "mplcache")
    dst = os.environ.get("MPLCONFIGDIR")
    if not dst or not os.path.isdir(src):
        return
    try:
        os.makedirs(dst, exist_ok=True)
        for name in os.listdir(src):
            with open(os.path.join(src, name), "rb") as fi, open(os.path.join(dst, name), "wb") as fo:
                fo.write(fi.read())
    except OSError:
        pass


def main(job: str) -> None:
    fd = int(os.environ["AUTOGRADER_CHANNEL_FD"])
    with open(os.path.join(job, "cells.json")) as fh:
        cells = json.load(fh)
    with open(os.path.join(job, "limits.json")) as fh:
        limits = json.load(fh)
    runner = Runner(fd, limits)
    checking._runner = runner
    os.set_inheritable(fd, False)
    _seed_matplotlib_cache()

    from IPython.core.interactiveshell import InteractiveShell
    from traitlets.config import Config

    config = Config()
    config.HistoryManager.enabled = False  # no history database, no history thread
    class Shell(InteractiveShell):
        def enable_gui(self, gui=None):  # `%matplotlib inline` asks for no GUI event loop
            pass

    shell = Shell.instance(config=config, colors="NoColor")
    shell.InteractiveTB.set_mode("Minimal")
    signal.signal(signal.SIGALRM, _on_alarm)
    for index, cell in enumerate(cells):
        runner.send({"kind": "start", "index": index})
        if cell.get("isolate"):
            run_isolated(shell, runner, index, cell["source"], float(cell.get("budget", runner.cell_timeout)),
                         cell.get("given"))
        else:
            runner.send(run_cell(shell, runner, index, cell["source"]))
    runner.send({"kind": "done"})
    os._exit(0)


if __name__ == "__main__":
    main(sys.argv[1])
