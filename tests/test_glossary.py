"""The glossary is bilingual and complete (fast: reads book/glossary.md and the pages' sources)."""
from __future__ import annotations

import re

import pytest

from bookbuild.build import REPO, page_source, toc_pages

GLOSSARY = REPO / "book" / "glossary.md"
CJK = re.compile(r"[\u4e00-\u9fff]")

# The terms the course promises (issue "The online book as a product"), with their Chinese.
REQUIRED = {
    "attention": "注意力机制",
    "query": "查询",
    "key": "键",
    "value": "值",
    "soft addressing": "软寻址",
    "encoder-decoder": "编码器-解码器",
    "context vector": "语义编码",
    "self-attention": "自注意力",
    "multi-head attention": "多头注意力",
    "positional encoding": "位置编码",
    "mask": "掩码",
    "alignment": "对齐",
}


def glossary_entries() -> dict[str, str]:
    """term (lower case) -> its definition text, from the ```{glossary} block(s)."""
    text = GLOSSARY.read_text(encoding="utf-8")
    blocks = re.findall(r"^```+\{glossary\}[^\n]*\n(.*?)^```+\s*$", text, re.M | re.S)
    assert blocks, "book/glossary.md has no ```{glossary} block"
    entries: dict[str, str] = {}
    for block in blocks:
        term = None
        for line in block.splitlines():
            if not line.strip() or line.lstrip().startswith(":"):
                continue
            if not line[0].isspace():
                term = line.strip().lower()
                assert term not in entries, f"glossary term {term!r} defined twice"
                entries[term] = ""
            elif term is not None:
                entries[term] += line.strip() + " "
    return entries


ENTRIES = glossary_entries()


def test_glossary_has_the_promised_terms_with_their_chinese():
    for term, chinese in REQUIRED.items():
        assert term in ENTRIES, f"glossary lacks {term!r}"
        assert chinese in ENTRIES[term], f"glossary entry {term!r} should give {chinese}"


@pytest.mark.parametrize("term", sorted(ENTRIES))
def test_every_entry_gives_its_chinese_equivalent_first(term):
    definition = ENTRIES[term]
    assert definition, f"{term!r} has no definition"
    first_sentence = definition.split(". ")[0]
    assert CJK.search(first_sentence), f"{term!r}: start the definition with the Chinese term"


def test_every_term_the_pages_link_is_in_the_glossary():
    used = set()
    for page in toc_pages(REPO):
        text = page_source(page, REPO).read_text(encoding="utf-8")
        for ref in re.findall(r"\{term\}`([^`]+)`", text):
            target = re.search(r"<([^>]+)>", ref)
            used.add((target.group(1) if target else ref).strip().lower())
    missing = sorted(used - set(ENTRIES))
    assert not missing, f"terms linked with {{term}} but not in book/glossary.md: {missing}"


def test_entries_are_in_alphabetical_order():
    """A reader looks a term up by its spelling (`python -m bookbuild.sort_glossary` sorts the file)."""
    from bookbuild.sort_glossary import sorted_text

    text = GLOSSARY.read_text(encoding="utf-8")
    assert sorted_text(text) == text, "book/glossary.md is out of order: run python -m bookbuild.sort_glossary"
    terms = list(ENTRIES)
    assert terms == sorted(terms), terms


def test_everyday_words_are_glossary_terms():
    """The words linked only by an explicit {term} (house keys are not attention keys) are real entries."""
    from bookbuild.sphinx_ext import everyday_words

    words = everyday_words(REPO)
    assert {"key", "value", "query"} <= words, words
    assert words <= set(ENTRIES), sorted(words - set(ENTRIES))
