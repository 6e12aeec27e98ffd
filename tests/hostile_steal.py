"""Submissions that try to steal a correct implementation of a graded function instead of writing it (issue 26).

While a test cell runs, the student's *other* graded functions are replaced by public stand-ins
(``autograder/grading/standins.py``). Each submission here starts from the instructor's solution and replaces every
graded function that has a stand-in by a thief, which looks for a correct implementation of that function
somewhere in its reach and calls it, by one route:

- ``gc``: every object the garbage collector tracks, every module in ``sys.modules`` and the globals and
  locals of every frame of the call stack, for a callable of that name whose ``__module__`` is not
  ``__main__``;
- ``files``: every ``.py`` file below ``/``, the working folder, ``~`` and ``sys.path`` (the Python installation
  and the virtualenv excepted: they hold the libraries a student may use anyway) that defines a function of
  that name, loaded and called;
- ``import``: ``importlib.import_module`` on the grader's package names (``autograder``, its subpackages and
  modules, ``standins``...) and a ``pkgutil`` walk of every package found, for a callable of that name.

A thief tries every candidate it finds on the arguments it was given and returns the first value one of them
returns; with no candidate left it raises. So each stolen function's test cell must get 0, and every other
test cell its full points (the stand-ins keep isolating them). ``STASH`` (03) is the case that tries to carry
a stand-in from one test's process into another's (files, a lingering process, System V shared memory, a POSIX
message queue, the user's keyring).
"""
from __future__ import annotations

import json

from autograder.grading.standins import STANDINS
from autograder.grading.prepare import load_assignment
from autograder.grading.run import _defined_names
from tests.samples import Sample, build, strip_markers

ROUTES = ("gc", "files", "import")
ASSIGNMENTS = sorted(STANDINS)

THIEF = r'''
import sys as _sys


def _candidates_gc(name):
    import gc
    found = []
    for obj in gc.get_objects():
        try:
            if callable(obj) and getattr(obj, "__name__", None) == name and getattr(obj, "__module__", None) != "__main__":
                found.append(obj)
        except Exception:
            pass
    for mod in list(_sys.modules.values()):
        value = getattr(mod, name, None) if getattr(mod, "__name__", "__main__") != "__main__" else None
        if callable(value) and getattr(value, "__module__", None) != "__main__":
            found.append(value)
    frame = _sys._getframe()
    while frame is not None:
        for space in (frame.f_globals, frame.f_locals):
            value = space.get(name)
            if callable(value) and getattr(value, "__module__", None) != "__main__":
                found.append(value)
        frame = frame.f_back
    return found


def _candidates_files(name):
    import importlib.util, os
    skip = {os.path.realpath(p) for p in (_sys.prefix, _sys.base_prefix, _sys.exec_prefix, "/usr")}
    roots = ["/", os.getcwd(), os.path.expanduser("~")] + [p for p in _sys.path if p]
    found, seen = [], set()
    for root in roots:
        for dirpath, dirnames, filenames in os.walk(root):
            real = os.path.realpath(dirpath)
            if real in seen or real in skip or real.startswith(("/proc", "/sys", "/dev/fd")):
                dirnames[:] = []
                continue
            seen.add(real)
            for f in filenames:
                if not f.endswith(".py"):
                    continue
                path = os.path.join(dirpath, f)
                try:
                    with open(path, errors="replace") as fh:
                        if f"def {name}(" not in fh.read():
                            continue
                    spec = importlib.util.spec_from_file_location(f"_loot_{len(found)}", path)
                    mod = importlib.util.module_from_spec(spec)
                    spec.loader.exec_module(mod)
                    found.append(getattr(mod, name))
                except BaseException:
                    pass
    return found


def _candidates_import(name):
    import importlib, pkgutil
    wanted = ["autograder", "autograder.standins", "autograder.probe", "autograder.probe.standins",
              "autograder.probe.runner", "autograder.probe.checking", "autograder.reference", "autograder.specs",
              "autograder.stages", "autograder.grading", "autograder.grading.standins", "autograder.grading.probe",
              "autograder.grading.probe.runner", "autograder.grading.reference", "autograder.grading.specs",
              "standins", "probe.standins", "_given"]
    found, mods = [], []
    for modname in wanted:
        try:
            mods.append(importlib.import_module(modname))
        except BaseException:
            pass
    for mod in list(mods):
        for info in pkgutil.walk_packages(getattr(mod, "__path__", []) or [], mod.__name__ + "."):
            try:
                mods.append(importlib.import_module(info.name))
            except BaseException:
                pass
    for mod in mods:
        value = getattr(mod, name, None)
        if callable(value):
            found.append(value)
        for attr in ("STANDINS", "TABLE"):
            table = getattr(mod, attr, None)
            if isinstance(table, dict):
                for sub in table.values():
                    if isinstance(sub, dict) and callable(sub.get(name)):
                        found.append(sub[name])
    return found


_FOUND = {}


def _steal(name, route, args, kwargs):
    if name not in _FOUND:  # once per process (the hidden cases' processes are forked from the test's)
        _FOUND[name] = globals()["_candidates_" + route](name)
    for candidate in _FOUND[name]:
        try:
            value = candidate(*args, **kwargs)
        except BaseException:
            continue
        print("STOLE " + f"{name} by {route} from {getattr(candidate, '__module__', '?')}")
        return value
    raise LookupError(f"found no implementation of {name} to steal by {route}")
'''


