"""A small synthetic Chinese -> English translation task whose alignment crosses (chapter 4, section "crossing").

Chinese puts the time and the place before the verb: 我 昨天 在 北京 见到了 他 ("I yesterday in Beijing saw him");
English puts them after the object: "I saw him in Beijing yesterday". An attention model must therefore read
the source out of order. Tokens are words; both languages share one vocabulary with the ids of ``attn.seq2seq``
(PAD 0, BOS 1, EOS 2), so the chapter 4 models and their training loop work unchanged.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from attn.seq2seq import BOS, EOS, PAD

# (Chinese, English) pairs for each slot of the sentence. The English of a place or time may be several words.
SUBJECTS = [("我", "I"), ("你", "you"), ("他", "he"), ("她", "she"), ("我们", "we"), ("他们", "they")]
TIMES = [("昨天", "yesterday"), ("上周", "last week"), ("去年", "last year"), ("今天早上", "this morning")]
PLACES = [("北京", "Beijing"), ("上海", "Shanghai"), ("东京", "Tokyo"), ("伦敦", "London"), ("巴黎", "Paris"),
          ("纽约", "New York")]
VERBS = [("见到了", "saw"), ("遇到了", "met"), ("帮助了", "helped"), ("找到了", "found"), ("等了", "waited for")]
OBJECTS = [("他", "him"), ("她", "her"), ("我", "me"), ("他们", "them"), ("你", "you"), ("老师", "the teacher")]


def sentence_pair(s, t, p, v, o, time_first: bool):
    """One sentence in both languages (word lists) and, for each English word, the Chinese word it translates.

    Chinese: S T 在 P V O (or T S 在 P V O); English: S V O in P T. ``t`` or ``p`` may be None (left out).
    """
    zh, en, align = [], [], []
    slots = {"S": SUBJECTS[s], "T": TIMES[t] if t is not None else None, "P": PLACES[p] if p is not None else None,
             "V": VERBS[v], "O": OBJECTS[o]}
    order = ["T", "S"] if time_first else ["S", "T"]
    where = {}
    for slot in order + ["at", "P", "V", "O"]:
        if slot == "at":
            if slots["P"] is not None:
                where["at"] = len(zh)
                zh.append("在")
            continue
        if slots[slot] is not None:
            where[slot] = len(zh)
            zh.append(slots[slot][0])
    for slot in ["S", "V", "O", "at", "P", "T"]:
        if slot == "at":
            if slots["P"] is not None:
                en.append("in")
                align.append(where["at"])
            continue
        if slots[slot] is not None:
            for word in slots[slot][1].split():
                en.append(word)
                align.append(where[slot])
    return zh, en, align


@dataclass
class TranslationTask:
    """All sentences of the grammar, split once into training and test sentences (seeded).

    ``batch`` draws training (or test) pairs as padded tensors in the format of ``attn.seq2seq.ReverseTask``,
    so that ``attn.seq2seq.train`` can train on it.
    """

    test_fraction: float = 0.2
    seed: int = 0
    held_out: tuple = ("我昨天在北京见到了他",)  # always in the test set (written without spaces)
    min_len: int = 1  # attn.seq2seq.train draws a length per batch; sentences have their own lengths
    max_len: int = 1
    pairs: list = field(init=False)

    def __post_init__(self):
        combos = [(s, t, p, v, o, first)
                  for s in range(len(SUBJECTS)) for t in [None, *range(len(TIMES))] for p in [None, *range(len(PLACES))]
                  for v in range(len(VERBS)) for o in range(len(OBJECTS)) for first in (False, True)
                  if not (first and t is None)]
        self.pairs = [sentence_pair(*c) for c in combos]
        words = sorted({w for zh, en, _ in self.pairs for w in zh + en})
        self.itos = ["<pad>", "<s>", "</s>"] + words
        self.stoi = {w: i for i, w in enumerate(self.itos)}
        order = np.random.default_rng(self.seed).permutation(len(self.pairs))
        forced = [i for i in order if "".join(self.pairs[i][0]) in self.held_out]
        order = np.array(forced + [i for i in order if i not in set(forced)])
        n_test = int(self.test_fraction * len(self.pairs))
        self.test_ids, self.train_ids = order[:n_test], order[n_test:]

    def index(self, chinese: str) -> int:
        """The index in ``pairs`` of the sentence whose Chinese, written without spaces, is ``chinese``."""
        return next(i for i, (zh, _, _) in enumerate(self.pairs) if "".join(zh) == chinese)

    @property
    def vocab_size(self) -> int:
        return len(self.itos)

    def encode(self, ids):
        """Padded tensors (src (B, m), src_len (B,), tgt (B, T)) for the pairs ``ids``; tgt ends with EOS."""
        zh = [[self.stoi[w] for w in self.pairs[i][0]] for i in ids]
        en = [[self.stoi[w] for w in self.pairs[i][1]] + [EOS] for i in ids]
        src = torch.full((len(ids), max(map(len, zh))), PAD, dtype=torch.long)
        tgt = torch.full((len(ids), max(map(len, en))), PAD, dtype=torch.long)
        for b, (x, y) in enumerate(zip(zh, en)):
            src[b, : len(x)], tgt[b, : len(y)] = torch.tensor(x), torch.tensor(y)
        return src, torch.tensor([len(x) for x in zh]), tgt

    def batch(self, rng: np.random.Generator, size: int, length: int | None = None, test: bool = False):
        """``size`` random training (or test) pairs; ``length`` is accepted for ``attn.seq2seq.train`` and ignored."""
        return self.encode(rng.choice(self.test_ids if test else self.train_ids, size=size))

    def words(self, ids) -> list[str]:
        """The words of a sequence of ids, up to (not including) EOS and without padding."""
        out = []
        for i in (int(t) for t in ids):
            if i == EOS:
                break
            if i not in (PAD, BOS):
                out.append(self.itos[i])
        return out
