"""Sphinx extension of the online book (listed in ``_config.yml`` under ``sphinx.extra_extensions``).

It keeps the built site self-contained and checks it while it is built, for every page, including
pages added later:

* MathJax 3 is served from the site (``node_modules/mathjax``, installed by ``npm ci``; see
  ``bookbuild/build.py``); the build stops with a clear message if it is missing.
* Widgets saved in a page's outputs are drawn as static HTML from their saved state, except tqdm.auto's
  progress bars, which are dropped (no bar is left in the built pages): the book loads no widget JavaScript
  (``nb_ipywidgets_js`` is empty in _config.yml).
* The wheel of the book's package ``attn`` is copied into the site's ``_static/`` (readers install it).
* Colab's launch button, which cannot open a Markdown page, opens the page's exercise notebook.
* sphinx-thebe's loader (which points at unpkg.com and needs a live Binder anyway) is dropped from
  every page, and any ``<script src>``, stylesheet or image that still points at another host is a
  build warning (the build runs with ``-W``, so a warning fails it).
* The first use of every glossary term on a page links to the glossary (an explicit ``{term}`` link
  earlier on the page counts; headings, code, math and existing links are left alone). Terms that are also
  everyday words (key, value, ...; listed in the glossary's ``% everyday words:`` line) are linked only by an
  explicit ``{term}``.
* A link to a glossary term shows the term's Chinese equivalent on hover.
* A cell output that is an error fails the build, with the error's message: an exception raised while a figure
  is displayed (e.g. ``attn.plot.MissingGlyphError``, a character no font can draw) does not stop the cell, so
  the executor does not see it (a cell tagged ``raises-exception`` may show one).
* The glossary links back to where each term is introduced: every ``{term}`` reference in a chapter
  is collected, and each glossary entry gets a "First used in" line pointing at the section of its
  first use in every chapter (so a page added later is linked with no edit to the glossary).
"""
from __future__ import annotations

import re
from pathlib import Path

from docutils import nodes
from sphinx import addnodes
from sphinx.application import Sphinx
from sphinx.util import logging

from bookbuild import i18n
from bookbuild.glossary import GLOSSARY_DOC, glossary_chinese, glossary_terms, term_id  # noqa: F401

logger = logging.getLogger(__name__)

MATHJAX = Path("node_modules") / "mathjax" / "es5" / "tex-chtml.js"
# A page must not *load* anything from another host (links to papers are fine).
_REMOTE = re.compile(r"""<(?:script|img|iframe|source|audio|video)\b[^>]*\bsrc=["'](?:https?:)?//"""
                     r"""|<link\b[^>]*\brel=["'](?:stylesheet|preload|modulepreload|icon)["'][^>]*\bhref=["'](?:https?:)?//"""
                     r"""|@import\s+url\(["']?(?:https?:)?//""", re.I)


def _theme_defaults(app: Sphinx, config) -> None:
    """Light mode by default (figures have white backgrounds); an empty mode is a console error."""
    context = dict(config.html_context or {})
    context.setdefault("default_mode", "light")  # a template variable of pydata-sphinx-theme
    config.html_context = context


def _check_mathjax(app: Sphinx) -> None:
    if app.builder.format != "html":
        return
    path = Path(app.confdir) / MATHJAX
    if not path.exists():
        raise RuntimeError(
            f"MathJax is missing ({path}). Run `npm ci` in {app.confdir} (or `make book`, which does it): "
            "the book serves MathJax itself so that it works offline.")


def _drop_cdn_assets(app: Sphinx, pagename, templatename, context, doctree) -> None:
    """Remove thebe's CDN loader (and its stylesheet) from the page."""
    def keep(asset) -> bool:
        name = str(getattr(asset, "filename", asset) or "")
        body = str(getattr(asset, "attributes", {}).get("body", ""))
        return "thebe" not in name and "THEBE_JS_URL" not in body

    for key in ("script_files", "css_files"):
        if key in context:
            context[key] = [a for a in context[key] if keep(a)]


