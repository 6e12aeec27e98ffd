"""The built book, read in a real browser (Debian's chromium driven by Playwright), with no internet.

The site is served on localhost by a throw-away HTTP server; any request to another host is blocked and
counts as a failure. For every page of the table of contents: no console error, no failed request, math
typeset by the site's own MathJax, every image loaded and described; the same for every page of the
Chinese edition (``zh/``), which must also be marked Chinese, render its text with a CJK font and link to
the English page (and back). Then: internal links and anchors of every built page resolve, search finds a
term in both editions (Chinese words segmented by jieba), the download buttons give a valid notebook and the
page's Markdown source. Screenshots go to artifacts/screenshots/ (``zh_*`` for the Chinese edition).

`make test` installs chromium if it is missing (apt-get install chromium).
"""
from __future__ import annotations

import functools
import html.parser
import http.server
import json
import os
import threading
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from bookbuild.build import REPO, toc_pages

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("book")]

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--no-first-run", "--disable-quic", "--disable-sync"]
SCREENSHOTS = REPO / "artifacts" / "screenshots"
PAGES = toc_pages(REPO)
SCREENSHOT_PAGES = {PAGES[0], "book/03-three-stages/index", "book/glossary"}


def html_path(page: str) -> str:
    return page + ".html"


# --- fixtures: the site on localhost, a browser -----------------------------------------------------

class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:  # keep the test output readable
        pass


@pytest.fixture(scope="module")
def site(built_book: Path):
    """Base URL of the built book served on a free localhost port."""
    handler = functools.partial(_QuietHandler, directory=str(built_book))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def browser():
    playwright_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright")
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `apt-get install -y chromium` (make test does it)", pytrace=False)
    with playwright_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        yield browser
        browser.close()


class Visit:
    """One page opened in a fresh browser context, recording everything that went wrong."""

    def __init__(self, browser, site: str):
        self.site = site
        self.context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
        self.page = self.context.new_page()
        self.problems: list[str] = []
        # Nothing may come from another host: block it and record it.
        self.context.route("**/*", self._only_local)
        self.page.on("console", lambda m: m.type == "error" and self.problems.append(f"console error: {m.text}"))
        self.page.on("pageerror", lambda e: self.problems.append(f"page error: {e}"))
        self.page.on("requestfailed", lambda r: self.problems.append(f"request failed: {r.url} ({r.failure})"))
        self.page.on("response", lambda r: r.status >= 400 and self.problems.append(f"HTTP {r.status}: {r.url}"))

    def _only_local(self, route) -> None:
        if route.request.url.startswith(self.site) or route.request.url.startswith(("data:", "blob:")):
            route.continue_()
        else:
            self.problems.append(f"request to another host: {route.request.url}")
            route.abort()

    def open(self, path: str) -> None:
        self.page.goto(self.site + path, wait_until="load")
        # MathJax typesets asynchronously: wait for it when the page loads it.
        self.page.wait_for_function(
            "() => !window.MathJax || (MathJax.startup && MathJax.startup.promise"
            " && MathJax.startup.promise.then(() => true))", timeout=30_000)
        self.page.wait_for_load_state("networkidle")

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def visit(browser, site):
    v = Visit(browser, site)
    yield v
    v.close()


# --- every page of the table of contents -------------------------------------------------------------

EDITIONS = PAGES + ["zh/" + page for page in PAGES]
# Fonts with Chinese glyphs that the Chinese edition's stylesheet names (Debian: fonts-wqy-zenhei, fonts-noto-cjk).
CJK_FONTS = ["Noto Sans CJK SC", "Source Han Sans SC", "WenQuanYi Zen Hei"]


def first_heading(page_html: str) -> str:
    """The text of the first <h1> of a built page (its permalink sign removed)."""
    import re

    m = re.search(r"<h1[^>]*>(.*?)</h1>", page_html, re.S)
    text = re.sub(r"<a class=\"headerlink\".*?</a>", "", m.group(1), flags=re.S) if m else ""
    return html.unescape(re.sub(r"<[^>]+>", "", text)).strip()


