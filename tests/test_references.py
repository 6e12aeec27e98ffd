"""``book/references.bib`` parses, and every entry is closed: a merge that drops an entry's closing brace silently
swallows the next entry into it, and the book build then fails on the whole file."""
import re
from pathlib import Path

from pybtex.database import parse_file

BIB = Path(__file__).resolve().parent.parent / "book" / "references.bib"


def test_every_entry_of_the_bibliography_parses():
    keys = re.findall(r"^@\w+\{([^,\s]+),", BIB.read_text(encoding="utf-8"), flags=re.M)
    assert len(keys) == len(set(keys)), "a key is used twice"
    assert sorted(parse_file(str(BIB)).entries) == sorted(keys)