def _colab_opens_the_exercises(app: Sphinx, pagename, templatename, context, doctree) -> None:
    """Colab cannot open a MyST Markdown page: point its launch button at the page's exercise notebook
    (a real .ipynb in the repository), or drop the button when the page links none."""
    import posixpath

    if doctree is None or not str(context.get("page_source_suffix", "")).endswith(".md"):
        return
    notebooks = []
    for ref in doctree.findall(addnodes.download_reference):
        target = posixpath.normpath(posixpath.join(posixpath.dirname(pagename), ref.get("reftarget", "")))
        if target.startswith("exercises/") and target.endswith(".ipynb"):
            notebooks.append(target)
    for group in context.get("header_buttons", []):
        if group.get("label") != "launch-buttons":
            continue
        kept = []
        for button in group.get("buttons", []):
            if button.get("text") == "Colab":
                if not notebooks:
                    continue
                base, _, _ = button["url"].partition("/blob/")
                branch = button["url"].split("/blob/", 1)[1].split("/", 1)[0]
                button = dict(button, url=f"{base}/blob/{branch}/{notebooks[0]}", text="Colab (exercises)",
                              tooltip="Open this chapter's exercise notebook on Colab")
            kept.append(button)
        group["buttons"] = kept


# --- widgets (e.g. tqdm.auto's progress bars) drawn as static HTML from their saved state -----------

WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
_WIDGET_VIEW = re.compile(r'<script type="application/vnd\.jupyter\.widget-view\+json">(.*?)</script>', re.S)


def _has_progress(state: dict, model_id: str) -> bool:
    model = state.get(model_id) or {}
    if model.get("model_name") in ("FloatProgressModel", "IntProgressModel"):
        return True
    return any(_has_progress(state, c.removeprefix("IPY_MODEL_")) for c in model.get("state", {}).get("children", []))


def static_widget(state: dict, model_id: str) -> str:
    """HTML for one saved widget: boxes, HTML and labels; nothing for a progress bar (what tqdm.auto draws) or
    any other widget. A bar is for the reader who runs the page; in the book the loop prints what it achieved."""
    model = state.get(model_id)
    if model is None or _has_progress(state, model_id):
        return ""
    name, st = model.get("model_name", ""), model.get("state", {})
    if name in ("HBoxModel", "VBoxModel"):
        direction = "row" if name == "HBoxModel" else "column"
        children = "".join(static_widget(state, c.removeprefix("IPY_MODEL_")) for c in st.get("children", []))
        return (f'<div class="widget-static" style="display:flex;flex-direction:{direction};gap:.5em;'
                f'align-items:center">{children}</div>')
    if name in ("HTMLModel", "LabelModel", "HTMLMathModel"):
        value = st.get("value", "")
        return f"<span>{value if name != 'LabelModel' else html_escape(value)}</span>"
    return ""


def html_escape(text: str) -> str:
    import html

    return html.escape(str(text))


def _static_widgets(app: Sphinx, pagename, templatename, context, doctree) -> None:
    """The book loads no widget JavaScript: draw saved widgets as static HTML and drop their state."""
    scripts = context.get("script_files", [])
    states = [a for a in scripts if getattr(a, "attributes", {}).get("type") == WIDGET_STATE]
    if not states:
        return
    import json

    context["script_files"] = [a for a in scripts if a not in states]
    state = json.loads(states[0].attributes.get("body", "{}")).get("state", {})

    def render(match: re.Match) -> str:
        try:
            return static_widget(state, json.loads(match.group(1)).get("model_id", ""))
        except ValueError:
            return ""

    context["body"] = _WIDGET_VIEW.sub(render, context.get("body", ""))


def _drop_thebe_config(app: Sphinx, doctree: nodes.document, docname: str) -> None:
    """Remove sphinx-thebe's inert per-page configuration block (thebe is not used)."""
    for raw in list(doctree.findall(nodes.raw)):
        if "x-thebe-config" in raw.astext():
            raw.parent.remove(raw)


