"""The Transformer (chapter 8, assignment 08), in NumPy: Vaswani et al. (2017).

Built on chapter 7's ``multi_head_attention`` (imported, not copied). Masks are boolean, True = may attend.
Shapes: x (..., n, d_model); memory (..., m, d_model); logits (..., C); target (...).

Parameter dictionaries (projections are ``x @ W + b``, so every ``W`` is the transpose of torch's
``Linear.weight``; ``autograder.transformer_models.layer_params`` converts a torch layer):

* attention block: ``W_q, W_k, W_v, W_o`` (d_model, d_model) and ``b_q, b_k, b_v, b_o`` (d_model,)
* feed-forward: ``W_1`` (d_model, d_ff), ``b_1`` (d_ff,), ``W_2`` (d_ff, d_model), ``b_2`` (d_model,)
* layer norm: ``gamma``, ``beta`` (d_model,)
* encoder layer: ``{"h": heads, "self_attn": ..., "ffn": ..., "norm1": ..., "norm2": ...}``
* decoder layer: the same plus ``"cross_attn"`` and ``"norm3"``.
"""
from __future__ import annotations

import math

import numpy as np

from autograder.grading.reference.mha import multi_head_attention


def _float(x) -> np.ndarray:
    x = np.asarray(x)
    return x if np.issubdtype(x.dtype, np.floating) else x.astype(np.float64)


def positional_encoding(n: int, d: int) -> np.ndarray:
    """Sinusoidal positional encoding (chapter 8, eq-positional-encoding): PE[p, 2i] = sin(p / 10000^(2i/d)), PE[p, 2i+1] = cos(...).

    Returns an (n, d) float64 array. For odd d the last column is a sine (its cosine partner is dropped).
    """
    pos = np.arange(n, dtype=np.float64)[:, None]  # (n, 1)
    two_i = np.arange(0, d, 2, dtype=np.float64)  # (ceil(d/2),) the even column indices 2i
    angles = pos / np.power(10000.0, two_i / d)  # (n, ceil(d/2))
    pe = np.zeros((n, d))
    pe[:, 0::2] = np.sin(angles)
    pe[:, 1::2] = np.cos(angles[:, : d // 2])  # odd d: one fewer cosine column
    return pe


def layer_norm(x, gamma, beta, eps: float = 1e-5) -> np.ndarray:
    """Layer normalisation over the last axis (eq-layer-norm): gamma * (x - mean) / sqrt(var + eps) + beta.

    The variance is the biased one (divide by d), as in Ba et al. (2016) and ``torch.nn.LayerNorm``.
    """
    x = _float(x)
    mean = x.mean(axis=-1, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * gamma + beta


def feed_forward(x, params: dict) -> np.ndarray:
    """Position-wise feed-forward network (eq-ffn): max(0, x W_1 + b_1) W_2 + b_2."""
    hidden = np.maximum(_float(x) @ params["W_1"] + params["b_1"], 0.0)  # (..., n, d_ff)
    return hidden @ params["W_2"] + params["b_2"]  # (..., n, d_model)


def _sublayer(x, fn, norm: dict, norm_first: bool) -> np.ndarray:
    """Residual connection around ``fn`` with layer norm after it (post-LN) or before it (pre-LN)."""
    if norm_first:
        return x + fn(layer_norm(x, norm["gamma"], norm["beta"]))  # pre-LN: x + F(LN(x))
    return layer_norm(x + fn(x), norm["gamma"], norm["beta"])  # post-LN: LN(x + F(x))


def encoder_layer(x, params: dict, mask=None, norm_first: bool = False) -> np.ndarray:
    """One encoder layer (eq-encoder-layer, eq-post-pre-ln): self-attention then feed-forward, each a residual sub-layer.

    ``norm_first=False`` is the original post-LN layer, ``True`` the pre-LN layer (Xiong et al. 2020).
    ``mask`` (True = may attend) broadcasts against (..., n, n). Returns (..., n, d_model).
    """
    x = _float(x)
    h = params["h"]

    def self_attn(z):
        return multi_head_attention(z, z, params["self_attn"], h, mask=mask)[0]

    x = _sublayer(x, self_attn, params["norm1"], norm_first)
    return _sublayer(x, lambda z: feed_forward(z, params["ffn"]), params["norm2"], norm_first)


def decoder_layer(y, memory, params: dict, self_mask=None, memory_mask=None, norm_first: bool = False) -> np.ndarray:
    """One decoder layer (eq-decoder-layer): masked self-attention, encoder-decoder attention, feed-forward.

    In the encoder-decoder (cross) attention the queries come from the decoder stream ``y`` and the keys
    and values from the encoder output ``memory``. ``self_mask`` broadcasts against (..., n, n),
    ``memory_mask`` against (..., n, m). Returns (..., n, d_model).
    """
    y, memory = _float(y), _float(memory)
    h = params["h"]

    def self_attn(z):
        return multi_head_attention(z, z, params["self_attn"], h, mask=self_mask)[0]

    def cross_attn(z):
        # Only the decoder side is normalised here in pre-LN; memory is used as given.
        return multi_head_attention(z, memory, params["cross_attn"], h, mask=memory_mask)[0]

    y = _sublayer(y, self_attn, params["norm1"], norm_first)
    y = _sublayer(y, cross_attn, params["norm2"], norm_first)
    return _sublayer(y, lambda z: feed_forward(z, params["ffn"]), params["norm3"], norm_first)


def log_softmax(logits, axis: int = -1) -> np.ndarray:
    """log softmax, computed stably as x - max - log sum exp(x - max)."""
    x = _float(logits)
    shifted = x - np.max(x, axis=axis, keepdims=True)
    return shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))


def label_smoothing_loss(logits, target, eps: float, pad: int | None = None) -> float:
    """Cross-entropy against smoothed targets (eq-label-smoothing), averaged over the non-padding tokens.

    The smoothed target puts 1 - eps + eps / C on the true class and eps / C on each of the C classes
    otherwise (the convention of ``torch.nn.functional.cross_entropy(label_smoothing=eps)``).
    Tokens whose target equals ``pad`` are ignored; if every token is padding the loss is 0.0 (not NaN).
    logits (..., C), target (...) integers. Returns a Python float.
    """
    logp = log_softmax(logits)  # (..., C)
    target = np.asarray(target)
    C = logp.shape[-1]
    keep = np.ones(target.shape, dtype=bool) if pad is None else target != pad  # (...)
    safe_target = np.where(keep, target, 0)  # any valid index for the ignored tokens
    nll = -np.take_along_axis(logp, safe_target[..., None], axis=-1)[..., 0]  # (...)
    uniform = -logp.sum(axis=-1) / C  # (...) cross-entropy against the uniform distribution
    per_token = (1.0 - eps) * nll + eps * uniform
    n = int(keep.sum())
    return float(per_token[keep].sum() / n) if n else 0.0


def warmup_lr(step, d_model: int, warmup: int):
    """The learning-rate schedule of Vaswani et al. (eq-warmup): d_model^-0.5 min(step^-0.5, step warmup^-1.5).

    It rises linearly for ``warmup`` steps, then decays as 1/sqrt(step). Step 0 gives 0.0 (the limit of
    the formula: the linear branch is 0 there). ``step`` may be an integer or an array of them.
    """
    s = np.asarray(step, dtype=np.float64)
    with np.errstate(divide="ignore"):
        decay = np.where(s > 0, 1.0 / np.sqrt(np.maximum(s, 1.0)), np.inf)
    lr = d_model**-0.5 * np.minimum(decay, s * warmup**-1.5)
    return float(lr) if lr.ndim == 0 else lr
