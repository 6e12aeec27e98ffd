"""An ordinary (non-root) user with a working Python, for running the grading tests the way most instructors
grade: on a laptop or a JupyterHub, without root.

Run as root, :func:`prepare` makes (once) a system user ``autograder-ci`` whose home is under ``/var/tmp``, a
virtual environment for it from Debian's ``/usr/bin/python3`` (the default ``python3`` here is a pyenv build
under ``/root``, mode 700, which another user cannot run) with the grading requirements pinned in
``requirements.txt`` (installed by pip from the configured package index; the venv is kept and reused while
those pins do not change), and a copy of the checkout that user owns.

    python -m tests.ordinary_user   # build the user and its venv now and print how long it took
"""
from __future__ import annotations

import hashlib
import os
import pwd
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

from tests import REPO
USER = "autograder-ci"
HOME = Path("/var/tmp/autograder-ci")
SYSTEM_PYTHON = "/usr/bin/python3"
#: What grading and its tests import (the book's packages are not needed); the pins come from requirements.txt.
GRADING_PACKAGES = {"torch", "numpy", "matplotlib", "nbgrader", "ipykernel", "tqdm", "pytest", "pytest-xdist",
                    "filelock", "dask", "distributed", "psycopg[binary]"}


def why_not() -> str | None:
    """Why an ordinary user cannot be prepared here (None if it can)."""
    if os.geteuid() != 0:
        return "already an ordinary user (the suite itself runs without root)"
    for tool in ("useradd", "runuser"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed"
    if not Path(SYSTEM_PYTHON).exists():
        return f"{SYSTEM_PYTHON} (Debian's python3) is not installed"
    done = subprocess.run([SYSTEM_PYTHON, "-c", "import venv, ensurepip"], capture_output=True)
    if done.returncode != 0:
        return f"{SYSTEM_PYTHON} has no venv/ensurepip (Debian: apt-get install python3-venv)"
    return None


def requirements() -> list[str]:
    """The lines of requirements.txt for the grading packages (same pins as the main environment)."""
    lines = []
    for line in (REPO / "requirements.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        name = re.split(r"[<>=!~ ;]", line, maxsplit=1)[0].lower()
        if name in GRADING_PACKAGES:
            lines.append(line)
    return lines


def ensure_user() -> pwd.struct_passwd:
    try:
        return pwd.getpwnam(USER)
    except KeyError:
        subprocess.run(["useradd", "--system", "--home-dir", str(HOME), "--create-home", "--shell", "/bin/sh",
                        "--comment", "autograder tests as an ordinary user", USER], check=True)
        return pwd.getpwnam(USER)


def as_user(cmd: list[str], env: dict | None = None, **kwargs) -> subprocess.CompletedProcess:
    """Run ``cmd`` as the ordinary user (``runuser``) with a clean environment plus ``env``."""
    base = {"HOME": str(HOME), "PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8", "USER": USER}
    base.update({k: v for k, v in os.environ.items() if k.startswith("PIP_")})  # the package index settings
    base.update(env or {})
    return subprocess.run(["runuser", "-u", USER, "--", "env", "-i", *[f"{k}={v}" for k, v in base.items()], *cmd],
                          capture_output=True, text=True, **kwargs)


def ensure_venv() -> tuple[Path, float]:
    """The user's venv with the grading requirements (built if missing); and the seconds building it took."""
    pins = "\n".join(requirements()) + "\n"
    digest = hashlib.sha256((pins + SYSTEM_PYTHON).encode()).hexdigest()[:12]
    venv = HOME / f"venv-{digest}"
    if (venv / ".ready").exists():
        return venv, 0.0
    start = time.monotonic()
    shutil.rmtree(venv, ignore_errors=True)
    (HOME / "requirements.txt").write_text(pins)
    os.chown(HOME / "requirements.txt", pwd.getpwnam(USER).pw_uid, pwd.getpwnam(USER).pw_gid)
    for cmd in ([SYSTEM_PYTHON, "-m", "venv", str(venv)],
                [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "-r", str(HOME / "requirements.txt")]):
        done = as_user(cmd, cwd=HOME, timeout=3600)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed as {USER}:\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}")
    (venv / ".ready").write_text(pins)
    return venv, time.monotonic() - start


def copy_checkout(dest: Path) -> Path:
    """A copy of the checkout's files (tracked and new, not ignored) that the ordinary user owns."""
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=REPO, capture_output=True,
                           check=True).stdout.split(b"\0")
    if dest.exists():
        shutil.rmtree(dest)
    for name in filter(None, files):
        src = REPO / name.decode()
        if not src.is_file() or src.is_symlink():
            continue
        target = dest / name.decode()
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, target)
    pw = pwd.getpwnam(USER)
    for dirpath, dirnames, filenames in os.walk(dest):
        os.chown(dirpath, pw.pw_uid, pw.pw_gid)
        for f in filenames:
            os.chown(os.path.join(dirpath, f), pw.pw_uid, pw.pw_gid)
    return dest


def prepare() -> tuple[Path, float]:
    ensure_user()
    HOME.mkdir(parents=True, exist_ok=True)
    pw = pwd.getpwnam(USER)
    os.chown(HOME, pw.pw_uid, pw.pw_gid)
    os.chmod(HOME, 0o755)
    return ensure_venv()


if __name__ == "__main__":
    reason = why_not()
    if reason:
        sys.exit(f"cannot prepare an ordinary user: {reason}")
    venv, seconds = prepare()
    print(f"{USER}: venv {venv} ready" + (f" (built in {seconds:.0f} s)" if seconds else " (reused)"))
