"""Every page, downloaded from the built site, runs outside the repository.

A fresh virtualenv gets only what a reader would install: PyTorch's CPU build (pinned as in requirements.txt),
the wheel of ``attn`` that the site ships in ``_static/`` (with its declared dependencies) and a Jupyter kernel.
Each page's executed notebook, as its download button serves it, is copied to an empty folder and run there
from top to bottom, with no ``PYTHONPATH`` and no checkout of the course on the path.

It runs as another machine would: the quick slice of the variant check (``bookbuild/variants.py``: another seed,
the next CPU kernel path down from this machine's and one thread). The downloaded notebook keeps the page's
hidden guards, so every claim of every page must hold there too, not only in the build's own run.
The virtualenv has no CJK font: a page with Chinese labels must draw them with the font the wheel ships, with no
glyph lost (no warning, no error output).
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from bookbuild.build import REPO, code_pages
from bookbuild.variants import other_machine
from bookbuild.cjk_font import CJK

# Its own group: it waits for the one book build (a file lock), then runs beside the browser tests.
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("download")]

RUNNER = textwrap.dedent('''
    """Run one notebook in this interpreter's kernel; print its seconds; exit 1 on a cell error.

    Before the first cell, a setup cell makes matplotlib record the text of every label it draws. After the last,
    in the same kernel, a check cell asks matplotlib which font draws each CJK character it drew (through its font
    fallback, as the figure did), and whether any other font known to matplotlib has them. (Printed output is
    not drawn by matplotlib: a sampled poem printed under a cell is the browser's to draw.) The last line printed is a JSON report, with the outputs that show a lost glyph: a warning on
    stderr or an error output (an exception while a figure was displayed does not fail the cell).
    """
    import json, re, sys, time
    import nbformat
    from nbclient import NotebookClient

    CJK = re.compile(r"[\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uff00-\uffef]")
    SETUP = """
    import builtins
    import matplotlib.text

    builtins._attn_drawn_text = drawn = []
    _draw = matplotlib.text.Text.draw

    def _recording_draw(self, renderer):
        if self.get_visible() and self.get_text():
            drawn.append(self.get_text())
        return _draw(self, renderer)

    matplotlib.text.Text.draw = _recording_draw
    """
    DRAWN = """
    import builtins, json
    print("DRAWN-TEXT", json.dumps(builtins._attn_drawn_text))
    """
    CHECK = """
    import json
    from matplotlib import font_manager, rcParams
    import attn.plot

    def has(path, ch):
        return font_manager.get_font(path).get_char_index(ord(ch)) != 0

    chars = %r
    chain = [str(font_manager.findfont(font_manager.FontProperties(family=[f]))) for f in rcParams["font.family"]]
    drawn_with = sorted({next((f for f in chain if has(f, ch)), "none") for ch in chars})
    others = sorted({f.fname for f in font_manager.fontManager.ttflist  # (Last Resort: a box for every character)
                     if f.fname != str(attn.plot.CJK_FONT) and "LastResort" not in f.fname and has(f.fname, chars[0])})
    print("CJK-CHECK", json.dumps({"chars": "".join(chars), "drawn_with": drawn_with, "shipped": str(attn.plot.CJK_FONT),
                                   "other_cjk_fonts": others}))
    """

    def text(output):
        return output.get("text", "") + str(output.get("data", {}).get("text/plain", ""))

    nb = nbformat.read(sys.argv[1], as_version=4)
    client = NotebookClient(nb, timeout=300, kernel_name="python3")
    start = time.perf_counter()
    report = {}
    with client.setup_kernel():
        nb.cells.insert(0, nbformat.v4.new_code_cell(SETUP))  # (nbclient writes each cell back at its index)
        for index, cell in enumerate(nb.cells):
            client.execute_cell(cell, index)
        nb.cells.pop(0)
        seconds = time.perf_counter() - start
        code = [c for c in nb.cells if c.cell_type == "code"]
        nb.cells.append(nbformat.v4.new_code_cell(DRAWN))
        drawn = client.execute_cell(nb.cells[-1], len(nb.cells) - 1)
        nb.cells.pop()
        line = next(l for o in drawn.outputs for l in text(o).splitlines() if l.startswith("DRAWN-TEXT "))
        chars = sorted({ch for label in json.loads(line.removeprefix("DRAWN-TEXT ")) for ch in CJK.findall(label)})
        if chars:
            check = nbformat.v4.new_code_cell(CHECK % chars)
            nb.cells.append(check)
            client.execute_cell(check, len(nb.cells) - 1)
            line = next(l for o in check.outputs for l in text(o).splitlines() if l.startswith("CJK-CHECK "))
            report = json.loads(line.removeprefix("CJK-CHECK "))
    report["lost_glyphs"] = [
        text(o) or f"{o.ename}: {o.evalue}" for c in code for o in c.outputs
        if o.output_type == "error" or (o.get("name") == "stderr" and re.search(r"Glyph|missing from font|findfont", text(o)))]
    print(f"{seconds:.1f}")
    print(json.dumps(report))
''')


#: Pages whose code holds Chinese that no figure draws (04: the example's target words, named but not plotted).
PRINTS_CHINESE_ONLY = {"book/04-attention-seq2seq/index.md"}


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
    seconds, report = result.stdout.strip().splitlines()[-2:]
    report = json.loads(report)
    assert report["lost_glyphs"] == [], f"{page}: a figure lost a glyph outside the repository: {report['lost_glyphs']}"
    if CJK.search(_code(REPO / page)) and page not in PRINTS_CHINESE_ONLY:
        assert report.get("chars"), f"{page}: draws Chinese but the check found none"
    if report.get("chars"):
        # Chinese labels (from the code or from data): every character matplotlib drew is drawn with the font the
        # wheel ships (not a pinyin fallback, not an empty box), and matplotlib's fonts without it could not.
        assert "site-packages" in report["shipped"] and str(REPO) not in report["shipped"], report
        assert report["drawn_with"] == [report["shipped"]], f"{page}: Chinese not drawn with attn's font: {report}"
        print(f"{page}: {len(report['chars'])} CJK characters drawn with {Path(report['shipped']).name}; "
              f"other fonts with them known to matplotlib: {report['other_cjk_fonts'] or 'none'}")
    print(f"{page}: ran in {seconds} s in a fresh virtualenv, as {another_machine}")


def _code(page: Path) -> str:
    import jupytext

    return "\n".join(c.source for c in jupytext.read(page).cells if c.cell_type == "code")


def test_the_pages_with_chinese_labels_are_checked():
    """The font check above runs on the pages that draw Chinese (chapters 2, 3 and 4 today)."""
    chinese = [p.relative_to(REPO).as_posix() for p in code_pages(REPO) if CJK.search(_code(p))]
    assert {"book/02-encoder-decoder/index.md", "book/04-attention-seq2seq/crossing.md"} <= set(chinese), chinese
