"""Hidden cases for assignment 08 ("transformer"): random layers, masks of every kind, edge cases."""
from __future__ import annotations

import numpy as np

from autograder.grading.cases import Case, FunctionSpec
from autograder.grading.specs.common import DTYPES, randn as _randn, lead_dims as _lead
from autograder.grading.reference import transformer as ref
from autograder.grading.reference.mha import causal_mask, padding_mask


def _attn(rng, d):
    s = d**-0.5
    return {**{f"W_{k}": _randn(rng, (d, d), scale=s) for k in "qkvo"}, **{f"b_{k}": _randn(rng, (d,), scale=0.1) for k in "qkvo"}}


def _ffn(rng, d, d_ff):
    return {"W_1": _randn(rng, (d, d_ff), scale=d**-0.5), "b_1": _randn(rng, (d_ff,), scale=0.1),
            "W_2": _randn(rng, (d_ff, d), scale=d_ff**-0.5), "b_2": _randn(rng, (d,), scale=0.1)}


def _norm(rng, d):
    return {"gamma": 1.0 + _randn(rng, (d,), scale=0.3), "beta": _randn(rng, (d,), scale=0.3)}


def layer_params(rng, d_model, h, d_ff, decoder=False):
    p = {"h": h, "self_attn": _attn(rng, d_model), "ffn": _ffn(rng, d_model, d_ff),
         "norm1": _norm(rng, d_model), "norm2": _norm(rng, d_model)}
    if decoder:
        p["cross_attn"], p["norm3"] = _attn(rng, d_model), _norm(rng, d_model)
    return p


def _dims(rng):
    h = int(rng.choice([1, 2, 4]))
    return h * int(rng.integers(1, 5)), h, int(rng.integers(2, 17))  # d_model, h, d_ff


def positional_encoding_cases(rng):
    for i in range(4):
        yield Case(f"random {i}", (int(rng.integers(1, 40)), 2 * int(rng.integers(1, 17))))
    yield Case("odd d", (int(rng.integers(2, 20)), 2 * int(rng.integers(1, 8)) + 1))
    yield Case("d = 1", (5, 1))
    yield Case("d = 2", (7, 2))
    yield Case("a single position", (1, 8))
    yield Case("long sequence, d = 64", (200, 64))


def layer_norm_cases(rng):
    for i in range(5):
        dtype = DTYPES[i % 2]
        d = int(rng.integers(2, 12))
        shape = _lead(rng) + (int(rng.integers(1, 5)), d)
        yield Case(f"random {i}", (_randn(rng, shape, dtype, 3.0) + 2.0, _randn(rng, (d,), dtype), _randn(rng, (d,), dtype)))
    d = 6
    g, b = _randn(rng, (d,)), _randn(rng, (d,))
    yield Case("eps = 0.1 given as a keyword", (_randn(rng, (3, d)), g, b), {"eps": 0.1})
    yield Case("a constant row (variance 0)", (np.full((2, d), 3.5), g, b))
    yield Case("features far from 0 (mean 100)", (_randn(rng, (4, d)) + 100.0, g, b))
    yield Case("a single vector (d,)", (_randn(rng, (d,)), g, b))
    yield Case("gamma = 1, beta = 0", (_randn(rng, (2, 3, d)), np.ones(d), np.zeros(d)))


def feed_forward_cases(rng):
    for i in range(5):
        dtype = DTYPES[i % 2]
        d, _, d_ff = _dims(rng)
        params = {k: v.astype(dtype) for k, v in _ffn(rng, d, d_ff).items()}
        yield Case(f"random {i}", (_randn(rng, _lead(rng) + (int(rng.integers(1, 6)), d), dtype), params))
    params = _ffn(rng, 4, 8)
    yield Case("every hidden unit negative (ReLU gives 0)", (np.zeros((3, 4)), {**params, "b_1": -np.ones(8)}))
    yield Case("d_ff = 1", (_randn(rng, (2, 5)), _ffn(rng, 5, 1)))
    yield Case("a single token (d_model,)", (_randn(rng, (4,)), params))


def _mask_variants(rng, lead, n):
    """(label, mask) pairs: none, causal (n, n), padding (B, 1, n), random (lead, n, n)."""
    yield "no mask", None
    yield "causal mask (n, n)", causal_mask(n)
    if lead:
        lengths = rng.integers(1, n + 1, size=lead)
        yield "padding mask (B, 1, n)", padding_mask(lengths, n)
    m = rng.random(lead + (n, n)) < 0.6
    m[..., 0] = True
    yield "random mask", m


def encoder_layer_cases(rng):
    i = 0
    for norm_first in (False, True):
        for _ in range(2):
            d, h, d_ff = _dims(rng)
            lead = _lead(rng)
            n = int(rng.integers(1, 7))
            x = _randn(rng, lead + (n, d), DTYPES[i % 2])
            params = layer_params(rng, d, h, d_ff)
            for mlabel, mask in _mask_variants(rng, lead, n):
                ln = "pre-LN" if norm_first else "post-LN"
                yield Case(f"random {i}, {ln}, {mlabel}", (x, params), {"mask": mask, "norm_first": norm_first})
            i += 1
    d, h, d_ff = 8, 2, 16
    params = layer_params(rng, d, h, d_ff)
    x = _randn(rng, (2, 5, d))
    m = np.ones((2, 5, 5), dtype=bool)
    m[0, 1] = False
    yield Case("a query row entirely masked", (x, params), {"mask": m})
    yield Case("norm_first left at its default", (x, params))
    yield Case("a single position (n = 1)", (_randn(rng, (1, d)), params), {"norm_first": True})
    yield Case("large inputs (x 100)", (_randn(rng, (3, d), scale=100.0), params), {"norm_first": False})


