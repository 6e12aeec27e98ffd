"""Run one student's notebook in a throwaway sandbox (bubblewrap + resource limits).

What the sandbox gets (see docs/grading.md for the full account):

* a new mount namespace holding read-only copies of the system's ``/usr``, ``/lib*``, ``/bin``,
  the Python installation and the virtualenv, the grading probe (``autograder.grading.probe``, mounted
  as the package ``autograder``), the grader's case inputs and the prepared cells; writable:
  only ``/home/student`` (the working directory) and ``/tmp``, both size-limited tmpfs that
  vanish with the sandbox. The course repository, the reference, the solutions, the gradebook and
  the other students' work are not mounted;
* new network (no interfaces but loopback), PID, IPC and UTS namespaces; a new session (no
  terminal); all processes die with the grader (``--die-with-parent``);
* an unprivileged user: run as root, the grader starts bubblewrap privileged and drops to a
  sandbox uid with ``setpriv`` (no capabilities, no new privileges); run as a normal user,
  bubblewrap makes a user namespace;
* ``prlimit`` limits: CPU seconds, address space, number of processes, file size, open files,
  no core dumps. The wall-clock limit is enforced from outside (the grader kills the sandbox).
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from autograder.course import PACKAGE, REPO
from autograder.reasons import R

PROBE = Path(__file__).resolve().parent / "probe"
MiB = 1 << 20
#: Sandbox processes run as uids from here up (as root): no file on the host belongs to them, and the
#: process limit counts each worker's processes apart from every other user's.
SANDBOX_UID_BASE = 1_000_000


@dataclass
class Limits:
    """Resource limits of one notebook run. Defaults suit the course's assignments."""

    function_timeout: float = 30.0   # all hidden cases of one function (then killed with its test's process)
    cell_timeout: float = 60.0       # one cell, not counting its functions' hidden cases
    notebook_timeout: float = 600.0  # the whole notebook, wall clock (killed from outside)
    cpu_seconds: int = 600           # RLIMIT_CPU of each process
    memory_mb: int = 4096            # RLIMIT_AS of each process (torch alone maps about 1.5 GB)
    total_memory_mb: int = 4096      # memory of the whole sandbox (cgroup; only where cgroups can be made)
    processes: int = 64              # RLIMIT_NPROC
    file_mb: int = 64                # RLIMIT_FSIZE, and the size of each writable tmpfs
    output_limit: int = 10_000       # characters of stdout/stderr kept per cell
    channel_mb: int = 256            # bytes of results accepted before the sandbox is killed

    def as_json(self) -> dict:
        return {"function_timeout": self.function_timeout, "cell_timeout": self.cell_timeout,
                "notebook_timeout": self.notebook_timeout, "output_limit": self.output_limit}


@dataclass
class RunOutput:
    channel: bytes                # the supervisor's control channel (runner.Zygote): which processes ran, how they ended
    stdout: bytes
    stderr: bytes
    returncode: int | None
    timed_out: bool
    channel_overflow: bool
    seconds: float
    notes: list[str] = field(default_factory=list)
    streams: dict = field(default_factory=dict)  # "main" and each test cell's index (str): that process's frames
    start: str = "cold"           # how the sandbox started: "cold", or "warm" (forked from a template: autograder.grading.warm)


