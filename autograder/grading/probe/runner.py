"""Execute a notebook's code cells inside the sandbox (``python -m autograder.runner JOB``).

``JOB`` holds ``cells.json`` (the code cells to run, prepared by the grader) and ``limits.json``.
Cells run in one IPython shell, like a kernel would run them, with stdout, stderr and rich
displays captured and truncated. Every event is sent as a frame on a results channel (a pipe the
grader reads): ``start`` and ``cell`` around each cell, and the ``result`` and ``function`` frames of
``checking.check``. The grader treats all of it as untrusted.

The process started in the sandbox is a supervisor (the "zygote", :class:`Zygote`) that never runs student
code. It imports IPython, NumPy (and PyTorch when a stand-in needs it) once, makes itself non-dumpable (no
other process of the sandbox's user may open its ``/proc/<pid>/fd`` or ``mem``, or ptrace it) and forks:

* ``K_main``, which runs every cell in order except the test cells, on the ``main`` channel; it holds no
  stand-in;
* then, once ``K_main`` has ended, one fresh process per test cell ``i`` that ``K_main`` reached: it reads the
  source of the stand-ins given to that cell from its own pipe (the grader wrote it there; never a stand-in
  of a function the cell grades), closes every other pipe, replays the notebook's non-test cells before
  ``i`` silently, installs the stand-ins, checks that no correct implementation of the graded function is
  within reach (:func:`guard`), runs the test cell and sends its frames on that cell's own channel.

Between two of them the supervisor kills every other process of the sandbox, removes System V IPC objects,
POSIX message queues and the user's keyrings, and restores the writable folders to what they held before
``K_main`` started (:meth:`Zygote.cleanup`): nothing a process that held one function's stand-in wrote,
started or shared reaches the test of that function. The supervisor reads nothing from a test cell's
process (its channel goes straight to the grader) and reports on its own ``control`` channel which
processes it ran and how they ended.
"""
from __future__ import annotations

import ast
import ctypes
import functools
import gc
import json
import re
import os
import select
import shutil
import signal
import struct
import sys
import time
import types

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


#: The ``__name__`` of the namespace a test cell's stand-ins are defined in (so their ``__module__``).
GIVEN_MODULE = "_given"

#: ``K_main`` -> supervisor: (kind, cell index, seconds, flags). Only ``K_main`` writes these; it holds no stand-in.
PROGRESS = struct.Struct("<IIdI")
P_START, P_END, P_ALIVE, P_DONE = 1, 2, 3, 4
#: A cell that ran out of time in ``K_main`` is replayed for this long at most (so a looping cell costs its time
#: limit once); any other cell gets the time limit it had in ``K_main``, since cutting it short would give the test
#: another notebook state than the student's (a loaded machine can run a cell a few times slower than before).
REPLAY_MARGIN = 1.0


class Runner:
    def __init__(self, fd: int, limits: dict, progress: int | None = None):
        self.fd = fd
        self.progress_fd = progress
        self.function_timeout = float(limits["function_timeout"])
        self.cell_timeout = float(limits["cell_timeout"])
        self.output_limit = int(limits["output_limit"])

    def send(self, header: dict, payload: bytes = b"") -> None:
        data = wire.frame(header, payload)
        view = memoryview(data)
        while view:
            view = view[os.write(self.fd, view):]
        if header.get("kind") == "function":
            self.progress(P_ALIVE, 0)  # a check finished: the cell is alive (its time limit is paused during checks)

    def progress(self, kind: int, index: int, seconds: float = 0.0, flags: int = 0) -> None:
        if self.progress_fd is not None:
            try:
                os.write(self.progress_fd, PROGRESS.pack(kind, index, seconds, flags))
            except OSError:
                pass

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


class Sink(Runner):
    """A runner that sends nothing: the silent replay of a notebook's cells before a test cell."""

    def send(self, header: dict, payload: bytes = b"") -> None:
        pass


