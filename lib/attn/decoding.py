"""Beam search for the book's encoder-decoders (chapter 10), next to greedy decoding.

``beam_search`` works with any model through a small adapter: ``start(src)`` encodes one source sentence,
``step(state, tokens)`` returns the log-probabilities of the next token for every live hypothesis, and
``select(state, rows)`` keeps (and duplicates) the rows of the hypotheses that survive. Adapters are given for
the GRU model with Luong attention (chapter 4) and the Transformer (chapter 8).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F


def length_penalty(length: int, alpha: float) -> float:
    """GNMT's length normalisation ((5 + |Y|) / 6)^alpha (Wu et al. 2016; eq-length-norm); alpha = 0: none."""
    return ((5.0 + length) / 6.0) ** alpha


@dataclass
class Adapter:
    """How beam search talks to one model: encode a source, score next tokens, keep some rows."""

    start: Callable  # src (1, m) -> state for one hypothesis
    step: Callable  # (state, last tokens (k,)) -> (log-probabilities (k, vocab), state)
    select: Callable  # (state, rows (k',)) -> state of those rows
    bos: int
    eos: int


@torch.no_grad()
def beam_search(adapter: Adapter, src: torch.Tensor, beam: int, max_len: int, alpha: float = 0.0):
    """The most probable output found with ``beam`` hypotheses (eq-beam); returns (tokens, normalised score).

    Each step extends every live hypothesis by every token, keeps the ``beam`` best extensions by total
    log-probability, and sets aside those that end with EOS. It stops when no live hypothesis can still beat
    the best ended one, or after ``max_len`` tokens; the answer is the ended hypothesis with the best
    normalised score.
    ``beam = 1`` is greedy decoding.
    """
    state = adapter.start(src)
    tokens = torch.full((1, 0), adapter.bos, dtype=torch.long)  # (k, t): the live hypotheses, BOS left out
    scores = torch.zeros(1)  # (k,): their total log-probabilities
    last = torch.full((1,), adapter.bos, dtype=torch.long)
    finished = []  # (normalised score, tokens)
    for t in range(max_len):
        logp, state = adapter.step(state, last)  # (k, V)
        total = (scores[:, None] + logp).flatten()  # (k * V,): every one-token extension
        best = total.topk(min(2 * beam, total.numel()))  # twice the beam, so that EOS endings cannot starve it
        rows, words = best.indices // logp.shape[1], best.indices % logp.shape[1]
        keep = []
        for rank, (score, row, word) in enumerate(zip(best.values.tolist(), rows.tolist(), words.tolist())):
            if word == adapter.eos:
                if rank < beam:  # an ending counts only if it is among the `beam` best extensions
                    seq = torch.cat([tokens[row], torch.tensor([word])])
                    finished.append((score / length_penalty(len(seq), alpha), seq))
            else:
                keep.append((score, row, word))
            if len(keep) == beam:
                break
        if not keep:
            break
        # Log-probabilities only fall as a hypothesis grows, so a live one can at best reach its current
        # score divided by the largest penalty: once an ended one beats that for all, stop.
        if finished and max(f[0] for f in finished) >= keep[0][0] / length_penalty(max_len + 1, alpha):
            break
        rows_kept = torch.tensor([r for _, r, _ in keep])
        last = torch.tensor([w for _, _, w in keep])
        tokens = torch.cat([tokens[rows_kept], last[:, None]], dim=1)
        scores = torch.tensor([s for s, _, _ in keep])
        state = adapter.select(state, rows_kept)
    if not finished:  # nothing ended within max_len: fall back on the live hypotheses
        finished = [(s / length_penalty(tokens.shape[1], alpha), tokens[i]) for i, s in enumerate(scores.tolist())]
    score, seq = max(finished, key=lambda f: f[0])
    return seq, score


def luong_adapter(model) -> Adapter:
    """Adapter for ``attn.seq2seq.LuongSeq2Seq``: the state is its memory dict (the GRU state ``s`` is (1, k, h))."""
    from attn.seq2seq import BOS, EOS

    def start(src):
        return model.encode(src, torch.tensor([src.shape[1]]))

    def step(memory, last):
        logits, _ = model.decode(memory, last[:, None])  # updates memory["s"]
        return F.log_softmax(logits[:, -1], dim=-1), memory

    def select(memory, rows):
        return {"H": memory["H"][rows], "mask": memory["mask"][rows], "s": memory["s"][:, rows]}

    return Adapter(start, step, select, BOS, EOS)


def transformer_adapter(model) -> Adapter:
    """Adapter for ``attn.transformer.Seq2SeqTransformer``: the state is (encoder output, source mask, prefix)."""
    from attn.seq2seq import BOS, EOS, PAD

    def start(src):
        mask = (src != PAD)[:, None, :]
        return model.encode(src, mask), mask, torch.zeros((1, 0), dtype=torch.long)

    def step(state, last):
        memory, mask, prefix = state
        prefix = torch.cat([prefix, last[:, None]], dim=1)  # (k, t + 1): the decoder re-reads its whole prefix
        logits = model.decode(prefix, memory.expand(len(prefix), -1, -1), mask.expand(len(prefix), -1, -1))[:, -1]
        return F.log_softmax(logits, dim=-1), (memory, mask, prefix)

    def select(state, rows):
        memory, mask, prefix = state
        return memory, mask, prefix[rows]  # one source: its encoding is shared by every hypothesis

    return Adapter(start, step, select, BOS, EOS)
