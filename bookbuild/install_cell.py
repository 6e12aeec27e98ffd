"""The first code cell of every page: installs the book's package ``attn`` when the page runs elsewhere.

Pages run in the course's environment at build time, where ``attn`` is installed and the cell does nothing.
Opened on Colab or Binder, or downloaded into a fresh virtualenv, the cell installs ``attn`` from the
course's repository, whose URL is one setting: ``repository.url`` / ``repository.branch`` in ``_config.yml``
(the launch buttons use the same setting). ``python -m bookbuild sync-install-cells`` rewrites every page's
cell after that setting changes; the book build refuses to run while a page's cell is out of date.
"""
from __future__ import annotations

import re
from pathlib import Path

import yaml

from bookbuild.paths import REPO
MARK = "# The book's package `attn`"
_CELL = re.compile(r"```\{code-cell\} ipython3\n(?::tags: \[[^\]]*\]\n)?" + re.escape(MARK) + r".*?\n```\n", re.S)


def install_cell_source(root: Path = REPO) -> str:
    """The source of the install cell, for the repository named in ``_config.yml``."""
    repo = yaml.safe_load((root / "_config.yml").read_text(encoding="utf-8"))["repository"]
    url = repo["url"].rstrip("/")
    if not url.startswith("https://"):
        raise ValueError(f"repository.url in _config.yml must be an https URL, not {url!r}")
    return (
        f"{MARK} (and PyTorch) runs this page. Installed in the course's environment; elsewhere\n"
        "# (Colab, Binder, a fresh virtualenv) this cell installs it from the course's repository.\n"
        "import importlib.util\n"
        "\n"
        'if importlib.util.find_spec("attn") is None:\n'
        f'    %pip install --quiet "attn @ git+{url}@{repo.get("branch", "main")}#subdirectory=lib"\n'
    )


def install_cell_block(root: Path = REPO) -> str:
    """The install cell as a MyST code-cell block."""
    return "```{code-cell} ipython3\n" + install_cell_source(root) + "```\n"


def stale_pages(pages: list[Path], root: Path = REPO) -> list[Path]:
    """Pages whose first code cell is not the current install cell."""
    want = install_cell_block(root)
    out = []
    for page in pages:
        text = page.read_text(encoding="utf-8")
        m = re.search(r"```\{code-cell\}.*?\n```\n", text, re.S)
        if m is None or m.group(0) != want:
            out.append(page)
    return out


def sync(pages: list[Path], root: Path = REPO) -> list[Path]:
    """Put the current install cell first in every page (replacing an older one); returns the pages changed."""
    want = install_cell_block(root)
    changed = []
    for page in pages:
        text = page.read_text(encoding="utf-8")
        if _CELL.search(text):
            new = _CELL.sub(lambda _: want, text, count=1)
        else:  # no install cell yet: put it before the page's first code cell
            i = text.find("```{code-cell}")
            if i < 0:
                continue
            new = text[:i] + want + "\n" + text[i:]
        if new != text:
            page.write_text(new, encoding="utf-8")
            changed.append(page)
    return changed
