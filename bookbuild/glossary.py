"""The glossary page read as data: its terms, their ids as Sphinx makes them, and their Chinese names.

Used by the Sphinx extension (links, tooltips) and by the Chinese edition (its search dictionary); it imports
neither, so both can import it.
"""
from __future__ import annotations

import re
from pathlib import Path

GLOSSARY_DOC = "book/glossary"


def glossary_terms(srcdir: Path) -> list[str]:
    """The terms of the ``{glossary}`` block(s) of book/glossary.md, as written."""
    path = Path(srcdir) / f"{GLOSSARY_DOC}.md"
    if not path.exists():
        return []
    terms = []
    for block in re.findall(r"^```+\{glossary\}[^\n]*\n(.*?)^```+\s*$", path.read_text(encoding="utf-8"), re.M | re.S):
        terms += [line.strip() for line in block.splitlines()
                  if line.strip() and not line[0].isspace() and not line.startswith(":")]
    return terms


def term_id(term: str) -> str:
    """The HTML id Sphinx gives a glossary term (``soft addressing`` -> ``term-soft-addressing``)."""
    return "term-" + re.sub(r"[^a-z0-9]+", "-", term.lower()).strip("-")


def glossary_chinese(srcdir: Path) -> dict[str, str]:
    """term id (as Sphinx makes it: ``term-soft-addressing``) -> the Chinese equivalent opening its entry."""
    path = Path(srcdir) / f"{GLOSSARY_DOC}.md"
    if not path.exists():
        return {}
    out, term = {}, None
    for block in re.findall(r"^```+\{glossary\}[^\n]*\n(.*?)^```+\s*$", path.read_text(encoding="utf-8"), re.M | re.S):
        for line in block.splitlines():
            if line.strip() and not line[0].isspace() and not line.startswith(":"):
                term = line.strip()
            elif line.strip() and term is not None:
                chinese = re.findall(r"[\u4e00-\u9fff][\u4e00-\u9fff/\-－ ]*", line.split(". ")[0])
                if chinese:
                    out[term_id(term)] = " / ".join(c.strip() for c in chinese)
                term = None
    return out