CJK_HINTS = ["WenQuanYi", "Noto Sans CJK", "Noto Serif CJK", "Source Han", "Droid Sans Fallback"]


def rendering_fonts(page, selector: str) -> dict[str, int]:
    """The fonts the browser actually drew an element's text with, and how many glyphs each drew (Chrome's
    DevTools protocol: ``CSS.getPlatformFontsForNode``). A page whose Chinese falls back to boxes has no CJK font."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("DOM.enable")
    cdp.send("CSS.enable")
    root = cdp.send("DOM.getDocument", {"depth": -1})["root"]["nodeId"]
    node = cdp.send("DOM.querySelector", {"nodeId": root, "selector": selector})["nodeId"]
    fonts = cdp.send("CSS.getPlatformFontsForNode", {"nodeId": node})["fonts"]
    cdp.detach()
    return {f["familyName"]: int(f["glyphCount"]) for f in fonts}


@pytest.mark.parametrize("page", EDITIONS)
def test_page_loads_cleanly_with_math_and_figures(visit, page, built_book):
    visit.open(html_path(page))
    p = visit.page
    assert p.title(), "page has no <title>"
    assert p.locator("article h1, main h1").count() >= 1, "page has no heading"
    zh = page.startswith("zh/")
    lang = p.evaluate("() => document.documentElement.lang")
    assert lang.lower().startswith("zh" if zh else "en"), f"<html lang={lang!r}>"
    # The link to the same page in the other edition exists and resolves to that page.
    switch = p.locator("p.lang-switch a")
    assert switch.count() == 1, "no link to the other language's edition"
    other = urllib.parse.urljoin(p.url, switch.get_attribute("href"))
    want = visit.site + (page.removeprefix("zh/") if zh else "zh/" + page) + ".html"
    assert other == want, f"language link goes to {other}, expected {want}"
    if zh:
        text = p.evaluate("() => document.querySelector('article').innerText")
        han = sum('\u4e00' <= ch <= '\u9fff' for ch in text)
        latin = sum(ch.isascii() and ch.isalpha() for ch in text)
        assert han > 50, f"only {han} Chinese characters on a page of the Chinese edition"
        heading = p.locator("article h1").first.inner_text().strip().rstrip("#").strip()
        english = first_heading((built_book / (page.removeprefix("zh/") + ".html")).read_text(encoding="utf-8"))
        # Translated: Chinese, or at least not the English title (a name such as "Transformer" may stay Latin).
        assert heading != english and (any('\u4e00' <= ch <= '\u9fff' for ch in heading) or len(heading) < len(english)), (
            f"untranslated heading {heading!r} (English: {english!r})")
        # The first paragraph with Chinese in it, marked so that the DevTools protocol can find it.
        p.evaluate("""() => { const el = [...document.querySelectorAll('article p')]
                                  .find(e => /[\u4e00-\u9fff]/.test(e.textContent));
                               if (el) el.id = 'first-chinese-paragraph'; }""")
        used = rendering_fonts(p, "#first-chinese-paragraph")
        cjk = {name: n for name, n in used.items() if any(f.lower() in name.lower() for f in CJK_FONTS + CJK_HINTS)}
        assert cjk, f"the Chinese text is not drawn with a CJK font (fonts used: {used}); install fonts-wqy-zenhei"
        print(f"{page}: {han} Chinese characters, {latin} Latin letters (code and names); text drawn with {cjk}")

    math = p.evaluate("""() => {
        const maths = [...document.querySelectorAll('article .math, article span.math, article div.math')];
        const untypeset = maths.filter(m => !m.querySelector('mjx-container')).map(m => m.textContent.slice(0, 80));
        const clone = document.querySelector('article').cloneNode(true);
        clone.querySelectorAll('pre, code, script, style, .highlight').forEach(e => e.remove());
        const text = clone.textContent;
        return {count: maths.length, untypeset, rawDollars: text.includes('$$'),
                rawInline: /\\\\\\(|\\\\\\)/.test(text)};
    }""")
    assert not math["untypeset"], f"math left untypeset: {math['untypeset'][:3]}"
    assert not math["rawDollars"], "raw $$ left in the text (math not parsed)"
    if math["count"]:
        assert p.locator("mjx-container").count() >= math["count"], "MathJax output missing"

    images = p.evaluate("""() => [...document.querySelectorAll('img')].map(img => {
        const cell = img.closest('.cell, .cell_output');
        const next = cell && cell.closest('.cell') ? cell.closest('.cell').nextElementSibling : null;
        const file = (img.getAttribute('src') || '').split('/').pop();
        return {src: img.currentSrc || img.src, ok: img.complete && img.naturalWidth > 0,
                inArticle: !!img.closest('article'),
                alt: (img.getAttribute('alt') || '').trim(), file,
                caption: !!(img.closest('figure') && img.closest('figure').querySelector('figcaption')),
                textAfter: next ? next.textContent.trim().slice(0, 40) : ''};
    })""")
    broken = [i["src"] for i in images if not i["ok"]]
    assert not broken, f"images that did not load: {broken}"
    for img in images:
        if not img["inArticle"]:
            continue
        described = (img["alt"] and not img["alt"].endswith(img["file"])) or img["caption"] \
            or img["textAfter"].lower().startswith(("figure", "fig."))
        assert described, (f"figure {img['file']} has neither alt text, nor a caption, nor a 'Figure ...' "
                           "paragraph right after its cell")

    assert not visit.problems, "\n".join(visit.problems)
    if page.removeprefix("zh/") in SCREENSHOT_PAGES:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        p.screenshot(path=str(SCREENSHOTS / (page.replace("/", "_") + ".png")), full_page=True)


# --- links and anchors of every built page (parsed, no browser needed) ------------------------------

class _LinksAndIds(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.links: list[str] = []
        self.ids: set[str] = set()

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        for key in ("id", "name"):
            if attrs.get(key):
                self.ids.add(attrs[key])
        if tag == "a" and attrs.get("href"):
            self.links.append(attrs["href"])
        if tag in ("img", "script") and attrs.get("src"):
            self.links.append(attrs["src"])
        if tag == "link" and attrs.get("href"):
            self.links.append(attrs["href"])


def test_internal_links_and_anchors_resolve(built_book):
    parsed: dict[Path, _LinksAndIds] = {}

    def parse(path: Path) -> _LinksAndIds:
        if path not in parsed:
            parser = _LinksAndIds()
            parser.feed(path.read_text(encoding="utf-8", errors="replace"))
            parsed[path] = parser
        return parsed[path]

    pages = [p for p in built_book.rglob("*.html") if "_static" not in p.relative_to(built_book).parts]
    broken, checked = [], 0
    for page in pages:
        for href in parse(page).links:
            url = urllib.parse.urlsplit(href)
            if url.scheme or url.netloc or href.startswith(("mailto:", "javascript:")):
                continue
            target = (page.parent / urllib.parse.unquote(url.path)).resolve() if url.path else page
            if target.is_dir():
                target = target / "index.html"
            checked += 1
            if not target.exists():
                broken.append(f"{page.relative_to(built_book)}: {href} (no such file)")
            elif url.fragment and target.suffix == ".html" and urllib.parse.unquote(url.fragment) not in parse(target).ids:
                broken.append(f"{page.relative_to(built_book)}: {href} (no such anchor)")
    print(f"checked {checked} internal links and anchors in {len(pages)} pages")
    assert checked > 0
    assert not broken, "\n".join(broken[:30])


# --- search, downloads -------------------------------------------------------------------------------

def test_search_finds_a_term(visit):
    visit.open("search.html?q=attention")
    visit.page.wait_for_selector("ul.search li", timeout=30_000)
    results = visit.page.locator("ul.search li").all_inner_texts()
    assert results, "search for 'attention' found nothing"
    assert any("Glossary" in r or "attention" in r.lower() for r in results)
    assert not visit.problems, "\n".join(visit.problems)


@pytest.mark.parametrize("word", ["注意力", "自注意力", "位置编码"])
def test_chinese_search_finds_chinese_words(visit, word):
    """The Chinese edition's search (Sphinx's Chinese search, words segmented by jieba) finds the word in the
    pages that teach it, and every result it lists contains the word."""
    visit.open("zh/search.html?q=" + urllib.parse.quote(word))
    visit.page.wait_for_selector("ul.search li", timeout=30_000)
    results = visit.page.locator("ul.search li").all_inner_texts()
    assert len(results) >= 2, f"search for {word!r} found {len(results)} page(s)"
    assert any(word in r for r in results), f"no result shows {word!r}: {results[:3]}"
    assert not visit.problems, "\n".join(visit.problems)


def _notebook_pages() -> list[str]:
    from bookbuild.build import page_source

    return [p for p in PAGES if page_source(p, REPO).suffix == ".ipynb"
            or "```{code-cell}" in page_source(p, REPO).read_text(encoding="utf-8")]


@pytest.mark.parametrize("page", _notebook_pages())
def test_download_buttons_give_the_notebook_and_its_source(visit, page):
    import nbformat

    visit.open(html_path(page))
    p = visit.page
    hrefs = p.eval_on_selector_all(".dropdown-download-buttons a, a.btn-download-source-button, "
                                   "a[href*='_sources/']", "els => els.map(e => e.href)")
    notebooks = [h for h in hrefs if h.endswith(".ipynb")]
    sources = [h for h in hrefs if h.endswith(".md")]
    assert notebooks, "no .ipynb download button"
    assert sources, "no .md download button"

    with urllib.request.urlopen(notebooks[0]) as response:
        nb = nbformat.reads(response.read().decode("utf-8"), as_version=4)
    nbformat.validate(nb)
    assert any(c.cell_type == "code" for c in nb.cells)
    with urllib.request.urlopen(sources[0]) as response:
        text = response.read().decode("utf-8")
    assert "```{code-cell}" in text and text.lstrip().startswith("---")

    # The button really downloads when clicked (the browser gets a file, not an error page).
    button = p.locator(f"a[href$='{Path(urllib.parse.urlsplit(notebooks[0]).path).name}']").first
    p.locator("button[aria-label='Download this page']").first.click()
    with p.expect_download(timeout=15_000) as info:
        button.click()
    saved = info.value.path()
    json.loads(Path(saved).read_text(encoding="utf-8"))
    assert not visit.problems, "\n".join(visit.problems)


# --- graders' feedback renders math offline -----------------------------------------------------------

def test_feedback_html_typesets_math_offline(browser, tmp_path):
    """A feedback page rewritten by autograder.reports.offline typesets its math from a file:// URL, no network."""
    from autograder.reports.offline import offline_html
    from tests.test_offline import nbconvert_mathjax_page

    page_file = tmp_path / "feedback.html"
    page_file.write_text(offline_html(nbconvert_mathjax_page()), encoding="utf-8")
    context = browser.new_context()
    remote: list[str] = []
    context.route("http*://**/*", lambda route: (remote.append(route.request.url), route.abort()))
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: m.type == "error" and errors.append(m.text))
    page.goto(page_file.as_uri(), wait_until="load")
    page.wait_for_function("() => window.MathJax && MathJax.startup && MathJax.startup.promise"
                           " && MathJax.startup.promise.then(() => true)", timeout=30_000)
    assert page.locator("mjx-container").count() == 2
    assert "$" not in page.locator("body").inner_text()
    context.close()
    assert not remote and not errors, remote + errors


