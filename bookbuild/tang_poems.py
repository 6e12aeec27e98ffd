"""Make ``lib/attn/data/tang_poems/poems.tsv.gz``: Tang poems of five-character lines in common characters.

The source is the npm package ``chinese-poetry`` 2.0.1 (MIT license, copyright 2016 JackeyGao), which ships the
JSON files of the chinese-poetry project; its ``dist/quantangshi/poet.tang.*.json`` hold the 57,607 poems of the
*Complete Tang Poems* (全唐詩, compiled 1705-1707) in traditional characters, each with its author, title and
lines ("paragraphs", usually one couplet each). The poems themselves are centuries in the public domain.

The rule, applied in the package's file order (poet.tang.0.json, poet.tang.1000.json, ...):

1. keep a poem when every paragraph is one couplet of five-character lines, ``XXXXX，XXXXX。`` (X a Han
   character): the shape of the five-character quatrain (2 couplets) and regulated verse (4 couplets);
2. drop a poem whose text repeats an earlier one;
3. count the characters of what is left and keep the poems whose every character is among the ``TOP``
   (1,500) most frequent (ties broken by code point), so that the character vocabulary stays small.

Run from the repository's root (the package is not a dependency of the book; this fetches it with npm)::

    python -m bookbuild.tang_poems                          # npm pack chinese-poetry@2.0.1 into a temporary folder
    python -m bookbuild.tang_poems --package DIR            # DIR: an unpacked package (holds dist/quantangshi/)

The output is deterministic (sorted ties, gzip without a time stamp); ``tests/test_poems.py`` checks its
checksum, size and shape.
"""
from __future__ import annotations

import argparse
import gzip
import json
import re
import subprocess
import sys
import tarfile
import tempfile
from collections import Counter
from pathlib import Path

from bookbuild.paths import REPO

OUT = REPO / "lib" / "attn" / "data" / "tang_poems" / "poems.tsv.gz"
PACKAGE = "chinese-poetry@2.0.1"
TOP = 1500
COUPLET = re.compile(r"[\u4e00-\u9fff]{5}，[\u4e00-\u9fff]{5}。")


def five_character_poems(quantangshi: Path) -> list[tuple[str, str, str]]:
    """(author, title, text) of every poem made of five-character couplets, first copy of each text only."""
    files = sorted(quantangshi.glob("poet.tang.*.json"), key=lambda p: int(p.name.split(".")[2]))
    poems, seen = [], set()
    for path in files:
        for poem in json.loads(path.read_text(encoding="utf-8")):
            lines = poem["paragraphs"]
            if not lines or not all(COUPLET.fullmatch(line) for line in lines):
                continue
            text = "".join(lines)
            if text not in seen:
                seen.add(text)
                clean = lambda s: " ".join(s.split())  # noqa: E731  (no tab or newline inside a TSV field)
                poems.append((clean(poem["author"]), clean(poem["title"]), text))
    return poems


def in_common_characters(poems: list[tuple[str, str, str]], top: int = TOP) -> list[tuple[str, str, str]]:
    """The poems whose every character is among the ``top`` most frequent characters of ``poems``."""
    counts = Counter(ch for _, _, text in poems for ch in text if ch not in "，。")
    common = set(sorted(counts, key=lambda ch: (-counts[ch], ch))[:top])
    return [p for p in poems if all(ch in common for ch in p[2] if ch not in "，。")]


def write(poems: list[tuple[str, str, str]], out: Path = OUT) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    table = "".join(f"{author}\t{title}\t{text}\n" for author, title, text in poems).encode("utf-8")
    with open(out, "wb") as f, gzip.GzipFile(fileobj=f, mode="wb", compresslevel=9, mtime=0, filename="") as gz:
        gz.write(table)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bookbuild.tang_poems", description=__doc__.split("\n\n")[0])
    ap.add_argument("--package", type=Path, help="an unpacked chinese-poetry package (default: npm pack it)")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        root = args.package
        if root is None:
            subprocess.run(["npm", "pack", PACKAGE, "--pack-destination", tmp], check=True, capture_output=True)
            with tarfile.open(next(Path(tmp).glob("chinese-poetry-*.tgz"))) as tar:
                members = [m for m in tar.getmembers() if m.name.startswith("package/dist/quantangshi/poet.tang.")]
                tar.extractall(tmp, members=members, filter="data")
            root = Path(tmp) / "package"
        everything = five_character_poems(root / "dist" / "quantangshi")
        poems = in_common_characters(everything)
    write(poems)
    chars = sum(len(text) for _, _, text in poems)
    print(f"{OUT.relative_to(REPO)}: {len(poems)} of {len(everything)} five-character poems, {chars} characters, "
          f"{OUT.stat().st_size} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
