"""Sort the entries of book/glossary.md alphabetically (``python -m bookbuild.sort_glossary``).

An entry is a term line plus its indented definition; the sort ignores case. Run it after adding terms;
``tests/test_glossary.py`` fails while the glossary is out of order.
"""
from __future__ import annotations

import re
import sys

from bookbuild.paths import REPO

GLOSSARY = REPO / "book" / "glossary.md"
_BLOCK = re.compile(r"(^```+\{glossary\}[^\n]*\n)(.*?)(^```+\s*$)", re.M | re.S)


def entries(block: str) -> list[str]:
    """The entries of a glossary block, each as its lines (term first), blank lines between entries dropped."""
    out: list[list[str]] = []
    for line in block.splitlines():
        if line.strip() and not line[0].isspace() and not line.startswith(":"):
            out.append([line])
        elif out and line.strip():
            out[-1].append(line)
    return ["\n".join(e) for e in out]


def sort_key(entry: str) -> str:
    return entry.splitlines()[0].strip().lower()


def sorted_text(text: str) -> str:
    """The glossary with each block's entries sorted; an entry present twice word for word is kept once
    (a union merge of two branches can duplicate one)."""
    def sort_block(m: re.Match) -> str:
        unique = list(dict.fromkeys(entries(m.group(2))))
        return m.group(1) + "\n\n".join(sorted(unique, key=sort_key)) + "\n" + m.group(3)

    return _BLOCK.sub(sort_block, text)


def main() -> int:
    text = GLOSSARY.read_text(encoding="utf-8")
    new = sorted_text(text)
    if new != text:
        GLOSSARY.write_text(new, encoding="utf-8")
        print(f"sorted {GLOSSARY}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
