"""Sphinx extension of the online book (listed in ``_config.yml`` under ``sphinx.extra_extensions``).

It keeps the built site self-contained and checks it while it is built, for every page, including
pages added later:

* MathJax 3 is served from the site (``node_modules/mathjax``, installed by ``npm ci``; see
  ``autograder/book.py``); the build stops with a clear message if it is missing.
* Widgets saved in a page's outputs (tqdm.auto's progress bars) are drawn as static HTML from their
  saved state: the book loads no widget JavaScript (``nb_ipywidgets_js`` is empty in _config.yml).
* Colab's launch button, which cannot open a Markdown page, opens the page's exercise notebook.
* sphinx-thebe's loader (which points at unpkg.com and needs a live Binder anyway) is dropped from
  every page, and any ``<script src>``, stylesheet or image that still points at another host is a
  build warning (the build runs with ``-W``, so a warning fails it).
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

logger = logging.getLogger(__name__)

MATHJAX = Path("node_modules") / "mathjax" / "es5" / "tex-chtml.js"
GLOSSARY_DOC = "book/glossary"
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


def static_widget(state: dict, model_id: str) -> str:
    """HTML for one saved widget: boxes, HTML/labels and progress bars (what tqdm draws); else nothing."""
    model = state.get(model_id)
    if model is None:
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
    if name in ("FloatProgressModel", "IntProgressModel"):
        return (f'<progress max="{st.get("max", 100)}" value="{st.get("value", 0)}" '
                f'style="width:16em" aria-label="progress"></progress>')
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


# --- glossary back-links ------------------------------------------------------------------------

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
            terms = [t.astext().strip().lower() for t in item.findall(nodes.term)]
            found = {}
            for t in terms:
                found.update({d: v for d, v in uses.get(t, {}).items() if d != GLOSSARY_DOC})
            if not found:
                continue
            para = nodes.paragraph(classes=["glossary-uses"])
            para += nodes.emphasis(text="First used in: ")
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
    """Rewrite the glossary whenever a page is re-read (its "Used in" lines may change)."""
    return [GLOSSARY_DOC] if (added or changed or removed) and GLOSSARY_DOC in env.found_docs else []


def setup(app: Sphinx) -> dict:
    app.connect("config-inited", _theme_defaults)
    app.connect("builder-inited", _check_mathjax)
    app.connect("html-page-context", _drop_cdn_assets, priority=900)
    app.connect("html-page-context", _colab_opens_the_exercises, priority=900)
    app.connect("html-page-context", _static_widgets, priority=900)
    app.connect("doctree-resolved", _drop_thebe_config, priority=900)
    app.connect("build-finished", _check_no_remote_assets)
    app.connect("doctree-read", _collect_term_uses)
    app.connect("env-purge-doc", _purge)
    app.connect("env-merge-info", _merge)
    app.connect("doctree-resolved", _glossary_backlinks)
    app.connect("env-get-outdated", _glossary_outdated)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True, "env_version": 1}
