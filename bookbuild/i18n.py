"""The Chinese edition, Sphinx side (loaded by ``bookbuild.sphinx_ext``).

The book is written once, in English. Sphinx's own internationalisation makes the Chinese edition: the gettext
builder extracts every translatable message (paragraphs, headings, list items, captions, alt texts,
admonitions, the glossary) into one catalog per page, translators fill ``locales/zh_CN/LC_MESSAGES/<page>.po``,
and a second HTML build with ``language = zh_CN`` swaps each message for its translation while reading. Code
cells and their outputs are not messages: both editions take them from the one execution cache, so the code,
the figures and every glued number are the same. ``bookbuild.translations`` runs the builds and checks the
catalogs.

This module makes that work with executed notebooks and the book's conventions:

* **Glued numbers inside translated sentences.** Sphinx parses each translation as a small separate document;
  myst-nb's ``{glue:text}`` role would look for the glued values in that fragment and find none. The role is
  given the page being translated instead (``_patch_glue``), so a translated sentence shows the number the
  English sentence shows.
* **Figures' alt texts are messages**, also for diagrams (``graphviz_alt``) and for figures that are cell outputs
  (the gettext build renders outputs as the HTML build does); so are the words of a diagram's labels
  (``graphviz_labels``): the Chinese edition draws its diagrams with Chinese labels.
* **Display math is not a message**: formulas are the same in both editions (inline math inside a sentence is
  part of the sentence and is kept verbatim by translators; the catalog check verifies it).
* **Exercises in Chinese**: the Chinese pages link to the Chinese release of each assignment (``exercises/zh/``).
* **Language links**: every page of each edition links to the same page of the other (``lang-switch``).
* **Chinese text** gets a CJK font stack, and Chinese search segments words with ``jieba``.
* **Glossary links in Chinese**: the first use of a term's Chinese name on a page links to the glossary, as the
  English edition does with English names; the glossary's "first used in" lines work in both editions.
"""
from __future__ import annotations

import re
from pathlib import Path

from docutils import nodes
from docutils.transforms import Transform
from sphinx import addnodes
from sphinx.application import Sphinx

from bookbuild.glossary import glossary_chinese

ZH = "zh_CN"
ZH_DIR = "zh"  # the Chinese edition is served from <site>/zh/
STATIC = Path(__file__).parent / "static"

_page_being_read: dict[str, nodes.document] = {}


def is_zh(app: Sphinx) -> bool:
    return (app.config.language or "").replace("-", "_").lower().startswith("zh")


class _KeepRenderer(dict):
    """A document's attribute dict that remembers myst-nb's notebook renderer when the parser removes it at
    the end of parsing, i.e. just before Sphinx's ``Locale`` transform translates the page."""

    def pop(self, key, *default):
        value = super().pop(key, *default)
        if key == "nb_renderer":
            _page_being_read["renderer"] = value
        return value


class _MathIsNotAMessage(Transform):
    """Display math and raw HTML are the same in every language: keep them out of the catalogs."""

    default_priority = 5

    def apply(self, **kwargs) -> None:
        for node in self.document.findall(lambda n: isinstance(n, (nodes.math_block, nodes.raw))):
            node["translatable"] = False


class graphviz_alt(nodes.Element, addnodes.translatable):
    """Makes the alt text of a ``{graphviz}`` diagram a message: Sphinx translates images' alt texts itself,
    but a diagram is not an image node. Sits inside the diagram's node (the HTML writer never visits it)."""

    def preserve_original_messages(self) -> None:
        self["original_alt"] = self.parent.get("alt", "")

    def extract_original_messages(self) -> list[str]:
        return [self.get("original_alt") or self.parent.get("alt", "")]

    def apply_translated_message(self, original_message: str, translated_message: str) -> None:
        self.parent["alt"] = translated_message


#: A quoted label of a DOT source (``label="..."``, with ``\\"`` and ``\\n`` escapes inside).
_DOT_LABEL = re.compile(r'(\blabel\s*=\s*)"((?:[^"\\]|\\.)*)"')


def dot_labels(code: str) -> list[str]:
    """The distinct labels of a diagram's DOT source that hold words, as written there (``\\n`` is a line break).
    A label of symbols only (``k₁``, ``Σⱼ aⱼ vⱼ``) reads the same in every language and is not a message."""
    found: list[str] = []
    for m in _DOT_LABEL.finditer(code):
        if re.search(r"[A-Za-z]{3,}", m.group(2)) and m.group(2) not in found:
            found.append(m.group(2))
    return found