def decoder_layer_cases(rng):
    i = 0
    for norm_first in (False, True):
        for _ in range(3):
            d, h, d_ff = _dims(rng)
            B = int(rng.integers(1, 4))
            n, m = int(rng.integers(1, 6)), int(rng.integers(1, 7))
            dtype = DTYPES[i % 2]
            y, memory = _randn(rng, (B, n, d), dtype), _randn(rng, (B, m, d), dtype)
            params = layer_params(rng, d, h, d_ff, decoder=True)
            ln = "pre-LN" if norm_first else "post-LN"
            kinds = [
                ("no masks", None, None),
                ("causal self mask", causal_mask(n), None),
                ("causal self mask and memory padding", causal_mask(n), padding_mask(rng.integers(1, m + 1, size=B), m)),
            ]
            label, sm, mm = kinds[i % 3]
            yield Case(f"random {i}, {ln}, {label}", (y, memory, params), {"self_mask": sm, "memory_mask": mm, "norm_first": norm_first})
            i += 1
    params = layer_params(rng, 4, 2, 8, decoder=True)
    y, memory = _randn(rng, (2, 3, 4)), _randn(rng, (2, 5, 4))
    yield Case("defaults (no masks, post-LN)", (y, memory, params))
    yield Case("memory longer than the target, masks passed positionally", (y, memory, params, causal_mask(3), np.ones((2, 3, 5), bool)))
    yield Case("a single target position", (_randn(rng, (2, 1, 4)), memory, params), {"self_mask": causal_mask(1), "norm_first": True})
    yield Case("target without a batch axis (n, d_model)", (_randn(rng, (3, 4)), _randn(rng, (2, 4)), params), {"norm_first": True})


def label_smoothing_cases(rng):
    for i in range(6):
        C = int(rng.integers(2, 12))
        shape = _lead(rng) + (int(rng.integers(1, 8)),)
        target = rng.integers(0, C, size=shape)
        eps = float(rng.choice([0.0, 0.1, 0.25]))
        pad = None if i == 0 else int(rng.integers(0, C))
        target.flat[0] = (pad + 1) % C if pad is not None else target.flat[0]  # at least one real token
        yield Case(f"random {i}", (_randn(rng, shape + (C,), DTYPES[i % 2], 3.0), target, eps, pad))
    logits, target = _randn(rng, (4, 6, 5)), rng.integers(1, 5, size=(4, 6))
    target[2:, 3:] = 0
    yield Case("padding at the end of some sequences (pad = 0)", (logits, target, 0.1, 0))
    yield Case("every target is padding", (logits, np.zeros((4, 6), dtype=int), 0.1, 0))
    yield Case("eps = 0 (plain cross-entropy)", (logits, target, 0.0, 0))
    yield Case("pad is the last class", (logits, np.minimum(target, 4), 0.2, 4))
    yield Case("no padding (pad=None)", (logits, target, 0.1, None))
    # pad need not be a class index (the text says so): PyTorch's ignore_index is -100 by default.
    ignored = np.where(target == 0, -100, target)
    yield Case("pad = -100, not a class index", (logits, ignored, 0.1, -100))
    yield Case("pad = C, one past the last class", (logits, np.where(target == 0, 5, target), 0.1, 5))
    yield Case("a single class (C = 1) and pad = -100",
               (_randn(rng, (2, 3, 1)), np.array([[0, 0, -100], [0, -100, -100]]), 0.1, -100))
    yield Case("large logits (+-500)", (_randn(rng, (3, 4), scale=500.0), np.array([1, 2, 0]), 0.1, 0))
    yield Case("eps given as keyword", (logits[0], target[0]), {"eps": 0.3, "pad": 0})
    # One log-softmax per token: shifting every token by one maximum underflows the low rows to log(0).
    yield Case("tokens with logits of very different sizes (+1000 and -1000)",
               (np.array([[1000.0, 999.0, 998.0], [-1000.0, -999.0, -1001.0]]), np.array([0, 2]), 0.1, None))


def warmup_lr_cases(rng):
    for i in range(4):
        w = int(rng.integers(1, 5000))
        yield Case(f"random step {i}", (int(rng.integers(1, 3 * w)), int(rng.choice([16, 64, 512])), w))
    yield Case("step 0", (0, 512, 4000))
    yield Case("step 1", (1, 512, 4000))
    yield Case("step = warmup (the peak)", (4000, 512, 4000))
    yield Case("long after the warm-up", (100000, 512, 4000))
    yield Case("warmup = 1", (3, 64, 1))
    # With warmup = 1 the decay starts at step 1 (1 ** -0.5 = 1): the two branches meet at the very first step.
    yield Case("warmup = 1, steps 0 to 4", (np.arange(5), 64, 1))
    yield Case("an array of steps (including 0)", (np.arange(0, 50), 64, 10))


FUNCTIONS = {
    "positional_encoding": FunctionSpec("positional_encoding", ref.positional_encoding, positional_encoding_cases),
    "layer_norm": FunctionSpec("layer_norm", ref.layer_norm, layer_norm_cases),
    "feed_forward": FunctionSpec("feed_forward", ref.feed_forward, feed_forward_cases),
    "encoder_layer": FunctionSpec("encoder_layer", ref.encoder_layer, encoder_layer_cases),
    "decoder_layer": FunctionSpec("decoder_layer", ref.decoder_layer, decoder_layer_cases),
    "label_smoothing_loss": FunctionSpec("label_smoothing_loss", ref.label_smoothing_loss, label_smoothing_cases),
    "warmup_lr": FunctionSpec("warmup_lr", ref.warmup_lr, warmup_lr_cases),
}
