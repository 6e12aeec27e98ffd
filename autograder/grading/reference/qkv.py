"""Attention in three stages (chapter 3, assignment 03): score, normalise, read out.

Every function works in numpy on arrays with any number of leading (batch) dimensions.
Notation: Q (..., n_q, d), K (..., n_k, d), V (..., n_k, d_v); scores and weights (..., n_q, n_k).
"""
from __future__ import annotations

import math

import numpy as np


def _float(x) -> np.ndarray:
    """Return ``x`` as a floating-point array (integers and booleans become float64)."""
    x = np.asarray(x)
    return x if np.issubdtype(x.dtype, np.floating) else x.astype(np.float64)


def softmax(x, axis: int = -1) -> np.ndarray:
    """Numerically stable softmax along ``axis``: exp(x - max x) / sum exp(x - max x) (eq. 3.4)."""
    x = _float(x)
    # Subtracting the maximum changes nothing mathematically (it cancels in the ratio)
    # but keeps every exponent <= 0, so exp never overflows.
    shifted = x - np.max(x, axis=axis, keepdims=True)
    e = np.exp(shifted)
    return e / np.sum(e, axis=axis, keepdims=True)


def masked_softmax(scores, mask) -> np.ndarray:
    """Softmax over the last axis restricted to positions where ``mask`` is True.

    Masked positions get exactly 0; a row with no allowed position is all zeros (not NaN, not uniform).
    ``mask`` is boolean and broadcasts against ``scores``.
    """
    scores = _float(scores)
    mask = np.broadcast_to(np.asarray(mask, dtype=bool), scores.shape)
    filled = np.where(mask, scores, -np.inf)
    row_max = np.max(filled, axis=-1, keepdims=True)
    row_max = np.where(np.isfinite(row_max), row_max, 0.0)  # all-masked row: any finite shift works
    e = np.where(mask, np.exp(filled - row_max), 0.0)
    total = np.sum(e, axis=-1, keepdims=True)
    out = np.zeros_like(e)
    np.divide(e, total, out=out, where=total > 0)
    return out


def dot_product_scores(Q, K) -> np.ndarray:
    """Similarity s(q, k) = q . k for every query-key pair: Q K^T (eq. 3.1)."""
    Q, K = _float(Q), _float(K)
    return Q @ np.swapaxes(K, -1, -2)  # (..., n_q, d) @ (..., d, n_k) -> (..., n_q, n_k)


def scaled_dot_product_scores(Q, K) -> np.ndarray:
    """Q K^T / sqrt(d_k): keeps the variance of the scores at 1 whatever d_k is (eq. 3.5)."""
    Q = _float(Q)
    d_k = Q.shape[-1]
    return dot_product_scores(Q, K) / math.sqrt(d_k)  # a Python float keeps float32 inputs float32


def cosine_scores(Q, K) -> np.ndarray:
    """Cosine similarity q.k / (|q| |k|); a zero vector has similarity 0 with everything (eq. 3.2)."""
    Q, K = _float(Q), _float(K)
    q_norm = np.linalg.norm(Q, axis=-1, keepdims=True)  # (..., n_q, 1)
    k_norm = np.linalg.norm(K, axis=-1, keepdims=True)  # (..., n_k, 1)
    Qn = Q / np.where(q_norm > 0, q_norm, 1.0)
    Kn = K / np.where(k_norm > 0, k_norm, 1.0)
    return Qn @ np.swapaxes(Kn, -1, -2)


def attention(Q, K, V, mask=None):
    """Scaled dot-product attention softmax(Q K^T / sqrt(d_k)) V (eq. 3.7).

    Returns ``(output, weights)``: output (..., n_q, d_v), weights (..., n_q, n_k).
    ``mask`` (boolean, True = may attend) broadcasts against the weights.
    """
    scores = scaled_dot_product_scores(Q, K)
    weights = softmax(scores) if mask is None else masked_softmax(scores, mask)
    output = weights @ _float(V)  # (..., n_q, n_k) @ (..., n_k, d_v) -> (..., n_q, d_v)
    return output, weights