class graphviz_labels(nodes.Element, addnodes.translatable):
    """Makes the words in a ``{graphviz}`` diagram messages, one per distinct label (``dot_labels``), so that the
    Chinese edition draws the diagram with Chinese labels. Sits inside the diagram's node, as ``graphviz_alt``."""

    def preserve_original_messages(self) -> None:
        self["original_code"] = self.parent["code"]

    def extract_original_messages(self) -> list[str]:
        return dot_labels(self.get("original_code") or self.parent["code"])

    def apply_translated_message(self, original_message: str, translated_message: str) -> None:
        quoted = re.sub(r'(?<!\\)"', r'\\"', translated_message)  # a quote inside a label must stay escaped
        self.parent["code"] = _DOT_LABEL.sub(
            lambda m: m.group(1) + '"' + (quoted if m.group(2) == original_message else m.group(2)) + '"',
            self.parent["code"])


class _DiagramAltIsAMessage(Transform):
    """A diagram's alt text and the words of its labels are messages (``graphviz_alt``, ``graphviz_labels``)."""

    default_priority = 15  # before Locale (20) and before the gettext builder numbers the messages (880)

    def apply(self, **kwargs) -> None:
        from sphinx.ext.graphviz import graphviz

        for node in list(self.document.findall(graphviz)):
            # A diagram node may have no place of its own; a message's places must all have one (the catalog sorts
            # them, and a label may also be a sentence of the page).
            source, line = node.source or self.document.get("source") or "", node.line or 0
            for kind, wanted in ((graphviz_alt, bool(node.get("alt"))),
                                 (graphviz_labels, bool(dot_labels(node.get("code", ""))))):
                if wanted and not any(isinstance(c, kind) for c in node.children):
                    child = kind()
                    child.source, child.line = source, line
                    node += child


class _ChineseExercises(Transform):
    """In the Chinese edition, a link to an assignment's notebook (``exercises/<NN-slug>/<name>.ipynb``) gives the
    Chinese release (``exercises/zh/<NN-slug>/<name>.ipynb``, same cells and tests) when it exists."""

    default_priority = 25  # after Locale

    def apply(self, **kwargs) -> None:
        import posixpath

        env = getattr(self.document.settings, "env", None)
        if env is None or not is_zh(env.app):
            return
        for ref in self.document.findall(addnodes.download_reference):
            target = ref.get("reftarget", "")
            m = re.match(r"^((?:\.\./)*)exercises/(?!zh/)(.+\.ipynb)$", target)
            if not m:
                continue
            where = posixpath.normpath(posixpath.join(posixpath.dirname(env.docname), target))
            chinese = where.replace("exercises/", "exercises/zh/", 1)
            if not (Path(env.srcdir) / chinese).exists():
                continue
            ref["reftarget"] = f"{m.group(1)}exercises/zh/{m.group(2)}"
            for text in list(ref.findall(nodes.Text)):
                if "exercises/" in text and "exercises/zh/" not in text:
                    text.parent.replace(text, nodes.Text(str(text).replace("exercises/", "exercises/zh/", 1)))


class _TranslateTocCaptions(Transform):
    """The part captions of the table of contents (``_toc.yml``) are messages of the root page's catalog, but
    sphinx-external-toc inserts its toctrees (priority 100) after Sphinx has translated the page (``Locale``, 20):
    translate their captions here, from the same catalog."""

    default_priority = 110

    def apply(self, **kwargs) -> None:
        from os import path

        from sphinx.locale import init as init_locale
        from sphinx.util.i18n import docname_to_domain

        env = getattr(self.document.settings, "env", None)
        if env is None or not is_zh(env.app):
            return
        toctrees = [n for n in self.document.findall(addnodes.toctree) if n.get("caption")]
        if not toctrees:
            return
        dirs = [path.join(env.srcdir, d) for d in env.config.locale_dirs]
        catalog, found = init_locale(dirs, env.config.language, docname_to_domain(env.docname, env.config.gettext_compact))
        if not found:
            return
        for node in toctrees:
            node["caption"] = catalog.gettext(node["caption"])


def _patch_glue() -> None:
    """Let ``{glue:text}`` inside a translated message read the glued values of the page being translated."""
    from myst_nb import sphinx_ as nb_sphinx
    from myst_nb.ext.glue import roles, utils

    if getattr(roles.retrieve_glue_data, "_course_patched", False):
        return
    original_retrieve = utils.retrieve_glue_data
    original_parse = nb_sphinx.Parser.parse

    def parse(self, inputstring, document):
        # Sphinx parses each translated message with this parser too, as a fragment "<page>:<line>:<translated>";
        # only a whole page's renderer is remembered.
        if "<translated>" not in str(document.get("source", "")):
            document.attributes = _KeepRenderer(document.attributes)
        return original_parse(self, inputstring, document)

    def retrieve_glue_data(document, key):
        try:
            return original_retrieve(document, key)
        except utils.RetrievalError:
            page = _page_being_read.get("renderer")
            if page is None or "<translated>" not in str(document.get("source", "")):
                raise
        own = document.attributes.get("nb_renderer")
        document.attributes["nb_renderer"] = page
        try:
            return original_retrieve(document, key)
        finally:
            if own is None:
                document.attributes.pop("nb_renderer", None)
            else:
                document.attributes["nb_renderer"] = own

    retrieve_glue_data._course_patched = True
    roles.retrieve_glue_data = retrieve_glue_data
    nb_sphinx.Parser.parse = parse


