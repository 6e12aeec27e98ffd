"""The chapter-5 reference agrees with PyTorch and with brute-force loops; the book's torch model uses the same formulas."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from attn import lookup
from autograder.grading.checking import check
from autograder.grading.reference import alignment, variants
from autograder.grading.reference.qkv import cosine_scores, dot_product_scores, scaled_dot_product_scores
from autograder.grading.specs import all_specs


def t(x):
    return torch.from_numpy(np.asarray(x, dtype=np.float64))


# ---------------------------------------------------------------- scores
@pytest.mark.parametrize("seed", range(10))
def test_location_scores_match_torch_linear(seed):
    rng = np.random.default_rng(seed)
    S, W = rng.standard_normal((2, 3, 5)), rng.standard_normal((5, 7))
    np.testing.assert_allclose(variants.location_scores(S, W), F.linear(t(S), t(W).T).numpy(), atol=1e-12)


@pytest.mark.parametrize("seed", range(10))
def test_alignment_scores_match_torch(seed):
    """general = torch's bilinear form; additive = a loop over every (query, key) pair."""
    rng = np.random.default_rng(seed)
    d_q, d_k, d_a = (int(v) for v in rng.integers(1, 6, size=3))
    Q, K = rng.standard_normal((2, 3, d_q)), rng.standard_normal((2, 4, d_k))
    W = rng.standard_normal((d_q, d_k))
    bil = F.bilinear(t(Q)[:, :, None, :].expand(-1, -1, 4, -1), t(K)[:, None, :, :].expand(-1, 3, -1, -1), t(W)[None])[..., 0]
    np.testing.assert_allclose(alignment.general_scores(Q, K, W), bil.numpy(), atol=1e-12)
    W_q, W_k, v = rng.standard_normal((d_q, d_a)), rng.standard_normal((d_k, d_a)), rng.standard_normal(d_a)
    loop = np.zeros((2, 3, 4))
    for b in range(2):
        for i in range(3):
            for j in range(4):
                loop[b, i, j] = v @ np.tanh(W_q.T @ Q[b, i] + W_k.T @ K[b, j])
    np.testing.assert_allclose(alignment.additive_scores(Q, K, W_q, W_k, v), loop, atol=1e-12)


# ---------------------------------------------------------------- local attention
@pytest.mark.parametrize("seed", range(20))
def test_local_window_matches_a_loop(seed):
    rng = np.random.default_rng(seed)
    n, D = int(rng.integers(1, 12)), int(rng.integers(0, 14))
    p = rng.uniform(-1, n, size=(3,))
    expected = np.array([[p_i - D <= s <= p_i + D for s in range(n)] for p_i in p])
    np.testing.assert_array_equal(variants.local_window(p, n, D), expected)


def test_local_window_edges_by_hand():
    np.testing.assert_array_equal(variants.local_window(0.0, 6, 2), [1, 1, 1, 0, 0, 0])
    np.testing.assert_array_equal(variants.local_window(5.0, 6, 2), [0, 0, 0, 1, 1, 1])
    np.testing.assert_array_equal(variants.local_window(2.5, 6, 1), [0, 0, 1, 1, 0, 0])
    assert variants.local_window(1.0, 4, 100).all()


def local_p_by_hand(h_t, H, W_p, v_p, D):
    """Luong's local-p for one query, written with torch and Python loops."""
    n = H.shape[0]
    p = (n - 1) * torch.sigmoid(torch.tanh(t(h_t) @ t(W_p)) @ t(v_p)).item()
    window = [s for s in range(n) if abs(s - p) <= D]
    scores = {s: float(H[s] @ h_t) for s in window}
    top = max(scores.values())
    z = sum(math.exp(x - top) for x in scores.values())
    out = np.zeros(n)
    for s in window:
        out[s] = math.exp(scores[s] - top) / z * math.exp(-((s - p) ** 2) / (2 * (D / 2) ** 2))
    return out


@pytest.mark.parametrize("seed", range(20))
def test_local_p_attention_matches_a_loop(seed):
    rng = np.random.default_rng(seed)
    n, d, d_p, D = int(rng.integers(1, 12)), int(rng.integers(1, 6)), int(rng.integers(1, 5)), int(rng.integers(1, 8))
    h_t, H = rng.standard_normal((3, d)), rng.standard_normal((3, n, d))
    W_p, v_p = rng.standard_normal((d, d_p)), 3 * rng.standard_normal(d_p)
    got = variants.local_p_attention(h_t, H, W_p, v_p, D)
    assert got.shape == (3, n)
    for b in range(3):
        np.testing.assert_allclose(got[b], local_p_by_hand(h_t[b], H[b], W_p, v_p, D), atol=1e-12)


