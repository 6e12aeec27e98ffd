"""The CJK font that ``attn`` ships: a subset of Noto Sans CJK SC holding the characters the book's figures draw.

Matplotlib's default font (DejaVu Sans) has no Chinese characters, and a reader's machine (Colab, a fresh
virtualenv, CI) usually has no CJK font. ``attn.plot`` therefore registers the font file made here and makes
matplotlib fall back to it for Chinese text. The subset holds

* every CJK character in a code cell of ``book/**/*.md`` or in ``lib/attn/*.py`` (what the figures can draw),
* CJK punctuation (U+3000-U+303F and the full-width forms U+FF01-U+FF5E),
* optionally (``--margin N``) the N most frequent Chinese characters, ranked by the word frequencies of
  ``jieba``'s dictionary. The shipped subset has none (``MARGIN = 0``): each character costs about 0.45 KiB, so
  500 would make the 42 KiB font 225 KiB, and a reader's own label would still often miss a character.

Regenerate it after a page draws a new CJK character (``tests/test_cjk_font.py`` fails until then)::

    python -m bookbuild.cjk_font                   # reads Debian's fonts-noto-cjk
    python -m bookbuild.cjk_font --source PATH     # any NotoSansCJK-Regular.ttc / NotoSansCJKsc-Regular.otf

Debian: ``apt-get install fonts-noto-cjk`` (or ``apt-get download fonts-noto-cjk && dpkg-deb -x *.deb dir``).
The outlines are converted from CFF to TrueType (quadratic) curves so that matplotlib can also embed the font
in PDF and PostScript files. The font is licensed under the SIL Open Font License 1.1 (``OFL.txt`` beside it);
as a Modified Version it gets its own name, which contains no Reserved Font Name ("Source").
"""
from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from bookbuild.paths import REPO
FONT_DIR = REPO / "lib" / "attn" / "data" / "fonts"
FONT_FILE = FONT_DIR / "NotoSansCJKsc-attn-subset.ttf"
FAMILY = "Noto Sans CJK SC attn subset"
POSTSCRIPT_NAME = "NotoSansCJKSC-attn-subset-Regular"
SOURCE_FAMILY = "Noto Sans CJK SC"
DEFAULT_SOURCES = [Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"),
                   Path("/usr/share/fonts/opentype/noto/NotoSansCJKsc-Regular.otf")]
MARGIN = 0

# Han ideographs (with extension A and the compatibility block), kana, bopomofo, CJK punctuation, full-width forms.
CJK = re.compile(r"[\u2e80-\u2fff\u3000-\u303f\u3040-\u30ff\u3100-\u31ff\u3400-\u4dbf\u4e00-\u9fff"
                 r"\uf900-\ufaff\ufe30-\ufe4f\uff00-\uffef]")
PUNCTUATION = [chr(c) for c in range(0x3000, 0x3040)] + [chr(c) for c in range(0xFF01, 0xFF5F)]


def drawn_characters(root: Path = REPO) -> dict[str, set[str]]:
    """Every CJK character the book's code can draw: {character: files it occurs in}.

    Reads the code cells of every page (``book/**/*.md``) and every module of ``attn`` (``lib/attn/*.py``)."""
    import jupytext

    found: dict[str, set[str]] = {}
    for page in sorted((root / "book").rglob("*.md")):
        text = page.read_text(encoding="utf-8")
        if not CJK.search(text):
            continue
        for cell in jupytext.read(page).cells:
            if cell.cell_type == "code":
                for ch in CJK.findall(cell.source):
                    found.setdefault(ch, set()).add(page.relative_to(root).as_posix())
    for module in sorted((root / "lib" / "attn").glob("*.py")):
        for ch in CJK.findall(module.read_text(encoding="utf-8")):
            found.setdefault(ch, set()).add(module.relative_to(root).as_posix())
    return found


def frequent_characters(n: int = MARGIN) -> list[str]:
    """The ``n`` most frequent Han characters, by the word frequencies of jieba's dictionary."""
    import jieba

    counts: dict[str, int] = {}
    with open(Path(jieba.__file__).parent / "dict.txt", encoding="utf-8") as words:
        for line in words:
            word, freq = line.split()[:2]
            for ch in word:
                if "\u4e00" <= ch <= "\u9fff":
                    counts[ch] = counts.get(ch, 0) + int(freq)
    return sorted(counts, key=lambda ch: (-counts[ch], ch))[:n]


def _open_source(path: Path):
    from fontTools.ttLib import TTCollection, TTFont

    if path.suffix.lower() == ".ttc":
        for font in TTCollection(str(path)).fonts:
            if font["name"].getDebugName(1) == SOURCE_FAMILY:
                return font
        raise SystemExit(f"{path} holds no {SOURCE_FAMILY!r}")
    font = TTFont(str(path))
    if font["name"].getDebugName(1) != SOURCE_FAMILY:
        raise SystemExit(f"{path} is {font['name'].getDebugName(1)!r}, not {SOURCE_FAMILY!r}")
    return font


