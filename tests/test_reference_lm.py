"""The chapter-9 reference: BERT's 80/10/10 rule and top-k / temperature sampling behave as specified."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from autograder.grading.checking import check
from autograder.grading.reference import lm
from autograder.grading.specs import all_specs


def test_mlm_mask_proportions_over_a_large_sample():
    rng = np.random.default_rng(0)
    V, mask_id, p = 20, 20, 0.15
    tokens = rng.integers(0, V, size=(400, 1000))
    corrupted, select = lm.mlm_mask(tokens, p, rng, mask_id, V)
    assert corrupted.shape == tokens.shape and corrupted.dtype == tokens.dtype and select.dtype == bool
    np.testing.assert_array_equal(corrupted[~select], tokens[~select])  # unselected positions are untouched
    n = select.sum()
    assert abs(n / tokens.size - p) < 0.003
    sel_in, sel_tok = corrupted[select], tokens[select]
    masked = np.mean(sel_in == mask_id)
    changed = np.mean((sel_in != mask_id) & (sel_in != sel_tok))  # random replacement that differs: 0.1 (1 - 1/V)
    kept = np.mean(sel_in == sel_tok)  # 0.1 kept + 0.1 / V random replacements that hit the original
    assert abs(masked - 0.8) < 0.005
    assert abs(changed - 0.1 * (1 - 1 / V)) < 0.004
    assert abs(kept - (0.1 + 0.1 / V)) < 0.004
    # Random replacements are uniform over the vocabulary.
    repl = sel_in[(sel_in != mask_id) & (sel_in != sel_tok)]
    counts = np.bincount(repl, minlength=V)
    assert counts.min() > 0.7 * counts.mean()


def test_mlm_mask_uses_the_documented_random_draws():
    tokens = np.arange(12).reshape(3, 4) % 7
    out, select = lm.mlm_mask(tokens, 0.5, np.random.default_rng(5), 99, 7)
    g = np.random.default_rng(5)
    s, u, r = g.random((3, 4)) < 0.5, g.random((3, 4)), g.integers(0, 7, size=(3, 4))
    for idx in np.ndindex(3, 4):  # the rule, one position at a time
        want = tokens[idx]
        if s[idx]:
            want = 99 if u[idx] < 0.8 else (r[idx] if u[idx] < 0.9 else tokens[idx])
        assert out[idx] == want
    np.testing.assert_array_equal(select, s)
    assert lm.mlm_mask(tokens, 0.0, np.random.default_rng(1), 99, 7)[1].sum() == 0
    assert lm.mlm_mask(tokens, 1.0, np.random.default_rng(1), 99, 7)[1].all()


def _torch_probs(logits, temperature, top_k):
    """nanoGPT's recipe, in torch: divide by T, keep the top k (ties kept), softmax."""
    t = torch.tensor(logits) / temperature
    if top_k is not None:
        v, _ = torch.topk(t, top_k)
        t[t < v[..., [-1]]] = -float("inf")
    return torch.softmax(t, -1).numpy()


@pytest.mark.parametrize("temperature,top_k", [(1.0, None), (0.5, None), (2.0, None), (1.0, 3), (0.7, 5), (1.5, 1)])
def test_sample_next_frequencies_match_torch_probabilities(temperature, top_k):
    rng = np.random.default_rng(3)
    logits = rng.standard_normal(8) * 2
    batch = np.broadcast_to(logits, (200_000, 8))
    draws = lm.sample_next(batch, temperature, top_k, np.random.default_rng(11))
    assert draws.shape == (200_000,) and np.issubdtype(draws.dtype, np.integer)
    freq = np.bincount(draws, minlength=8) / len(draws)
    expected = _torch_probs(logits, temperature, top_k)
    np.testing.assert_allclose(freq, expected, atol=0.004)
    assert np.all(freq[expected == 0] == 0)  # never outside the top k


def test_sample_next_edge_cases():
    logits = np.array([0.1, 3.0, -1.0, 2.9])
    assert lm.sample_next(logits, 0, None, np.random.default_rng(0)) == 1  # temperature 0 is greedy
    assert all(lm.sample_next(logits, 1.0, 1, np.random.default_rng(s)) == 1 for s in range(20))  # top-1 is greedy
    assert isinstance(lm.sample_next(logits, 1.0, None, np.random.default_rng(0)), int)
    # Greedy does not touch the generator; sampling draws exactly one number per row.
    g = np.random.default_rng(4)
    lm.sample_next(logits, 0, None, g)
    assert g.random() == np.random.default_rng(4).random()
    g1, g2 = np.random.default_rng(9), np.random.default_rng(9)
    lm.sample_next(np.zeros((3, 5)), 1.0, None, g1)
    g2.random(3)
    assert g1.random() == g2.random()
    # The batched draw equals drawing row by row from the same generator.
    rows = np.random.default_rng(2).standard_normal((6, 9))
    together = lm.sample_next(rows, 0.8, 4, np.random.default_rng(21))
    g = np.random.default_rng(21)
    one_by_one = [lm.sample_next(r, 0.8, 4, g) for r in rows]
    np.testing.assert_array_equal(together, one_by_one)
    # -inf logits are never drawn; huge logits do not overflow.
    assert lm.sample_next(np.array([-np.inf, 0.0, -np.inf]), 1.0, None, np.random.default_rng(0)) == 1
    assert lm.sample_next(np.array([1000.0, -1000.0]), 1.0, None, np.random.default_rng(0)) == 0


@pytest.mark.parametrize("name", sorted(all_specs("09-gpt-bert")))
def test_reference_passes_its_own_hidden_cases_and_a_wrong_answer_fails(name):
    ref = getattr(lm, name)
    check("09-gpt-bert", name, ref, seed=123)

    if name == "mlm_mask":
        def wrong(tokens, p, rng, mask_id, vocab_size):  # 90/10: forgets the "keep" branch
            out, sel = ref(tokens, p, rng, mask_id, vocab_size)
            return np.where(sel & (out == np.asarray(tokens)), mask_id, out), sel
    else:
        def wrong(logits, temperature, top_k, rng):  # ignores top_k
            return ref(logits, temperature, None, rng)

    with pytest.raises(AssertionError):
        check("09-gpt-bert", name, wrong, seed=123)
