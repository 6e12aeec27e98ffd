"""The hidden cases catch the wrong answers that used to get full marks, and the mutants that used to survive.

Each wrong function below follows one rule of a notebook's text to the letter except one (issue 14), or
re-creates by hand a kind of mutant that survived ``benchmarks/mutation.py`` before a hidden case was added
(``benchmarks/mutation_survivors.KILLED_BY_NEW_CASES``). On a fixed seed, the hidden cases must reject it,
and must accept the reference itself.
"""
from __future__ import annotations

import numpy as np
import pytest

from autograder.grading.checking import CheckFailed, check
from autograder.grading.reference import lm, qkv, transformer, variants

SEED = 20261128


def topk_keeps_exactly_k(logits, temperature, top_k, rng):
    """sample_next, but top-k keeps exactly k tokens (argsort), dropping ties with the k-th largest."""
    logits = np.asarray(logits, dtype=float)
    if temperature == 0:
        idx = np.argmax(logits, axis=-1)
        return int(idx) if np.ndim(idx) == 0 else idx
    z = logits / temperature
    V = z.shape[-1]
    if top_k is not None and 0 < top_k < V:
        order = np.argsort(-z, axis=-1, kind="stable")
        keep = np.zeros(z.shape, dtype=bool)
        np.put_along_axis(keep, order[..., :top_k], True, axis=-1)
        z = np.where(keep, z, -np.inf)
    p = np.exp(z - z.max(axis=-1, keepdims=True))
    cdf = np.cumsum(p, axis=-1)
    cdf = cdf / cdf[..., -1:]
    u = rng.random(logits.shape[:-1])
    idx = np.sum(cdf <= np.asarray(u)[..., None], axis=-1)
    return int(idx) if np.ndim(idx) == 0 else idx


def hard_attention_draws_on_masked_rows(weights, values, sample=False, rng=None):
    """hard_attention, but in sampling mode it also draws (and throws away) a number for an all-zero row."""
    weights, values = np.asarray(weights, dtype=float), np.asarray(values, dtype=float)
    one_hot = np.zeros(weights.shape)
    for pos in np.ndindex(*weights.shape[:-1]):
        row = weights[pos]
        if sample:
            if not row.any():
                rng.random()
                continue
            j = rng.choice(row.size, p=row / row.sum())
        else:
            if not row.any():
                continue
            j = int(np.argmax(row))
        one_hot[pos + (j,)] = 1.0
    return one_hot @ values, one_hot


def entropy_that_warns(weights):
    """attention_entropy with the right values (nan_to_num), but log(0) warns on every zero weight."""
    w = np.asarray(weights, dtype=float)
    return -np.nan_to_num(w * np.log(w)).sum(axis=-1)


def masked_softmax_one_shift(scores, mask):
    """The surviving mutant of masked_softmax: one maximum over the whole array instead of one per row."""
    scores = np.asarray(scores, dtype=float)
    mask = np.broadcast_to(np.asarray(mask, dtype=bool), scores.shape)
    filled = np.where(mask, scores, -np.inf)
    top = np.max(filled)
    top = top if np.isfinite(top) else 0.0
    e = np.where(mask, np.exp(filled - top), 0.0)
    total = e.sum(axis=-1, keepdims=True)
    return np.divide(e, total, out=np.zeros_like(e), where=total > 0)


def label_smoothing_pad_as_index(logits, target, eps, pad=None):
    """label_smoothing_loss that looks the target up before dropping padding: fine while pad is a class index."""
    logits = np.asarray(logits, dtype=float)
    logp = logits - logits.max(-1, keepdims=True)
    logp = logp - np.log(np.exp(logp).sum(-1, keepdims=True))
    target = np.asarray(target)
    nll = -np.take_along_axis(logp, target[..., None], axis=-1)[..., 0]
    loss = (1 - eps) * nll - eps * logp.mean(-1)
    keep = np.ones(target.shape, bool) if pad is None else target != pad
    return float(loss[keep].mean()) if keep.any() else 0.0


WRONG = [
    ("09-gpt-bert", "sample_next", topk_keeps_exactly_k, lm.sample_next),
    ("05-variants", "hard_attention", hard_attention_draws_on_masked_rows, variants.hard_attention),
    ("05-variants", "attention_entropy", entropy_that_warns, variants.attention_entropy),
    ("03-qkv", "masked_softmax", masked_softmax_one_shift, qkv.masked_softmax),
    ("08-transformer", "label_smoothing_loss", label_smoothing_pad_as_index, transformer.label_smoothing_loss),
]


@pytest.mark.parametrize("assignment,name,wrong,reference", WRONG, ids=[w[2].__name__ for w in WRONG])
def test_hidden_cases_reject_the_wrong_answer_and_accept_the_reference(assignment, name, wrong, reference, capsys):
    check(assignment, name, reference, seed=SEED)
    with pytest.raises(CheckFailed):
        check(assignment, name, wrong, seed=SEED)