class Cgroup:
    """A memory and pids cgroup (v1 hierarchies) for one sandbox, made below the grader's own cgroups.

    Best effort: only as root and where the hierarchies are mounted writable (as on the project's
    machines). ``RLIMIT_AS`` bounds each process; this bounds their sum, so that many processes
    each under the limit cannot exhaust the host, and the kernel's OOM killer acts inside the sandbox.
    """

    def __init__(self, name: str, memory_bytes: int, pids: int):
        self.dirs: list[Path] = []
        if os.geteuid() != 0:
            return
        try:
            lines = Path("/proc/self/cgroup").read_text().splitlines()
        except OSError:
            return
        wanted = {"memory": ("memory.limit_in_bytes", memory_bytes), "pids": ("pids.max", pids)}
        for line in lines:
            try:
                _, controllers, path = line.split(":", 2)
            except ValueError:
                continue
            for ctrl in controllers.split(","):
                if ctrl not in wanted:
                    continue
                base = Path("/sys/fs/cgroup") / ctrl / path.lstrip("/")
                limit_file, value = wanted[ctrl]
                try:
                    d = base / name
                    d.mkdir()
                    (d / limit_file).write_text(str(value))
                    self.dirs.append(d)
                except OSError:
                    continue

    @property
    def procs(self) -> list[str]:
        return [str(d / "cgroup.procs") for d in self.dirs]

    def wrap(self, cmd: list[str]) -> list[str]:
        """``cmd`` started from inside the cgroups (a shell adds itself, then execs ``cmd``)."""
        if not self.dirs:
            return cmd
        script = 'for f in $AUTOGRADER_CGROUPS; do echo $$ > "$f" || exit 111; done; exec "$@"'
        return ["/bin/sh", "-c", script, "sh", *cmd]

    def close(self) -> None:
        for d in self.dirs:
            for _ in range(50):
                try:
                    pids = (d / "cgroup.procs").read_text().split()
                except OSError:
                    break
                for pid in pids:
                    try:
                        os.kill(int(pid), 9)
                    except (OSError, ValueError):
                        pass
                try:
                    d.rmdir()
                    break
                except OSError:
                    time.sleep(0.05)

    def oom_killed(self) -> bool:
        for d in self.dirs:
            try:
                for line in (d / "memory.oom_control").read_text().splitlines():
                    key, _, value = line.partition(" ")
                    if key == "oom_kill" and int(value) > 0:
                        return True
            except (OSError, ValueError):
                continue
        return False


def cgroups_available() -> bool:
    probe = Cgroup(f"autograder-probe-{os.getpid()}", 1 << 30, 10)
    ok = len(probe.dirs) == 2
    probe.close()
    return ok


def bwrap_path() -> str | None:
    return shutil.which("bwrap")


def available() -> tuple[bool, str]:
    """Whether bubblewrap exists and can start a sandbox here (with the reason if not)."""
    path = bwrap_path()
    if path is None:
        return False, "bubblewrap (bwrap) is not installed (Debian/Ubuntu: apt-get install bubblewrap)"
    probe = subprocess.run([path, "--ro-bind", "/", "/", "--unshare-net", "--unshare-pid", "true"],
                           capture_output=True, text=True)
    if probe.returncode != 0:
        return False, f"bubblewrap cannot create namespaces here: {probe.stderr.strip()[:200]}"
    return True, ""


def _python() -> str:
    """This interpreter, named by its real folder: the sandbox binds the resolved prefix, so a path through a
    symlinked virtualenv (``.venv -> /elsewhere/.venv``) would not exist inside it."""
    real = Path(sys.prefix).resolve() / "bin" / Path(sys.executable).name
    return str(real) if real.exists() else sys.executable


def stage_probe(dest: Path) -> Path:
    """Copy the probe as a package named ``autograder`` into ``dest``; return the folder for PYTHONPATH."""
    lib = dest / "lib"
    pkg = lib / "autograder"
    pkg.mkdir(parents=True, exist_ok=True)
    for src in PROBE.glob("*.py"):
        shutil.copy(src, pkg / src.name)
    # matplotlib's font list, so that a notebook that plots does not rebuild it (about 0.5 s) in its empty /tmp.
    try:
        import matplotlib
        from matplotlib import font_manager  # noqa: F401 - builds the font list if missing

        cache = (lib / "mplcache")
        cache.mkdir(exist_ok=True)
        for f in Path(matplotlib.get_cachedir()).glob("fontlist-*.json"):
            shutil.copy(f, cache / f.name)
    except Exception:  # noqa: BLE001 - only an optimisation
        pass
    _world_readable(dest)
    return lib


def _world_readable(root: Path) -> None:
    os.chmod(root, 0o755)
    for dirpath, dirnames, filenames in os.walk(root):
        for d in dirnames:
            os.chmod(os.path.join(dirpath, d), 0o755)
        for f in filenames:
            os.chmod(os.path.join(dirpath, f), 0o644)