def _cell_frame(shell, runner: Runner, index: int, error: str | None, start: float, out: CappedStream,
                err: CappedStream) -> dict:
    """The ``cell`` frame of a cell that started at ``start``: its error, what it printed and displayed."""
    return {
        "kind": "cell", "index": index, "error": error, "seconds": round(time.monotonic() - start, 3),
        "stdout": out.getvalue(), "stderr": err.getvalue(), "stdout_total": out.total, "stderr_total": err.total,
        "displays": _displays(shell.display_pub, runner.output_limit),
    }


def run_cell(shell, runner: Runner, index: int, source: str, timeout: float | None = None) -> dict:
    """Run one cell with its output captured and its time limited; return its ``cell`` frame."""
    from IPython.core.displaypub import CapturingDisplayPublisher

    out, err = CappedStream(runner.output_limit), CappedStream(runner.output_limit)
    shell.display_pub = CapturingDisplayPublisher()
    real_out, real_err = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = out, err
    start = time.monotonic()
    error = None
    try:
        signal.setitimer(signal.ITIMER_REAL, timeout or runner.cell_timeout)
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
    return _cell_frame(shell, runner, index, error, start, out, err)


#: Names that mean something only in IPython's shell (its output history, its own object): a cell that uses one is
#: replayed by the shell itself.
SHELL_NAMES = re.compile(r"^(_|__|___|_\d+|_i|_ii|_iii|_i\d+|_ih|_oh|_dh|In|Out|get_ipython|exit|quit)$")


def plain_code(shell, source: str):
    """``(body, last)``: a cell compiled to run without the shell, when that gives exactly what the shell's
    ``run_cell`` would (``last``: its final expression, whose value the shell's display hook shows); else None.

    Only plain Python qualifies: the shell's input transformations leave it unchanged (no magic, no ``!``), it
    compiles (no top-level ``await``), and it names nothing of the shell's (``_``, ``Out``, ``get_ipython``, ...).
    Compiling runs none of the cell's code."""
    try:
        text = shell.transform_cell(source)
        if text.rstrip("\n") != source.rstrip("\n"):
            return None
        tree = ast.parse(text)
        if any(isinstance(n, ast.Name) and SHELL_NAMES.match(n.id) for n in ast.walk(tree)):
            return None
        last = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
        # Named and kept in linecache as the shell names a cell (its tracebacks and warnings show the cell's lines).
        name = shell.compile.cache(text, shell.execution_count, raw_code=source)
        return (compile(tree, name, "exec", dont_inherit=True),
                compile(ast.Interactive([last]), name, "single", dont_inherit=True) if last is not None else None)
    except Exception:  # noqa: BLE001 - a syntax error, anything odd: the shell runs it, as in K_main
        return None


def run_plain(shell, runner: Runner, index: int, code, timeout: float | None = None, quiet: bool = False) -> dict:
    """:func:`run_cell` for a cell of :func:`plain_code`: the same events, output capture, time limit, display of
    the final expression and error, without the shell's machinery for parsing and running a cell (a test's process
    runs a few cells once; the shell's first ``run_cell`` in a process touches, and copies, far more memory)."""
    from IPython.core.displaypub import CapturingDisplayPublisher

    body, last = code
    out, err = CappedStream(runner.output_limit), CappedStream(runner.output_limit)
    shell.display_pub = CapturingDisplayPublisher()
    real_out, real_err, real_hook = sys.stdout, sys.stderr, sys.displayhook
    sys.stdout, sys.stderr = out, err
    start = time.monotonic()
    error = None
    try:
        signal.setitimer(signal.ITIMER_REAL, timeout or runner.cell_timeout)
        shell.events.trigger("pre_execute")
        try:
            exec(body, shell.user_ns)  # noqa: S102 - the notebook's own cell, in the sandbox
            if last is not None:
                sys.displayhook = shell.displayhook
                exec(last, shell.user_ns)  # noqa: S102
        except BaseException as exc:  # noqa: BLE001 - as the shell: any error ends the cell, and is shown
            error = f"{type(exc).__name__}: {str(exc)[:500]}"
            if not quiet:
                shell.showtraceback(exception_only=isinstance(exc, SystemExit))  # as the shell shows each
        finally:
            sys.displayhook = real_hook
        shell.events.trigger("post_execute")
        signal.setitimer(signal.ITIMER_REAL, 0)
    except BaseException as exc:  # noqa: BLE001 - e.g. the timeout landing outside the cell's code
        signal.setitimer(signal.ITIMER_REAL, 0)
        error = error or f"{type(exc).__name__}: {str(exc)[:500]}"
    finally:
        sys.stdout, sys.stderr, sys.displayhook = real_out, real_err, real_hook
    return _cell_frame(shell, runner, index, error, start, out, err)


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




