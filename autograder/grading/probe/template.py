"""The warm template: one interpreter that has imported everything once and forks one sandbox per notebook.

``python -m autograder.template`` runs inside a bubblewrap sandbox of its own (``autograder/grading/warm.py`` starts it):
read-only system, Python and probe, no network, its own PID, IPC and UTS namespaces; as root with only the
capabilities it needs to make namespaces, mounts and uids for its children; as an ordinary user in a user
namespace. It imports NumPy, PyTorch (and the modules the stand-ins use), IPython and the probe, makes the IPython
shell, makes itself non-dumpable, and then only waits on its socket. It never runs student code and never reads a
notebook, an input or a stand-in: a request carries numbers and file descriptors, which it passes on unread to the
child it forks and then closes. So what a child inherits from it (its memory, its files) is the same for every
student, holds nothing secret and nothing of any other student.

Each request makes three processes, as one cold sandbox (bubblewrap, ``autograder/grading/sandbox.py``) has:

* ``C``, the monitor, in the template's namespaces: new mount, PID, IPC, network (loopback only) and UTS
  namespaces; fresh tmpfs at ``/tmp``, ``/dev/shm`` and ``/home/student`` (the template's are detached first, so
  nothing underneath can be uncovered); a new ``/dev/mqueue`` and ``/dev/pts``; ``/dev`` read-only; the job and the
  hidden cases' inputs copied from the grader's sealed memory files into tmpfs at ``/grader/job`` and
  ``/grader/inputs``, then made read-only. It waits for ``I`` and reports how it ended, and kills it when the grader
  says so (the grader closes the ``life`` pipe, or dies).
* ``I``, pid 1 of the new PID namespace (as bubblewrap's init): mounts its own ``/proc``, joins the sandbox's
  memory and pids cgroups, forks ``S`` and ends when ``S`` ends, taking every process of the namespace with it.
* ``S``, the supervisor (``runner.supervise``, the same as in a cold sandbox), after dropping to the sandbox's
  identity: as root, the uid the grader gave (its own per concurrent sandbox), no capabilities, an empty bounding
  set, ``no_new_privs``; as an ordinary user, uid 1000 of a user namespace of its own (so its keyrings are its
  own); then the resource limits (CPU, address space, processes, file size, open files, no core).

Any step that fails before ``S`` has dropped its privileges is reported on the ``setup`` pipe (``X`` and why), and
the grader runs that notebook in a cold sandbox instead; ``R`` there means the sandbox is ready and nothing of the
student's has run yet.
"""
from __future__ import annotations

import ctypes
import fcntl
import gc
import json
import os
import re
import resource
import select
import signal
import socket
import struct
import sys

from . import checking, runner, wire  # noqa: F401 - imported once here, for every child

CLONE_NEWNS, CLONE_NEWCGROUP, CLONE_NEWUTS, CLONE_NEWIPC = 0x00020000, 0x02000000, 0x04000000, 0x08000000
CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET = 0x10000000, 0x20000000, 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_REMOUNT, MS_BIND, MS_MOVE, MS_REC = 1, 2, 4, 8, 32, 4096, 8192, 16384
MS_PRIVATE, MNT_DETACH = 1 << 18, 2
PR_SET_PDEATHSIG, PR_CAPBSET_DROP, PR_SET_NO_NEW_PRIVS, PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL = 1, 24, 38, 47, 4
PR_SET_DUMPABLE = runner.PR_SET_DUMPABLE
SIOCGIFFLAGS, SIOCSIFFLAGS, IFF_UP = 0x8913, 0x8914, 0x1

#: A request's file descriptors, by role (indexes into the descriptors that came with it).
ROLES = ("setup", "status", "life", "stdout", "stderr", "control", "main", "job", "inputs")
#: Names in a packed folder (``warm.pack``): relative paths of plain names, never ``..`` or absolute.
NAME = re.compile(r"^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*$")
ENTRY = struct.Struct("<HQ")
SCRATCH = ("/tmp", "/dev/shm", "/home/student")


class SetupError(Exception):
    """A step of making a child's sandbox failed: the grader runs that notebook cold instead."""


_LIBC = ctypes.CDLL(None, use_errno=True)


def _ok(result: int, what: str) -> None:
    if result != 0:
        err = ctypes.get_errno()
        raise SetupError(f"{what}: {os.strerror(err)}")