def test_local_p_attention_at_the_ends_and_with_a_wide_window():
    rng = np.random.default_rng(0)
    h_t, H, W_p = rng.standard_normal(4), rng.standard_normal((9, 4)), rng.standard_normal((4, 3))
    v_p = -50 * np.sign(np.tanh(h_t @ W_p))  # sigmoid saturates: p_t = 0
    w = variants.local_p_attention(h_t, H, W_p, v_p, 2)
    assert np.all(w[3:] == 0) and np.all(w[:3] > 0)
    w = variants.local_p_attention(h_t, H, W_p, -v_p, 2)  # p_t = n - 1
    assert np.all(w[:6] == 0) and np.all(w[6:] > 0)
    w = variants.local_p_attention(h_t, H, W_p, v_p, 50)  # window covers everything, Gaussian almost flat
    assert np.all(w > 0) and 1.0 >= w.sum() >= math.exp(-(8**2) / (2 * 25**2))


def test_local_m_is_a_window_around_t():
    rng = np.random.default_rng(1)
    H, h = rng.standard_normal((8, 3)), rng.standard_normal(3)
    w = variants.local_m_attention(5, h, H, 1)
    assert np.all(w[[0, 1, 2, 3, 7]] == 0) and w.sum() == pytest.approx(1.0)
    np.testing.assert_allclose(w[4:7], torch.softmax(t(H[4:7] @ h), 0).numpy(), atol=1e-12)


# ---------------------------------------------------------------- hard attention and REINFORCE
@pytest.mark.parametrize("seed", range(10))
def test_hard_argmax_matches_torch_argmax_first_maximum(seed):
    rng = np.random.default_rng(seed)
    w = rng.integers(0, 3, size=(2, 4, 6)).astype(float)  # many ties
    w[0, 1] = 0.0  # an entirely masked row
    V = rng.standard_normal((2, 6, 3))
    out, hot = variants.hard_attention(w, V)
    idx = torch.argmax(t(w), dim=-1).numpy()  # torch documents: the first maximal value
    empty = ~(w > 0).any(-1)
    for b, i in np.ndindex(2, 4):
        if empty[b, i]:
            assert np.all(out[b, i] == 0) and np.all(hot[b, i] == 0)
        else:
            np.testing.assert_array_equal(out[b, i], V[b, idx[b, i]])
            assert hot[b, i].sum() == 1 and hot[b, i, idx[b, i]] == 1


def test_hard_sampling_follows_the_documented_draws_and_the_weights():
    rng = np.random.default_rng(3)
    w = variants.softmax(rng.standard_normal((4, 5)))
    w[2] = 0.0
    V = np.arange(10.0).reshape(5, 2)
    _, hot = variants.hard_attention(w, V, sample=True, rng=np.random.default_rng(42))
    draws = np.random.default_rng(42)
    for i in range(4):
        if i == 2:
            assert hot[i].sum() == 0
        else:
            assert np.argmax(hot[i]) == draws.choice(5, p=w[i] / w[i].sum())
    # Frequencies of many draws from one row match its weights (bound: 5 standard errors).
    row = np.array([0.5, 0.3, 0.15, 0.05])
    many = np.tile(row, (20000, 1))
    _, hot = variants.hard_attention(many, np.eye(4), sample=True, rng=np.random.default_rng(0))
    freq = hot.mean(0)
    assert np.all(np.abs(freq - row) < 5 * np.sqrt(row * (1 - row) / 20000))


@pytest.mark.parametrize("seed", range(5))
def test_exact_policy_gradient_matches_autograd(seed):
    rng = np.random.default_rng(seed)
    logits, r = rng.standard_normal(6), rng.standard_normal(6)
    theta = t(logits).requires_grad_()
    (torch.softmax(theta, 0) @ t(r)).backward()
    np.testing.assert_allclose(variants.exact_policy_gradient(logits, r), theta.grad.numpy(), atol=1e-12)


def test_reinforce_is_unbiased_and_a_baseline_reduces_its_variance():
    rng = np.random.default_rng(0)
    logits, r = rng.standard_normal(5), rng.standard_normal(5) + 3.0
    exact = variants.exact_policy_gradient(logits, r)
    est = np.array([variants.reinforce_gradient(logits, r, 200, rng) for _ in range(300)])
    based = np.array([variants.reinforce_gradient(logits, r, 200, rng, baseline=float(variants.softmax(logits) @ r)) for _ in range(300)])
    for e in (est, based):
        assert np.all(np.abs(e.mean(0) - exact) < 5 * e.std(0) / np.sqrt(len(e)) + 1e-12)
    assert based.var(0).sum() < est.var(0).sum() / 4


# ---------------------------------------------------------------- monotonic attention
@pytest.mark.parametrize("seed", range(10))
def test_monotonic_mask_matches_a_loop(seed):
    rng = np.random.default_rng(seed)
    n_k = int(rng.integers(1, 9))
    prev = rng.integers(0, n_k, size=(2, 3))
    for step in (None, 0, 1, 3, 20):
        expected = np.array([[[j >= p and (step is None or j <= p + step) for j in range(n_k)] for p in row] for row in prev])
        np.testing.assert_array_equal(variants.monotonic_mask(prev, n_k, step), expected)


def test_forced_forward_attention_never_moves_back():
    rng = np.random.default_rng(0)
    scores = 3 * rng.standard_normal((8, 10))
    w = variants.forced_forward_attention(scores, max_step=2)
    pos = w.argmax(-1)
    assert np.all(np.diff(pos) >= 0) and np.all(np.diff(pos) <= 2)
    np.testing.assert_allclose(w.sum(-1), 1.0)
    assert np.any(np.diff(scores.argmax(-1)) < 0), "the unconstrained argmax should move back for this test to mean something"