# ----------------------------------------------------------------------------------------------- the guard
@functools.lru_cache(maxsize=None)
def _roots() -> list[str]:
    """Where the modules a notebook may import legitimately live: the Python installation, the virtualenv, /usr."""
    import sysconfig

    roots = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix, "/usr"}
    roots.update(p for p in sysconfig.get_paths().values() if p)
    return sorted({os.path.realpath(r) for r in roots})


#: Module object -> the real path of its file, for the modules loaded before any student code (the guard looks each
#: module's file up once per sandbox, not once per test: ``realpath`` of a thousand files costs about 0.2 s).
_KNOWN: dict[int, tuple] = {}
#: The modules loaded before any student code whose file lies outside the Python installation (the probe's own):
#: the only ones of that time the guard looks into again. ``sys.modules`` had ``_COUNTED`` entries when noted.
_OUTSIDE: list = []
_COUNTED = [0]


def remember_modules() -> None:
    """Note the real file of every module loaded now (kept with the module object, so its id stays its own), and
    whether it lies where a notebook may import from (for the working folder this process has now).

    Nothing to do when no module was loaded since the last time (a sandbox forked from the warm template, which
    noted them): walking ``sys.modules`` writes to every module object's reference count, and so copies a page of
    the template's memory per module, in every sandbox."""
    if len(sys.modules) == _COUNTED[0]:
        return
    work = os.path.realpath(os.getcwd())
    for name, mod in list(sys.modules.items()):
        file = getattr(mod, "__file__", None)
        if id(mod) not in _KNOWN and isinstance(file, str) and os.path.isabs(file):
            _KNOWN[id(mod)] = (mod, file, os.path.realpath(file))
            if not _allowed(_KNOWN[id(mod)][2], work):
                _OUTSIDE.append((name, mod))
    _COUNTED[0] = len(sys.modules)


def _real_file(mod, file: str) -> str:
    known = _KNOWN.get(id(mod))
    if known is not None and known[0] is mod and known[1] == file:
        return known[2]
    return os.path.realpath(file)


@functools.lru_cache(maxsize=None)
def _allowed(real: str, work: str) -> bool:
    """Whether a module file lies in the working folder or the Python installation (cached: asked once per file)."""
    return any(real == r or real.startswith(r.rstrip("/") + "/") for r in [work] + _roots())


def guard(names, workdir: str) -> str | None:
    """Why a correct implementation of a function in ``names`` is within the student's reach, or None.

    Looks, among every object the garbage collector tracks, for a function of the stand-ins' namespace
    (``GIVEN_MODULE``) named like one of ``names``, and for a module from outside the student's working folder and
    the Python installation that defines one of ``names``. Never true unless the grader gave a test cell a stand-in
    of the function it grades: it is the check that this stays so.

    The objects made before any student code (the libraries, the shell) are frozen out of the collector's view
    (``gc.freeze``), and so are the modules loaded then: of those, the ones from outside the Python installation
    were noted (:func:`remember_modules`, the probe's own) and are looked into again; the others are library
    modules of the installation, which the guard never takes for a stand-in. So the guard reads only what the
    sandbox made itself, and copies no page of the template's memory (walking every module did, in every test).
    """
    names = set(names or ())
    if not names:
        return None
    modules = list(_OUTSIDE)
    for obj in gc.get_objects():
        if type(obj) is types.FunctionType and obj.__name__ in names and obj.__module__ == GIVEN_MODULE:
            return f"a stand-in of {obj.__name__} ({GIVEN_MODULE}.{obj.__name__}) was in the test's process"
        if isinstance(obj, types.ModuleType):
            modules.append((getattr(obj, "__name__", "?"), obj))
    work = os.path.realpath(workdir)
    for modname, mod in modules:
        file = getattr(mod, "__file__", None)
        if not isinstance(file, str) or not os.path.isabs(file):
            continue
        real = _real_file(mod, file)
        if _allowed(real, work):
            continue
        try:
            found = sorted(n for n in names if n in vars(mod))
        except TypeError:
            continue
        if found:
            return f"the module {modname} ({real}) defines {found[0]}"
    return None


