"""Dates written the English way and the Chinese way by CLDR's patterns: a real transduction whose alignment
crosses (chapter 4, the dates page).

"Sunday, December 6, 2026" is written by CLDR's English pattern ``EEEE, MMMM d, y`` and "2026年12月6日星期日" by
its Chinese pattern ``y年M月d日EEEE``: the year moves from the end to the front and the weekday from the front to
the end. The patterns and names are those of the Unicode Common Locale Data Repository (CLDR), copied from the
``babel`` package into ``attn/data/cldr_dates/`` (its README gives the source and the license; the script that
copied them is ``bookbuild/cldr_dates.py``). The dates themselves are drawn at random by ``DateTask``.
"""
from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from attn.seq2seq import greedy_batch
from attn.translate import TranslationTask

CLDR_DATES = Path(__file__).resolve().parent / "data" / "cldr_dates" / "cldr_dates.json"
#: Every Chinese character the shipped Chinese patterns and names can write (tests/test_dates.py checks it), so
#: that the CJK font attn ships, which holds the characters of attn's modules, can draw any date's labels.
ZH_CHARACTERS = "年月日星期一二三四五六"


def load_cldr_dates() -> dict:
    """The shipped CLDR entries: per locale ('en', 'zh') its date patterns and names, and their source."""
    return json.loads(CLDR_DATES.read_text(encoding="utf-8"))


# A CLDR pattern is a run of one repeated letter (a field), a 'quoted' literal, or other literal text.
PATTERN_PIECE = re.compile(r"([A-Za-z])\1*|'[^']*'|[^A-Za-z']+")


def write_date(date: dt.date, pattern: str, names: dict) -> tuple[str, list[str], list[str]]:
    """Write ``date`` by a CLDR date ``pattern`` with one locale's ``names``: the text, its tokens, and the field
    each token comes from ('y' year, 'M' month, 'd' day, 'E' weekday, '' literal text such as "," or 年).

    Numbers become one token per digit, names one token each, literal text one token per non-space character."""
    text, tokens, fields = [], [], []
    for m in PATTERN_PIECE.finditer(pattern):
        piece = m.group(0)
        letter, width = piece[0], len(piece)
        if m.group(1) is None:  # literal text, quoted or not
            literal = piece[1:-1] if letter == "'" else piece
            text.append(literal)
            chars = [c for c in literal if not c.isspace()]
            tokens += chars
            fields += [""] * len(chars)
            continue
        if letter == "y" and width == 1:
            written, whole = str(date.year), False
        elif letter in "Md" and width <= 2:
            written, whole = str(date.month if letter == "M" else date.day).zfill(width), False
        elif letter == "M" and width in (3, 4):
            written, whole = names["months_abbreviated" if width == 3 else "months_wide"][date.month - 1], True
        elif letter == "E" and width == 4:
            written, whole = names["weekdays_wide"][date.weekday()], True  # weekday(): 0 = Monday
        else:
            raise ValueError(f"pattern field {piece!r} is not supported")
        text.append(written)
        new = [written] if whole else list(written)  # a name is one token, a number one token per digit
        tokens += new
        fields += [letter] * len(new)
    return "".join(text), tokens, fields


def true_alignment(src_fields: list[str], tgt_fields: list[str]) -> list[int | None]:
    """For each target token, the position of the source token it is written from (eq-date-alignment): the k-th
    digit of a number from the k-th digit of the same number, a month number from the month's name, a weekday
    from the weekday; None for literal text (年, 月, 日, commas), which has no counterpart in the source."""
    align = []
    for t, field in enumerate(tgt_fields):
        if not field:
            align.append(None)
            continue
        src = [j for j, f in enumerate(src_fields) if f == field]
        tgt = [u for u, f in enumerate(tgt_fields) if f == field]
        if len(src) == len(tgt):  # the same number written with the same digits
            align.append(src[tgt.index(t)])
        elif len(src) == 1:  # a name written as a number (December -> 1 2), or as another name
            align.append(src[0])
        else:
            raise ValueError(f"cannot align field {field!r}: {len(src)} source and {len(tgt)} target tokens")
    return align


@dataclass
class DateTask(TranslationTask):
    """``n_dates`` distinct random dates from ``first`` to ``last`` (seeded), each written by one of CLDR's English
    patterns (``widths``, drawn at random) as the source and by the Chinese pattern of the same width as the
    target; split once into training and held-out dates.

    It inherits ``encode``, ``batch`` and ``words`` from ``attn.translate.TranslationTask``, so the chapter's
    models and ``attn.seq2seq.train`` run on it unchanged. ``pairs[i]`` is (English tokens, Chinese tokens, true
    alignment), ``dates[i]`` and ``widths_of[i]`` say which date and pattern wrote it."""

    n_dates: int = 5000
    first: dt.date = dt.date(1900, 1, 1)
    last: dt.date = dt.date(2099, 12, 31)
    widths: tuple = ("full", "long", "medium")
    held_out: tuple = ()

    def __post_init__(self):
        cldr = load_cldr_dates()
        en, zh = cldr["en"], cldr["zh"]
        rng = np.random.default_rng(self.seed)
        days = rng.choice((self.last - self.first).days + 1, size=self.n_dates, replace=False)
        self.dates = [self.first + dt.timedelta(days=int(n)) for n in days]
        self.widths_of = [self.widths[int(k)] for k in rng.integers(len(self.widths), size=self.n_dates)]
        self.pairs, self.fields = [], []
        for date, width in zip(self.dates, self.widths_of):
            _, src, src_fields = write_date(date, en["date_patterns"][width], en)
            _, tgt, tgt_fields = write_date(date, zh["date_patterns"][width], zh)
            self.pairs.append((src, tgt, true_alignment(src_fields, tgt_fields)))
            self.fields.append((src_fields, tgt_fields))
        words = sorted({w for src, tgt, _ in self.pairs for w in src + tgt})
        self.itos = ["<pad>", "<s>", "</s>"] + words
        self.stoi = {w: i for i, w in enumerate(self.itos)}
        n_test = int(self.test_fraction * self.n_dates)  # the dates are already in random order
        self.test_ids, self.train_ids = np.arange(n_test), np.arange(n_test, self.n_dates)


@torch.no_grad()
def read_alignments(model, task: DateTask, ids) -> list[dict]:
    """Greedy translations of the pairs ``ids`` (eq-greedy), each with ``exact`` (written exactly) and, over its
    content tokens (literal text left out), their ``fields``, the ``read`` alignment argmax_j alpha_tj
    (eq-read-alignment; only for a date written exactly) and the ``true`` one (eq-date-alignment)."""
    src, src_len, tgt = task.encode(ids)
    pred, weights = greedy_batch(model, src, src_len, max_len=tgt.shape[1] + 2)  # weights (B, T, m)
    out = []
    for b, i in enumerate(ids):
        source, target, align = task.pairs[i]
        exact = task.words(pred[b]) == target
        content = [t for t, a in enumerate(align) if a is not None]
        read = weights[b, : len(target), : len(source)].argmax(-1).tolist() if exact else None
        out.append({"id": int(i), "exact": exact, "output": task.words(pred[b]),
                    "fields": [task.fields[i][1][t] for t in content],
                    "read": [read[t] for t in content] if exact else None, "true": [align[t] for t in content]})
    return out