def _mount(source: str | None, target: str, fstype: str | None, flags: int, data: str | None = None) -> None:
    enc = lambda s: None if s is None else s.encode()  # noqa: E731
    _ok(_LIBC.mount(enc(source), enc(target), enc(fstype), ctypes.c_ulong(flags), enc(data)), f"mount {target}")


def _detach(target: str) -> None:
    _ok(_LIBC.umount2(target.encode(), MNT_DETACH), f"umount {target}")


def _prctl(*args) -> int:
    return _LIBC.prctl(*[ctypes.c_ulong(a) for a in args] + [ctypes.c_ulong(0)] * (5 - len(args)))


def _keep_only(keep) -> None:
    """Close every file descriptor but ``keep``."""
    last = 2
    for fd in sorted(set(keep)):
        if fd > last + 1:
            os.closerange(last + 1, fd)
        last = max(last, fd)
    os.closerange(last + 1, 1 << 16)


def _status_kb(field: str) -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def _capabilities(field: str = "CapEff") -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1], 16)
    return -1


# ------------------------------------------------------------------------------------------- the template
MADV_COLLAPSE, HUGE = 25, 1 << 21


def _huge_pages() -> None:
    """Back the template's heap with 2 MB pages where the kernel can (``MADV_COLLAPSE``, Linux 6.1): a fork then
    copies one page-table entry per 2 MB instead of 512, which was the largest cost of starting a child (a page a
    child writes is still copied alone: the kernel splits the huge page first). Nothing changes but the speed."""
    with open("/proc/self/maps") as fh:
        lines = fh.read().splitlines()
    for line in lines:
        parts = line.split()
        if parts[1] != "rw-p" or (len(parts) > 5 and parts[5] != "[heap]"):
            continue
        start, end = (int(x, 16) for x in parts[0].split("-"))
        start, end = (start + HUGE - 1) & ~(HUGE - 1), end & ~(HUGE - 1)
        if end > start:
            _LIBC.madvise(ctypes.c_void_p(start), ctypes.c_size_t(end - start), MADV_COLLAPSE)


def self_check() -> list[str]:
    """What would let one child reach another through the template (empty when nothing does)."""
    problems = []
    threads = len(os.listdir("/proc/self/task"))
    if threads != 1:
        problems.append(f"the template runs {threads} threads (a fork copies one; the others' locks could be held)")
    with open("/proc/self/maps") as fh:
        for line in fh:
            perms = line.split()[1]
            if perms[3] == "s" and "w" in perms:
                problems.append(f"a writable shared mapping every child would share: {line.strip()[:120]}")
    if not runner._prctl(PR_SET_DUMPABLE, 0):
        problems.append("could not make the template non-dumpable")
    return problems


def main() -> None:
    sock = socket.socket(fileno=int(os.environ.pop("AUTOGRADER_TEMPLATE_FD")))
    runner._prctl(PR_SET_DUMPABLE, 0)  # before anything is imported: no process of its user may read or trace it
    import numpy  # noqa: F401 - the modules every notebook and stand-in uses, once for every child
    try:
        import torch  # noqa: F401
        import torch.nn.functional  # noqa: F401
    except ImportError:
        pass
    shell = runner.make_shell()
    home = runner._snapshot(list(SCRATCH))  # what the shell left in HOME (~/.ipython): every child starts with it
    runner.remember_modules()
    runner._roots()
    gc.collect()
    gc.freeze()  # the collector never touches these in a child, so they stay shared with the template
    _huge_pages()
    problems = self_check()
    sock.send(json.dumps({"ready": not problems, "problems": problems, "uid": os.getuid(),
                          "caps": _capabilities(), "anonymous_kb": _status_kb("RssAnon")}).encode())
    if problems:
        os._exit(3)
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    while True:
        ready, _, _ = select.select([sock], [], [], 1.0)
        runner._reap()  # the children that have ended
        if not ready:
            continue
        try:
            msg, fds, flags, _ = socket.recv_fds(sock, 1 << 16, 250)
        except OSError:
            os._exit(0)
        if not msg:
            os._exit(0)  # the grader closed its end
        if flags & socket.MSG_CTRUNC:
            _refuse(fds, "too many file descriptors in one request")
            continue
        try:
            request = json.loads(msg)
            roles = {r: fds[request["fds"][r]] for r in ROLES}
        except (ValueError, KeyError, IndexError, TypeError) as exc:
            _refuse(fds, f"malformed request: {exc}")
            continue
        sys.stdout.flush()
        sys.stderr.flush()
        me = os.getpid()
        try:
            pid = os.fork()
        except OSError as exc:
            _refuse(fds, f"fork: {exc.strerror}", roles.get("setup"))
            continue
        if pid == 0:
            code = 1
            try:
                sock.close()
                monitor(request, fds, roles, shell, home, me)
            except BaseException as exc:  # noqa: BLE001 - the grader runs this notebook cold instead
                _say(roles["setup"], b"X" + _why(exc))
            finally:
                os._exit(code)
        for fd in fds:
            os.close(fd)


