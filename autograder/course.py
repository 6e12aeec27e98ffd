"""The course's paths and options, defined once: every other module of ``autograder`` reads them from here.

``REPO`` is the checkout; ``solutions/`` holds the instructor's notebooks, ``exercises/`` their release. The
grading folder (``grading/`` by default) is the term's: its gradebook, one folder per assignment, and nbgrader's
course layout (``autograded/``, ``source/``, ``release/``). The course folder (``$ATTN_COURSE_DIR``, default
``~/attention-course``) is where nbgrader's exchange puts student work, outside the checkout.
"""
from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PACKAGE = REPO / "autograder"
CONFIG = PACKAGE / "nbgrader_config.py"
SOLUTIONS = REPO / "solutions"
EXERCISES = REPO / "exercises"
LOCALES = REPO / "locales"
DEFAULT_ROOT = REPO / "grading"


def assignments() -> list[str]:
    """Every assignment id: the folders of ``solutions/`` that hold a notebook."""
    return sorted(p.name for p in SOLUTIONS.iterdir() if p.is_dir() and any(p.glob("*.ipynb")))


def course_dir(env: dict[str, str] | None = None) -> Path:
    """The course folder the course's nbgrader_config.py names (``$ATTN_COURSE_DIR``, else ``~/attention-course``,
    or ``~/attention-course-zh`` for the Chinese class, ``ATTN_LANGUAGE=zh``)."""
    env = env if env is not None else dict(os.environ)
    suffix = "-zh" if (env.get("ATTN_LANGUAGE") or "en").lower().startswith("zh") else ""  # the Chinese class
    return Path(env.get("ATTN_COURSE_DIR") or Path.home() / f"attention-course{suffix}").expanduser().resolve()


def interpreter_on_path() -> None:
    """nbgrader creates or migrates a gradebook by running ``alembic`` from PATH: put this interpreter's first."""
    bindir = str(Path(sys.executable).parent)
    if bindir not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = os.pathsep.join([bindir, os.environ.get("PATH", "")])


def nbgrader_env(**extra: str) -> dict[str, str]:
    """The environment nbgrader runs in: it finds the course's config through JUPYTER_CONFIG_PATH."""
    env = dict(os.environ)
    env["JUPYTER_CONFIG_PATH"] = os.pathsep.join(filter(None, [str(CONFIG.parent), env.get("JUPYTER_CONFIG_PATH")]))
    # nbgrader runs `alembic` (and kernels) from PATH: put this interpreter's bin folder first.
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    env.update(extra)
    return env


def private_dir(path: Path) -> Path:
    """Create ``path`` (and missing parents) mode 700, as the course folder is: it holds student work and secrets."""
    path = Path(path)
    missing = []
    probe = path
    while not probe.exists():
        missing.append(probe)
        probe = probe.parent
    for folder in reversed(missing):
        folder.mkdir(mode=0o700)
        os.chmod(folder, 0o700)  # whatever the umask
    return path


#: What the grader writes in a grading root besides the assignments' folders.
GRADING_ENTRIES = ("gradebook.db", "grades.csv", "autograded", "source", "release")


def _shared(folder: Path) -> bool:
    """Folders never made private, whatever ``--out`` says: the file system's root, temp and home, the checkout."""
    import tempfile

    folder = Path(folder).resolve()
    return folder in {Path("/"), Path(tempfile.gettempdir()).resolve(), Path.home().resolve(), REPO.resolve()}


def secure(root: Path, *outs: Path) -> None:
    """Make the grading root private, like the course folder: what the grader wrote in it (the
    gradebook, ``grades.csv``, nbgrader's folders and each assignment's folder ``outs``) mode 700 for folders and
    600 for files: they hold submission secrets, student notebooks and feedback. Symbolic links are not followed,
    and nothing else in the root is touched."""
    root = Path(root)  # itself left as it is: it may hold other things (made here, it is made mode 700)
    for path in [root / name for name in GRADING_ENTRIES] + [Path(o) for o in outs]:
        if path.is_symlink() or not path.exists() or _shared(path):
            continue
        if path.is_file():
            os.chmod(path, 0o600)
        else:
            _private_tree(path)


def _private_tree(top: Path) -> None:
    os.chmod(top, 0o700)
    for dirpath, dirnames, filenames in os.walk(top):
        for name in dirnames:
            path = os.path.join(dirpath, name)
            if not os.path.islink(path):
                os.chmod(path, 0o700)
        for name in filenames:
            path = os.path.join(dirpath, name)
            if not os.path.islink(path):
                os.chmod(path, 0o600)


@dataclass(frozen=True)
class Course:
    """One term's grading folder and gradebook: where every command reads and writes.

    ``root`` is the grading folder (``--out-root``, default ``grading/``), ``db`` a gradebook URL (``--db``; default
    ``sqlite:///ROOT/gradebook.db``, one for every assignment).
    """

    root: Path = DEFAULT_ROOT
    db: str | None = None

    @classmethod
    def from_options(cls, out_root: Path | None = None, db: str | None = None, out: Path | None = None) -> "Course":
        """From the commands' ``--out-root``/``--db`` (and ``grade --out``, whose parent is the root)."""
        if out is not None:
            return cls(Path(out).parent, db)
        return cls(Path(out_root) if out_root else DEFAULT_ROOT, db)

    def out(self, assignment: str) -> Path:
        """The assignment's reports: ``ROOT/<assignment>``."""
        return self.root / assignment

    @property
    def db_url(self) -> str:
        return self.db or f"sqlite:///{(self.root / 'gradebook.db').resolve()}"

    @property
    def has_gradebook(self) -> bool:
        return self.db is not None or (self.root / "gradebook.db").exists()

    @property
    def config_files(self) -> tuple[Path, ...]:
        """nbgrader configuration files a term may add (``ROOT/nbgrader_config.py``), after the course's."""
        return (self.root / "nbgrader_config.py",)