# ---------------------------------------------------------------------------------------------- the system
_LIBC = None


def _libc():
    global _LIBC
    if _LIBC is None:
        _LIBC = ctypes.CDLL(None, use_errno=True)
    return _LIBC


PR_SET_DUMPABLE, PR_SET_CHILD_SUBREAPER = 4, 36
IPC_RMID = 0
KEYCTL_JOIN_SESSION_KEYRING, KEYCTL_CLEAR, KEYCTL_GET_PERSISTENT = 1, 7, 22
KEY_SPEC_SESSION_KEYRING, KEY_SPEC_USER_KEYRING, KEY_SPEC_USER_SESSION_KEYRING = -3, -4, -5


def new_session_keyring() -> None:
    """Join a new anonymous session keyring: keys this process adds to its session die with it, and a forked
    process does not share the supervisor's."""
    try:
        _keyctl(KEYCTL_JOIN_SESSION_KEYRING, 0)
    except (OSError, AttributeError):
        pass
SYS_KEYCTL = {"x86_64": 250, "aarch64": 219}.get(os.uname().machine)


def clear_keys() -> None:
    """Empty this process's session keyring and the user's keyrings: keys linked there outlive the processes that
    added them (the rest die with them)."""
    try:
        _keyctl(KEYCTL_CLEAR, KEY_SPEC_SESSION_KEYRING)  # this process's (each child joins its own)
        _keyctl(KEYCTL_CLEAR, KEY_SPEC_USER_KEYRING)
        _keyctl(KEYCTL_CLEAR, KEY_SPEC_USER_SESSION_KEYRING)
        persistent = _keyctl(KEYCTL_GET_PERSISTENT, -1, 0)
        if persistent > 0:
            _keyctl(KEYCTL_CLEAR, persistent)
    except (OSError, AttributeError):
        pass


def _prctl(option: int, value: int) -> bool:
    try:
        return _libc().prctl(option, ctypes.c_ulong(value), ctypes.c_ulong(0), ctypes.c_ulong(0), ctypes.c_ulong(0)) == 0
    except (OSError, AttributeError):
        return False


def _keyctl(*args) -> int:
    if SYS_KEYCTL is None:
        return -1
    return _libc().syscall(SYS_KEYCTL, *[ctypes.c_long(a) for a in args])


def _children_map() -> dict[int, list[int]]:
    kids: dict[int, list[int]] = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as fh:
                ppid = int(fh.read().rsplit(b")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        kids.setdefault(ppid, []).append(int(name))
    return kids


def _descendants(root: int) -> list[int]:
    kids, found, todo = _children_map(), [], [root]
    while todo:
        for k in kids.get(todo.pop(), []):
            found.append(k)
            todo.append(k)
    return found


def _reap() -> None:
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def _mount_points() -> set[str]:
    """Where something is mounted in this process's mount namespace (``/proc/self/mountinfo``)."""
    try:
        with open("/proc/self/mountinfo", encoding="utf-8", errors="replace") as fh:
            return {_unescape(line.split()[4]) for line in fh if len(line.split()) > 4}
    except OSError:
        return set()


def _unescape(path: str) -> str:
    """A mount point as mountinfo writes it (space, tab, newline and backslash as octal escapes)."""
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), path)