def test_glossary_entries_link_back_to_the_chapters(built_book):
    """Each glossary entry that a chapter links with {term} points back to that chapter's section."""
    import re

    from bookbuild.build import page_source

    used = set()
    for page in PAGES:
        if page != "book/glossary":
            for ref in re.findall(r"\{term\}`([^`]+)`", page_source(page, REPO).read_text(encoding="utf-8")):
                target = re.search(r"<([^>]+)>", ref)
                used.add((target.group(1) if target else ref).strip().lower())
    text = (built_book / "book" / "glossary.html").read_text(encoding="utf-8")
    entries = {}
    for chunk in text.split("<dt ")[1:]:
        dt = re.sub(r'<a class="headerlink".*?</a>', "", chunk.split("</dt>")[0].split(">", 1)[1])
        name = re.sub(r"<[^>]+>", "", dt).strip().lower()
        entries[name] = chunk.split("</dd>")[0]
    assert used, "no page links a glossary term"
    for term in used:
        assert term in entries, f"{term!r} is not a glossary entry"
        assert 'class="glossary-uses"' in entries[term] and "First used in" in entries[term], (
            f"glossary entry {term!r} does not link back to the pages that use it")


@pytest.mark.parametrize("page", _notebook_pages())
def test_launch_buttons_come_from_the_config(built_book, page):
    """Binder opens the page, Colab opens the chapter's exercise notebook; both use _config.yml's repository."""
    import re

    import yaml

    from bookbuild.build import page_source

    config = yaml.safe_load((REPO / "_config.yml").read_text(encoding="utf-8"))
    repo_url = config["repository"]["url"].rstrip("/")
    org_repo = "/".join(repo_url.split("/")[-2:])
    text = (built_book / html_path(page)).read_text(encoding="utf-8")
    links = re.findall(r'href="(https://[^"]+)"', text)
    launch = config["launch_buttons"]
    if launch.get("binderhub_url"):
        binder = [u for u in links if u.startswith(launch["binderhub_url"].rstrip("/"))]
        assert binder and f"/gh/{org_repo}/" in binder[0] and binder[0].endswith(f"{page}.md"), binder
    source = page_source(page, REPO).read_text(encoding="utf-8")
    if launch.get("colab_url") and re.search(r"exercises/[^`>)\s]+\.ipynb", source):
        colab = [u for u in links if u.startswith(launch["colab_url"].rstrip("/"))]
        assert colab, "no Colab button"
        path = colab[0].split("/blob/", 1)[1].split("/", 1)[1]
        assert path.startswith("exercises/") and (REPO / path).exists(), colab[0]
    for secret in ("token=", "access_token", "api_key", "password"):
        assert secret not in " ".join(links).lower()


