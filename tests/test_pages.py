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


# --- page anatomy (CONTRIBUTING.md, section 6) -------------------------------------------------------------

def _sections(body: str) -> list[str]:
    return re.findall(r"^## (.+?)\s*$", body, re.M)


def test_objectives_come_first_and_hold_their_bullets(page):
    """The learning objectives box opens the page (right after the title), with its bullets inside it."""
    path, text = page
    body = prose(text)
    after_title = body[re.search(r"^# \S.*$", body, re.M).end():].lstrip()
    m = re.match(r"(:{3,})\s*\{admonition\}\s*Learning objectives\s*\n(.*?)^\1\s*$", after_title, re.S | re.M)
    assert m, f"{path}: the first thing after the title must be a ':::{{admonition}} Learning objectives' box"
    bullets = re.findall(r"^\s*[*-] \S", m.group(2), re.M)
    assert 2 <= len(bullets) <= 6, f"{path}: the objectives box holds {len(bullets)} bullets (want 3-5)"


def test_summary_exercises_references_close_the_page(page):
    path, text = page
    sections = _sections(prose(text))
    tail = [s for s in sections if s in ("Summary", "Exercises", "References")]
    assert tail == ["Summary", "Exercises", "References"], f"{path}: sections end with {sections[-4:]}"
    assert sections[-1] == "References", f"{path}: References must be the last section"
    refs = prose(text).split("## References", 1)[1]
    assert "{footbibliography}" in refs, f"{path}: end the page with a {{footbibliography}} directive"
    exercises = prose(text).split("## Exercises", 1)[1].split("## References", 1)[0]
    questions = re.findall(r"^\d+\.\s", exercises, re.M)
    assert 3 <= len(questions) <= 5, f"{path}: {len(questions)} exercise questions (want 3-5 numbered ones)"


def guards(path: Path) -> list[str]:
    """The hidden assertions that keep the page's words true to its numbers."""
    import jupytext

    out = []
    for cell in jupytext.read(path).cells:
        if cell.cell_type == "code" and "remove-cell" in cell.metadata.get("tags", []):
            src = cell.source.strip()
            if src.startswith("# Guard:") and re.search(r"^\s*assert\b", src, re.M):
                out.append(src.splitlines()[0])
    return out


def test_claims_about_results_are_guarded(page):
    """Every page with computed results guards its qualitative claims (`# Guard:` cells, tagged remove-cell)."""
    path, text = page
    found = guards(path)
    print(f"{path.relative_to(REPO)}: {len(found)} guards")
    assert found, f"{path}: no '# Guard:' cell (tags: [remove-cell]) asserting a claim the text makes"


def test_alt_texts_describe_rather_than_name_a_file(page):
    path, text = page
    for alt in re.findall(r"^\s*alt:\s*(.+?)\s*$", text, re.M):
        alt = alt.strip("\"'")
        assert len(alt.split()) >= 4 and not re.search(r"\.(png|svg|jpe?g)$|^_build|/", alt), (
            f"{path}: alt text {alt!r} should say what the figure shows")
