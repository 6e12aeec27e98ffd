"""Self-attention and multi-head attention (chapters 6-7, assignments 06-07), in NumPy.

Built on chapter 3's ``attention`` (imported, not copied). Masks are boolean, True = may attend,
and broadcast against the weights (..., n_q, n_k). (PyTorch's boolean ``attn_mask`` of
``nn.MultiheadAttention`` and its ``key_padding_mask`` mean the opposite: True = *not* allowed.)
Shapes: X (..., n, d_model); W_q, W_k (d_model, d_k); W_v (d_model, d_v); h heads of size d_model / h.
The torch ``nn.Module`` version is ``autograder.grading.reference.mha_torch.MultiHeadAttention``.
"""
from __future__ import annotations

import numpy as np

from autograder.grading.reference.qkv import _float, attention


def causal_mask(n: int) -> np.ndarray:
    """(n, n) boolean look-ahead mask (eq. 6.5): position i may attend to positions j <= i."""
    return np.tril(np.ones((n, n), dtype=bool))


def padding_mask(lengths, n: int) -> np.ndarray:
    """(B, 1, n) boolean mask from sequence lengths (eq. 6.4): key j is allowed iff j < length.

    The middle axis of size 1 broadcasts over the queries of each sequence.
    """
    lengths = np.asarray(lengths)
    return (np.arange(n) < lengths[..., None])[..., None, :]  # (B, n) -> (B, 1, n)


def self_attention(X, W_q, W_k, W_v, mask=None):
    """Self-attention: queries, keys and values all projected from the same X (eqs. 6.1-6.3).

    Returns ``(output, weights)``: output (..., n, d_v), weights (..., n, n).
    """
    X = _float(X)
    return attention(X @ W_q, X @ W_k, X @ W_v, mask=mask)  # Q, K: (..., n, d_k); V: (..., n, d_v)


def split_heads(X, h: int) -> np.ndarray:
    """(..., n, d_model) -> (..., h, n, d_model / h): head i gets features i*d_head ... (i+1)*d_head - 1 (eq. 7.2)."""
    X = np.asarray(X)
    *lead, n, d_model = X.shape
    if d_model % h:
        raise ValueError(f"d_model = {d_model} is not divisible by h = {h}")
    X = X.reshape(*lead, n, h, d_model // h)  # (..., n, h, d_head)
    return np.swapaxes(X, -3, -2)  # (..., h, n, d_head)


def merge_heads(X) -> np.ndarray:
    """(..., h, n, d_head) -> (..., n, h * d_head): the inverse of ``split_heads`` (concatenate heads, eq. 7.4)."""
    X = np.swapaxes(np.asarray(X), -3, -2)  # (..., n, h, d_head)
    *lead, n, h, d_head = X.shape
    return X.reshape(*lead, n, h * d_head)  # (..., n, d_model)


def head_mask(mask) -> np.ndarray:
    """A mask that broadcasts against (..., n_q, n_k), made to broadcast against (..., h, n_q, n_k).

    A mask with a query axis gets a head axis of size 1 before it, so every head uses the same mask;
    a 1-d mask (n_k,) already broadcasts over heads and queries.
    """
    mask = np.asarray(mask, dtype=bool)
    return mask if mask.ndim < 2 else np.expand_dims(mask, -3)  # (..., 1, n_q, n_k)


def multi_head_attention(X_q, X_kv, params: dict, h: int, mask=None):
    """Multi-head attention (eqs. 7.1-7.5; Vaswani et al. 2017, sec. 3.2.2): project, split, attend, merge, project.

    ``params`` holds ``W_q, W_k, W_v, W_o`` (d_model, d_model) and optional biases ``b_q, b_k, b_v, b_o``
    (d_model,); projections are ``X @ W + b`` (so W is the *transpose* of torch's ``Linear.weight``).
    ``mask`` broadcasts against (..., n_q, n_k) and is applied to every head.
    Returns ``(output, weights)``: output (..., n_q, d_model), weights (..., h, n_q, n_k).
    """
    def proj(X, name):
        return _float(X) @ params[f"W_{name}"] + params.get(f"b_{name}", 0.0)  # (..., n, d_model)

    Q = split_heads(proj(X_q, "q"), h)  # (..., h, n_q, d_head)
    K = split_heads(proj(X_kv, "k"), h)  # (..., h, n_k, d_head)
    V = split_heads(proj(X_kv, "v"), h)  # (..., h, n_k, d_head)
    heads, weights = attention(Q, K, V, mask=None if mask is None else head_mask(mask))
    # heads (..., h, n_q, d_head) -> (..., n_q, d_model); weights (..., h, n_q, n_k)
    return merge_heads(heads) @ params["W_o"] + params.get("b_o", 0.0), weights
