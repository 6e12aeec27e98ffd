"""Every chapter page has the shape of a textbook section (fast: reads the MyST sources, no build).

For each page of `_toc.yml` except the front and back matter: a label and a title, learning objectives,
at least one numbered equation and a cross-reference, citations whose keys are in `book/references.bib`,
glossary links, a link to an exercise notebook that exists, and a caption or alt text for every cell
that draws a figure. The browser tests (tests/test_browser.py) check the same things in the built HTML.
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from bookbuild.build import REPO, page_source, toc_pages

FRONT_AND_BACK = {"book/intro", "book/glossary", "book/references"}
CHAPTERS = [p for p in toc_pages(REPO) if p not in FRONT_AND_BACK]
BIB_KEYS = set(re.findall(r"@\w+\s*\{\s*([^,\s]+)\s*,", (REPO / "book" / "references.bib").read_text(encoding="utf-8")))
FENCE = re.compile(r"^(```+|~~~+|:::+)", re.M)


def prose(text: str) -> str:
    """The page without its code cells (so that `# comment` lines are not taken for headings)."""
    out, in_code = [], False
    for line in text.splitlines():
        if re.match(r"^```+\s*\{code-cell\}", line):
            in_code = True
            continue
        if in_code and re.match(r"^```+\s*$", line):
            in_code = False
            continue
        if not in_code:
            out.append(line)
    return "\n".join(out)


def code_cells(path: Path):
    import jupytext

    return [c for c in jupytext.read(path).cells if c.cell_type == "code"], jupytext.read(path).cells


def test_toc_has_chapters_and_back_matter():
    pages = toc_pages(REPO)
    assert pages[0] == "book/intro" and {"book/glossary", "book/references"} <= set(pages)
    assert CHAPTERS, "no chapter in _toc.yml"
    for page in pages:
        page_source(page, REPO)  # raises if the file is missing


def test_no_root_static_folder():
    """Jupyter Book 1 injects every .js of a root `_static/` (and of all html_static_path folders) into
    every page: with MathJax in html_static_path, a root `_static/` would load hundreds of scripts."""
    assert not (REPO / "_static").exists(), "put page assets elsewhere (see _config.yml, html_static_path)"


@pytest.fixture(params=CHAPTERS)
def page(request):
    path = page_source(request.param, REPO)
    return path, path.read_text(encoding="utf-8")


def test_title_and_label(page):
    path, text = page
    body = prose(text)
    titles = re.findall(r"^# \S.*$", body, re.M)
    assert len(titles) == 1, f"{path}: expected one '# Title', found {titles}"
    before = body[: body.index(titles[0])]
    assert re.search(r"^\(sec-[\w-]+\)=\s*$", before, re.M), f"{path}: add a label '(sec-...)=' above the title"


def test_learning_objectives(page):
    path, text = page
    assert re.search(r"^(#{2,4}\s*|:{3,}\s*\{admonition\}\s*|\*\*)Learning objectives", prose(text), re.M | re.I), (
        f"{path}: needs a 'Learning objectives' section or admonition")


def test_numbered_equations_and_cross_references(page):
    path, text = page
    body = prose(text)
    labelled = re.findall(r"^\$\$\s*\(([\w:-]+)\)\s*$", body, re.M) + re.findall(r"\\label\{([^}]+)\}", body)
    assert labelled, f"{path}: no numbered equation ($$ ... $$ (label))"
    refs = re.findall(r"\{(?:eq|ref|numref|doc|term)\}`", body) + re.findall(r"\]\(#[\w-]+\)", body)
    assert refs, f"{path}: no cross-reference ({{eq}}, {{ref}}, {{numref}}, ...)"
    for label in re.findall(r"\{eq\}`([^`<]+)`", body):
        assert label in labelled, f"{path}: {{eq}}`{label}` refers to no equation of this page"


def test_citations_are_in_the_bibliography(page):
    path, text = page
    cited = [k.strip() for group in re.findall(r"\{(?:foot)?cite(?::\w+)?\}`([^`]+)`", text) for k in group.split(",")]
    assert cited, f"{path}: cites nothing ({{footcite}}`key` with keys from book/references.bib)"
    # A page-local {bibliography} with :keyprefix: p- is cited as {cite}`p-key`.
    prefixes = re.findall(r"^:keyprefix:\s*(\S+)\s*$", text, re.M)
    cited = [next((k[len(p):] for p in prefixes if k.startswith(p)), k) for k in cited]
    missing = sorted(set(cited) - BIB_KEYS)
    assert not missing, f"{path}: keys not in book/references.bib: {missing}"


def test_uses_glossary_terms(page):
    path, text = page
    assert re.search(r"\{term\}`", text), f"{path}: link the first use of technical terms to the glossary ({{term}}`...`)"


def test_links_to_an_existing_exercise_notebook(page):
    path, text = page
    targets = re.findall(r"\{download\}`[^`]*?<([^>`]+)>`", text) + re.findall(r"\{download\}`([^`<]+)`", text)
    targets += re.findall(r"\]\(([^)\s]+\.ipynb)\)", text)
    notebooks = [t for t in targets if "exercises/" in t and t.endswith(".ipynb")]
    assert notebooks, f"{path}: no link to its exercise notebook (e.g. {{download}}`... <../../exercises/NN-slug/slug.ipynb>`)"
    for target in notebooks:
        resolved = (path.parent / target).resolve() if not target.startswith("/") else REPO / target.lstrip("/")
        assert resolved.exists(), f"{path}: links to {target}, which does not exist"


FIGURE_CALLS = re.compile(r"\b(show_heatmaps|plt\.(subplots|figure|plot|imshow|bar|scatter|hist|matshow)|static_figure)\(")


def test_every_figure_has_a_caption_or_alt_text(page):
    path, text = page
    if path.suffix != ".md":
        pytest.skip("checked in the browser tests for .ipynb pages")
    import jupytext

    cells = jupytext.read(path).cells
    for i, cell in enumerate(cells):
        # Calls inside a function definition draw only when the function is called (in a later cell).
        top_level = re.sub(r"^(?:def|class) .*?(?=^\S|\Z)", "", cell.source, flags=re.M | re.S)
        if cell.cell_type != "code" or not FIGURE_CALLS.search(top_level):
            continue
        tags = set(cell.metadata.get("tags", []))
        if tags & {"remove-cell", "remove-output"}:
            continue
        if re.search(r"glue\([^)]*display\s*=\s*False", cell.source) or "plt.close" in cell.source:
            continue  # a glued figure: its {glue:figure} needs a caption, which Sphinx checks
        mystnb = cell.metadata.get("mystnb", {})
        described = (mystnb.get("figure", {}).get("caption") or mystnb.get("image", {}).get("alt")
                     or mystnb.get("figure", {}).get("alt"))
        following = cells[i + 1].source.lstrip() if i + 1 < len(cells) and cells[i + 1].cell_type == "markdown" else ""
        described = described or re.match(r"(\*\*|\*|_)?(Figure|Fig\.)", following)
        assert described, (f"{path}: the code cell starting {cell.source.strip().splitlines()[0]!r} draws a figure "
                           "without a caption or alt text (mystnb: figure: caption / image: alt)")