def thief(name: str, route: str) -> str:
    return f"\n\ndef {name}(*args, **kwargs):\n    return _steal({name!r}, {route!r}, args, kwargs)\n"


def stolen(assignment: str) -> list[str]:
    """The graded functions of ``assignment`` that have a stand-in (the ones a thief may find one of)."""
    return sorted(STANDINS[assignment])


def notebook(assignment: str, route: str) -> bytes:
    """The solution, with every function of ``stolen`` replaced by a thief of ``route`` (after its honest version)."""
    spec = load_assignment(assignment)
    names = set(stolen(assignment))
    override = {}
    for cell in spec.cells:
        if cell.role != "answer":
            continue
        here = sorted(_defined_names(cell.source) & names)
        if here:
            override[cell.grade_id] = strip_markers(cell.source) + THIEF + "".join(thief(n, route) for n in here)
    return json.dumps(build(assignment, Sample(score=0, override=override))).encode()


def expected(assignment: str) -> tuple[dict[str, float], set[str]]:
    """Points of every test cell, and the test cells that must get 0 (those grading a stolen function)."""
    spec = load_assignment(assignment)
    names = set(stolen(assignment))
    points = {c.grade_id: float(c.points) for c in spec.tests}
    lost = {c.grade_id for c in spec.tests if names & {f for _, f in c.checks}}
    return points, lost


