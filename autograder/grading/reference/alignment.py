"""Attention in the encoder-decoder (chapter 4, assignment 04): scores, context per step, one decoder step.

Notation (fixed across chapter 4): the encoder states H (..., n_k, d_k) are the keys and values; the decoder
state(s) S or s (..., n_q, d_q) are the queries. Scores and weights have shape (..., n_q, n_k).
Score functions return one score per (query, key) pair, like ``autograder.grading.reference.qkv.dot_product_scores``.
"""
from __future__ import annotations

import numpy as np

from autograder.grading.reference.qkv import _float, dot_product_scores, masked_softmax, softmax


def additive_scores(Q, K, W_q, W_k, v) -> np.ndarray:
    """Additive (Bahdanau, "concat") score v^T tanh(W_q q + W_k k) for every query-key pair (chapter 4, eq-additive).

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
    """General / bilinear (Luong) score q^T W k for every query-key pair: Q W K^T (chapter 4, eq-luong-scores).

    Q (..., n_q, d_q), K (..., n_k, d_k), W (d_q, d_k) -> (..., n_q, n_k); d_q and d_k may differ.
    """
    Q, K, W = _float(Q), _float(K), _float(W)
    return dot_product_scores(Q @ W, K)  # (..., n_q, d_k) @ (..., d_k, n_k)


def attention_context(scores, H, mask=None):
    """Weights a_ij = softmax_j(score_ij) (eq-align-weights) and one context per query c_i = sum_j a_ij h_j (eq-context-i).

    scores (..., n_q, n_k), H (..., n_k, d_h) -> ``(contexts (..., n_q, d_h), weights (..., n_q, n_k))``.
    ``mask`` (boolean, True = a real source position) broadcasts against the weights; masked positions get
    weight 0 and a row with no allowed position gives weights 0 and context 0 (``qkv.masked_softmax``).
    """
    weights = softmax(scores) if mask is None else masked_softmax(scores, mask)
    return weights @ _float(H), weights  # (..., n_q, n_k) @ (..., n_k, d_h)


def bahdanau_context(s_prev, H, W_q, W_k, v, mask=None):
    """Bahdanau attention for one decoder step: the *previous* state s_{i-1} scores every h_j additively
    (eq-additive), then ``attention_context``.  s_prev (..., d_s), H (..., n, d_h), mask (..., n) or None.

    Returns ``(c_i (..., d_h), a_i (..., n))``.
    """
    s_prev = _float(s_prev)
    scores = additive_scores(s_prev[..., None, :], H, W_q, W_k, v)  # (..., 1, n): a single query
    m = None if mask is None else np.asarray(mask, dtype=bool)[..., None, :]  # (..., 1, n)
    c, a = attention_context(scores, H, m)
    return c[..., 0, :], a[..., 0, :]


def attention_decoder_step(s_t, H, W_a, W_c, mask=None):
    """One Luong global-attention step with the general score (eq-luong-scores, eq-luong-output): the *current* state s_t gives
    a_t = softmax_j(s_t^T W_a h_j), c_t = sum_j a_tj h_j and the attentional state h~_t = tanh(W_c [c_t; s_t]).

    s_t (..., d_s), H (..., n, d_h), W_a (d_s, d_h), W_c (d_h + d_s, d_out), mask (..., n) or None.
    Returns ``(h_tilde (..., d_out), c_t (..., d_h), a_t (..., n))``. Row-vector convention:
    h~_t = tanh(concat([c_t, s_t]) @ W_c).
    """
    s_t = _float(s_t)
    scores = general_scores(s_t[..., None, :], H, W_a)  # (..., 1, n)
    m = None if mask is None else np.asarray(mask, dtype=bool)[..., None, :]
    c, a = attention_context(scores, H, m)
    c, a = c[..., 0, :], a[..., 0, :]  # (..., d_h), (..., n)
    lead = np.broadcast_shapes(c.shape[:-1], s_t.shape[:-1])  # H may carry batch axes that s_t lacks
    both = np.concatenate([np.broadcast_to(c, lead + c.shape[-1:]), np.broadcast_to(s_t, lead + s_t.shape[-1:])], axis=-1)
    h_tilde = np.tanh(both @ _float(W_c))  # (..., d_h + d_s) @ (d_h + d_s, d_out)
    return h_tilde, c, a