# ---------------------------------------------------------------- key-value, entropy
def test_key_value_split_matches_torch_split():
    H = np.random.default_rng(0).standard_normal((2, 5, 7))
    K, V = variants.key_value_split(H, 3)
    tk, tv = torch.split(t(H), [3, 4], dim=-1)
    np.testing.assert_array_equal(K, tk.numpy())
    np.testing.assert_array_equal(V, tv.numpy())
    with pytest.raises(ValueError):
        variants.key_value_split(H, 7)


@pytest.mark.parametrize("seed", range(10))
def test_attention_entropy_matches_torch(seed):
    rng = np.random.default_rng(seed)
    w = variants.softmax(3 * rng.standard_normal((3, 4, 6)))
    w[0, 1, [0, 2]] = 0.0
    w[0, 1] /= w[0, 1].sum()
    np.testing.assert_allclose(variants.attention_entropy(w), torch.distributions.Categorical(probs=t(w)).entropy().numpy(), atol=1e-12)
    w[1, 2] = 0.0  # an entirely masked row: Categorical cannot take it, entr can
    np.testing.assert_allclose(variants.attention_entropy(w), torch.special.entr(t(w)).sum(-1).numpy(), atol=1e-12)
    assert variants.attention_entropy(w)[1, 2] == 0.0


def test_attention_entropy_by_hand():
    np.testing.assert_allclose(variants.attention_entropy(np.full(8, 1 / 8)), np.log(8))
    assert variants.attention_entropy(np.array([0.0, 1.0, 0.0])) == 0.0


# ---------------------------------------------------------------- the book's torch model uses these formulas
@pytest.mark.parametrize("variant", ["dot", "scaled dot", "general", "additive", "cosine", "location", "local-p", "key-value"])
def test_lookup_model_weights_equal_the_reference(variant):
    torch.manual_seed(0)
    model = lookup.LookupModel(variant, n_pairs=7).double()
    keys, values, query, _, _ = lookup.make_batch(5, 7, torch.Generator().manual_seed(0))
    with torch.no_grad():
        _, w = model(keys, values, query)
        h = torch.cat([model.key_emb(keys), model.value_emb(values)], -1).numpy()  # (B, n, 2d)
        s = model.query(model.key_emb(query)).numpy()[:, None, :]  # (B, 1, d_q)
    P = {k: p.detach().numpy() for k, p in model.named_parameters()}
    scores = {
        "dot": lambda: dot_product_scores(s, h),
        "scaled dot": lambda: scaled_dot_product_scores(s, h),
        "general": lambda: alignment.general_scores(s, h, P["W"]),
        "additive": lambda: alignment.additive_scores(s, h, P["W2.weight"].T, P["W1.weight"].T, P["v.weight"][0]),
        "cosine": lambda: np.exp(P["log_beta"]) * cosine_scores(s, h),
        "location": lambda: variants.location_scores(s, P["W_a.weight"].T) + P["W_a.bias"],
        "key-value": lambda: dot_product_scores(s, variants.key_value_split(h, model.d)[0]),
    }
    if variant == "local-p":
        expected = variants.local_p_attention(s[:, 0], h, P["W_p.weight"].T, P["v_p.weight"][0], model.D)
    else:
        expected = variants.softmax(scores[variant]())[:, 0]
    np.testing.assert_allclose(w.numpy(), expected, atol=1e-10)


# ---------------------------------------------------------------- the checker
@pytest.mark.parametrize("name", sorted(all_specs("05-variants")))
def test_reference_passes_its_own_hidden_cases_and_a_wrong_answer_fails(name):
    ref = getattr(variants, name)
    check("05-variants", name, ref, seed=123)

    def perturb(x):
        x = np.asarray(x)
        return ~x if x.dtype == bool else x * 1.01 + 0.01

    def wrong(*args, **kwargs):
        out = ref(*args, **kwargs)
        return tuple(perturb(o) for o in out) if isinstance(out, tuple) else perturb(out)

    with pytest.raises(AssertionError):
        check("05-variants", name, wrong, seed=123)


def test_hard_attention_checker_rejects_the_last_maximum_and_other_draws():
    def last_max(weights, values, sample=False, rng=None):
        w = np.asarray(weights, dtype=float)
        flipped = w[..., ::-1]
        out, _ = variants.hard_attention(flipped, np.asarray(values)[..., ::-1, :], sample, rng)
        return out, variants.hard_attention(flipped, np.eye(w.shape[-1]), sample, rng)[1][..., ::-1]

    with pytest.raises(AssertionError, match="ties"):
        check("05-variants", "hard_attention", last_max, seed=1)

    def own_rng(weights, values, sample=False, rng=None):
        return variants.hard_attention(weights, values, sample, np.random.default_rng(999) if sample else rng)

    with pytest.raises(AssertionError, match="rng.choice"):
        check("05-variants", "hard_attention", own_rng, seed=1)