def _python_paths() -> list[Path]:
    """The Python installation and virtualenv the sandbox needs (read-only)."""
    paths = {Path(sys.base_prefix).resolve(), Path(sys.prefix).resolve()}
    paths.add(Path(os.path.realpath(sys.executable)).parent.parent)
    for key in ("stdlib", "platstdlib", "purelib", "platlib"):
        p = sysconfig.get_paths().get(key)
        if p:
            paths.add(Path(p).resolve())
    # Keep only outermost folders.
    outer = []
    for p in sorted(paths, key=lambda q: len(q.parts)):
        if not any(p == o or o in p.parents for o in outer):
            outer.append(p)
    return outer


def _ancestors(path: Path) -> list[Path]:
    return [p for p in reversed(path.parents) if str(p) != "/"]


def _secret_dirs() -> list[Path]:
    """Folders that must never be visible inside: the course package (reference, specs) and repository."""
    return [PACKAGE, REPO]


def command(job: Path, lib: Path, inputs: Path, limits: Limits, channel_fd: int, uid: int, fds: str = "{}") -> list[str]:
    """The bubblewrap command line running ``autograder.runner`` on ``job``."""
    privileged = os.geteuid() == 0
    cmd = [bwrap_path(), "--unshare-net", "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try",
           "--die-with-parent", "--new-session", "--clearenv"]
    if privileged:
        cmd += ["--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"]
    else:
        cmd += ["--unshare-user", "--uid", "1000", "--gid", "1000"]
    cmd += file_system(limits, [(lib, Path("/grader/lib")), (inputs, Path("/grader/inputs")), (job, Path("/grader/job"))])
    env = environment({"AUTOGRADER_CHANNEL_FD": str(channel_fd), "AUTOGRADER_FDS": fds})
    for k, v in env.items():
        cmd += ["--setenv", k, v]
    if privileged:
        cmd += ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--inh-caps=-all",
                "--bounding-set=-all", "--no-new-privs", "--"]
    cmd += prlimit_args(limits)
    cmd += [_python(), "-s", "-m", "autograder.runner", "/grader/job"]
    return cmd


def file_system(limits: Limits, binds: list[tuple[Path, Path]], dirs: tuple[str, ...] = ()) -> list[str]:
    """bubblewrap's arguments for the sandbox's file system: the read-only system, Python and ``binds``
    (source, place), empty folders ``dirs``, and the writable scratch folders; the root made read-only."""
    cmd = []
    for system in ("/usr", "/bin", "/sbin", "/lib", "/lib64", "/lib32", "/etc/ld.so.cache", "/etc/localtime",
                   "/etc/alternatives"):
        cmd += ["--ro-bind-try", system, system]
    # The writable scratch folders come first: a Python or virtualenv that lives below one of them
    # (a checkout in /tmp, say) is bound read-only on top afterwards instead of being hidden by it.
    size = str(limits.file_mb * MiB)
    # /dev/mqueue: the IPC namespace's POSIX message queues, mounted so that the supervisor can list and remove them.
    cmd += ["--proc", "/proc", "--dev", "/dev", "--mqueue", "/dev/mqueue", "--perms", "1777", "--size", size, "--tmpfs", "/dev/shm",
            "--perms", "1777", "--size", size, "--tmpfs", "/tmp",
            "--perms", "0755", "--dir", "/home",
            "--perms", "1777", "--size", size, "--tmpfs", "/home/student"]
    made = {Path("/tmp"), Path("/home"), Path("/dev"), Path("/proc")}
    binds = [(p, p) for p in _python_paths()] + list(binds)
    for src, dst in binds + [(None, Path(d)) for d in dirs]:
        for parent in _ancestors(dst):
            if parent not in made and parent not in {d for _, d in binds}:
                cmd += ["--perms", "0755", "--dir", str(parent)]
                made.add(parent)
        cmd += ["--ro-bind", str(src), str(dst)] if src is not None else ["--perms", "0755", "--dir", str(dst)]
    # Mask the course's own code if a bound folder happens to contain it (e.g. a non-editable install).
    for secret in _secret_dirs():
        for src, dst in binds:
            if secret != src and src in secret.parents:
                cmd += ["--tmpfs", str(dst / secret.relative_to(src))]
    cmd += ["--remount-ro", "/", "--chdir", "/home/student"]
    return cmd


