"""The chapter-8 reference agrees with PyTorch's own Transformer layers, losses and norms, and with the paper."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from autograder.grading.checking import check
from autograder.grading.reference import transformer as tr
from autograder.grading.reference.mha import causal_mask
from autograder.grading.specs import all_specs
from attn.transformer import DecoderLayer, EncoderLayer
from tests.torch_params import layer_params


def _randomise(module, seed):
    """Give every parameter (LayerNorm gains and biases included) random values, so none is trivially 0 or 1."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.randn(p.shape, generator=g, dtype=p.dtype) * 0.5)
    return module


def _mask_case(rng, B, n, m=None):
    """A random boolean mask (True = may attend) of shape (B, n, m) with at least one allowed key per row."""
    m = n if m is None else m
    mask = rng.random((B, n, m)) < 0.7
    mask[..., 0] = True
    return mask


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("norm_first", [False, True])
def test_encoder_layer_matches_torch(seed, norm_first):
    rng = np.random.default_rng(seed)
    d_model, h = (8, 2) if seed % 2 else (12, 3)
    B, n, d_ff = 2, int(rng.integers(1, 7)), int(rng.integers(4, 20))
    layer = nn.TransformerEncoderLayer(d_model, h, d_ff, dropout=0.0, batch_first=True, norm_first=norm_first).double()
    _randomise(layer, seed).eval()
    x = rng.standard_normal((B, n, d_model))
    params = layer_params(layer)
    ours = tr.encoder_layer(x, params, norm_first=norm_first)
    with torch.no_grad():
        theirs = layer(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(ours, theirs, rtol=1e-9, atol=1e-9)

    # With a mask: torch's boolean masks mean "blocked", ours "allowed", so we pass the negation.
    # torch wants one (n, n) mask or one per head (B*h, n, n); a (B, n, n) mask is repeated per head.
    mask = _mask_case(rng, B, n)
    ours = tr.encoder_layer(x, params, mask=mask, norm_first=norm_first)
    with torch.no_grad():
        theirs = layer(torch.from_numpy(x), src_mask=torch.from_numpy(~mask).repeat_interleave(h, 0)).numpy()
    np.testing.assert_allclose(ours, theirs, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("norm_first", [False, True])
def test_decoder_layer_matches_torch(seed, norm_first):
    rng = np.random.default_rng(100 + seed)
    d_model, h = (8, 4) if seed % 2 else (6, 2)
    B, n, m, d_ff = 2, int(rng.integers(1, 6)), int(rng.integers(1, 7)), 16
    layer = nn.TransformerDecoderLayer(d_model, h, d_ff, dropout=0.0, batch_first=True, norm_first=norm_first).double()
    _randomise(layer, seed).eval()
    y, memory = rng.standard_normal((B, n, d_model)), rng.standard_normal((B, m, d_model))
    params = layer_params(layer)
    self_mask = causal_mask(n)
    lengths = rng.integers(1, m + 1, size=B)
    memory_mask = np.arange(m)[None, None, :] < lengths[:, None, None]  # (B, 1, m) padding of the memory
    ours = tr.decoder_layer(y, memory, params, self_mask=self_mask, memory_mask=memory_mask, norm_first=norm_first)
    with torch.no_grad():
        theirs = layer(
            torch.from_numpy(y), torch.from_numpy(memory),
            tgt_mask=torch.from_numpy(~self_mask),
            memory_key_padding_mask=torch.from_numpy(~memory_mask[:, 0, :]),
        ).numpy()
    np.testing.assert_allclose(ours, theirs, rtol=1e-9, atol=1e-9)
    # No masks at all.
    ours = tr.decoder_layer(y, memory, params, norm_first=norm_first)
    with torch.no_grad():
        theirs = layer(torch.from_numpy(y), torch.from_numpy(memory)).numpy()
    np.testing.assert_allclose(ours, theirs, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("norm_first", [False, True])
def test_course_torch_layers_match_the_reference(norm_first):
    """The torch layers used for training (attn.transformer) compute the reference's function."""
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    enc = _randomise(EncoderLayer(8, 2, 16, norm_first=norm_first).double(), 1)
    dec = _randomise(DecoderLayer(8, 2, 16, norm_first=norm_first).double(), 2)
    x, y = rng.standard_normal((3, 5, 8)), rng.standard_normal((3, 4, 8))
    mask = _mask_case(rng, 3, 5)
    with torch.no_grad():
        mem = enc(torch.from_numpy(x), torch.from_numpy(mask))
        out = dec(torch.from_numpy(y), mem, torch.from_numpy(causal_mask(4)), torch.from_numpy(mask[:, :4, :]))
    mem_ref = tr.encoder_layer(x, layer_params(enc), mask=mask, norm_first=norm_first)
    np.testing.assert_allclose(mem.numpy(), mem_ref, rtol=1e-9, atol=1e-9)
    out_ref = tr.decoder_layer(y, mem_ref, layer_params(dec), causal_mask(4), mask[:, :4, :], norm_first=norm_first)
    np.testing.assert_allclose(out.numpy(), out_ref, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("seed", range(5))
def test_layer_norm_and_feed_forward_match_torch(seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((2, 3, 7)) * 5 + 3
    gamma, beta = rng.standard_normal(7), rng.standard_normal(7)
    for eps in (1e-5, 1e-2):
        expected = F.layer_norm(torch.from_numpy(x), (7,), torch.from_numpy(gamma), torch.from_numpy(beta), eps)
        np.testing.assert_allclose(tr.layer_norm(x, gamma, beta, eps), expected.numpy(), rtol=1e-10, atol=1e-10)
    lin1, lin2 = nn.Linear(7, 11).double(), nn.Linear(11, 7).double()
    params = {"W_1": lin1.weight.detach().numpy().T, "b_1": lin1.bias.detach().numpy(),
              "W_2": lin2.weight.detach().numpy().T, "b_2": lin2.bias.detach().numpy()}
    with torch.no_grad():
        expected = lin2(torch.relu(lin1(torch.from_numpy(x)))).numpy()
    np.testing.assert_allclose(tr.feed_forward(x, params), expected, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("seed", range(10))
@pytest.mark.parametrize("eps", [0.0, 0.1, 0.3])
def test_label_smoothing_matches_torch_cross_entropy(seed, eps):
    rng = np.random.default_rng(seed)
    C, pad = int(rng.integers(2, 9)), 0
    logits = rng.standard_normal((3, 5, C)) * 3
    target = rng.integers(0, C, size=(3, 5))
    target[0, 0] = 1 % C  # at least one real token
    expected = F.cross_entropy(torch.from_numpy(logits).reshape(-1, C), torch.from_numpy(target).reshape(-1),
                               ignore_index=pad, label_smoothing=eps).item()
    assert tr.label_smoothing_loss(logits, target, eps, pad) == pytest.approx(expected, rel=1e-10)
    # Without padding it equals torch with no ignore_index.
    expected = F.cross_entropy(torch.from_numpy(logits).reshape(-1, C), torch.from_numpy(target).reshape(-1),
                               label_smoothing=eps).item()
    assert tr.label_smoothing_loss(logits, target, eps, None) == pytest.approx(expected, rel=1e-10)


def test_label_smoothing_by_hand_and_all_padding():
    # Two classes, uniform logits: every class has log-probability log(1/2) whatever the smoothing.
    assert tr.label_smoothing_loss(np.zeros((1, 2)), np.array([1]), 0.2, pad=None) == pytest.approx(math.log(2))
    # Smoothed target over C = 4 classes with eps = 0.4: 0.7 on the true class, 0.1 on each other one.
    logits = np.log(np.array([[0.7, 0.1, 0.1, 0.1]]))
    q = np.array([0.7, 0.1, 0.1, 0.1])
    assert tr.label_smoothing_loss(logits, np.array([0]), 0.4, pad=None) == pytest.approx(-(q * np.log(q)).sum())
    # A batch made only of padding: torch gives NaN (0 / 0); ours is 0.
    all_pad = tr.label_smoothing_loss(np.random.default_rng(0).standard_normal((2, 3, 5)), np.zeros((2, 3), int), 0.1, 0)
    assert all_pad == 0.0
    # Changing the logits of a padding position changes nothing.
    rng = np.random.default_rng(1)
    logits, target = rng.standard_normal((4, 6)), np.array([3, 0, 2, 0])
    changed = logits.copy()
    changed[1] += 100.0
    assert tr.label_smoothing_loss(logits, target, 0.1, 0) == pytest.approx(tr.label_smoothing_loss(changed, target, 0.1, 0))


def test_positional_encoding_matches_the_formula_and_its_properties():
    n, d = 50, 16
    pe = tr.positional_encoding(n, d)
    assert pe.shape == (n, d)
    pos, i = 7, 3
    assert pe[pos, 2 * i] == pytest.approx(math.sin(pos / 10000 ** (2 * i / d)))
    assert pe[pos, 2 * i + 1] == pytest.approx(math.cos(pos / 10000 ** (2 * i / d)))
    np.testing.assert_allclose(pe[0], np.tile([0.0, 1.0], d // 2))  # position 0: sin 0 = 0, cos 0 = 1
    assert np.all(np.abs(pe) <= 1.0)
    # Every (sin, cos) pair lies on the unit circle.
    np.testing.assert_allclose(pe[:, 0::2] ** 2 + pe[:, 1::2] ** 2, 1.0)
    # Relative positions: PE(pos + k) = M_k PE(pos) for one fixed matrix M_k (a rotation per pair).
    for k in (1, 5, 13):
        A, B = pe[: n - k], pe[k:]  # rows pos and pos + k
        M, *_ = np.linalg.lstsq(A, B, rcond=None)  # best linear map, fitted on all positions at once
        np.testing.assert_allclose(A @ M, B, atol=1e-8)
        # The map is known in closed form: a rotation by angle w_i k in every (sin, cos) plane.
        w = 1.0 / 10000 ** (np.arange(0, d, 2) / d)
        R = np.zeros((d, d))
        for j, a in enumerate(w * k):
            R[2 * j : 2 * j + 2, 2 * j : 2 * j + 2] = [[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]]
        np.testing.assert_allclose(A @ R, B, atol=1e-10)  # row vectors: PE(pos + k) = PE(pos) R_k
        np.testing.assert_allclose(R.T @ R, np.eye(d), atol=1e-12)
    # Entry by entry from the formula, odd d included (its last column is a sine without a cosine partner).
    for n, d in ((6, 7), (4, 1), (3, 10)):
        expected = [[(math.sin if j % 2 == 0 else math.cos)(p / 10000 ** (2 * (j // 2) / d)) for j in range(d)]
                    for p in range(n)]
        np.testing.assert_allclose(tr.positional_encoding(n, d), expected, atol=1e-12)
    assert tr.positional_encoding(1, 1).shape == (1, 1)


def test_warmup_schedule_matches_the_paper():
    d, w = 512, 4000
    assert tr.warmup_lr(0, d, w) == 0.0
    assert tr.warmup_lr(1, d, w) == pytest.approx(d**-0.5 * w**-1.5)
    assert tr.warmup_lr(w, d, w) == pytest.approx(d**-0.5 * w**-0.5)  # the peak, where both branches meet
    steps = np.arange(0, 3 * w)
    lr = tr.warmup_lr(steps, d, w)
    assert lr.shape == steps.shape and int(np.argmax(lr)) == w
    assert np.all(np.diff(lr[: w + 1]) > 0) and np.all(np.diff(lr[w:]) < 0)
    np.testing.assert_allclose(lr[4 * w // 2] / lr[w], (2.0) ** -0.5)  # decays as 1 / sqrt(step)
    # torch's LambdaLR driven by the same function gives the same rates.
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: tr.warmup_lr(s, 64, 10))
    seen = []
    for _ in range(30):
        seen.append(sched.get_last_lr()[0])
        opt.step()
        sched.step()
    np.testing.assert_allclose(seen, tr.warmup_lr(np.arange(30), 64, 10))


@pytest.mark.parametrize("name", sorted(all_specs("08-transformer")))
def test_reference_passes_its_own_hidden_cases_and_a_wrong_answer_fails(name):
    ref = getattr(tr, name)
    check("08-transformer", name, ref, seed=123)

    def off_by_a_bit(*args, **kwargs):
        return np.asarray(ref(*args, **kwargs)) * 1.01 + 0.01

    with pytest.raises(AssertionError):
        check("08-transformer", name, off_by_a_bit, seed=123)
