"""Reading the code of the book's pages in tests (shared by the public-line and code-on-page checks)."""
from __future__ import annotations


def no_magic(line: str) -> str:
    """An IPython magic or shell line (``%pip ...``) as ``pass``, keeping its indentation, so that ast can parse."""
    stripped = line.lstrip()
    return line[: len(line) - len(stripped)] + "pass" if stripped.startswith(("%", "!")) else line