def test_book_also_works_opened_as_files(browser, built_book):
    """README: 'open _build/html/index.html' (file://, no server): math and figures still render."""
    context = browser.new_context()
    problems: list[str] = []
    context.route("http*://**/*", lambda route: (problems.append(f"remote: {route.request.url}"), route.abort()))
    page = context.new_page()
    page.on("console", lambda m: m.type == "error" and problems.append(f"console error: {m.text}"))
    page.on("requestfailed", lambda r: problems.append(f"request failed: {r.url}"))
    chapter = next((p for p in PAGES if p not in ("book/intro", "book/glossary", "book/references")), "book/glossary")
    page.goto((built_book / html_path(chapter)).as_uri(), wait_until="load")
    page.wait_for_function("() => !window.MathJax || (MathJax.startup && MathJax.startup.promise"
                           " && MathJax.startup.promise.then(() => true))", timeout=30_000)
    assert page.evaluate("[...document.images].every(i => i.complete && i.naturalWidth > 0)")
    if page.locator("article .math").count():
        assert page.locator("mjx-container").count() > 0
    context.close()
    assert not problems, "\n".join(problems)


class _ArticleText(html.parser.HTMLParser):
    """Text of the <article> in order, each piece marked: in a glossary link, plain prose, or skipped."""

    VOID = {"img", "br", "hr", "input", "meta", "link", "wbr", "source", "col"}
    # <object>: a diagram's SVG, whose fallback text (its alt text) is shown only if the SVG cannot be.
    SKIP_TAGS = {"pre", "code", "script", "style", "h1", "h2", "h3", "h4", "h5", "h6", "figcaption", "dt", "object"}
    SKIP_CLASSES = {"math", "cell_output", "admonition-title", "headerlink", "glossary-uses", "citation", "footnote",
                    "sidebar", "topic", "caption", "rubric"}

    def __init__(self):
        super().__init__()
        self.stack: list[tuple[str, str]] = []  # (tag, "glossary" | "skip" | "")
        self.in_article = 0
        self.pieces: list[tuple[str, str, str]] = []  # (mark, text, glossary id linked or "")
        self.term_id = ""

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "article":
            self.in_article += 1
        if tag in self.VOID:
            return
        classes = set((attrs.get("class") or "").split())
        mark = ""
        if tag in self.SKIP_TAGS or classes & self.SKIP_CLASSES:
            mark = "skip"
        elif tag == "a":
            href = attrs.get("href") or ""
            mark = "glossary" if "glossary.html#term-" in href or href.startswith("#term-") else "skip"
            if mark == "glossary":
                self.term_id = href.split("#", 1)[1].lower()
        self.stack.append((tag, mark))

    def handle_endtag(self, tag):
        if tag == "article":
            self.in_article -= 1
        if tag in self.VOID:
            return
        for i in range(len(self.stack) - 1, -1, -1):
            if self.stack[i][0] == tag:
                del self.stack[i:]
                break

    def handle_data(self, data):
        if self.in_article and data.strip():
            marks = {m for _, m in self.stack}
            mark = "skip" if "skip" in marks else "glossary" if "glossary" in marks else ""
            self.pieces.append((mark, data, self.term_id if mark == "glossary" else ""))