def _why(exc: BaseException) -> bytes:
    """What failed, and where (the last line of this module the error passed through)."""
    import traceback

    lines = [f.lineno for f in traceback.extract_tb(exc.__traceback__) if f.filename == __file__]
    return f"{type(exc).__name__}: {exc}{f' (template.py, line {lines[-1]})' if lines else ''}".encode()[:500]


def _say(fd: int, data: bytes) -> None:
    try:
        os.write(fd, data)
    except OSError:
        pass


def _refuse(fds: list, why: str, setup: int | None = None) -> None:
    if setup is not None:
        _say(setup, b"X" + why.encode()[:500])
    for fd in fds:
        try:
            os.close(fd)
        except OSError:
            pass


def _python_below_scratch() -> list[str]:
    """The outermost mounts below a scratch folder (only Python's folders are bound there: sandbox.file_system)."""
    below = sorted(m for m in runner._mount_points() if any(m.startswith(f + "/") for f in SCRATCH))
    return [m for i, m in enumerate(below) if not any(m.startswith(o + "/") for o in below[:i])]


# ---------------------------------------------------------------------------------------------- a child
def monitor(request: dict, fds: list, roles: dict, shell, home: list, template: int) -> None:
    """``C``: make the child's namespaces and file system, fork ``I``, wait for it and report how it ended."""
    _ok(_prctl(PR_SET_PDEATHSIG, signal.SIGKILL), "prctl(PR_SET_PDEATHSIG)")  # the template gone: so is this
    if os.getppid() != template:
        os._exit(1)  # it went before that was set
    tests = {str(k): [fds[v[0]], fds[v[1]] if v[1] >= 0 else -1] for k, v in (request["fds"].get("tests") or {}).items()}
    cgroups = [fds[i] for i in request["fds"].get("cgroups") or []]
    _keep_only(fds)
    _ok(_LIBC.unshare(CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWNET | CLONE_NEWUTS), "unshare")
    _mount(None, "/", None, MS_REC | MS_PRIVATE)
    size = int(request["file_mb"]) << 20
    # Python itself may be bound read-only below a scratch folder (a checkout in /tmp): kept aside on a tmpfs at
    # /grader/job while the scratch folders are replaced, then bound again at its place, as a cold sandbox has it.
    kept = _python_below_scratch()
    if kept:
        _mount("tmpfs", "/grader/job", "tmpfs", MS_NOSUID | MS_NODEV, "size=64k,mode=0700")
        for i, path in enumerate(kept):
            os.mkdir(f"/grader/job/{i}")
            _mount(path, f"/grader/job/{i}", None, MS_BIND | MS_REC)
    for folder in SCRATCH:  # the template's are detached, not covered: nothing of theirs is left to uncover
        _detach(folder)
        _mount("tmpfs", folder, "tmpfs", MS_NOSUID | MS_NODEV, f"size={size},mode=1777")
    runner._restore(list(SCRATCH), home)
    if kept:
        for i, path in enumerate(kept):
            os.makedirs(path, mode=0o755, exist_ok=True)
            _mount(f"/grader/job/{i}", path, None, MS_BIND | MS_REC)
            _mount(None, path, None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV)
        _detach("/grader/job")
    _detach("/dev/mqueue")
    _mount("mqueue", "/dev/mqueue", "mqueue", MS_NOSUID | MS_NODEV | MS_NOEXEC)  # this IPC namespace's queues
    _detach("/dev/pts")
    _mount("devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666,mode=620")
    _mount(None, "/dev", None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID)  # the template's /dev: read-only here
    for folder, role in (("/grader/job", "job"), ("/grader/inputs", "inputs")):
        _mount("tmpfs", folder, "tmpfs", MS_NOSUID | MS_NODEV, f"size={size},mode=0755")
        unpack(roles[role], folder)
        os.close(roles[role])
        _mount(None, folder, None, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV)
    _loopback_up()
    null = os.open("/dev/null", os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    os.dup2(roles["stdout"], 1)
    os.dup2(roles["stderr"], 2)
    os.close(roles["stdout"])
    os.close(roles["stderr"])
    hold_r, hold_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(hold_w)
            os.close(roles["status"])
            os.close(roles["life"])
            init(request, roles, tests, cgroups, hold_r, shell)
        except BaseException as exc:  # noqa: BLE001
            _say(roles["setup"], b"X" + _why(exc))
        os._exit(1)
    _keep_only({roles["status"], roles["life"], hold_w})
    _drop_all()  # from here on it only waits and kills its own child
    pidfd = os.pidfd_open(pid)
    killed = False
    while True:
        ready, _, _ = select.select([pidfd, roles["life"]], [], [])
        if roles["life"] in ready and not killed:
            os.kill(pid, signal.SIGKILL)  # the grader's word (or its death): pid 1 takes the namespace with it
            killed = True
        if pidfd in ready:
            break
    _, status = os.waitpid(pid, 0)
    code = os.WEXITSTATUS(status) if os.WIFEXITED(status) else 128 + os.WTERMSIG(status)
    _say(roles["status"], b"E%d\n" % code)
    os._exit(0)


def init(request: dict, roles: dict, tests: dict, cgroups: list, hold: int, shell) -> None:
    """``I``: pid 1 of the child's PID namespace. Its own /proc, the cgroups, then ``S``; ends with ``S``."""
    _ok(_prctl(PR_SET_PDEATHSIG, signal.SIGKILL), "prctl(PR_SET_PDEATHSIG)")
    if select.select([hold], [], [], 0)[0]:
        os._exit(1)  # C ended before this process would have died with it
    os.close(hold)
    os.mkdir("/tmp/.proc")
    _mount("proc", "/tmp/.proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    _detach("/proc")  # the template's, which shows every sibling: gone, not covered
    _mount("/tmp/.proc", "/proc", None, MS_MOVE)
    os.rmdir("/tmp/.proc")
    for fd in cgroups:
        os.write(fd, b"0")  # this process, and so everything it starts, into the sandbox's memory and pids cgroups
        os.close(fd)
    if cgroups:
        _LIBC.unshare(CLONE_NEWCGROUP)  # as bubblewrap's --unshare-cgroup-try: the sandbox's cgroup is its root
    keep = {0, 1, 2, roles["setup"], roles["control"], roles["main"]} | {fd for pair in tests.values() for fd in pair
                                                                         if fd >= 0}
    _keep_only(keep)
    pid = os.fork()
    if pid == 0:
        try:
            supervisor(request, roles, tests, shell)
        except BaseException as exc:  # noqa: BLE001
            _say(roles["setup"], b"X" + _why(exc))
        os._exit(1)
    _keep_only(set())
    _drop_all()  # from here on it only reaps
    while True:
        try:
            done, status = os.waitpid(-1, 0)
        except ChildProcessError:
            os._exit(1)
        if done == pid:  # as bubblewrap reports its child
            os._exit(os.WEXITSTATUS(status) if os.WIFEXITED(status) else 128 + os.WTERMSIG(status))


def supervisor(request: dict, roles: dict, tests: dict, shell) -> None:
    """``S``: drop to the sandbox's identity and limits, then supervise the notebook as a cold sandbox does."""
    if request.get("privileged"):
        uid = int(request["uid"])
        for cap in range(64):
            if _prctl(PR_CAPBSET_DROP, cap) != 0 and ctypes.get_errno() != 22:  # EINVAL: no such capability
                raise SetupError(f"could not drop capability {cap} from the bounding set")
        os.setgroups([])
        os.setresgid(uid, uid, uid)
        os.setresuid(uid, uid, uid)  # the effective and permitted capabilities are gone with uid 0
        _drop_capabilities()         # and the inheritable ones
    else:
        uid, gid = os.geteuid(), os.getegid()
        _ok(_LIBC.unshare(CLONE_NEWUSER), "unshare(CLONE_NEWUSER)")  # its own keyrings; uid 1000 as in a cold sandbox
        # A non-dumpable process's /proc/self files belong to root: dumpable for as long as it writes its maps (no
        # process that could trace it can see it: its PID namespace holds only pid 1).
        runner._prctl(PR_SET_DUMPABLE, 1)
        for name, text in (("setgroups", "deny"), ("uid_map", f"1000 {uid} 1"), ("gid_map", f"1000 {gid} 1")):
            with open(f"/proc/self/{name}", "w") as fh:
                fh.write(text)
        runner._prctl(PR_SET_DUMPABLE, 0)
        for cap in range(64):
            _prctl(PR_CAPBSET_DROP, cap)
        _drop_capabilities()
    _prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL)
    _ok(_prctl(PR_SET_NO_NEW_PRIVS, 1), "prctl(PR_SET_NO_NEW_PRIVS)")
    if _capabilities("CapEff") or _capabilities("CapPrm") or _capabilities("CapBnd"):
        raise SetupError("capabilities left after dropping them")
    if _capabilities("CapInh") or _capabilities("CapAmb"):
        raise SetupError("inheritable or ambient capabilities left")
    if request.get("privileged") and (set(os.getresuid()) != {uid} or set(os.getresgid()) != {uid} or os.getgroups()):
        raise SetupError("the sandbox uid did not take")
    limits = request["rlimits"]
    for name, value in (("RLIMIT_CPU", limits["cpu"]), ("RLIMIT_AS", limits["as"]), ("RLIMIT_NPROC", limits["nproc"]),
                        ("RLIMIT_FSIZE", limits["fsize"]), ("RLIMIT_NOFILE", limits["nofile"]),
                        ("RLIMIT_CORE", limits["core"])):
        resource.setrlimit(getattr(resource, name), (int(value), int(value)))
    os.chdir("/home/student")
    fds = {"main": roles["main"], "tests": tests, "sandboxed": True}
    os.environ["AUTOGRADER_CHANNEL_FD"] = str(roles["control"])
    os.environ["AUTOGRADER_FDS"] = json.dumps(fds)
    _say(roles["setup"], b"R")  # from here on a failure is the notebook's, as in a cold sandbox
    os.close(roles["setup"])
    runner.supervise("/grader/job", roles["control"], fds, shell=shell)


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32), ("inheritable", ctypes.c_uint32)]