def other_edition_uri(pagename: str, zh: bool) -> str:
    """The relative URL, from page ``pagename`` of one edition, of the same page in the other edition.

    English pages live at ``<site>/<page>.html`` and Chinese ones at ``<site>/zh/<page>.html``.
    """
    depth = pagename.count("/")
    if zh:
        return "../" * (depth + 1) + pagename + ".html"
    return "../" * depth + f"{ZH_DIR}/" + pagename + ".html"


def _language_link(app: Sphinx, pagename, templatename, context, doctree) -> None:
    if "body" not in context or doctree is None:
        return
    zh = is_zh(app)
    href = other_edition_uri(pagename, zh)
    label, lang = ("English", "en") if zh else ("中文", "zh-CN")
    title = "Read this page in English" if zh else "阅读本页的中文版"
    link = (f'<p class="lang-switch"><a class="lang-switch-link" href="{href}" hreflang="{lang}" lang="{lang}" '
            f'title="{title}">{label}</a></p>\n')
    context["body"] = link + context["body"]


def _add_static(app: Sphinx, config) -> None:
    config.html_static_path = list(config.html_static_path) + [str(STATIC)]
    if is_zh(app):
        # Sphinx's Chinese search splits words with jieba when it is installed; fail loudly if it is not.
        import jieba  # noqa: F401

        config.html_search_language = "zh"
        config.html_title = translated_title(Path(app.srcdir), config.html_title)
        config.html_search_options = {**(config.html_search_options or {}), "dict": str(search_dictionary(app))}


def translated_title(srcdir: Path, title: str) -> str:
    """The book's title (``_config.yml``) in Chinese: the translation of the root page's heading, which is the title."""
    from babel.messages.pofile import read_po

    for po in sorted((srcdir / "locales" / ZH / "LC_MESSAGES" / "book").glob("*.po")):
        with open(po, "rb") as f:
            message = read_po(f).get(title)
        if message is not None and message.string and not message.fuzzy:
            return message.string
    return title


def search_dictionary(app: Sphinx) -> Path:
    """A jieba user dictionary of the glossary's Chinese terms, so that the Chinese search indexes 自注意力 and
    位置编码 as words (jieba alone splits them into 自 + 注意力, 位置 + 编码, and a search for the term finds
    nothing). ``cut_for_search`` still indexes the parts too."""
    words = sorted({name.strip() for zh in glossary_chinese(Path(app.srcdir)).values() for name in zh.split("/")
                    if len(name.strip()) >= 2 and " " not in name.strip()})
    path = Path(app.doctreedir).parent / "jieba-glossary.txt"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"{w} 100000 n\n" for w in words), encoding="utf-8")
    return path


def _css(app: Sphinx) -> None:
    app.add_css_file("course-i18n.css")


# --- glossary links from Chinese text --------------------------------------------------------------------------

def chinese_term_pattern(chinese: dict[str, str], latin: list[str] = ()) -> tuple[re.Pattern | None, dict[str, str]]:
    """A pattern over every Chinese name of every term (longest first), and over the terms that Chinese text
    writes in Latin letters (softmax, Transformer, KV cache), and a map: matched text -> term id or term."""
    names: dict[str, str] = {}
    for term_id, zh in chinese.items():
        for name in (n.strip() for n in zh.split("/")):
            if len(name) >= 2:
                names.setdefault(name, term_id)
    for term in latin:
        names.setdefault(term, term.lower())
    if not names:
        return None, {}
    alternatives = "|".join(re.escape(n) if not n.isascii() else rf"(?<![A-Za-z0-9_-]){re.escape(n)}(?![A-Za-z0-9_-])"
                            for n in sorted(names, key=len, reverse=True))
    return re.compile(alternatives), names


def setup(app: Sphinx) -> None:
    _patch_glue()
    app.add_transform(_MathIsNotAMessage)
    app.add_transform(_DiagramAltIsAMessage)
    app.add_transform(_ChineseExercises)
    app.add_transform(_TranslateTocCaptions)
    app.add_node(graphviz_alt)
    app.add_node(graphviz_labels)
    app.connect("config-inited", _add_static)
    app.connect("builder-inited", _css)
    app.connect("html-page-context", _language_link, priority=900)
