"""The encoder-decoder framework (chapter 2, assignment 02): a GRU cell, an encoder, teacher forcing,
greedy decoding and the accuracies used to measure the bottleneck.

Notation: tokens are integer ids; D embedding size, H hidden size, T sequence length, B batch.
GRU parameters follow PyTorch's layout (``torch.nn.GRUCell``): gates stacked in the order r, z, n:
W_ih (3H, D), W_hh (3H, H), b_ih (3H,), b_hh (3H,).
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from autograder.grading.reference.qkv import _float


def _sigmoid(x: np.ndarray) -> np.ndarray:
    # exp of a non-positive number only: no overflow warnings for large |x|
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def gru_cell(x, h, params) -> np.ndarray:
    """One GRU step (chapter 2, eq-gru): r, z = sigmoid(...), n = tanh(W_in x + b_in + r * (W_hn h + b_hn)),
    h' = (1 - z) * n + z * h.  x (..., D), h (..., H) -> (..., H)."""
    x, h = _float(x), _float(h)
    W_ih, W_hh = _float(params["W_ih"]), _float(params["W_hh"])
    b_ih, b_hh = _float(params["b_ih"]), _float(params["b_hh"])
    gi = x @ W_ih.T + b_ih  # (..., 3H)
    gh = h @ W_hh.T + b_hh  # (..., 3H)
    i_r, i_z, i_n = np.split(gi, 3, axis=-1)  # each (..., H)
    h_r, h_z, h_n = np.split(gh, 3, axis=-1)
    r = _sigmoid(i_r + h_r)
    z = _sigmoid(i_z + h_z)
    # the reset gate scales the recurrent part *after* its bias, as in PyTorch (and Cho et al.)
    n = np.tanh(i_n + r * h_n)
    return (1.0 - z) * n + z * h


def encode(tokens, params):
    """Embed ``tokens`` (..., T) and run the GRU from h_0 = 0 (chapter 2, eq-rnn-encdec).

    Returns ``(states, context)``: every hidden state (..., T, H) and the context C = h_T (..., H).
    ``params`` holds ``embedding`` (V, D) and the GRU weights of ``gru_cell``.
    """
    tokens = np.asarray(tokens)
    emb = _float(params["embedding"])[tokens]  # (..., T, D)
    H = np.shape(params["W_hh"])[-1]
    h = np.zeros(tokens.shape[:-1] + (H,), dtype=np.result_type(emb.dtype, _float(params["W_hh"]).dtype))
    states = []
    for t in range(tokens.shape[-1]):
        h = gru_cell(emb[..., t, :], h, params)
        states.append(h)
    if not states:
        return np.zeros(tokens.shape + (H,), dtype=h.dtype), h
    return np.stack(states, axis=-2), h  # (..., T, H), (..., H)


def teacher_forcing_inputs(targets, bos: int) -> np.ndarray:
    """Decoder inputs under teacher forcing: the targets shifted right by one, starting with ``bos`` (chapter 2, sec-teacher-forcing).

    targets (..., T) -> (..., T): [bos, y_1, ..., y_{T-1}].
    """
    targets = np.asarray(targets)
    start = np.full(targets.shape[:-1] + (1,), bos, dtype=targets.dtype)
    return np.concatenate([start, targets[..., :-1]], axis=-1)


def greedy_decode(step_fn: Callable[[int, Any], tuple], state, bos: int, eos: int, max_len: int) -> np.ndarray:
    """Greedy decoding of one sequence (chapter 2, eq-greedy): feed back the most likely token until ``eos`` or ``max_len``.

    ``step_fn(token, state) -> (logits (V,), new_state)``. Returns the generated token ids as a 1-d integer
    array, ``eos`` included when it was produced; ties go to the lowest token id (``np.argmax``).
    """
    out: list[int] = []
    token = bos
    for _ in range(max_len):
        logits, state = step_fn(token, state)
        token = int(np.argmax(np.asarray(logits)))
        out.append(token)
        if token == eos:
            break
    return np.array(out, dtype=np.int64)


def _aligned(pred, target, pad: int):
    """``pred`` cut or padded with ``pad`` to the length of ``target``; both (B, T)."""
    pred, target = np.atleast_2d(np.asarray(pred)), np.atleast_2d(np.asarray(target))
    T = target.shape[-1]
    if pred.shape[-1] >= T:
        pred = pred[..., :T]
    else:
        fill = np.full(pred.shape[:-1] + (T - pred.shape[-1],), pad, dtype=pred.dtype)
        pred = np.concatenate([pred, fill], axis=-1)
    return pred, target


def sequence_accuracy(pred, target, pad: int) -> float:
    """Fraction of sequences whose prediction matches the target at every non-``pad`` target position.

    pred (B, T') and target (B, T) may differ in length: missing predictions count as wrong, predictions
    beyond the target (after its end-of-sequence token) are ignored.
    """
    pred, target = _aligned(pred, target, pad)
    real = target != pad  # (B, T)
    ok = np.all((pred == target) | ~real, axis=-1)  # (B,)
    return float(np.mean(ok))


def token_accuracy(pred, target, pad: int) -> float:
    """Fraction of non-``pad`` target tokens predicted correctly, over the whole batch."""
    pred, target = _aligned(pred, target, pad)
    real = target != pad
    return float(np.sum((pred == target) & real) / np.sum(real))
