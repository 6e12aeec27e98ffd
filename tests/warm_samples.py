"""Submissions of 03 that try to reach another student through the warm template (issue 24).

Each is the instructor's solution (full marks) with one extra cell at the end, which runs in the notebook's own
process only (a test cell replays only the cells before it) and prints what it found as ``<TAG>=<json>`` (read back
from the cell's output by ``found``):

- ``plant``: a victim that plants a secret in every place a process can share (files in ``/tmp``, ``~`` and
  ``/dev/shm``, System V shared memory, a POSIX message queue, the user's keyring, an abstract and a TCP socket on
  loopback) and stays alive for a while, checking that nothing touched its files;
- ``seek``: run at the same time, looks for that secret in all those places and in every file it can read, lists
  every process it can signal and signals every one that is not its own, and every folder it can write outside its
  own scratch folders;
- ``leave``: leaves whatever it can for the next student: files, a thread, a process that detaches itself, an
  ``atexit`` hook, a patched NumPy, environment variables, a module, builtins, keys, shared memory and queues;
- ``find``: graded next from the same template, looks for all of it;
- ``spy``: tries to read the memory of every other process it can see (``/proc/<pid>/mem``, ``environ``, ``maps``,
  ``process_vm_readv``, ``ptrace``), and scans its own memory (a copy of the template's) for a marker, reporting
  what follows each occurrence, so the test can check that an earlier student's secret is not there.
"""
from __future__ import annotations

import json
import secrets

from tests.samples import Sample, build

ASSIGNMENT = "03-qkv"
MARK = "QZXJW"  # what a secret starts with (the spy looks for it)


def secret() -> str:
    return MARK + secrets.token_hex(16)


def notebook(cell: str, note: str = "") -> bytes:
    """The solution of 03 with ``cell`` appended (and ``note``, e.g. a secret, in a comment of its first answer)."""
    nb = build(ASSIGNMENT, Sample(score=12))
    if note:
        for c in nb["cells"]:
            if c.get("metadata", {}).get("nbgrader", {}).get("solution"):
                c["source"] = f"# {note}\n" + "".join(c["source"])
                break
    nb["cells"].append({"cell_type": "code", "metadata": {}, "source": cell, "outputs": [], "execution_count": None})
    return json.dumps(nb).encode()


def found(result: dict, tag: str):
    """The value a submission printed as ``TAG=<json>`` (from its stored result), or None."""
    for cell in result["cells"]:
        for line in str(cell.get("stdout") or "").splitlines():
            if line.startswith(tag + "="):
                return json.loads(line[len(tag) + 1:])
    return None


COMMON = r'''
import ctypes, json, os, socket, sys, time
_LIBC = ctypes.CDLL(None, use_errno=True)
_LIBC.shmat.restype = ctypes.c_void_p
_LIBC.mq_open.restype = ctypes.c_int
SHM_KEY, MQ, KEY, ABSTRACT, PORT = 0x5742, b"/warmplant", b"warmplant", b"\0warmplant", 47611
SCRATCH = ("/tmp", os.path.expanduser("~"), "/dev/shm", "/dev/mqueue")
'''


def plant(token: str, seconds: float) -> bytes:
    return notebook(COMMON + f'''
SECRET = {token!r}.encode()
print("START=" + json.dumps(time.time()))
places = ["/tmp/planted", os.path.expanduser("~/planted"), "/dev/shm/planted"]
for place in places:
    with open(place, "wb") as fh:
        fh.write(SECRET)
shmid = _LIBC.shmget(SHM_KEY, 4096, 0o1666)
if shmid >= 0:
    ctypes.memmove(_LIBC.shmat(shmid, None, 0), SECRET, len(SECRET))
mq = _LIBC.mq_open(MQ, os.O_CREAT | os.O_WRONLY, 0o666, None)
if mq >= 0:
    _LIBC.mq_send(mq, SECRET, len(SECRET), 0)
_LIBC.syscall(248, b"user", KEY, SECRET, len(SECRET), -4)  # add_key into the user's keyring
servers = []
for family, address in ((socket.AF_UNIX, ABSTRACT), (socket.AF_INET, ("127.0.0.1", PORT))):
    srv = socket.socket(family)
    srv.bind(address)
    srv.listen(5)
    srv.settimeout(0.1)
    servers.append(srv)
end = time.time() + {seconds}
while time.time() < end:
    for srv in servers:
        try:
            conn, _ = srv.accept()
            conn.sendall(SECRET)
            conn.close()
        except OSError:
            pass
intact = all(open(p, "rb").read() == SECRET for p in places)
print("INTACT=" + json.dumps(intact))
print("END=" + json.dumps(time.time()))
''')


