"""Attention at the scale of today's models (chapter 10, assignment 10), in NumPy.

Notation: queries Q (..., h, n_q, d), keys K (..., h_kv, n_k, d), values V (..., h_kv, n_k, d_v), with h_kv
dividing h (h_kv = h: ordinary multi-head; fewer: grouped key/value heads, query head j reading key/value head
j // (h // h_kv)). Leading dimensions broadcast.
"""
from __future__ import annotations

import numpy as np


def _as_float(x) -> np.ndarray:
    x = np.asarray(x)
    return x if np.issubdtype(x.dtype, np.floating) else x.astype(np.float64)


def _expand_kv(K, h: int):
    """Give every query head its key/value head: (..., h_kv, n, d) -> (..., h, n, d)."""
    h_kv = K.shape[-3]
    if h_kv == h:
        return K
    if h % h_kv:
        raise ValueError(f"{h} query heads cannot be split into {h_kv} groups")
    return np.repeat(K, h // h_kv, axis=-3)


def blockwise_attention(Q, K, V, block_size: int, causal: bool = False, key_mask=None) -> np.ndarray:
    """softmax(Q K^T / sqrt(d)) V over blocks of ``block_size`` keys with the online softmax (eq-online-softmax, eq-tiled).

    ``causal``: query i sits at position n_k - n_q + i and sees keys up to that position. ``key_mask``
    (boolean, True = a real key) broadcasts to (..., h, n_k). A query with no visible key returns zeros.
    """
    Q, K, V = _as_float(Q), _as_float(K), _as_float(V)
    h, n_q, n_k = Q.shape[-3], Q.shape[-2], K.shape[-2]
    K, V = _expand_kv(K, h), _expand_kv(V, h)
    dtype = np.result_type(Q, K, V)
    scale = 1.0 / float(np.sqrt(Q.shape[-1]))  # a Python float keeps float32 inputs float32
    lead = np.broadcast_shapes(Q.shape[:-2], K.shape[:-2], V.shape[:-2])
    running_max = np.full(lead + (n_q, 1), -np.inf, dtype=dtype)
    running_sum = np.zeros(lead + (n_q, 1), dtype=dtype)
    acc = np.zeros(lead + (n_q, V.shape[-1]), dtype=dtype)
    query_pos = np.arange(n_q)[:, None] + (n_k - n_q)  # (n_q, 1)
    for lo in range(0, n_k, block_size):
        hi = min(lo + block_size, n_k)
        scores = np.matmul(Q, np.swapaxes(K[..., lo:hi, :], -1, -2)) * scale  # (..., n_q, b)
        visible = np.ones((n_q, hi - lo), dtype=bool)
        if causal:
            visible = visible & (np.arange(lo, hi)[None, :] <= query_pos)
        if key_mask is not None:
            km = np.broadcast_to(np.asarray(key_mask, dtype=bool), np.broadcast_shapes(np.shape(key_mask), (n_k,)))
            visible = visible & km[..., None, lo:hi]  # (..., 1, b) with (n_q, b)
        visible = np.broadcast_to(visible, scores.shape)
        scores = np.where(visible, scores, -np.inf)
        new_max = np.maximum(running_max, scores.max(axis=-1, keepdims=True))
        safe_max = np.where(np.isfinite(new_max), new_max, 0.0)  # nothing visible yet: any finite shift
        weights = np.where(visible, np.exp(scores - safe_max), 0.0)  # (..., n_q, b)
        rescale = np.where(np.isfinite(running_max), np.exp(running_max - safe_max), 0.0)
        running_sum = running_sum * rescale + weights.sum(axis=-1, keepdims=True)
        acc = acc * rescale + np.matmul(weights, V[..., lo:hi, :])
        running_max = new_max
    out = np.zeros_like(acc)
    np.divide(acc, running_sum, out=out, where=running_sum > 0)
    return out


def kv_cache_step(q, k_new, v_new, cache_k, cache_v):
    """One decoding step (eq-kv-cache): append the new key and value, attend from the new query.

    q (..., h, 1, d); k_new, v_new (..., h_kv, 1, d / d_v); caches (..., h_kv, t, d / d_v) with t >= 0.
    Returns (output (..., h, 1, d_v), cache_k (..., h_kv, t + 1, d), cache_v (..., h_kv, t + 1, d_v)).
    """
    q, k_new, v_new = _as_float(q), _as_float(k_new), _as_float(v_new)
    cache_k = np.concatenate([_as_float(cache_k), k_new], axis=-2)
    cache_v = np.concatenate([_as_float(cache_v), v_new], axis=-2)
    K, V = _expand_kv(cache_k, q.shape[-3]), _expand_kv(cache_v, q.shape[-3])
    scores = np.matmul(q, np.swapaxes(K, -1, -2)) / float(np.sqrt(q.shape[-1]))  # (..., h, 1, t + 1)
    scores = scores - scores.max(axis=-1, keepdims=True)  # the new key is always visible: finite max
    w = np.exp(scores)
    out = np.matmul(w / w.sum(axis=-1, keepdims=True), V)
    return out, cache_k, cache_v


def apply_rope(x, positions, base: float = 10000.0) -> np.ndarray:
    """Rotary position embedding (eq-rope): pair (x_2i, x_2i+1) at position p rotated by p * base^(-2i/d).

    x (..., n, d) with d even; positions (n,) (integers or floats).
    """
    x = _as_float(x)
    d = x.shape[-1]
    freqs = np.power(float(base), -np.arange(0, d, 2, dtype=np.float64) / d)  # (d/2,)
    angles = np.asarray(positions, dtype=np.float64)[:, None] * freqs[None, :]  # (n, d/2)
    c, s = np.cos(angles).astype(x.dtype), np.sin(angles).astype(x.dtype)
    even, odd = x[..., 0::2], x[..., 1::2]
    out = np.empty_like(x)
    out[..., 0::2] = even * c - odd * s
    out[..., 1::2] = even * s + odd * c
    return out