def error_outputs(doctree: nodes.Node) -> list[tuple[nodes.Element, str]]:
    """The error outputs (tracebacks) of a page's cells, with each error's last line, except in cells tagged
    ``raises-exception``. IPython shows an exception raised while displaying an output (a figure) as an error
    output but finishes the cell, so the executor's "a cell raised" check misses it."""
    found = []
    for node in doctree.findall(nodes.Element):
        if "traceback" not in node.get("classes", []) or "output" not in node.get("classes", []):
            continue
        parent, tagged = node.parent, False
        while parent is not None and not tagged:
            tagged = "tag_raises-exception" in parent.get("classes", []) if isinstance(parent, nodes.Element) else False
            parent = parent.parent
        if not tagged:
            lines = [l for l in node.astext().splitlines() if l.strip()]
            found.append((node, lines[-1] if lines else "(empty traceback)"))
    return found


def _no_error_outputs(app: Sphinx, doctree: nodes.document) -> None:
    for node, error in error_outputs(doctree):
        logger.warning(f"a cell's output is an error: {error}", location=node)


def _check_no_remote_assets(app: Sphinx, exception) -> None:
    if exception is not None or app.builder.format != "html":
        return
    out = Path(app.outdir)
    for page in sorted(out.rglob("*.html")):
        if "_static" in page.relative_to(out).parts:
            continue
        text = page.read_text(encoding="utf-8", errors="replace")
        for match in _REMOTE.finditer(text):
            snippet = text[match.start(): match.start() + 160].split(">")[0]
            logger.warning("%s loads an asset from another host: %s", page.relative_to(out), snippet,
                           type="course", subtype="remote-asset")


# --- glossary: first use of each term links to it; each entry links back ----------------------------

SKIP_AUTOLINK = {"book/glossary", "book/references"}
_NO_LINK_INSIDE = (nodes.title, nodes.literal, nodes.literal_block, nodes.math, nodes.math_block, nodes.reference,
                   addnodes.pending_xref, nodes.raw, nodes.rubric, nodes.citation_reference, nodes.footnote_reference,
                   nodes.term, nodes.caption, nodes.label, nodes.field_name, nodes.citation, nodes.footnote,
                   nodes.sidebar, nodes.topic)


def everyday_words(srcdir: Path) -> set[str]:
    """Terms that are also everyday English ("keys" of a house, a "value" of money): linked only where a page
    marks them with an explicit ``{term}``, never automatically. Listed in book/glossary.md on a line
    ``% everyday words: key, value, ...``."""
    path = Path(srcdir) / f"{GLOSSARY_DOC}.md"
    if not path.exists():
        return set()
    m = re.search(r"^%\s*everyday words:\s*(.+)$", path.read_text(encoding="utf-8"), re.M)
    return {w.strip().lower() for w in m.group(1).split(",") if w.strip()} if m else set()


def term_pattern(terms: list[str]) -> re.Pattern | None:
    """Whole-word, case-insensitive, longest term first, optional plural."""
    if not terms:
        return None
    alternatives = "|".join(re.escape(t) for t in sorted(terms, key=len, reverse=True))
    return re.compile(rf"(?<![\w-])({alternatives})(?:s|es)?(?![\w-])", re.I)


def _chinese_tooltips(app: Sphinx, pagename, templatename, context, doctree) -> None:
    """Hovering a link to a glossary term shows its name in the other language."""
    if "body" not in context or "#term-" not in context["body"]:
        return
    # The English edition shows the Chinese name; the Chinese edition shows the English term.
    chinese = ({term_id(t): t for t in glossary_terms(app.srcdir)} if i18n.is_zh(app)
               else glossary_chinese(app.srcdir))

    def add_title(match: re.Match) -> str:
        zh = chinese.get(match.group(2).lower())
        return f'{match.group(0)[:-1]} title="{zh}">' if zh and "title=" not in match.group(0) else match.group(0)

    context["body"] = re.sub(r'<a class="reference internal" href="([^"]*#(term-[\w-]+))"[^>]*>', add_title, context["body"])


