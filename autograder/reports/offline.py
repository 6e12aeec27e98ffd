"""Make nbgrader's feedback HTML render its math with no internet.

nbgrader's feedback template (nbconvert's ``mathjax()`` macro) loads MathJax 2.7 from cdnjs.cloudflare.com.
:func:`localise_feedback` rewrites every feedback file so that it uses the course's own MathJax 3
(the npm package in ``node_modules/``, the same copy the book serves):

* ``inline=True`` (default): the MathJax 3 SVG build is embedded in the file, so a student can open the
  single HTML file anywhere, offline (about 2 MB per file; SVG output needs no font files);
* ``src="..."``: the file links to a MathJax copy at that URL instead (e.g. one served next to the feedback).

Usage (after ``nbgrader generate_feedback``)::

    from autograder.reports.offline import localise_feedback
    localise_feedback(out / "feedback")          # rewrites feedback/**/*.html in place

The MathJax configuration keeps what nbgrader's MathJax 2 setup did: ``$...$``/``\\(...\\)`` inline,
``$$...$$``/``\\[...\\]`` display, escapes and environments processed, AMS equation numbers.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

from autograder.course import REPO

MATHJAX_DIR = REPO / "node_modules" / "mathjax" / "es5"

# nbconvert's macro: '<!-- Load mathjax -->' <script src=...mathjax...> <script type="text/x-mathjax-config">...
# '<!-- End of mathjax configuration -->'. Match the script pair, with or without the comments.
_MATHJAX2 = re.compile(
    r"(?:<!--\s*Load mathjax\s*-->\s*)?"
    r"<script[^>]*\bsrc=[\"'][^\"']*mathjax[^\"']*[\"'][^>]*>\s*</script>\s*"
    r"(?:<!--\s*MathJax configuration\s*-->\s*)?"
    r"(?:<script type=[\"']text/x-mathjax-config[\"']>.*?</script>\s*)?"
    r"(?:<!--\s*End of mathjax configuration\s*-->)?",
    re.S | re.I,
)

MATHJAX3_CONFIG = {
    "tex": {
        "inlineMath": [["$", "$"], ["\\(", "\\)"]],
        "displayMath": [["$$", "$$"], ["\\[", "\\]"]],
        "processEscapes": True,
        "processEnvironments": True,
        "tags": "ams",
    },
    "svg": {"fontCache": "global"},
    "options": {"ignoreHtmlClass": "tex2jax_ignore", "processHtmlClass": "tex2jax_process"},
}
MARKER = "<!-- MathJax 3, served offline (course feedback) -->"  # no module names: feedback must not reveal them


def mathjax3_block(src: str | None = None, component: str = "tex-svg.js") -> str:
    """The ``<script>`` tags that configure and load MathJax 3: inline (``src=None``) or from ``src``."""
    config = f"<script>window.MathJax = {json.dumps(MATHJAX3_CONFIG)};</script>"
    if src is not None:
        return f'{MARKER}\n{config}\n<script defer src="{src}"></script>'
    path = MATHJAX_DIR / component
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing: run `npm ci` in {REPO} (make book does it)")
    code = path.read_text(encoding="utf-8").replace("</script", "<\\/script")
    return f"{MARKER}\n{config}\n<script>/* MathJax 3 ({component}), Apache-2.0, https://www.mathjax.org */\n{code}\n</script>"


def offline_html(html: str, src: str | None = None) -> str:
    """Replace the CDN MathJax of an nbconvert/nbgrader HTML page by MathJax 3 (see the module doc).

    Pages already rewritten, or without MathJax, are returned unchanged.
    """
    if MARKER in html:
        return html
    match = _MATHJAX2.search(html)
    if match is None:
        return html
    block = mathjax3_block(src)
    return html[: match.start()] + block + html[match.end():]


def localise_feedback(folder: Path | str, src: str | None = None) -> list[Path]:
    """Rewrite every ``*.html`` under ``folder`` in place to render math offline; return the files changed."""
    changed = []
    block_cache: dict[str | None, str] = {}
    for path in sorted(Path(folder).rglob("*.html")):
        text = path.read_text(encoding="utf-8")
        if MARKER in text:
            continue
        match = _MATHJAX2.search(text)
        if match is None:
            continue
        if src not in block_cache:
            block_cache[src] = mathjax3_block(src)
        path.write_text(text[: match.start()] + block_cache[src] + text[match.end():], encoding="utf-8")
        changed.append(path)
    return changed


def remote_assets(html: str) -> list[str]:
    """URLs of scripts, stylesheets and images an HTML page would fetch from another host."""
    pattern = re.compile(r"""<(?:script|img|link|iframe)\b[^>]*\b(?:src|href)=["']((?:https?:)?//[^"']+)""", re.I)
    return [m.group(1) for m in pattern.finditer(html)
            if not re.search(r"""<link\b[^>]*rel=["'](?:canonical|alternate)""", m.group(0), re.I)]