def _wipe(folder: str) -> None:
    """Delete everything inside ``folder`` (whatever its modes), keeping the folder."""
    def retry(func, path, _exc):
        try:
            os.chmod(os.path.dirname(path), 0o700)
            if os.path.isdir(path) and not os.path.islink(path):
                os.chmod(path, 0o700)
            func(path)
        except OSError:
            pass

    try:
        names = os.listdir(folder)
    except OSError:
        try:
            os.chmod(folder, 0o1777)
            names = os.listdir(folder)
        except OSError:
            return
    mounts = _mount_points()
    for name in names:
        path = os.path.join(folder, name)
        try:
            if path in mounts:
                continue  # Python itself, bound read-only into a scratch folder (a checkout in /tmp)
            if any(m.startswith(path + "/") for m in mounts):
                _wipe(path)  # the folders above such a mount: emptied around it
                continue
            if os.path.isdir(path) and not os.path.islink(path):
                os.chmod(path, 0o700)
                shutil.rmtree(path, onerror=retry)
            else:
                os.unlink(path)
        except OSError:
            pass


def _snapshot(folders: list[str], cap: int = 64 << 20) -> list:
    """What the writable folders hold now: (folder, relative path, mode, bytes or None for a folder)."""
    entries, total = [], 0
    for folder in folders:
        for dirpath, dirnames, filenames in os.walk(folder):
            # Not into a mount below the folder: Python itself, bound read-only there when it lives in /tmp.
            dirnames[:] = [d for d in dirnames if not os.path.ismount(os.path.join(dirpath, d))]
            for d in dirnames:
                p = os.path.join(dirpath, d)
                entries.append((folder, os.path.relpath(p, folder), os.lstat(p).st_mode & 0o7777, None))
            for f in filenames:
                p = os.path.join(dirpath, f)
                try:
                    if os.path.islink(p) or total > cap:
                        continue
                    with open(p, "rb") as fh:
                        data = fh.read()
                    total += len(data)
                    entries.append((folder, os.path.relpath(p, folder), os.lstat(p).st_mode & 0o7777, data))
                except OSError:
                    continue
    return entries


def _restore(folders: list[str], snapshot: list) -> None:
    for folder in folders:
        _wipe(folder)
    for folder, rel, mode, data in snapshot:
        path = os.path.join(folder, rel)
        try:
            if data is None:
                os.makedirs(path, exist_ok=True)
            else:
                with open(path, "wb") as fh:
                    fh.write(data)
            os.chmod(path, mode)
        except OSError:
            pass


