"""Language-model pieces (chapter 9, assignment 09): BERT's masking rule and sampling the next token.

Both functions take a ``numpy.random.Generator`` and use it in a fixed, documented way, so that the
same generator state gives the same result in every correct implementation (the hidden tests rely on it).
"""
from __future__ import annotations

import numpy as np

from autograder.grading.reference.qkv import softmax


def mlm_mask(tokens, p: float, rng: np.random.Generator, mask_id: int, vocab_size: int):
    """BERT's masked-language-model corruption, the 80/10/10 rule (Devlin et al. 2019, sec. 3.1; chapter 9, eq-mlm-rule).

    Every position is selected for prediction with probability ``p``. A selected position is replaced by
    ``mask_id`` with probability 0.8, by a uniformly random token of ``range(vocab_size)`` with probability
    0.1 (it may happen to equal the original), and left unchanged with probability 0.1.

    Random numbers, in this order, each of shape ``tokens.shape`` and drawn for *every* position:
      1. ``select = rng.random(shape) < p``
      2. ``u = rng.random(shape)``: ``u < 0.8`` -> mask, ``0.8 <= u < 0.9`` -> random token, else keep
      3. ``random_tokens = rng.integers(0, vocab_size, size=shape)``
    Returns ``(corrupted, select)``: the corrupted integer tokens (same shape and dtype as ``tokens``) and the
    boolean array of positions the model must predict (its targets are the original ``tokens`` there).
    """
    tokens = np.asarray(tokens)
    select = rng.random(tokens.shape) < p
    u = rng.random(tokens.shape)
    random_tokens = rng.integers(0, vocab_size, size=tokens.shape)
    corrupted = tokens.copy()
    corrupted = np.where(select & (u < 0.8), mask_id, corrupted)
    corrupted = np.where(select & (u >= 0.8) & (u < 0.9), random_tokens, corrupted)
    return corrupted.astype(tokens.dtype), select


def sample_next(logits, temperature: float, top_k: int | None, rng: np.random.Generator):
    """Sample the next token from ``logits`` (..., V) with a temperature and top-k filtering (chapter 9, eq-sampling).

    * ``temperature == 0``: greedy, the argmax (the first one if tied); ``rng`` is not used.
    * otherwise divide the logits by ``temperature``; if ``top_k`` is a positive integer < V, set every logit
      smaller than the k-th largest to -inf (ties with the k-th largest are kept); softmax.
    * Draw ``u = rng.random(logits.shape[:-1])`` (one call; a float when logits is 1-d) and return the first
      index whose cumulative probability exceeds ``u``: ``sum(cdf <= u)`` with ``cdf = cumsum(p) / sum(p)``.
    Returns an int for 1-d logits, else an integer array of shape ``logits.shape[:-1]``.
    """
    logits = np.asarray(logits, dtype=np.float64)
    if temperature == 0:
        idx = np.argmax(logits, axis=-1)
        return int(idx) if np.ndim(idx) == 0 else idx
    scaled = logits / temperature
    V = scaled.shape[-1]
    if top_k is not None and 0 < top_k < V:
        kth = np.sort(scaled, axis=-1)[..., V - top_k][..., None]  # (..., 1) the k-th largest
        scaled = np.where(scaled < kth, -np.inf, scaled)
    probs = softmax(scaled, axis=-1)
    cdf = np.cumsum(probs, axis=-1)
    cdf = cdf / cdf[..., -1:]  # exactly 1 at the end, so some index is always found
    u = rng.random(logits.shape[:-1])
    idx = np.sum(cdf <= np.asarray(u)[..., None], axis=-1)
    return int(idx) if np.ndim(idx) == 0 else idx
