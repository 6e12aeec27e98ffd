"""Sandboxes forked from a warm template: the interpreter and its imports start once per worker, not per notebook.

A cold sandbox (``autograder/grading/sandbox.py``, ``run``) starts bubblewrap, a new Python, and imports IPython, NumPy and
PyTorch for every notebook: about 1.5 to 2 s of CPU before the student's first cell. A :class:`Template` starts
one interpreter in a bubblewrap sandbox of its own (``autograder/grading/probe/template.py``) that has imported them once,
and forks one sandbox per notebook from it. Each child is as isolated from its siblings and from the next student as
a cold sandbox is (docs/grading.md, "A warm template"):

* its own mount, PID, IPC, network (loopback only) and UTS namespaces, and its own tmpfs at ``/tmp``, ``/dev/shm``
  and ``/home/student``; the job and the hidden cases' inputs are copied into read-only tmpfs of its own from
  memory files the grader sealed, so no child sees another's notebook;
* its own uid as root (the grader's uid pool), or a user namespace of its own as an ordinary user;
* its own resource limits and, as root, its own memory and pids cgroups;
* killed with everything it started when it ends or overruns (pid 1 of its PID namespace dies);
* forked from a template that never runs student code and never reads a notebook, an input or a stand-in: what a
  child inherits is the same for every student. Threads, ``atexit`` hooks, patched modules and files of one child
  live and die with that child.

``Template.run`` has ``sandbox.run``'s signature and result, and falls back to it (a cold sandbox) whenever the
template cannot start, has died, or cannot make a child's sandbox; the notebook then runs as it always did.
"""
from __future__ import annotations

import fcntl
import json
import logging
import os
import select
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path

from autograder.grading import sandbox
from autograder.grading.probe.template import ENTRY
from autograder.reasons import R

log = logging.getLogger("autograder")

#: Seconds the template may take to import everything (``import torch`` on a loaded 2-core machine can take 10 s).
START_TIMEOUT = 120.0
#: Seconds a child may take to make its sandbox (mounts, inputs) before the notebook runs cold instead.
SETUP_TIMEOUT = 60.0


class Fallback(Exception):
    """The template could not run this notebook; no student code ran: it runs in a cold sandbox."""


def pack(folder: Path) -> int:
    """The files below ``folder`` in one sealed memory file (``probe/template.unpack`` reads it): its descriptor."""
    fd = os.memfd_create("autograder-files", os.MFD_CLOEXEC | os.MFD_ALLOW_SEALING)
    try:
        with os.fdopen(os.dup(fd), "wb") as out:
            for path in sorted(Path(folder).rglob("*")):
                if path.is_file() and not path.is_symlink():
                    name = path.relative_to(folder).as_posix().encode()
                    data = path.read_bytes()
                    out.write(ENTRY.pack(len(name), len(data)) + name + data)
        fcntl.fcntl(fd, fcntl.F_ADD_SEALS, fcntl.F_SEAL_SHRINK | fcntl.F_SEAL_GROW | fcntl.F_SEAL_WRITE | fcntl.F_SEAL_SEAL)
    except BaseException:
        os.close(fd)
        raise
    return fd


def command(lib: Path, sock_fd: int) -> list[str]:
    """The bubblewrap command line of the template: a cold sandbox's file system and namespaces, with empty
    ``/grader/job`` and ``/grader/inputs`` for each child's own, and the capabilities to make the children's."""
    limits = sandbox.Limits()
    cmd = [sandbox.bwrap_path(), "--unshare-net", "--unshare-pid", "--unshare-ipc", "--unshare-uts",
           "--unshare-cgroup-try", "--die-with-parent", "--new-session", "--clearenv"]
    caps = ["CAP_SYS_ADMIN", "CAP_SETUID", "CAP_SETGID", "CAP_SETPCAP", "CAP_NET_ADMIN"]
    if os.geteuid() != 0:
        # In a user namespace of its own, as its root: each child maps that uid to its own 1000, which the kernel
        # allows only with CAP_SETFCAP (of this namespace, not the host's).
        cmd += ["--unshare-user", "--uid", "0", "--gid", "0"]
        caps.append("CAP_SETFCAP")
    cmd += ["--cap-drop", "ALL"]
    for cap in caps:
        cmd += ["--cap-add", cap]
    cmd += sandbox.file_system(limits, [(lib, Path("/grader/lib"))], dirs=("/grader/job", "/grader/inputs"))
    for k, v in sandbox.environment({"AUTOGRADER_TEMPLATE_FD": str(sock_fd)}).items():
        cmd += ["--setenv", k, v]
    cmd += [sandbox._python(), "-s", "-m", "autograder.template"]
    return cmd