# ---------------------------------------------------------------------------------------------- the zygote
class Zygote:
    """The sandbox's supervisor: runs no student code, forks ``K_main`` and one process per test cell.

    ``fds`` (from the grader, ``AUTOGRADER_FDS``): ``main`` (write end of K_main's channel), ``tests``: cell
    index -> [write end of that cell's channel, read end of the pipe holding its stand-ins' source or -1],
    ``sandboxed``: whether this runs in bubblewrap's PID, IPC and mount namespaces (only then does cleaning up
    mean every process of the sandbox, its IPC objects, keyrings and scratch folders).
    """

    def __init__(self, control: int, fds: dict, cells: list, limits: dict, shell):
        self.control, self.cells, self.limits, self.shell = control, cells, limits, shell
        self.main_fd = int(fds.get("main", -1))
        self.tests = {int(k): (int(v[0]), int(v[1])) for k, v in (fds.get("tests") or {}).items()}
        self.cell_timeout = float(limits["cell_timeout"])
        self.function_timeout = float(limits["function_timeout"])
        self.notebook_timeout = float(limits.get("notebook_timeout", 600.0))
        self.workdir = os.getcwd()
        # Inside bubblewrap this process is the child of the namespace's init (pid 1); never kill(-1) elsewhere.
        self.sandboxed = bool(fds.get("sandboxed")) and os.getppid() == 1
        self.folders = [self.workdir] + ([f for f in ("/tmp", "/dev/shm", "/dev/mqueue") if os.path.isdir(f)]
                                         if self.sandboxed else [])
        self.pristine = _snapshot(self.folders)
        # Each cell compiled once, here, for the tests' processes to run without the shell where that gives the same
        # (``plain_code``; not at all when a cell imports from ``__future__``, which the shell carries to later cells).
        future = any("__future__" in str(c.get("source", "")) for c in cells)
        self.plain = [None if future else plain_code(shell, str(c.get("source", ""))) for c in cells]
        self.started = time.monotonic()

    def all_fds(self) -> list[int]:
        fds = [self.control, self.main_fd]
        for chan, given in self.tests.values():
            fds += [chan, given]
        return [fd for fd in fds if fd >= 0]

    def emit(self, header: dict) -> None:
        data = memoryview(wire.frame(header))
        while data:
            data = data[os.write(self.control, data):]

    # ------------------------------------------------------------------ cleaning up between two processes
    def cleanup(self) -> None:
        """End every process the last one left, its IPC objects and keys, and restore the scratch folders."""
        me = os.getpid()
        for _ in range(200):
            if self.sandboxed:
                _libc().kill(-1, signal.SIGKILL)  # every process this uid may signal but init and this one
            left = _descendants(me)
            for pid in left:
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
            _reap()
            if not left and not _descendants(me):
                break
            time.sleep(0.005)
        if self.sandboxed:
            self._remove_ipc()
        _restore(self.folders, self.pristine)

    def _remove_ipc(self) -> None:
        libc = _libc()
        for kind in ("shm", "sem", "msg"):
            try:
                with open(f"/proc/sysvipc/{kind}") as fh:
                    ids = [int(line.split()[1]) for line in fh.read().splitlines()[1:] if line.split()]
            except (OSError, ValueError, IndexError):
                continue
            for ident in ids:
                try:
                    if kind == "shm":
                        libc.shmctl(ident, IPC_RMID, None)
                    elif kind == "sem":
                        libc.semctl(ident, 0, IPC_RMID)
                    else:
                        libc.msgctl(ident, IPC_RMID, None)
                except (OSError, AttributeError):
                    pass
        clear_keys()

    # ------------------------------------------------------------------ the processes
    def _close_all_but(self, keep: set) -> None:
        for fd in self.all_fds():
            if fd not in keep:
                try:
                    os.close(fd)
                except OSError:
                    pass

    def _wait(self, pid: int, deadline: float):
        """Wait for ``pid`` until ``deadline``; its wait status, or None when it was killed at the deadline."""
        status = checking._wait(pid, max(0.0, deadline - time.monotonic()))
        return status

    def run_main(self):
        """Fork K_main and watch it; return (wait status or None, how it was stopped, reached, times, timed out)."""
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:
            try:
                os.close(r)
                self._close_all_but({self.main_fd})
                new_session_keyring()
                self._main_child(w)
            finally:
                os._exit(70)
        os.close(w)
        if self.main_fd >= 0:
            os.close(self.main_fd)
            self.main_fd = -1  # never closed again by number: a later descriptor may get it
        reached, times, timed_out, done = set(), {}, set(), False
        start = time.monotonic()
        activity, current = start, None
        stopped = None
        pidfd = os.pidfd_open(pid)
        os.set_blocking(r, False)
        buf = b""
        status = None
        try:
            while True:
                now = time.monotonic()
                notebook_deadline = start + self.notebook_timeout
                cell_deadline = activity + self.cell_timeout + self.function_timeout + 5.0
                if now >= min(notebook_deadline, cell_deadline):
                    os.kill(pid, signal.SIGKILL)
                    os.waitpid(pid, 0)
                    stopped = "timeout" if notebook_deadline <= cell_deadline else "hung"
                    break
                ready, _, _ = select.select([pidfd, r] if r >= 0 else [pidfd], [], [],
                                            min(notebook_deadline, cell_deadline) - now)
                if r in ready:
                    try:
                        data = os.read(r, 65536)
                    except BlockingIOError:
                        data = None
                    if data == b"":
                        os.close(r)
                        r = -1
                    elif data:
                        buf += data
                        activity = time.monotonic()
                        n = len(buf) // PROGRESS.size * PROGRESS.size
                        for kind, index, seconds, flags in PROGRESS.iter_unpack(buf[:n]):
                            if not 0 <= index < len(self.cells):
                                continue
                            if kind == P_START:
                                current = index
                                if self.cells[index].get("isolate"):
                                    reached.add(index)
                            elif kind == P_END:
                                times[index] = float(seconds) if seconds == seconds else self.cell_timeout
                                if flags & 1:
                                    timed_out.add(index)
                            elif kind == P_DONE:
                                done = True
                        buf = buf[n:]
                if pidfd in ready:
                    _, status = os.waitpid(pid, 0)
                    break
        finally:
            os.close(pidfd)
            if r >= 0:
                os.close(r)
        return status, stopped, current, reached, times, timed_out, done

    def _main_child(self, progress: int) -> None:
        os.environ["AUTOGRADER_CHANNEL_FD"] = str(self.main_fd)
        os.set_inheritable(self.main_fd, False)
        runner = Runner(self.main_fd, self.limits, progress=progress)
        checking._runner = runner
        for index, cell in enumerate(self.cells):
            runner.progress(P_START, index)
            if cell.get("isolate"):
                continue  # a test cell runs in its own process, after this one has ended
            runner.send({"kind": "start", "index": index})
            frame = run_cell(self.shell, runner, index, cell["source"])
            runner.send(frame)
            runner.progress(P_END, index, float(frame["seconds"]), int(str(frame["error"] or "").startswith("CellTimeout")))
        runner.progress(P_DONE, 0)
        os._exit(0)

    def run_test(self, index: int, bounds: dict, deadline: float) -> dict:
        """Fork the process of test cell ``index`` and wait for it; return its ``test`` record."""
        chan, given = self.tests.get(index, (-1, -1))
        cell = self.cells[index]
        budget = float(cell.get("budget", self.cell_timeout))
        replay = [j for j in range(index) if not self.cells[j].get("isolate")]
        replay_time = sum(bounds.get(j, self.cell_timeout) for j in replay)
        record = {"kind": "test", "index": index, "budget": budget}
        try:
            pid = os.fork()
        except OSError as exc:
            return {**record, "status": "fork", "detail": exc.strerror or str(exc)}
        if pid == 0:
            try:
                self._test_child(index, chan, given, replay, bounds)
            finally:
                os._exit(70)
        for fd in (chan, given):
            if fd >= 0:
                os.close(fd)
        self.tests[index] = (-1, -1)
        status = self._wait(pid, min(deadline, time.monotonic() + replay_time + budget + 2.0))
        if status is None:
            return {**record, "status": "timeout"}
        if os.WIFSIGNALED(status):
            return {**record, "status": "signal", "code": os.WTERMSIG(status)}
        return {**record, "status": "exit", "code": os.WEXITSTATUS(status)}

    def _test_child(self, index: int, chan: int, given: int, replay: list, bounds: dict) -> None:
        new_session_keyring()
        source = bytearray()
        if given >= 0:
            while chunk := os.read(given, 65536):
                source += chunk
        self._close_all_but({chan})
        if chan < 0:
            os._exit(71)
        os.environ["AUTOGRADER_CHANNEL_FD"] = str(chan)
        os.set_inheritable(chan, False)
        runner = Runner(chan, self.limits)
        standins: dict = {}
        if source:
            namespace = {"__name__": GIVEN_MODULE}
            exec(compile(bytes(source).decode(), f"<{GIVEN_MODULE}>", "exec"), namespace)  # noqa: S102 - the grader's
            standins = {k: v for k, v in namespace.items() if not k.startswith("_") and isinstance(v, types.FunctionType)
                        and v.__module__ == GIVEN_MODULE}
        del source
        sink = Sink(-1, self.limits)
        checking._runner = sink
        for j in replay:  # the notebook's state before this test, rebuilt without sending anything
            timeout = bounds.get(j, self.cell_timeout)
            if self.plain[j] is not None:
                run_plain(self.shell, sink, j, self.plain[j], timeout=timeout, quiet=True)
            else:
                run_cell(self.shell, sink, j, self.cells[j]["source"], timeout=timeout)
        self.shell.user_ns.update(standins)
        checking._runner = runner
        problem = guard(self.cells[index].get("checks"), self.workdir)
        if problem:
            runner.send({"kind": "guard", "index": index, "detail": problem})
            os._exit(0)
        if self.plain[index] is not None:
            runner.send(run_plain(self.shell, runner, index, self.plain[index]))
        else:
            runner.send(run_cell(self.shell, runner, index, self.cells[index]["source"]))
        os._exit(0)

    def run(self) -> None:
        status, stopped, current, reached, times, timed_out, done = self.run_main()
        self.cleanup()
        bounds = {j: REPLAY_MARGIN if j in timed_out else max(self.cell_timeout, 2 * t + REPLAY_MARGIN)
                  for j, t in times.items()}
        # The notebook once (K_main), then its test cells and the replays before them: as long again at most.
        deadline = self.started + 2 * self.notebook_timeout
        for index in sorted(reached):
            if time.monotonic() >= deadline:
                stopped = stopped or "timeout"
                break
            self.emit(self.run_test(index, bounds, deadline))
            self.cleanup()
        if stopped:
            self.emit({"kind": "stopped", "why": stopped, "index": current})
        if done and stopped is None and status is not None and os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0:
            self.emit({"kind": "done"})
            os._exit(0)
        if status is not None and os.WIFSIGNALED(status):  # end as K_main ended: the grader reads the same status
            sig = os.WTERMSIG(status)
            signal.signal(sig, signal.SIG_DFL)
            os.kill(os.getpid(), sig)
        os._exit(os.WEXITSTATUS(status) if status is not None and os.WIFEXITED(status) else 0)