def _auto_link_first_uses(app: Sphinx, doctree: nodes.document) -> None:
    """Link the first use of every glossary term on a page to the glossary (explicit {term} links count)."""
    docname = app.env.docname
    if docname in SKIP_AUTOLINK:
        return
    everyday = everyday_words(app.srcdir)
    terms = [t for t in glossary_terms(app.srcdir) if t.lower() not in everyday]
    if i18n.is_zh(app):
        # The Chinese edition: match the terms' Chinese names; the link still targets the English term.
        by_id = {term_id(t): t.lower() for t in terms}
        pattern, names = i18n.chinese_term_pattern({k: v for k, v in glossary_chinese(app.srcdir).items()
                                                    if k in by_id}, latin=[t for t in terms if t.isascii()])
        to_term = {name: by_id.get(tid, tid) for name, tid in names.items()}
    else:
        pattern = term_pattern(terms)
        to_term = {t.lower(): t.lower() for t in terms}
    if pattern is None:
        return
    canonical = set(to_term.values())
    done: set[str] = set()

    def eligible(node) -> bool:
        in_paragraph = False
        for a in _ancestors(node):
            if isinstance(a, _NO_LINK_INSIDE):
                return False
            if isinstance(a, nodes.container) and any(c.startswith("cell") for c in a.get("classes", [])):
                return False
            if isinstance(a, nodes.paragraph):
                in_paragraph = True
        return in_paragraph

    for node in list(doctree.findall(lambda n: isinstance(n, (nodes.Text, addnodes.pending_xref)))):
        if isinstance(node, addnodes.pending_xref):
            if node.get("reftype") == "term":
                done.add(node.get("reftarget", "").strip().lower())
            continue
        if not eligible(node):
            continue
        text, pieces, last = str(node), [], 0
        for match in pattern.finditer(text):
            term = to_term.get(match.group(0) if i18n.is_zh(app) else match.group(1).lower())
            if term in done or term not in canonical:
                continue
            done.add(term)
            pieces.append(nodes.Text(text[last: match.start()]))
            shown = match.group(0)
            xref = addnodes.pending_xref("", nodes.inline(shown, shown, classes=["xref", "std", "std-term"]),
                                         refdomain="std", reftype="term", reftarget=term, refexplicit=True,
                                         refwarn=False, refdoc=docname)
            pieces.append(xref)
            last = match.end()
        if pieces:
            pieces.append(nodes.Text(text[last:]))
            node.parent.replace(node, [p for p in pieces if not (isinstance(p, nodes.Text) and not str(p))])


def _env_uses(env) -> dict:
    if not hasattr(env, "course_term_uses"):
        env.course_term_uses = {}
    return env.course_term_uses


def _collect_term_uses(app: Sphinx, doctree: nodes.document) -> None:
    """Record, for each ``{term}`` reference, the page and the section it sits in (first one per page)."""
    docname = app.env.docname
    uses = _env_uses(app.env)
    for xref in doctree.findall(lambda n: isinstance(n, nodes.Element) and n.get("reftype") == "term"):
        term = xref.get("reftarget", "").strip().lower()
        section = next((a for a in _ancestors(xref) if isinstance(a, nodes.section)), None)
        anchor = section["ids"][0] if section is not None and section["ids"] else ""
        title = section[0].astext() if section is not None else docname
        per_doc = uses.setdefault(term, {})
        per_doc.setdefault(docname, (anchor, title))


def _ancestors(node):
    while node.parent is not None:
        node = node.parent
        yield node


def _purge(app, env, docname) -> None:
    for per_doc in _env_uses(env).values():
        per_doc.pop(docname, None)


def _merge(app, env, docnames, other) -> None:
    mine = _env_uses(env)
    for term, per_doc in _env_uses(other).items():
        mine.setdefault(term, {}).update({d: v for d, v in per_doc.items() if d in docnames})