def _drop_all() -> None:
    """No capability left, in any set, and none to regain (a monitor that only waits needs none)."""
    for cap in range(64):
        _prctl(PR_CAPBSET_DROP, cap)
    _drop_capabilities()
    _prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL)
    _prctl(PR_SET_NO_NEW_PRIVS, 1)


def _drop_capabilities() -> None:
    """Effective, permitted and inheritable capabilities all empty (capset, version 3)."""
    header = _CapHeader(0x20080522, 0)
    data = (_CapData * 2)()
    _ok(_LIBC.capset(ctypes.byref(header), data), "capset")


def _loopback_up() -> None:
    """Bring up ``lo`` in the new network namespace (the only interface, as in bubblewrap's)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        ifr = struct.pack("16sH14s", b"lo", 0, b"")
        flags = struct.unpack("16sH14s", fcntl.ioctl(s.fileno(), SIOCGIFFLAGS, ifr))[1]
        fcntl.ioctl(s.fileno(), SIOCSIFFLAGS, struct.pack("16sH14s", b"lo", flags | IFF_UP, b""))


def unpack(fd: int, folder: str) -> None:
    """Write the files packed in the memory file ``fd`` (``warm.pack``) below ``folder``: names checked, modes fixed."""
    offset = 0
    size = os.fstat(fd).st_size
    while offset < size:
        name_len, data_len = ENTRY.unpack(os.pread(fd, ENTRY.size, offset))
        offset += ENTRY.size
        name = os.pread(fd, name_len, offset).decode()
        offset += name_len
        if not NAME.match(name) or ".." in name.split("/"):
            raise SetupError(f"bad name in a packed folder: {name[:80]!r}")
        path = os.path.join(folder, name)
        os.makedirs(os.path.dirname(path), mode=0o755, exist_ok=True)
        out = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        try:
            left = data_len
            while left:
                chunk = os.pread(fd, min(left, 1 << 20), offset)
                if not chunk:
                    raise SetupError("a packed folder ends early")
                os.write(out, chunk)
                offset += len(chunk)
                left -= len(chunk)
        finally:
            os.close(out)
        os.chmod(path, 0o644)
    for dirpath, dirnames, _ in os.walk(folder):
        for d in dirnames:
            os.chmod(os.path.join(dirpath, d), 0o755)


if __name__ == "__main__":
    main()