def _cff_to_truetype(font, max_err: float = 1.0) -> None:
    """Replace the CFF outlines by TrueType ones (fontTools' otf2ttf recipe: cubic to quadratic curves)."""
    from fontTools.pens.cu2quPen import Cu2QuPen
    from fontTools.pens.ttGlyphPen import TTGlyphPen
    from fontTools.ttLib import newTable

    order = font.getGlyphOrder()
    glyph_set = font.getGlyphSet()
    glyphs = {}
    for name in order:
        pen = TTGlyphPen(glyph_set)
        glyph_set[name].draw(Cu2QuPen(pen, max_err, reverse_direction=True))
        glyphs[name] = pen.glyph()
    font["loca"] = newTable("loca")
    font["glyf"] = glyf = newTable("glyf")
    glyf.glyphOrder = order
    glyf.glyphs = glyphs
    for table in ("CFF ", "VORG"):
        if table in font:
            del font[table]
    glyf.compile(font)
    hmtx = font["hmtx"]  # left side bearings = xMin of the new outlines
    for name, glyph in glyf.glyphs.items():
        hmtx[name] = (hmtx[name][0], getattr(glyph, "xMin", 0))
    maxp = font["maxp"] = newTable("maxp")
    maxp.tableVersion = 0x00010000
    for field in ("maxZones", "maxTwilightPoints", "maxStorage", "maxFunctionDefs", "maxInstructionDefs",
                  "maxStackElements", "maxSizeOfInstructions", "maxComponentElements"):
        setattr(maxp, field, 1 if field == "maxZones" else 0)
    maxp.compile(font)
    post = font["post"]
    post.formatType, post.extraNames, post.mapping = 3.0, [], {}
    font["head"].glyphDataFormat = 0
    font.sfntVersion = "\x00\x01\x00\x00"


def _rename(font) -> None:
    """A Modified Version under the OFL: its own names (no Reserved Font Name), the copyright and license kept."""
    name = font["name"]
    source_version = name.getDebugName(5)
    new = {1: FAMILY, 2: "Regular", 3: f"{POSTSCRIPT_NAME};subset of {SOURCE_FAMILY} {source_version}",
           4: f"{FAMILY} Regular", 6: POSTSCRIPT_NAME, 16: FAMILY, 17: "Regular",
           5: f"{source_version}; subset for the attn package (bookbuild/cjk_font.py)"}
    name.names = [r for r in name.names if r.nameID not in new and r.nameID not in (18, 19, 20, 21, 22, 25)]
    for name_id, text in new.items():
        name.setName(text, name_id, 3, 1, 0x409)
        name.setName(text, name_id, 1, 0, 0)


def make_subset(source: Path, out: Path = FONT_FILE, margin: int = MARGIN) -> tuple[int, int]:
    """Write the subset of ``source`` to ``out``; return (number of characters, bytes)."""
    from fontTools import subset

    font = _open_source(source)
    chars = sorted(set(drawn_characters()) | set(PUNCTUATION) | set(frequent_characters(margin)))
    options = subset.Options()
    options.hinting = False
    options.desubroutinize = True
    options.name_IDs = ["*"]
    options.name_languages = ["*"]
    options.notdef_outline = True
    options.layout_features = ["kern", "vert", "vrt2", "locl"]  # horizontal kerning, vertical text forms
    options.drop_tables += ["DSIG", "VORG", "BASE", "GPOS"]
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=[ord(ch) for ch in chars])
    subsetter.subset(font)
    _cff_to_truetype(font)
    _rename(font)
    out.parent.mkdir(parents=True, exist_ok=True)
    font.recalcTimestamp = False  # the same source gives the same bytes
    font.save(str(out))
    from fontTools.ttLib import TTFont

    covered = len(TTFont(str(out))["cmap"].getBestCmap())
    return covered, out.stat().st_size


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bookbuild.cjk_font", description=__doc__.split("\n\n")[0])
    parser.add_argument("--source", type=Path, help=f"the {SOURCE_FAMILY} font file (.ttc or .otf)")
    parser.add_argument("--out", type=Path, default=FONT_FILE)
    parser.add_argument("--margin", type=int, default=MARGIN, help="how many frequent characters to add")
    args = parser.parse_args(argv)
    source = args.source or next((p for p in DEFAULT_SOURCES if p.exists()), None)
    if source is None:
        print("no Noto Sans CJK font found: apt-get install fonts-noto-cjk, or give --source", file=sys.stderr)
        return 2
    n, size = make_subset(source, args.out, args.margin)
    print(f"{args.out.relative_to(REPO) if args.out.is_relative_to(REPO) else args.out}: "
          f"{n} characters, {size / 1024:.0f} KiB, from {source}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
