"""Variants of attention (chapter 5, assignment 05): other scores, other ways of using the weights.

NumPy throughout. Notation: a query (decoder state) h_t or S (..., n_q, d); source states H (..., n, d);
weights (..., n_q, n_k), each row a distribution over the n_k source positions (or all zeros when the
row is entirely masked, as ``masked_softmax`` returns it). Positions are counted from 0.
The dot, scaled-dot and cosine scores and ``masked_softmax`` are chapter 3's (``autograder.grading.reference.qkv``);
the additive and general scores are chapter 4's (``autograder.grading.reference.alignment``).
"""
from __future__ import annotations

import numpy as np

from autograder.grading.reference.qkv import _float, masked_softmax, softmax


# ---------------------------------------------------------------- scores that ignore the keys' content
def location_scores(S, W) -> np.ndarray:
    """Location-based scores W_a s_t (Luong et al. 2015; chapter 5, eq-var-location, before the softmax): S @ W.

    S (..., n_q, d) decoder states, W (d, n_max): one score per source *position*, computed from the
    query alone; returns (..., n_q, n_max).
    """
    return _float(S) @ _float(W)  # (..., n_q, d) @ (d, n_max) -> (..., n_q, n_max)


# ---------------------------------------------------------------- local attention
def local_window(p, n: int, D) -> np.ndarray:
    """Boolean window of local attention: position s in [0, n) is inside iff |s - p| <= D (chapter 5, eq-var-window).

    ``p`` (...,) real centres; returns (..., n). The window is clipped at both ends of the sequence;
    with D >= n - 1 it covers every position.
    """
    p = _float(p)
    s = np.arange(n)  # (n,)
    return np.abs(s - p[..., None]) <= D  # (..., n)


def predicted_position(h_t, W_p, v_p, n: int) -> np.ndarray:
    """Local-p centre p_t = (n - 1) sigmoid(v_p^T tanh(W_p^T h_t)) in [0, n - 1] (chapter 5, eq-var-pt).

    Luong et al. write S sigmoid(...) with positions 1..S; counting from 0 the range is [0, n - 1].
    h_t (..., d), W_p (d, d_p), v_p (d_p,); returns (...,).
    """
    x = np.tanh(_float(h_t) @ _float(W_p)) @ _float(v_p)  # (...,)
    sigmoid = 0.5 * (1.0 + np.tanh(0.5 * x))  # = 1 / (1 + e^-x), without overflow for large |x|
    return (n - 1) * sigmoid


def local_m_attention(t, h_t, H, D) -> np.ndarray:
    """Local-m attention: dot-score softmax restricted to the window around p_t = t (monotonic guess).

    h_t (..., d), H (..., n, d); returns weights (..., n), zero outside the window.
    """
    H = _float(H)
    scores = (H @ _float(h_t)[..., :, None])[..., 0]  # (..., n, d) @ (..., d, 1) -> (..., n)
    return masked_softmax(scores, local_window(t, H.shape[-2], D))


def local_p_attention(h_t, H, W_p, v_p, D) -> np.ndarray:
    """Local-p attention weights (Luong et al. 2015, eqs. 9-10; chapter 5, eq-var-localp).

    a_t(s) = softmax_{s in window}(h_t . h_s) * exp(-(s - p_t)^2 / (2 sigma^2)), sigma = D / 2,
    window = {s : |s - p_t| <= D} clipped to [0, n), p_t from ``predicted_position``.
    The softmax runs over the window only; the Gaussian is applied after it (so the weights do not
    sum to 1, as in the paper). h_t (..., d), H (..., n, d), W_p (d, d_p), v_p (d_p,), D > 0;
    returns (..., n) with zeros outside the window.
    """
    H = _float(H)
    n = H.shape[-2]
    p = predicted_position(h_t, W_p, v_p, n)  # (...,)
    scores = (H @ _float(h_t)[..., :, None])[..., 0]  # (..., n)
    align = masked_softmax(scores, local_window(p, n, D))  # (..., n), zero outside the window
    sigma = D / 2.0
    s = np.arange(n)
    gauss = np.exp(-((s - p[..., None]) ** 2) / (2.0 * sigma**2))  # (..., n)
    return align * gauss


