"""The CJK font attn ships: it holds every character the book draws, matplotlib draws Chinese with it on a machine
with no CJK font and no warning, and a character it lacks stops the figure, the page and the build with a clear
message (``attn.plot.MissingGlyphError``) instead of an empty box."""
from __future__ import annotations

import fnmatch
import os
import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path

import pytest
from fontTools.ttLib import TTFont

from bookbuild.cjk_font import CJK, FAMILY, FONT_FILE, PUNCTUATION, drawn_characters

from tests import REPO
MISSING = "猫"  # U+732B: drawn by no page, so not in the subset (nor in matplotlib's DejaVu Sans)


def _cmap(path: Path = FONT_FILE) -> set[str]:
    return {chr(c) for c in TTFont(str(path))["cmap"].getBestCmap()}


def _python(code: str, tmp_path: Path) -> subprocess.CompletedProcess:
    """Run ``code`` in a fresh interpreter (fresh matplotlib state and font cache), warnings shown on stderr."""
    env = {**os.environ, "MPLBACKEND": "Agg", "MPLCONFIGDIR": str(tmp_path / "mpl"),
           "PYTHONPATH": os.pathsep.join([str(REPO), str(REPO / "lib")])}
    return subprocess.run([sys.executable, "-W", "always", "-c", textwrap.dedent(code)], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120)


def test_the_subset_has_every_cjk_character_the_book_draws():
    drawn = drawn_characters(REPO)
    assert "汤" in drawn and "追" in drawn, "the scan of the pages' code cells found no Chinese"
    lacking = {ch: sorted(files) for ch, files in drawn.items() if ch not in _cmap()}
    assert lacking == {}, (f"pages draw CJK characters the font attn ships lacks: {lacking}; "
                           "regenerate it: python -m bookbuild.cjk_font (lib/attn/data/fonts/README.md)")
    assert set(PUNCTUATION) <= _cmap(), "CJK punctuation and full-width forms"
    assert MISSING not in _cmap() and MISSING not in drawn


