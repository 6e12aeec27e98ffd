"""Every page, downloaded from the built site, runs outside the repository.

A fresh virtualenv gets only what a reader would install: PyTorch's CPU build (pinned as in requirements.txt),
the wheel of ``attn`` that the site ships in ``_static/`` (with its declared dependencies) and a Jupyter kernel.
Each page's executed notebook, as its download button serves it, is copied to an empty folder and run there
from top to bottom, with no ``PYTHONPATH`` and no checkout of the course on the path.

It runs as another machine would: the quick slice of the variant check (``bookbuild/variants.py``: another seed,
the next CPU kernel path down from this machine's and one thread). The downloaded notebook keeps the page's
hidden guards, so every claim of every page must hold there too, not only in the build's own run.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from bookbuild.build import REPO, code_pages
from bookbuild.variants import other_machine

# Its own group: it waits for the one book build (a file lock), then runs beside the browser tests.
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("download")]

RUNNER = textwrap.dedent('''
    """Run one notebook in this interpreter's kernel; print its seconds; exit 1 on a cell error."""
    import sys, time
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(sys.argv[1], as_version=4)
    start = time.perf_counter()
    NotebookClient(nb, timeout=300, kernel_name="python3").execute()
    print(f"{time.perf_counter() - start:.1f}")
''')


def _pinned(name: str) -> str:
    line = next(l for l in (REPO / "requirements.txt").read_text().splitlines() if l.startswith(f"{name}=="))
    return line.split("#")[0].strip()


def downloaded_notebook(site: Path, page: Path) -> Path:
    """The .ipynb the page's download button links to."""
    html = site / page.relative_to(REPO).with_suffix(".html")
    hrefs = re.findall(r'href="([^"]+\.ipynb)"', html.read_text(encoding="utf-8"))
    ours = [h for h in hrefs if "_sources/" in h]  # (the _downloads/ links are exercise notebooks)
    assert ours, f"{html}: no .ipynb download link"
    return (html.parent / ours[0]).resolve()


@pytest.fixture(scope="module")
def reader_env(built_book, tmp_path_factory) -> Path:
    """A virtualenv with only PyTorch, the site's attn wheel (and its dependencies) and a kernel."""
    (wheel,) = (built_book / "_static").glob("attn-*.whl")
    home = tmp_path_factory.mktemp("reader")
    env = home / "venv"
    # The interpreter that runs the tests, but none of its packages, and no PYTHONPATH: with the checkout on
    # the path, pip would take the course's own `attn` for an installed one and skip the wheel.
    subprocess.run([sys.executable, "-m", "venv", str(env)], check=True, env=_clean_env(home, env / "bin" / "python"))
    py = env / "bin" / "python"
    subprocess.run([str(py), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                    _pinned("torch"), str(wheel), "ipykernel", "nbclient", "nbformat"],
                   check=True, cwd=home, env=_clean_env(home, py))
    return py


def _clean_env(home: Path, python: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "MPLBACKEND", "VIRTUAL_ENV", "JUPYTER_PATH",
                                                            "JUPYTER_CONFIG_PATH", "COURSE_STATIC_FIGURES")}
    env.update(HOME=str(home), JUPYTER_DATA_DIR=str(home / "jupyter"), MPLCONFIGDIR=str(home / "mpl"),
               PATH=os.pathsep.join([str(python.parent), "/usr/bin", "/bin"]))
    return env


def test_the_reader_env_has_no_course_checkout(reader_env, tmp_path):
    probe = "import importlib.util as u; print(u.find_spec('attn').origin, u.find_spec('autograder'), u.find_spec('myst_nb'))"
    out = subprocess.run([str(reader_env), "-c", probe], cwd=tmp_path, env=_clean_env(tmp_path, reader_env),
                         capture_output=True, text=True, check=True).stdout.split()
    assert "site-packages" in out[0] and str(REPO) not in out[0], out
    assert out[1:] == ["None", "None"], "the grader or myst_nb is importable: the test would not prove anything"


@pytest.fixture(scope="module")
def another_machine() -> dict:
    """The environment of the variant check's quick slice (ATTN_SEED_OFFSET, ATEN_CPU_CAPABILITY, OMP_NUM_THREADS)."""
    return other_machine().env()


@pytest.mark.parametrize("page", [p.relative_to(REPO).as_posix() for p in code_pages(REPO)])
def test_downloaded_page_runs_outside_the_repository(built_book, reader_env, another_machine, page, tmp_path):
    notebook = downloaded_notebook(built_book, REPO / page)
    work = tmp_path / "reader"
    work.mkdir()
    copy = work / notebook.name
    copy.write_bytes(notebook.read_bytes())
    (work / "run.py").write_text(RUNNER)
    env = {**_clean_env(tmp_path, reader_env), **another_machine}
    result = subprocess.run([str(reader_env), "run.py", copy.name], cwd=work, env=env,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, f"{page} fails outside the repository, as another machine ({another_machine}):\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    print(f"{page}: ran in {result.stdout.strip().splitlines()[-1]} s in a fresh virtualenv, as {another_machine}")