def test_every_new_case_kill_is_recorded():
    from benchmarks.mutation_survivors import EQUIVALENT, KILLED_BY_NEW_CASES

    assert not set(EQUIVALENT) & set(KILLED_BY_NEW_CASES)
    assert all(reason.strip() for reason in {**EQUIVALENT, **KILLED_BY_NEW_CASES}.values())


def test_masks_must_be_boolean():
    """06's text says 'return a boolean array'; a 0/1 float mask (a surviving mutant of causal_mask) is wrong."""
    from autograder.grading.reference import mha

    check("06-self-attention", "causal_mask", mha.causal_mask, seed=SEED)
    with pytest.raises(CheckFailed, match="boolean"):
        check("06-self-attention", "causal_mask", lambda n: np.tril(np.ones((n, n))), seed=SEED)
    with pytest.raises(CheckFailed, match="boolean"):
        check("06-self-attention", "padding_mask", lambda lengths, n: mha.padding_mask(lengths, n).astype(int), seed=SEED)


def sample_next_one_softmax(logits, temperature, top_k, rng):
    """The surviving mutant of sample_next: one softmax over every row at once (one shift for the whole array)."""
    z = np.asarray(logits, dtype=float) / (temperature or 1.0)
    if temperature == 0:
        idx = np.argmax(logits, axis=-1)
        return int(idx) if np.ndim(idx) == 0 else idx
    V = z.shape[-1]
    if top_k is not None and 0 < top_k < V:
        z = np.where(z < np.sort(z, axis=-1)[..., V - top_k][..., None], -np.inf, z)
    e = np.exp(z - np.max(z))
    cdf = np.cumsum(e / e.sum(), axis=-1)
    cdf = cdf / cdf[..., -1:]
    u = rng.random(np.shape(logits)[:-1])
    idx = np.sum(cdf <= np.asarray(u)[..., None], axis=-1)
    return int(idx) if np.ndim(idx) == 0 else idx


def warmup_clamped_at_two(step, d_model, warmup):
    """The surviving mutant of warmup_lr: steps clamped to 2 (not 1) before the decay branch."""
    s = np.asarray(step, dtype=float)
    with np.errstate(divide="ignore"):
        decay = np.where(s > 0, 1.0 / np.sqrt(np.maximum(s, 2.0)), np.inf)
    lr = d_model**-0.5 * np.minimum(decay, s * warmup**-1.5)
    return float(lr) if lr.ndim == 0 else lr


def blockwise_one_maximum(Q, K, V, block_size, causal=False, key_mask=None):
    """The surviving mutant of blockwise_attention: one running maximum over every query at once."""
    Q, K, V = (np.asarray(a, dtype=float) for a in (Q, K, V))
    h, n_q, n_k = Q.shape[-3], Q.shape[-2], K.shape[-2]
    if K.shape[-3] != h:
        K, V = np.repeat(K, h // K.shape[-3], axis=-3), np.repeat(V, h // V.shape[-3], axis=-3)
    s = Q @ np.swapaxes(K, -1, -2) / np.sqrt(Q.shape[-1])
    visible = np.ones((n_q, n_k), dtype=bool)
    if causal:
        visible = np.tril(visible, k=n_k - n_q)
    if key_mask is not None:
        visible = visible & np.asarray(key_mask, dtype=bool)[..., None, :]
    visible = np.broadcast_to(visible, s.shape)
    s = np.where(visible, s, -np.inf)
    top = s.max()
    w = np.where(visible, np.exp(s - (top if np.isfinite(top) else 0.0)), 0.0)
    total = w.sum(-1, keepdims=True)
    out = np.zeros(s.shape[:-1] + (V.shape[-1],))
    np.divide(w @ V, total, out=out, where=total > 0)
    return out


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("assignment,name,wrong", [
    ("09-gpt-bert", "sample_next", sample_next_one_softmax),
    ("08-transformer", "warmup_lr", warmup_clamped_at_two),
    ("10-modern", "blockwise_attention", blockwise_one_maximum),
])
def test_more_surviving_mutants_are_now_killed(assignment, name, wrong):
    with pytest.raises(CheckFailed):
        check(assignment, name, wrong, seed=SEED)


def label_smoothing_one_shift(logits, target, eps, pad=None):
    """label_smoothing_loss whose log-softmax shifts every token by one maximum (a survivor of a reshuffled run)."""
    x = np.asarray(logits, dtype=float)
    logp = x - x.max()
    logp = logp - np.log(np.exp(logp).sum(-1, keepdims=True))
    return _smoothed(logp, target, eps, pad)


def _smoothed(logp, target, eps, pad):
    target = np.asarray(target)
    C = logp.shape[-1]
    keep = np.ones(target.shape, bool) if pad is None else target != pad
    safe = np.where(keep, target, 0)
    nll = -np.take_along_axis(logp, safe[..., None], axis=-1)[..., 0]
    per_token = (1 - eps) * nll - eps * logp.sum(-1) / C
    return float(per_token[keep].mean()) if keep.any() else 0.0


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_log_softmax_per_token_is_a_hidden_case():
    with pytest.raises(CheckFailed):
        check("08-transformer", "label_smoothing_loss", label_smoothing_one_shift, seed=SEED)