class Template:
    """One warm template and the sandboxes forked from it; ``run`` is ``sandbox.run`` for its callers."""

    def __init__(self):
        self.ok, self.why = False, ""
        self.proc: subprocess.Popen | None = None
        self.sock: socket.socket | None = None
        self._lock = threading.Lock()
        self._inputs: dict[str, int] = {}
        self._stderr: list[bytes] = []
        self._staged = Path(tempfile.mkdtemp(prefix="autograder-template-"))
        self.imports = 0    # bytes of the template's own memory (its imports), which a child shares, uncharged
        self.used = 0       # notebooks run from the template
        self.fell_back = 0  # notebooks run cold instead
        try:
            self._start()
        except Exception as exc:  # noqa: BLE001 - any reason: the cold path is used
            self._fail(f"{type(exc).__name__}: {exc}")

    def _start(self) -> None:
        ok, why = sandbox.available()
        if not ok:
            raise Fallback(why)
        lib = sandbox.stage_probe(self._staged / "probe")
        mine, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.sock = mine
        try:
            self.proc = subprocess.Popen(command(lib, theirs.fileno()), stdin=subprocess.DEVNULL,
                                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                         pass_fds=(theirs.fileno(),), start_new_session=True)
        finally:
            theirs.close()
        threading.Thread(target=sandbox._drain, args=(self.proc.stderr, 64 << 10, self._stderr, []),
                         daemon=True).start()
        ready, _, _ = select.select([mine], [], [], START_TIMEOUT)
        if not ready:
            raise Fallback(f"the template did not start within {START_TIMEOUT:g} s")
        data = mine.recv(1 << 16)
        if not data:
            raise Fallback("the template ended while starting: " + self.stderr()[-300:])
        hello = json.loads(data)
        if not hello.get("ready"):
            raise Fallback("; ".join(hello.get("problems") or ["not ready"]))
        self.imports = int(hello.get("anonymous_kb", 0)) * 1024
        self.ok = True

    def stderr(self) -> str:
        return b"".join(self._stderr).decode(errors="replace")

    def _fail(self, why: str) -> None:
        first = self.ok or not self.why
        self.ok, self.why = False, why
        if first:
            log.warning("the warm sandbox template is not available (%s): notebooks start cold sandboxes", why)

    def close(self) -> None:
        self.ok = False
        if self.sock is not None:
            self.sock.close()
            self.sock = None
        if self.proc is not None:
            try:
                os.killpg(self.proc.pid, 9)
            except OSError:
                pass
            self.proc.wait()
            self.proc = None
        for fd in self._inputs.values():
            os.close(fd)
        self._inputs.clear()
        shutil.rmtree(self._staged, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def forget(self, inputs: Path) -> None:
        """Drop the packed copy of a run's inputs (the run has ended)."""
        with self._lock:
            fd = self._inputs.pop(str(inputs), None)
        if fd is not None:
            os.close(fd)

    def _packed_inputs(self, inputs: Path) -> int:
        with self._lock:
            if str(inputs) not in self._inputs:
                self._inputs[str(inputs)] = pack(inputs)
            return self._inputs[str(inputs)]

    # ------------------------------------------------------------------------------------------- a notebook
    def run(self, job: Path, lib: Path, inputs: Path, limits: sandbox.Limits, uid: int = sandbox.SANDBOX_UID_BASE,
            unsafe: bool = False, tests: dict | None = None) -> sandbox.RunOutput:
        """``sandbox.run`` in a child of the template (``lib``: the template has its own copy of the probe)."""
        if self.ok and not unsafe:
            try:
                out = self._run(job, inputs, limits, uid, tests or {})
                self.used += 1
                return out
            except Fallback as exc:
                self._fail(str(exc))
        self.fell_back += 1
        return sandbox.run(job, lib, inputs, limits, uid=uid, unsafe=unsafe, tests=tests)

    def _run(self, job: Path, inputs: Path, limits: sandbox.Limits, uid: int, tests: dict) -> sandbox.RunOutput:
        mine: list[int] = []     # the grader's ends
        theirs: list[int] = []   # what the child gets, in the order of the request's indexes

        def pipe(give: str) -> int:
            r, w = os.pipe()
            keep, send = (r, w) if give == "w" else (w, r)
            mine.append(keep)
            theirs.append(send)
            return keep

        cgroup, inputs_fd = None, -1
        try:
            setup_r = pipe("w")
            status_r = pipe("w")
            life_w = pipe("r")
            out_r = pipe("w")
            err_r = pipe("w")
            control_r = pipe("w")
            main_r = pipe("w")
            theirs.append(pack(job))
            inputs_fd = self._packed_inputs(inputs)
            theirs.append(inputs_fd)
            # A cold sandbox's cgroup is charged for its interpreter's imports; a child's memory that the template
            # made is charged to the template's. So that a student has the same memory either way, the child's
            # cgroup gets the limit less what the imports take.
            memory = max(64 * sandbox.MiB, limits.total_memory_mb * sandbox.MiB - self.imports)
            cgroup = sandbox.Cgroup(f"autograder-{os.getpid()}-{uid}-{time.monotonic_ns()}", memory,
                                    limits.processes + 8)
            request_fds: dict = {role: i for i, role in enumerate(
                ("setup", "status", "life", "stdout", "stderr", "control", "main", "job", "inputs"))}
            request_fds["cgroups"] = []
            for path in cgroup.procs:
                request_fds["cgroups"].append(len(theirs))
                theirs.append(os.open(path, os.O_WRONLY | os.O_CLOEXEC))
            streams: dict[str, int] = {"main": main_r}
            request_fds["tests"] = {}
            for index, source in sorted(tests.items()):
                chan = pipe("w")
                streams[str(index)] = chan
                slot = [len(theirs) - 1, -1]
                if source:
                    slot[1] = len(theirs)
                    theirs.append(sandbox._given_pipe(source))
                request_fds["tests"][str(index)] = slot
            request = {"privileged": os.geteuid() == 0, "uid": uid, "file_mb": limits.file_mb, "fds": request_fds,
                       "rlimits": {"cpu": limits.cpu_seconds, "as": limits.memory_mb * sandbox.MiB,
                                   "nproc": limits.processes, "fsize": limits.file_mb * sandbox.MiB, "nofile": 256,
                                   "core": 0}}
            start = time.monotonic()
            with self._lock:
                if self.sock is None:
                    raise Fallback("the template was closed")
                socket.send_fds(self.sock, [json.dumps(request).encode()], theirs)
        except BaseException as exc:
            for fd in mine:
                os.close(fd)
            if cgroup is not None:
                cgroup.close()
            if isinstance(exc, OSError):
                raise Fallback(f"the template is gone ({exc})") from None
            raise
        finally:
            for fd in theirs:
                if fd != inputs_fd:
                    os.close(fd)
        return self._collect(mine, setup_r, status_r, life_w, out_r, err_r, control_r, streams, limits, cgroup, start)

    def _collect(self, mine, setup_r, status_r, life_w, out_r, err_r, control_r, streams, limits, cgroup,
                 start) -> sandbox.RunOutput:
        channel, c_over, out, o_over, err, e_over = [], [], [], [], [], []
        kept: dict[str, list] = {name: [] for name in streams}
        shared = [0]
        killed = []

        def kill():
            if not killed:
                killed.append(True)
                try:
                    os.close(life_w)  # the child's monitor kills its pid 1: the whole namespace goes
                except OSError:
                    pass
            for path in cgroup.procs:
                try:
                    for pid in Path(path).read_text().split():
                        os.kill(int(pid), 9)
                except (OSError, ValueError):
                    pass

        threads = [threading.Thread(target=sandbox._drain, args=(os.fdopen(control_r, "rb"), limits.channel_mb * sandbox.MiB,
                                                                 channel, c_over, kill, shared), daemon=True),
                   *[threading.Thread(target=sandbox._drain, args=(os.fdopen(fd, "rb"), limits.channel_mb * sandbox.MiB,
                                                                   kept[name], c_over, kill, shared), daemon=True)
                     for name, fd in streams.items()],
                   threading.Thread(target=sandbox._drain, args=(os.fdopen(out_r, "rb"), 1 * sandbox.MiB, out, o_over),
                                    daemon=True),
                   threading.Thread(target=sandbox._drain, args=(os.fdopen(err_r, "rb"), 1 * sandbox.MiB, err, e_over),
                                    daemon=True)]
        for t in threads:
            t.start()
        try:
            said = _read_until(setup_r, start + SETUP_TIMEOUT, stop=lambda b: b.startswith(b"R") or b.startswith(b"X"))
            if not said.startswith(b"R"):
                kill()
                for t in threads:
                    t.join(timeout=10)
                why = said[1:].decode(errors="replace") if said.startswith(b"X") else (
                    "no answer from the child" if said == b"" else said.decode(errors="replace"))
                raise Fallback(f"the template could not make a sandbox: {why or 'it ended'}")
            # From here on the student's code may run: only the template's own end makes the notebook run again.
            # The notebook once, then its test cells with the replay before each: the supervisor keeps to twice the
            # notebook's time (runner.Zygote.run); this is the backstop, as for a cold sandbox.
            deadline = start + 2 * limits.notebook_timeout + 10
            status = _read_until(status_r, deadline, stop=lambda b: b.startswith(b"E") and b.endswith(b"\n"), end=b"\n")
            timed_out = not status.startswith(b"E") and time.monotonic() >= deadline
            if timed_out or not status.startswith(b"E"):
                kill()
                if not status.startswith(b"E"):
                    status = _read_until(status_r, time.monotonic() + 10, stop=lambda b: False)
            if not timed_out and not status.startswith(b"E") and self.proc is not None:
                # The child's monitor always says how the child ended, unless the template died under it; the
                # template's bubblewrap may take a moment to follow its interpreter.
                try:
                    self.proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    pass
            if not timed_out and not status.startswith(b"E") and self.proc is not None and self.proc.poll() is not None:
                for t in threads:
                    t.join(timeout=10)
                raise Fallback("the template ended while a notebook ran: that notebook runs again, cold")
            returncode = int(status[1:]) if status.startswith(b"E") and status[1:].strip().isdigit() else -9
            if timed_out:
                returncode = -9
            oom = cgroup.oom_killed()
            cgroup.close()
            for t in threads:
                t.join(timeout=10)
        finally:
            for fd in (setup_r, status_r):
                os.close(fd)
            if not killed:
                os.close(life_w)
            cgroup.close()  # also after a fallback (closing twice does nothing)
        notes = []
        if oom:
            notes.append(R("sandbox_memory", mb=limits.total_memory_mb))
        if o_over or e_over:
            notes.append(R("sandbox_output", bytes=max(o_over + e_over)))
        return sandbox.RunOutput(b"".join(channel), b"".join(out), b"".join(err), returncode, timed_out, bool(c_over),
                                 time.monotonic() - start, notes, {name: b"".join(parts) for name, parts in kept.items()},
                                 start="warm")


def _read_until(fd: int, deadline: float, stop, end: bytes | None = None) -> bytes:
    """What ``fd`` gives until ``stop(data)``, its end, or ``deadline``."""
    data = b""
    while not stop(data):
        left = deadline - time.monotonic()
        if left <= 0:
            break
        ready, _, _ = select.select([fd], [], [], left)
        if not ready:
            break
        chunk = os.read(fd, 4096)
        if not chunk:
            break
        data += chunk
    return data