def test_the_font_is_small_licensed_and_in_the_wheel():
    font = TTFont(str(FONT_FILE))
    names = font["name"]
    assert names.getDebugName(1) == FAMILY and "Source" not in FAMILY  # the OFL's Reserved Font Name
    assert "Open Font License" in (names.getDebugName(13) or "")
    assert "glyf" in font and "CFF " not in font, "TrueType outlines: matplotlib can embed them in PDF and PS"
    size = FONT_FILE.stat().st_size
    print(f"{FONT_FILE.name}: {size / 1024:.0f} KiB, {len(font.getGlyphOrder())} glyphs, {len(_cmap())} characters")
    assert size < 150_000, f"the subset grew to {size} bytes"
    license_file = FONT_FILE.parent / "OFL.txt"
    assert "SIL OPEN FONT LICENSE Version 1.1" in license_file.read_text(encoding="utf-8")
    # Package data of the wheel the site ships (lib/pyproject.toml): the font and its license travel together.
    globs = tomllib.loads((REPO / "lib" / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]["attn"]
    package = REPO / "lib" / "attn"
    for path in (FONT_FILE, license_file):
        rel = path.relative_to(package).as_posix()
        assert any(fnmatch.fnmatch(rel, g) and rel.count("/") == g.count("/") for g in globs), (rel, globs)


def test_chinese_is_drawn_with_the_shipped_font_without_any_warning(tmp_path):
    """With matplotlib's own fonts only (the machine's CJK fonts are not in matplotlib's default families), every
    character the book draws comes from the shipped font, in every output format, with nothing on stderr."""
    chars = "".join(sorted(drawn_characters(REPO)))
    result = _python(f"""
        import matplotlib
        from matplotlib import font_manager, rcParams
        from fontTools.ttLib import TTFont
        import attn.plot
        import matplotlib.pyplot as plt
        chars = {chars!r}
        fonts = [str(font_manager.findfont(font_manager.FontProperties(family=[f]))) for f in rcParams["font.family"]]
        drawn_with = set()
        for ch in chars:
            drawn_with.add(next(f for f in fonts if ord(ch) in TTFont(f, fontNumber=0)["cmap"].getBestCmap()))
        print("FONTS", sorted(drawn_with))
        fig = attn.plot.show_heatmaps([[0.5, 0.5], [0.2, 0.8]], xlabels=["Tom", "汤姆，"], ylabels=["追逐", "杰瑞"],
                                      titles=[chars[:20]])
        fig.suptitle(chars[20:], fontweight="bold")
        for ext in ("png", "pdf", "svg", "ps"):
            fig.savefig("figure." + ext)
        print("OK")
    """, tmp_path)
    assert result.returncode == 0 and result.stderr == "", result.stderr[-3000:]
    assert f"FONTS ['{FONT_FILE}']" in result.stdout, result.stdout


def test_a_character_no_font_has_raises_a_clear_error(tmp_path):
    result = _python(f"""
        import attn.plot
        import matplotlib.pyplot as plt
        fig, ax = plt.subplots()
        ax.set_title("汤姆 {MISSING}")
        fig.savefig("figure.png")
    """, tmp_path)
    assert result.returncode == 1
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("attn.plot.MissingGlyphError: no font can draw '猫' (U+732B CJK UNIFIED IDEOGRAPH-732B)"), last
    assert "use_cjk_font(path)" in last and "python -m bookbuild.cjk_font" in last, last
    assert "missing from font" not in result.stderr, "matplotlib's own warning should not be shown as well"


def test_without_the_shipped_font_matplotlib_would_lose_the_glyphs(tmp_path):
    """The control: matplotlib's default fonts cannot draw the book's Chinese, so the tests above prove the
    shipped font does."""
    result = _python("""
        import matplotlib.pyplot as plt
        fig, ax = plt.subplots()
        ax.set_title("汤姆")
        fig.savefig("figure.png")
    """, tmp_path)
    assert "missing from font(s) DejaVu Sans" in result.stderr, result.stderr


def test_run_page_reports_a_missing_glyph_in_a_displayed_figure(tmp_path, monkeypatch):
    """IPython turns an exception raised while a figure is displayed into an error output and finishes the cell;
    run-page (and the build, through the Sphinx extension) must still report it."""
    from bookbuild.run_page import run_page

    page = tmp_path / "page.md"
    page.write_text(textwrap.dedent(f"""\
        ---
        jupytext:
          text_representation:
            extension: .md
            format_name: myst
        kernelspec:
          display_name: Python 3
          language: python
          name: python3
        ---

        ```{{code-cell}} ipython3
        %matplotlib inline
        import matplotlib.pyplot as plt
        from attn.plot import show_heatmaps
        ```

        ```{{code-cell}} ipython3
        show_heatmaps([[1.0, 0.0], [0.0, 1.0]], ylabels=["汤姆", "{MISSING}"])
        plt.show()
        ```
        """), encoding="utf-8")
    monkeypatch.setenv("MPLCONFIGDIR", str(tmp_path / "mpl"))
    monkeypatch.setenv("MPLBACKEND", "Agg")  # run_page removes it; monkeypatch puts it back
    _, problems = run_page(page)
    assert any("MissingGlyphError: no font can draw '猫' (U+732B" in p for p in problems), problems


def test_the_build_warns_on_an_error_output():
    """The Sphinx extension warns (and the -W build fails) on a traceback in a page, not in a raises-exception cell."""
    from docutils import nodes

    from bookbuild.sphinx_ext import error_outputs

    def cell(*classes):
        block = nodes.literal_block("", "Traceback\nMissingGlyphError: no font can draw '猫'\n",
                                    classes=["output", "traceback"])
        return nodes.container("", nodes.container("", block, classes=["cell_output"]), classes=["cell", *classes])

    doc = nodes.section("", cell(), cell("tag_raises-exception"),
                        nodes.container("", nodes.literal_block("", "text", classes=["output", "stream"])))
    assert [text for _, text in error_outputs(doc)] == ["MissingGlyphError: no font can draw '猫'"]


@pytest.mark.parametrize("text, cjk", [("汤姆", True), ("，", True), ("Tāngmǔ", False), ("→ ×", False)])
def test_what_counts_as_cjk(text, cjk):
    assert bool(CJK.search(text)) == cjk


def _make_n(target: str) -> str:
    """The commands ``make TARGET`` would run on a machine with none of the system packages installed."""
    missing = [f"{v}=/nonexistent/{v.lower()}" for v in ("DOT", "CHROMIUM", "CJK_BROWSER_FONT")]
    return subprocess.run(["make", "-n", "STAMP=", "ASSETS=", *missing, target], capture_output=True, text=True,
                          cwd=REPO, check=True).stdout


def test_make_book_installs_what_the_build_needs_and_no_font():
    book = _make_n("book")
    assert "apt-get install -y graphviz" in book and "bookbuild build" in book, book
    assert "fonts-" not in book, "the book's figures draw Chinese with the font attn ships: no system font"
    test = _make_n("test")
    assert "apt-get install -y chromium" in test and "apt-get install -y fonts-wqy-zenhei" in test, test