def seek(token: str, seconds: float) -> bytes:
    reversed_token = token[::-1]  # the seeker's own notebook must not hold the secret as it is
    return notebook(COMMON + f'''
SECRET = {reversed_token!r}[::-1].encode()
print("START=" + json.dumps(time.time()))
skip = {{"/proc", "/sys", "/usr", "/lib", "/lib32", "/lib64", "/bin", "/sbin", "/etc"}}
skip |= {{os.path.realpath(p) for p in (sys.prefix, sys.base_prefix, sys.exec_prefix)}}
found, writable, visible, signalled = set(), set(), set(), []
own = {{os.getpid(), 1, os.getppid()}}


def look():
    for place in ("/tmp/planted", os.path.expanduser("~/planted"), "/dev/shm/planted"):
        try:
            if SECRET in open(place, "rb").read():
                found.add(place)
        except OSError:
            pass
    if _LIBC.shmget(SHM_KEY, 0, 0) >= 0:
        found.add("System V shared memory")
    if _LIBC.mq_open(MQ, os.O_RDONLY | os.O_NONBLOCK) >= 0:
        found.add("POSIX message queue")
    if _LIBC.syscall(250, 10, -4, b"user", KEY, 0) > 0:  # KEYCTL_SEARCH the user's keyring
        found.add("user keyring")
    for family, address in ((socket.AF_UNIX, ABSTRACT), (socket.AF_INET, ("127.0.0.1", PORT))):
        s = socket.socket(family)
        s.settimeout(0.2)
        try:
            s.connect(address)
            if SECRET in s.recv(4096):
                found.add(f"socket {{address!r}}")
        except OSError:
            pass
        finally:
            s.close()
    for pid in range(1, 5000):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            continue
        except PermissionError:
            pass
        visible.add(pid)
    for pid in sorted(visible - own):
        try:
            os.kill(pid, 9)
            signalled.append(pid)
        except OSError:
            pass


def walk():
    for dirpath, dirnames, filenames in os.walk("/"):
        if dirpath in skip or dirpath.startswith(("/proc/", "/sys/")):
            dirnames[:] = []
            continue
        if not dirpath.startswith(SCRATCH):
            try:
                probe = os.path.join(dirpath, ".w")
                os.close(os.open(probe, os.O_CREAT | os.O_WRONLY, 0o600))
                os.unlink(probe)
                writable.add(dirpath)
            except OSError:
                pass
        for f in filenames:
            path = os.path.join(dirpath, f)
            try:
                if os.path.isfile(path) and os.path.getsize(path) < (1 << 20) and SECRET in open(path, "rb").read():
                    found.add(path)
            except OSError:
                pass


end = time.time() + {seconds}
walk()
while time.time() < end:
    look()
    time.sleep(0.2)
walk()
print("FOUND=" + json.dumps(sorted(found)))
print("WRITABLE=" + json.dumps(sorted(writable)))
print("FOREIGN=" + json.dumps(sorted(visible - own - {{os.getpid()}}) + signalled))
print("END=" + json.dumps(time.time()))
''')


LEAVE = COMMON + r'''
import atexit, builtins, threading, types
import numpy as np
for place in ("/tmp/left", os.path.expanduser("~/left"), "/dev/shm/left"):
    with open(place, "w") as fh:
        fh.write("LEFT")
threading.Thread(target=time.sleep, args=(600,), name="left-thread", daemon=False).start()
if os.fork() == 0:  # a process that detaches itself and lingers
    os.setsid()
    if os.fork() == 0:
        import signal
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        time.sleep(600)
    os._exit(0)
atexit.register(lambda: open("/tmp/atexit-left", "w").write("x"))
np.allclose = lambda *a, **k: True
np.linalg.norm = lambda *a, **k: 0.0
np.LEFT = True
os.environ["LEFT"] = "1"
sys.modules["left_module"] = types.ModuleType("left_module")
builtins.LEFT = True
sys.path.insert(0, "/tmp/leftpath")
_LIBC.syscall(248, b"user", b"left", b"LEFT", 4, -4)
shmid = _LIBC.shmget(0x4c45, 4096, 0o1666)
mq = _LIBC.mq_open(b"/left", os.O_CREAT | os.O_WRONLY, 0o666, None)
print("END=" + json.dumps(time.time()))
'''