# ---------------------------------------------------------------- hard attention
def hard_attention(weights, values, sample: bool = False, rng=None):
    """Hard attention: read out one value per query instead of the weighted average (Xu et al. 2015).

    weights (..., n_q, n_k), values (..., n_k, d_v). Each row picks one position: the first maximum
    (``sample=False``) or a draw from the row's distribution (``sample=True``): for each row, in
    row-major order of ``weights.shape[:-1]``, one call ``rng.choice(n_k, p=row / row.sum())`` with the
    row in float64. A row of all zeros (entirely masked) picks nothing, reads out zeros and draws nothing.
    Returns ``(output, one_hot)``: output (..., n_q, d_v), one_hot (..., n_q, n_k) in {0, 1}.
    """
    w = _float(weights)
    n_k = w.shape[-1]
    empty = np.all(w == 0, axis=-1)  # (..., n_q)
    if sample:
        rng = np.random.default_rng() if rng is None else rng
        idx = np.zeros(w.shape[:-1], dtype=np.int64)
        for pos in np.ndindex(*w.shape[:-1]):
            if not empty[pos]:
                row = w[pos].astype(np.float64)
                idx[pos] = rng.choice(n_k, p=row / row.sum())
    else:
        idx = np.argmax(w, axis=-1)  # numpy returns the first maximum
    one_hot = (np.arange(n_k) == idx[..., None]) & ~empty[..., None]  # (..., n_q, n_k)
    one_hot = one_hot.astype(w.dtype)
    return one_hot @ _float(values), one_hot  # (..., n_q, n_k) @ (..., n_k, d_v)


def exact_policy_gradient(logits, rewards) -> np.ndarray:
    """Gradient of J(theta) = sum_k softmax(theta)_k r_k: pi * (r - J) (chapter 5, eq-var-exact-grad)."""
    pi = softmax(logits)
    r = _float(rewards)
    return pi * (r - np.sum(pi * r, axis=-1, keepdims=True))


def reinforce_gradient(logits, rewards, n_samples: int, rng, baseline: float = 0.0) -> np.ndarray:
    """REINFORCE estimate of the same gradient (Williams 1992; chapter 5, eq-var-reinforce).

    Draws a_1..a_N ~ softmax(logits) and averages (r_a - b) * d log pi_a / d theta, where
    d log pi_a / d theta = onehot(a) - pi. Unbiased for any baseline b that does not depend on a.
    logits, rewards (n_k,); returns (n_k,).
    """
    pi = softmax(logits)
    r = _float(rewards)
    a = rng.choice(len(pi), size=n_samples, p=pi)  # (N,)
    score = np.eye(len(pi))[a] - pi  # (N, n_k): gradient of log pi_a
    return np.mean((r[a] - baseline)[:, None] * score, axis=0)


# ---------------------------------------------------------------- monotonic (forced-forward) attention
def monotonic_mask(prev, n_k: int, max_step=None) -> np.ndarray:
    """Forced-forward mask (chapter 5, eq-var-monotonic): j is allowed iff prev <= j (<= prev + max_step, if given).

    ``prev`` (...,) integer positions attended at the previous output step; returns (..., n_k) boolean.
    """
    prev = np.asarray(prev)[..., None]  # (..., 1)
    j = np.arange(n_k)  # (n_k,)
    allowed = j >= prev
    if max_step is not None:
        allowed &= j <= prev + max_step
    return allowed


def forced_forward_attention(scores, max_step=None, start: int = 0) -> np.ndarray:
    """Decode step by step: row i is softmax over the positions allowed by ``monotonic_mask``,
    with prev = argmax of row i - 1 (``start`` for the first row). scores (n_q, n_k) -> weights (n_q, n_k)."""
    scores = _float(scores)
    weights = np.zeros_like(scores)
    prev = start
    for i in range(scores.shape[0]):
        weights[i] = masked_softmax(scores[i], monotonic_mask(prev, scores.shape[1], max_step))
        prev = int(np.argmax(weights[i]))
    return weights


# ---------------------------------------------------------------- key-value attention
def key_value_split(H, d_k: int):
    """Split each hidden state into a key part and a value part (Daniluk et al. 2017).

    H (..., n, d) -> (K, V) with K = H[..., :d_k] (..., n, d_k) and V = H[..., d_k:] (..., n, d - d_k).
    """
    H = np.asarray(H)
    d = H.shape[-1]
    if not 0 < d_k < d:
        raise ValueError(f"d_k must be between 1 and d - 1 = {d - 1}, got {d_k}")
    return H[..., :d_k], H[..., d_k:]


# ---------------------------------------------------------------- how sharp are the weights?
def attention_entropy(weights) -> np.ndarray:
    """Entropy -sum_j w_j ln w_j of each row of weights, in nats, with 0 ln 0 = 0.

    weights (..., n_k) -> (...,). A one-hot row has entropy 0, a uniform row ln n_k;
    an all-zero (entirely masked) row gets 0.
    """
    w = _float(weights)
    positive = w > 0
    logs = np.log(np.where(positive, w, 1.0))  # log 1 = 0 where w = 0: no warning, no nan
    return 0.0 - np.sum(np.where(positive, w * logs, 0.0), axis=-1)  # 0.0 - x turns -0.0 into 0.0
