"""The CLDR date data that ``attn`` ships (``lib/attn/data/cldr_dates/``), copied out of the ``babel`` package.

Chapter 4's page on dates (``book/04-attention-seq2seq/dates.md``) trains the chapter's attention model to turn
dates written the English way ("Sunday, December 6, 2026") into dates written the Chinese way
("2026年12月6日星期日"). Both are written by the patterns and names of the Unicode Common Locale Data Repository
(CLDR), the data behind the date formats of ICU, Java, browsers, phones and ``babel``. ``attn`` ships the few
entries it uses (about 1 KB), so that babel is not a dependency of the book:

* English (``en``): the full, long and medium date patterns, the month names (wide and abbreviated) and the
  weekday names (wide);
* Chinese (``zh``, Simplified Chinese): the same three date patterns and the weekday names. Its patterns write
  the month as a number, so no month names are needed.

babel is a dependency of Sphinx, so the course's environment has it. Regenerate the file with::

    python -m bookbuild.cldr_dates            # writes lib/attn/data/cldr_dates/cldr_dates.json
    python -m bookbuild.cldr_dates --check    # exits 1 if the shipped file differs from what babel gives

Weekdays are listed Monday first, as Python's ``date.weekday()`` counts them. Licenses: babel's code is
BSD-3-Clause; the CLDR data it carries is under the Unicode License v3 (``babel/locale-data/LICENSE.unicode``),
which asks that its notice travel with every copy: it is copied next to the data (``LICENSE.unicode``).
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

from bookbuild.paths import REPO

DATA_DIR = REPO / "lib" / "attn" / "data" / "cldr_dates"
DATA_FILE = DATA_DIR / "cldr_dates.json"
LICENSE_FILE = DATA_DIR / "LICENSE.unicode"
WIDTHS = ("full", "long", "medium")  # the date patterns copied (CLDR's "short" English pattern has a 2-digit year)


def extract() -> dict:
    """The shipped entries, read from babel's copy of CLDR."""
    import babel
    from babel import Locale
    from babel.core import get_cldr_version

    en, zh = Locale.parse("en"), Locale.parse("zh")

    def patterns(locale):
        return {w: str(locale.date_formats[w].pattern) for w in WIDTHS}

    def weekdays(locale):
        return [locale.days["format"]["wide"][i] for i in range(7)]  # babel's keys: 0 = Monday

    return {
        "source": f"Unicode CLDR {get_cldr_version()}, as the Python package babel {babel.__version__} ships it",
        "cldr_version": str(get_cldr_version()),
        "babel_version": babel.__version__,
        "license": "Unicode-3.0 (LICENSE.unicode beside this file)",
        "en": {"date_patterns": patterns(en),
               "months_wide": [en.months["format"]["wide"][m] for m in range(1, 13)],
               "months_abbreviated": [en.months["format"]["abbreviated"][m] for m in range(1, 13)],
               "weekdays_wide": weekdays(en)},
        "zh": {"date_patterns": patterns(zh), "weekdays_wide": weekdays(zh)},
    }


def render(data: dict) -> str:
    return json.dumps(data, ensure_ascii=False, indent=1) + "\n"


def babel_license() -> Path:
    import babel

    return Path(babel.__file__).parent / "locale-data" / "LICENSE.unicode"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bookbuild.cldr_dates", description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true", help="compare the shipped file with babel's data")
    args = parser.parse_args(argv)
    text = render(extract())
    if args.check:
        same = DATA_FILE.read_text(encoding="utf-8") == text
        print(f"{DATA_FILE.relative_to(REPO)}: {'as babel gives it' if same else 'differs from babel'}")
        return 0 if same else 1
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    DATA_FILE.write_text(text, encoding="utf-8")
    shutil.copyfile(babel_license(), LICENSE_FILE)
    print(f"wrote {DATA_FILE.relative_to(REPO)} ({len(text.encode())} bytes) and {LICENSE_FILE.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