FIND = COMMON + r'''
import builtins, threading
import numpy as np
print("START=" + json.dumps(time.time()))
found = []
for place in ("/tmp/left", os.path.expanduser("~/left"), "/dev/shm/left", "/tmp/atexit-left"):
    if os.path.exists(place):
        found.append(place)
if any(t.name == "left-thread" for t in threading.enumerate()) or len(os.listdir("/proc/self/task")) > 1:
    found.append("a thread")
others = [p for p in os.listdir("/proc") if p.isdigit() and int(p) not in (1, os.getppid(), os.getpid())]
if others:
    found.append(f"processes {others}")
if np.allclose(0.0, 1.0) or np.linalg.norm(np.array([3.0, 4.0])) != 5.0 or hasattr(np, "LEFT"):
    found.append("a patched numpy")
if "LEFT" in os.environ:
    found.append("an environment variable")
if "left_module" in sys.modules:
    found.append("a module")
if hasattr(builtins, "LEFT"):
    found.append("a builtin")
if "/tmp/leftpath" in sys.path:
    found.append("sys.path")
if _LIBC.syscall(250, 10, -4, b"user", b"left", 0) > 0:
    found.append("a key")
if _LIBC.shmget(0x4c45, 0, 0) >= 0:
    found.append("System V shared memory")
if _LIBC.mq_open(b"/left", os.O_RDONLY | os.O_NONBLOCK) >= 0:
    found.append("a message queue")
print("FOUND=" + json.dumps(found))
'''

SPY = COMMON + r'''
import errno
opened = []
me = os.getpid()
for pid in sorted(int(p) for p in os.listdir("/proc") if p.isdigit()):
    if pid == me:
        continue
    for what in ("mem", "environ", "maps"):
        try:
            with open(f"/proc/{pid}/{what}", "rb") as fh:
                fh.read(64)
            opened.append(f"/proc/{pid}/{what}")
        except OSError:
            pass
    buf = ctypes.create_string_buffer(64)

    class iovec(ctypes.Structure):
        _fields_ = [("base", ctypes.c_void_p), ("len", ctypes.c_size_t)]

    local, remote = iovec(ctypes.cast(buf, ctypes.c_void_p), 64), iovec(0x400000, 64)
    if _LIBC.process_vm_readv(pid, ctypes.byref(local), 1, ctypes.byref(remote), 1, 0) > 0:
        opened.append(f"process_vm_readv {pid}")
    if _LIBC.ptrace(16, pid, None, None) == 0:  # PTRACE_ATTACH
        opened.append(f"ptrace {pid}")
        _LIBC.ptrace(17, pid, None, None)
mark = bytes([81, 90, 88, 74, 87])  # the marker, never written out whole in this notebook
_LIBC.prctl(4, 1, 0, 0, 0)  # PR_SET_DUMPABLE: its own /proc/self/mem becomes readable to it
seen = set()
with open("/proc/self/maps") as maps, open("/proc/self/mem", "rb", buffering=0) as mem:
    for line in maps:
        span, perms = line.split()[:2]
        if "r" not in perms:
            continue
        start, stop = (int(x, 16) for x in span.split("-"))
        if stop - start > (1 << 30):
            continue
        try:
            mem.seek(start)
            data = mem.read(stop - start)
        except (OSError, OverflowError, ValueError):
            continue
        at = data.find(mark)
        while at >= 0:
            seen.add(data[at:at + 37].decode("latin-1"))
            at = data.find(mark, at + 1)
print("OPENED=" + json.dumps(opened))
print("SEEN=" + json.dumps(sorted(seen)))
'''