def environment(extra: dict) -> dict:
    """The sandbox's environment variables (``--clearenv`` first), with ``extra``."""
    return {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": "/home/student", "LANG": "C.UTF-8",
            "PYTHONPATH": "/grader/lib", "PYTHONDONTWRITEBYTECODE": "1", "PYTHONHASHSEED": "0",
            "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
            "MPLBACKEND": "module://matplotlib_inline.backend_inline", "MPLCONFIGDIR": "/tmp/matplotlib",
            "AUTOGRADER_INPUTS": "/grader/inputs", "PYDEVD_DISABLE_FILE_VALIDATION": "1", **extra}


def prlimit_args(limits: Limits) -> list[str]:
    return ["prlimit", f"--cpu={limits.cpu_seconds}", f"--as={limits.memory_mb * MiB}",
            f"--nproc={limits.processes}", f"--fsize={limits.file_mb * MiB}", "--nofile=256", "--core=0", "--"]


def unsafe_command(job: Path, lib: Path, inputs: Path, limits: Limits, channel_fd: int,
                   fds: str = "{}") -> tuple[list[str], dict, str]:
    """Without bubblewrap (``--unsafe-no-sandbox``): limits only, no file-system or network isolation."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(job), "LANG": "C.UTF-8",
           "PYTHONPATH": str(lib), "PYTHONHASHSEED": "0", "OMP_NUM_THREADS": "1", "MPLBACKEND": "Agg",
           "AUTOGRADER_CHANNEL_FD": str(channel_fd), "AUTOGRADER_INPUTS": str(inputs), "AUTOGRADER_FDS": fds}
    work = tempfile.mkdtemp(prefix="student-", dir=job)
    return prlimit_args(limits) + [_python(), "-s", "-m", "autograder.runner", str(job)], env, work


def _drain(stream, cap: int, sink: list, overflow: list, on_overflow=None, shared: list | None = None) -> None:
    """Read ``stream`` to its end, keeping at most ``cap`` bytes (counted in ``shared[0]`` across streams, if given)."""
    total = 0
    shared = [0] if shared is None else shared
    while True:
        chunk = stream.read(65536)
        if not chunk:
            break
        total += len(chunk)
        shared[0] += len(chunk)
        if shared[0] <= cap:
            sink.append(chunk)
        elif not overflow:
            overflow.append(shared[0])
            if on_overflow:
                on_overflow()
    stream.close()


def _given_pipe(source: str) -> int:
    """A pipe already holding ``source`` and closed for writing: its read end (a stand-in source for one test cell)."""
    import fcntl

    data = source.encode()
    r, w = os.pipe()
    try:
        if len(data) > 60_000:
            fcntl.fcntl(w, 1031, len(data) + 4096)  # F_SETPIPE_SZ: the whole source fits, no writer needed later
        view = memoryview(data)
        while view:
            view = view[os.write(w, view):]
    finally:
        os.close(w)
    return r


def run(job: Path, lib: Path, inputs: Path, limits: Limits, uid: int = SANDBOX_UID_BASE, unsafe: bool = False,
        tests: dict | None = None) -> RunOutput:
    """Run the notebook prepared in ``job``; collect the results channels and the process's output.

    ``tests``: code cell index of each test cell -> the source of the stand-ins that cell is given ("" for none).
    Each test cell gets a channel of its own and, if it has stand-ins, a pipe that already holds their source; the
    notebook's other cells share the ``main`` channel, and the supervisor reports on the control channel.
    """
    read_fd, write_fd = os.pipe()
    streams: dict[str, int] = {}       # name -> read end (the grader's)
    passed: list[int] = [write_fd]      # what the sandbox inherits
    main_r, main_w = os.pipe()
    streams["main"], fd_map = main_r, {"main": main_w, "tests": {}, "sandboxed": not unsafe}
    passed.append(main_w)
    for index, source in sorted((tests or {}).items()):
        r, w = os.pipe()
        streams[str(index)] = r
        given = _given_pipe(source) if source else -1
        fd_map["tests"][str(index)] = [w, given]
        passed += [w] + ([given] if given >= 0 else [])
    import json

    fds = json.dumps(fd_map)
    if unsafe:
        cmd, env, cwd = unsafe_command(job, lib, inputs, limits, write_fd, fds)
    else:
        cmd, env, cwd = command(job, lib, inputs, limits, write_fd, uid, fds), {}, None
    cgroup = Cgroup(f"autograder-{os.getpid()}-{uid}-{time.monotonic_ns()}", limits.total_memory_mb * MiB,
                    limits.processes + 8)
    if cgroup.dirs:
        env = dict(env or os.environ)
        env["AUTOGRADER_CGROUPS"] = " ".join(cgroup.procs)
        cmd = cgroup.wrap(cmd)
    start = time.monotonic()
    try:
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                pass_fds=tuple(passed), env=env or None, cwd=cwd, start_new_session=True)
    finally:
        for fd in passed:
            os.close(fd)
    channel, c_over, out, o_over, err, e_over = [], [], [], [], [], []
    kept: dict[str, list] = {name: [] for name in streams}
    shared = [0]

    def kill():
        try:
            os.killpg(proc.pid, 9)
        except OSError:
            pass

    threads = [threading.Thread(target=_drain, args=(os.fdopen(read_fd, "rb"), limits.channel_mb * MiB, channel,
                                                     c_over, kill, shared), daemon=True),
               *[threading.Thread(target=_drain, args=(os.fdopen(fd, "rb"), limits.channel_mb * MiB, kept[name],
                                                       c_over, kill, shared), daemon=True) for name, fd in streams.items()],
               threading.Thread(target=_drain, args=(proc.stdout, 1 * MiB, out, o_over), daemon=True),
               threading.Thread(target=_drain, args=(proc.stderr, 1 * MiB, err, e_over), daemon=True)]
    for t in threads:
        t.start()
    timed_out = False
    try:
        # The notebook once, then its test cells with the replay before each: the supervisor keeps to twice the
        # notebook's time (runner.Zygote.run); this is the backstop.
        proc.wait(timeout=2 * limits.notebook_timeout + 10)
    except subprocess.TimeoutExpired:
        timed_out = True
        kill()
        proc.wait()
    if unsafe:
        kill()  # without a PID namespace, leftover children are killed by their process group
    oom = cgroup.oom_killed()
    cgroup.close()
    for t in threads:
        t.join(timeout=10)
    notes = []
    if oom:
        notes.append(R("sandbox_memory", mb=limits.total_memory_mb))
    if o_over or e_over:
        notes.append(R("sandbox_output", bytes=max(o_over + e_over)))
    if unsafe:
        shutil.rmtree(cwd, ignore_errors=True)
    return RunOutput(b"".join(channel), b"".join(out), b"".join(err), proc.returncode, timed_out, bool(c_over),
                     time.monotonic() - start, notes, {name: b"".join(parts) for name, parts in kept.items()})


def isolation_report(unsafe: bool = False) -> tuple[list[str], list[str]]:
    """Which limits held on this host for this run, and which did not: ``(held, not_applied)``, in words.

    Some layers need root (a separate sandbox uid; memory and pids cgroups); an instructor grading as an
    ordinary user gets the rest, and the summary and console say so instead of implying the root guarantees.
    """
    root = os.geteuid() == 0
    held, missing = [], []
    if unsafe:
        missing.append("sandbox (bubblewrap): --unsafe-no-sandbox, so no file-system, network or process isolation")
    else:
        held.append("sandbox (bubblewrap): private file system view, no network, own PID/IPC/UTS namespaces"
                    + ("" if root else " (in a user namespace)"))
    held.append("per-process limits (prlimit): CPU time, address space, file size, open files; the wall clock "
                "of each notebook")
    if root and not unsafe:
        held.append("separate unprivileged uid per sandbox; process limit per sandbox")
    else:
        missing.append("separate sandbox uid (needs root): the process limit counts every process of "
                       f"{'your user' if not root else 'the grader'}, not of one sandbox")
    if cgroups_available():
        held.append("memory and process count of each whole sandbox (cgroups)")
    else:
        missing.append("memory and process-count cgroups of each whole sandbox (need root and writable cgroup v1 "
                       "memory/pids hierarchies): a submission can use up to processes x address space of RAM")
    return held, missing
