"""Alignment scores of the encoder-decoder attention (chapter 4): additive (Bahdanau) and general (Luong).

Notation: Q (..., n_q, d_q) decoder states (queries), K (..., n_k, d_k) encoder states (keys);
scores (..., n_q, n_k). Projections are ``x @ W``.
"""
from __future__ import annotations

import numpy as np


def additive_scores(Q, K, W_q, W_k, v) -> np.ndarray:
    """Additive score v^T tanh(W_q^T q + W_k^T k) for every (query, key) pair (Bahdanau et al. 2015).

    W_q (d_q, d_a), W_k (d_k, d_a), v (d_a,); returns (..., n_q, n_k).
    """
    q = np.asarray(Q) @ np.asarray(W_q)  # (..., n_q, d_a)
    k = np.asarray(K) @ np.asarray(W_k)  # (..., n_k, d_a)
    hidden = np.tanh(q[..., :, None, :] + k[..., None, :, :])  # (..., n_q, n_k, d_a)
    return hidden @ np.asarray(v)  # (..., n_q, n_k)


def general_scores(Q, K, W) -> np.ndarray:
    """General (bilinear) score q^T W k for every (query, key) pair (Luong et al. 2015); W (d_q, d_k)."""
    return np.asarray(Q) @ np.asarray(W) @ np.swapaxes(np.asarray(K), -1, -2)  # (..., n_q, n_k)