@pytest.mark.parametrize("page", [p for p in PAGES if p not in ("book/glossary", "book/references")])
def test_first_use_of_each_glossary_term_links_to_the_glossary(built_book, page):
    import re

    from bookbuild.sphinx_ext import everyday_words
    from tests.test_glossary import ENTRIES

    parser = _ArticleText()
    parser.feed((built_book / html_path(page)).read_text(encoding="utf-8"))
    seen, early = set(), []
    everyday = everyday_words(REPO)  # linked only where a page writes {term}: "keys" may be a house's
    for term in sorted(set(ENTRIES) - everyday, key=len, reverse=True):
        word = re.compile(rf"(?<![\w-]){re.escape(term)}(s|es)?(?![\w-])", re.I)
        term_id = "term-" + re.sub(r"[^a-z0-9]+", "-", term).strip("-")
        for mark, text, linked in parser.pieces:
            if mark == "glossary" and linked == term_id:
                seen.add(term)
                break  # linked (perhaps with other words: {term}`Top-down <top-down attention>`)
            if mark == "skip" or not word.search(text):
                continue
            if mark == "":
                # a longer term containing this one (e.g. 'soft attention') may have taken the link
                longer = [t for t in seen if term in t and re.search(re.escape(t), text, re.I)]
                if not longer:
                    early.append(f"{term!r} first appears unlinked in: {text.strip()[:80]!r}")
            seen.add(term)
            break
    assert not early, "\n".join(early)
    # Hovering a glossary link shows the Chinese term.
    text = (built_book / html_path(page)).read_text(encoding="utf-8")
    titles = re.findall(r'href="[^"]*glossary\.html#term-[^"]*"[^>]*title="([^"]*)"', text)
    links = re.findall(r'href="[^"]*glossary\.html#term-', text)
    assert len(titles) == len(links) and all(re.search(r"[\u4e00-\u9fff]", t) for t in titles)
