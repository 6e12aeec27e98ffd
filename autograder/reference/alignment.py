"""Attention in the encoder-decoder (chapter 4, assignment 04): scores, context per step, one decoder step.

Notation (fixed across chapter 4): the encoder states H (..., n_k, d_k) are the keys and values; the decoder
state(s) S or s (..., n_q, d_q) are the queries. Scores and weights have shape (..., n_q, n_k).
Score functions return one score per (query, key) pair, like ``autograder.reference.qkv.dot_product_scores``.
"""
from __future__ import annotations

import numpy as np

from autograder.reference.qkv import _float, dot_product_scores, masked_softmax, softmax


def additive_scores(Q, K, W_q, W_k, v) -> np.ndarray:
    """Additive (Bahdanau, "concat") score v^T tanh(W_q q + W_k k) for every query-key pair (eq. 4.4).

    Q (..., n_q, d_q), K (..., n_k, d_k), W_q (d_q, d_a), W_k (d_k, d_a), v (d_a,) -> (..., n_q, n_k).
    Row-vector convention: the projection of q is ``q @ W_q``.
    """
    Q, K, W_q, W_k, v = (_float(a) for a in (Q, K, W_q, W_k, v))
    q = Q @ W_q  # (..., n_q, d_a)
    k = K @ W_k  # (..., n_k, d_a)
    # Broadcast every query against every key before the non-linearity: it does not factorise.
    hidden = np.tanh(q[..., :, None, :] + k[..., None, :, :])  # (..., n_q, n_k, d_a)
    return hidden @ v  # (..., n_q, n_k)


def general_scores(Q, K, W) -> np.ndarray:
    """General / bilinear (Luong) score q^T W k for every query-key pair: Q W K^T (eq. 4.6).

    Q (..., n_q, d_q), K (..., n_k, d_k), W (d_q, d_k) -> (..., n_q, n_k); d_q and d_k may differ.
    """
    Q, K, W = _float(Q), _float(K), _float(W)
    return dot_product_scores(Q @ W, K)  # (..., n_q, d_k) @ (..., d_k, n_k)
