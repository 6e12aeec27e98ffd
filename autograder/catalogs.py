"""The exercises' gettext catalogs as a reader sees them, and the language a notebook was released in.

The authoring side writes the catalogs and the Chinese release (``autograder.authoring.translate``); the grader
reads which release a submission came from (``notebook_language``), and the feedback page shows the instructions
in that language (``translations``, ``translate_markdown``). Both sides meet here, so that neither imports the
other: a message is a block of a Markdown cell (``blocks``), and the release marks its notebooks with ``META_KEY``.
"""
from __future__ import annotations

import hashlib
import re
from pathlib import Path

from autograder import code_messages
from autograder.course import LOCALES

LANG = "zh_CN"
CATALOGS = LOCALES / LANG / "LC_MESSAGES" / "exercises"
META_KEY = "attention_course"
_CJK = re.compile(r"[\u4e00-\u9fff]")


def blocks(markdown: str) -> list[str]:
    """Split a Markdown cell into blocks at blank lines, keeping fenced code and ``$$`` math blocks whole."""
    out, current, fence = [], [], None
    for line in markdown.split("\n"):
        stripped = line.strip()
        if fence is None and not stripped and current:
            out.append("\n".join(current))
            current = []
            continue
        if fence is None and (stripped.startswith("```") or stripped.startswith("$$")):
            fence = stripped[:3] if stripped.startswith("```") else "$$"
            if fence == "$$" and stripped.endswith("$$") and len(stripped) > 2:
                fence = None  # a one-line $$ ... $$ block
        elif fence is not None and (stripped.startswith(fence) or (fence == "$$" and stripped.endswith("$$"))):
            fence = None
        if stripped or fence is not None:
            current.append(line)
    if current:
        out.append("\n".join(current))
    return out


def catalog_path(assignment: str) -> Path:
    return CATALOGS / f"{assignment}.po"


def digest(assignment: str) -> str:
    """What the Chinese release of ``assignment`` gives the grader: its catalog and the code that reads it (a kept
    result is made again when either changes, since the instructor's cells go back translated)."""
    h = hashlib.sha256()
    for path in (catalog_path(assignment), Path(__file__), Path(code_messages.__file__)):
        h.update(path.read_bytes() if path.exists() else b"")
        h.update(b"\0")
    return h.hexdigest()


def read_catalog(path: Path):
    from babel.messages.pofile import read_po

    with open(path, "rb") as f:
        return read_po(f, abort_invalid=True)


def translations(assignment: str) -> dict[str, str]:
    """msgid -> translation of the complete, non-fuzzy instruction (Markdown) messages of the assignment's catalog."""
    path = catalog_path(assignment)
    if not path.exists():
        return {}
    return {m.id: m.string for m in read_catalog(path) if m.id and m.string and not m.fuzzy and not m.context}


def code_translations(assignment: str) -> dict[tuple[str, str], str]:
    """(kind, msgid) -> translation of the complete, non-fuzzy code-cell messages of the assignment's catalog."""
    path = catalog_path(assignment)
    if not path.exists():
        return {}
    return {(m.context, m.id): m.string for m in read_catalog(path) if m.id and m.string and not m.fuzzy and m.context}


def translate_code(source: str, table: dict[tuple[str, str], str]) -> str:
    """A code cell with every message translated by ``table`` (``code_translations``); the code itself unchanged."""
    return code_messages.translate(source, lambda kind, text: table.get((kind, text)))


def translate_markdown(text: str, table: dict[str, str]) -> str:
    """A Markdown cell with every message replaced by its translation (blocks that are not messages stay)."""
    return "\n\n".join(table.get(block, block) for block in blocks(text))


def notebook_language(nb: dict) -> str:
    """``zh_CN`` for a notebook of the Chinese release (by its metadata, else by Chinese instruction text)."""
    meta = (nb.get("metadata") or {}).get(META_KEY) or {}
    if isinstance(meta, dict) and isinstance(meta.get("language"), str):
        return LANG if meta["language"].lower().startswith("zh") else "en"
    text = "".join("".join(c.get("source", "")) if isinstance(c.get("source"), list) else str(c.get("source", ""))
                   for c in nb.get("cells", []) if isinstance(c, dict) and c.get("cell_type") == "markdown")
    return LANG if len(_CJK.findall(text)) > 40 else "en"