def _glossary_backlinks(app: Sphinx, doctree: nodes.document, docname: str) -> None:
    if docname != GLOSSARY_DOC:
        return
    uses = _env_uses(app.env)
    order = {d: i for i, d in enumerate(_toc_order(app))}
    for glossary in doctree.findall(addnodes.glossary):
        for item in glossary.findall(nodes.definition_list_item):
            ids = {i for t in item.findall(nodes.term) for i in t["ids"]}
            found = {}
            for t, per_doc in uses.items():
                if term_id(t) in {i.lower() for i in ids}:
                    found.update({d: v for d, v in per_doc.items() if d != GLOSSARY_DOC})
            if not found:
                continue
            para = nodes.paragraph(classes=["glossary-uses"])
            para += nodes.emphasis(text="首次出现于：" if i18n.is_zh(app) else "First used in: ")
            for i, (doc, (anchor, title)) in enumerate(sorted(found.items(), key=lambda kv: order.get(kv[0], 1e9))):
                if i:
                    para += nodes.Text("; ")
                page_title = app.env.titles[doc].astext() if doc in app.env.titles else doc
                text = page_title if title in (page_title, doc) else f"{page_title} \N{SECTION SIGN} {title}"
                uri = app.builder.get_relative_uri(docname, doc) + (f"#{anchor}" if anchor else "")
                para += nodes.reference("", text, internal=True, refuri=uri)
            definition = next(iter(item.findall(nodes.definition)), None)
            if definition is not None:
                definition += para


def _toc_order(app: Sphinx) -> list[str]:
    """Documents in reading order (the toctree), falling back to alphabetical."""
    env = app.env
    seen: list[str] = []

    def walk(doc: str) -> None:
        if doc in seen:
            return
        seen.append(doc)
        for child in env.toctree_includes.get(doc, []):
            walk(child)

    walk(app.config.root_doc)
    return seen + sorted(set(env.found_docs) - set(seen))


def _glossary_outdated(app, env, added, changed, removed) -> list[str]:
    """Re-read the glossary when a page changes (its "First used in" lines may change), and every page
    when the glossary changes (a new term may need linking)."""
    if GLOSSARY_DOC in changed:
        return sorted(env.found_docs)
    return [GLOSSARY_DOC] if (added or changed or removed) and GLOSSARY_DOC in env.found_docs else []


def _ship_wheel(app: Sphinx, exception) -> None:
    """Copy the wheel of the book's package (built by ``bookbuild.build.build_wheel``) into the site's _static/."""
    if exception is not None or app.builder.format != "html":
        return
    wheels = sorted((Path(app.srcdir) / "_build" / "wheel").glob("attn-*.whl"))
    if not wheels:
        logger.warning("no wheel of the book's package in _build/wheel/: build with `python -m bookbuild build`")
        return
    import shutil

    static = Path(app.outdir) / "_static"
    static.mkdir(parents=True, exist_ok=True)
    for old in static.glob("attn-*.whl"):
        old.unlink()
    shutil.copy2(wheels[-1], static / wheels[-1].name)


def setup(app: Sphinx) -> dict:
    i18n.setup(app)
    app.connect("config-inited", _theme_defaults)
    app.connect("builder-inited", _check_mathjax)
    app.connect("html-page-context", _drop_cdn_assets, priority=900)
    app.connect("html-page-context", _colab_opens_the_exercises, priority=900)
    app.connect("html-page-context", _static_widgets, priority=900)
    app.connect("html-page-context", _chinese_tooltips, priority=900)
    app.connect("doctree-resolved", _drop_thebe_config, priority=900)
    app.connect("build-finished", _check_no_remote_assets)
    app.connect("build-finished", _ship_wheel)
    app.connect("doctree-read", _auto_link_first_uses, priority=400)
    app.connect("doctree-read", _collect_term_uses)
    app.connect("doctree-read", _no_error_outputs)
    app.connect("env-purge-doc", _purge)
    app.connect("env-merge-info", _merge)
    app.connect("doctree-resolved", _glossary_backlinks)
    app.connect("env-get-outdated", _glossary_outdated)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True, "env_version": 1}