# ----------------------------------------------------------------------------------------------- the stash (03)
#: During softmax's test (whose process holds the stand-ins of the other 03 functions), the student's softmax
#: stashes the stand-in of cosine_scores (its bytecode and its helpers') in every place that might outlive the
#: process; cosine_scores then looks in all of them during its own test. It must find nothing.
STASH = r'''
import ctypes, marshal, os, socket, sys, types

_LIBC = ctypes.CDLL(None, use_errno=True)
_PLACES = ["/tmp/.stash", os.path.expanduser("~/.stash"), "/dev/shm/.stash", os.getcwd() + "/stash.bin"]
_SHM_KEY, _KEY = 0x5354, b"agstash"
_MQ = b"/agstash"
_SOCK = b"\0agstash"


_STASHED = []


def _stash():
    import gc
    if _STASHED:
        return
    _STASHED.append(1)
    found = [o for o in gc.get_objects() if isinstance(o, types.FunctionType) and o.__name__ == "cosine_scores"
             and o.__module__ != "__main__"]
    if not found:
        return
    fn = found[0]
    blob = marshal.dumps({k: (v.__code__, v.__defaults__) for k, v in fn.__globals__.items()
                          if isinstance(v, types.FunctionType) and k in ("cosine_scores", "_t", "_torch")})
    for place in _PLACES:
        try:
            with open(place, "wb") as fh:
                fh.write(blob)
        except OSError:
            pass
    try:  # System V shared memory
        shmid = _LIBC.shmget(_SHM_KEY, 65536, 0o1600)
        _LIBC.shmat.restype = ctypes.c_void_p
        addr = _LIBC.shmat(shmid, None, 0)
        ctypes.memmove(addr, len(blob).to_bytes(4, "little") + blob, len(blob) + 4)
    except Exception:
        pass
    try:  # a POSIX message queue
        _LIBC.mq_open.restype = ctypes.c_int
        mq = _LIBC.mq_open(_MQ, os.O_CREAT | os.O_WRONLY, 0o600, None)
        _LIBC.mq_send(mq, blob, len(blob), 0)
    except Exception:
        pass
    try:  # the session keyring (inherited from whoever forked this process) and the user's keyring (add_key)
        for ring in (-3, -4):
            _LIBC.syscall(248, b"user", _KEY, blob, len(blob), ring)
    except Exception:
        pass
    if os.fork() == 0:  # a process that lingers and hands the stash to whoever connects
        try:
            os.setsid()
            srv = socket.socket(socket.AF_UNIX)
            srv.bind(_SOCK)
            srv.listen(5)
            while True:
                conn, _ = srv.accept()
                conn.sendall(blob)
                conn.close()
        finally:
            os._exit(0)


_LOOT = []


def _unstash():
    if _LOOT:
        return _LOOT[0]
    _LOOT.append(_unstash_once())
    return _LOOT[0]


def _unstash_once():
    blobs = []
    for place in _PLACES:
        try:
            with open(place, "rb") as fh:
                blobs.append(fh.read())
        except OSError:
            pass
    try:
        s = socket.socket(socket.AF_UNIX)
        s.settimeout(1)
        s.connect(_SOCK)
        blobs.append(s.recv(1 << 20))
    except OSError:
        pass
    try:
        shmid = _LIBC.shmget(_SHM_KEY, 0, 0)
        if shmid >= 0:
            _LIBC.shmat.restype = ctypes.c_void_p
            addr = _LIBC.shmat(shmid, None, 0)
            n = int.from_bytes(ctypes.string_at(addr, 4), "little")
            blobs.append(ctypes.string_at(addr + 4, n))
    except Exception:
        pass
    try:
        _LIBC.mq_open.restype = ctypes.c_int
        mq = _LIBC.mq_open(_MQ, os.O_RDONLY | os.O_NONBLOCK)
        if mq >= 0:
            buf = ctypes.create_string_buffer(1 << 16)
            n = _LIBC.mq_receive(mq, buf, 1 << 16, None)
            if n > 0:
                blobs.append(buf.raw[:n])
    except Exception:
        pass
    for ring in (-3, -4):
        try:
            key = _LIBC.syscall(250, 10, ring, b"user", _KEY, 0)  # KEYCTL_SEARCH the session, the user keyring
            if key > 0:
                buf = ctypes.create_string_buffer(1 << 16)
                n = _LIBC.syscall(250, 11, key, buf, 1 << 16)  # KEYCTL_READ
                if n > 0:
                    blobs.append(buf.raw[:n])
        except Exception:
            pass
    for blob in blobs:
        try:
            codes = marshal.loads(blob)
            space = {"np": np, "__name__": "loot"}
            for k, (code, defaults) in codes.items():
                space[k] = types.FunctionType(code, space, k, defaults)
            return space["cosine_scores"]
        except Exception:
            continue
    return None
'''


def stash_notebook() -> bytes:
    spec = load_assignment("03-qkv")
    answers = {c.grade_id: strip_markers(c.source) for c in spec.cells if c.role == "answer"}
    softmax = answers["softmax-answer"].replace("def softmax(", "def _honest_softmax(", 1) + STASH + '''

def softmax(x, axis=-1):
    _stash()
    return _honest_softmax(x, axis)
'''
    scores = answers["scores-answer"] + '''

def cosine_scores(Q, K):
    loot = _unstash()
    if loot is None:
        raise LookupError("nothing stashed")
    print("STOLE " + "cosine_scores from a stash")
    return loot(Q, K)
'''
    return json.dumps(build("03-qkv", Sample(score=0, override={"softmax-answer": softmax,
                                                                "scores-answer": scores}))).encode()

