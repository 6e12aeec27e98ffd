"""Real text for chapter 9: Tang poems of five-character lines, and the baselines a language model must beat.

The poems are a subset of the *Complete Tang Poems* (全唐詩) in the copy of the chinese-poetry project (the npm
package ``chinese-poetry`` 2.0.1, MIT license), shipped in ``attn/data/tang_poems/`` with a README (source,
license, the rule that chose them, checksum) and the MIT notice; ``bookbuild/tang_poems.py`` made the file.
The character GPT that reads them is chapter 9's ``attn.char_lm.TinyTransformerLM``; the baselines here count
characters and pairs of characters.
"""
from __future__ import annotations

import gzip
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

POEMS = Path(__file__).resolve().parent / "data" / "tang_poems" / "poems.tsv.gz"


@dataclass(frozen=True)
class Poem:
    """One poem: author, title and text, couplets of two five-character lines each ending in ，and 。."""

    author: str
    title: str
    text: str

    @property
    def lines(self) -> list[str]:
        """The five-character lines, without their punctuation."""
        return re.findall(r"[^，。]{5}", self.text)


def load_poems() -> list[Poem]:
    """The poems shipped with attn (one per line of a gzipped TSV file), in the order of the Complete Tang Poems."""
    with gzip.open(POEMS, "rt", encoding="utf-8") as f:
        return [Poem(*row.rstrip("\n").split("\t")) for row in f]


class BigramLM:
    """The baselines (eq-bigram): p(b | a) = λ c(a, b) / c(a) + (1 - λ) p(b), the counts c taken from the
    training text. λ = 0 is the unigram model p(b) = (c(b) + 1/2) / (N + V/2), which ignores the context."""

    def __init__(self, data: np.ndarray, vocab_size: int, lam: float):
        self.lam = lam
        self.unigram = (np.bincount(data, minlength=vocab_size) + 0.5) / (len(data) + 0.5 * vocab_size)
        self.pairs = np.zeros((vocab_size, vocab_size), dtype=np.float32)  # pairs[a, b] = c(a, b)
        np.add.at(self.pairs, (data[:-1], data[1:]), 1)
        self.firsts = self.pairs.sum(1)  # c(a): how often a is followed by anything

    def losses(self, data: np.ndarray) -> np.ndarray:
        """-log p(x_t | x_{t-1}) in nats for t = 1, ..., n - 1 (one per character after the first)."""
        a, b = data[:-1], data[1:]
        seen = self.firsts[a] > 0
        pair = np.where(seen, self.pairs[a, b] / np.maximum(self.firsts[a], 1), self.unigram[b])  # unseen a: unigram
        return -np.log(self.lam * pair + (1 - self.lam) * self.unigram[b])

    @classmethod
    def fit(cls, data: np.ndarray, vocab_size: int, grid=np.linspace(0.05, 0.95, 19)) -> "BigramLM":
        """Choose λ on the training text alone: count on its first 90 %, keep the λ of ``grid`` with the lowest
        loss on its last 10 %, then count on all of it."""
        cut = int(0.9 * len(data))
        part = cls(data[:cut], vocab_size, 0.0)
        losses = []
        for lam in grid:
            part.lam = lam
            losses.append(part.losses(data[cut:]).mean())
        return cls(data, vocab_size, float(grid[int(np.argmin(losses))]))