def make_shell():
    """The IPython shell the notebook's cells run in (made once, before any process is forked)."""
    from IPython.core.interactiveshell import InteractiveShell
    from traitlets.config import Config

    config = Config()
    config.HistoryManager.enabled = False  # no history database, no history thread
    class Shell(InteractiveShell):
        def enable_gui(self, gui=None):  # `%matplotlib inline` asks for no GUI event loop
            pass

    shell = Shell.instance(config=config, colors="NoColor")
    shell.InteractiveTB.set_mode("Minimal")
    return shell


def main(job: str) -> None:
    control = int(os.environ["AUTOGRADER_CHANNEL_FD"])
    fds = json.loads(os.environ.get("AUTOGRADER_FDS") or "{}")
    supervise(job, control, fds)


def supervise(job: str, control: int, fds: dict, shell=None) -> None:
    """Become the sandbox's supervisor for the notebook of ``job``; never returns. ``shell``: one made already (the
    warm template's, ``autograder.template``), else the imports and the shell are made here."""
    with open(os.path.join(job, "cells.json")) as fh:
        cells = json.load(fh)
    with open(os.path.join(job, "limits.json")) as fh:
        limits = json.load(fh)
    for fd in [control] + [int(fds.get("main", -1))] + [int(x) for v in (fds.get("tests") or {}).values() for x in v]:
        if fd >= 0:
            os.set_inheritable(fd, False)  # never passed on to a program the notebook starts
    # No process of the sandbox's user may read this one's memory or file descriptors, or trace it.
    if not _prctl(PR_SET_DUMPABLE, 0):
        print("autograder: could not make the supervisor non-dumpable", file=sys.stderr)
    _prctl(PR_SET_CHILD_SUBREAPER, 1)  # orphans of the notebook's processes become this one's children
    new_session_keyring()
    if fds.get("sandboxed") and os.getppid() == 1:
        clear_keys()  # what an earlier sandbox of this uid left in the user's keyrings (killed before its cleanup)
    _seed_matplotlib_cache()

    if shell is None:
        import numpy  # noqa: F401 - once, here, for every process

        if any(c.get("torch") for c in cells):
            try:
                import torch  # noqa: F401 - a stand-in needs it: imported once, not in each test's process
            except ImportError:
                pass
        shell = make_shell()
    signal.signal(signal.SIGALRM, _on_alarm)
    # Everything made so far (the libraries, the shell) stays out of the collector's and the guard's sight: each
    # process forked from here then touches, and copies, only what it makes itself.
    gc.freeze()
    remember_modules()
    _roots()
    Zygote(control, fds, cells, limits, shell).run()


if __name__ == "__main__":
    main(sys.argv[1])
