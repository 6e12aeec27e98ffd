"""Sample submissions of assignment 08 and their exact expected scores.

Points (from the test cells of solutions/08-transformer/transformer.ipynb): positional_encoding 2,
layer_norm 2, feed_forward 1, encoder_layer 3, decoder_layer 3, label_smoothing_loss 3, warmup_lr 1; total 15.
"""
from tests.samples import Sample

ASSIGNMENT = "08-transformer"
MAX_SCORE = 15

# Correct, but written differently from the reference and the instructor's solution: float32 results,
# torch inside layer_norm and label_smoothing_loss, einsum, np.vectorize, a generic sub-layer helper.
DIFFERENT = {
    "pe-answer": '''
def positional_encoding(n, d):
    pos = np.arange(n)[:, None]
    j = np.arange(d)[None, :]
    angle = pos / np.power(10000.0, (j // 2) * 2 / d)
    return np.where(j % 2 == 0, np.sin(angle), np.cos(angle)).astype(np.float32)
''',
    "ln-answer": '''
import torch

def layer_norm(x, gamma, beta, eps=1e-5):
    t = torch.as_tensor(np.asarray(x, dtype=np.float32))
    g = torch.as_tensor(np.asarray(gamma, dtype=np.float32))
    b = torch.as_tensor(np.asarray(beta, dtype=np.float32))
    return torch.nn.functional.layer_norm(t, t.shape[-1:], g, b, eps).numpy()
''',
    "ffn-answer": '''
def feed_forward(x, params):
    h = np.einsum("...i,ij->...j", np.asarray(x, dtype=float), params["W_1"]) + params["b_1"]
    return np.einsum("...j,jk->...k", np.maximum(h, 0), params["W_2"]) + params["b_2"]
''',
    "enc-answer": '''
def residual(x, f, norm, pre):
    g, b = norm["gamma"], norm["beta"]
    return x + f(layer_norm(x, g, b)) if pre else layer_norm(x + f(x), g, b)

def encoder_layer(x, params, mask=None, norm_first=False):
    attend = lambda z: multi_head_attention(z, z, params["self_attn"], params["h"], mask=mask)[0]
    x = residual(np.asarray(x, dtype=float), attend, params["norm1"], norm_first)
    return residual(x, lambda z: feed_forward(z, params["ffn"]), params["norm2"], norm_first)
''',
    "dec-answer": '''
def decoder_layer(y, memory, params, self_mask=None, memory_mask=None, norm_first=False):
    h = params["h"]
    y = residual(np.asarray(y, dtype=float), lambda z: multi_head_attention(z, z, params["self_attn"], h, mask=self_mask)[0],
                 params["norm1"], norm_first)
    y = residual(y, lambda z: multi_head_attention(z, memory, params["cross_attn"], h, mask=memory_mask)[0],
                 params["norm2"], norm_first)
    return residual(y, lambda z: feed_forward(z, params["ffn"]), params["norm3"], norm_first)
''',
    "ls-answer": '''
import torch
import torch.nn.functional as F

def label_smoothing_loss(logits, target, eps, pad):
    logits = torch.as_tensor(np.asarray(logits, dtype=np.float64))
    target = torch.as_tensor(np.asarray(target, dtype=np.int64))
    ignore = -100 if pad is None else int(pad)
    if bool((target == ignore).all()):
        return 0.0
    C = logits.shape[-1]
    return F.cross_entropy(logits.reshape(-1, C), target.reshape(-1), ignore_index=ignore, label_smoothing=eps).item()
''',
    "lr-answer": '''
import math

def _lr(s, d_model, warmup):
    if s == 0:
        return 0.0
    return min(1 / math.sqrt(s), s / warmup ** 1.5) / math.sqrt(d_model)

def warmup_lr(step, d_model, warmup):
    if np.ndim(step) == 0:
        return _lr(int(step), d_model, warmup)
    return np.vectorize(_lr)(step, d_model, warmup)
''',
}

# The classic mistake: spreading eps over the C - 1 wrong classes (as some tutorials do) instead of over all
# C classes as torch's label_smoothing does. The visible tests pass (they use eps = 0 or uniform logits);
# only the hidden label-smoothing tests fail: 3 points.
WRONG_LABEL_SMOOTHING = {
    "ls-answer": '''
def label_smoothing_loss(logits, target, eps, pad):
    logits = np.asarray(logits, dtype=float)
    C = logits.shape[-1]
    z = logits - logits.max(axis=-1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(axis=-1, keepdims=True))
    target = np.asarray(target)
    onehot = np.arange(C) == target[..., None]
    q = np.where(onehot, 1 - eps, eps / (C - 1))
    real = np.ones(target.shape, bool) if pad is None else target != pad
    return float((-(q * logp).sum(-1))[real].mean()) if real.any() else 0.0
''',
}

# Pre-LN forgotten in the encoder (norm_first ignored): only the encoder test cell fails (3 points);
# the decoder keeps the instructor's solution.
WRONG_ENCODER = {
    "enc-answer": '''
def encoder_layer(x, params, mask=None, norm_first=False):
    n1, n2 = params["norm1"], params["norm2"]
    x = layer_norm(x + multi_head_attention(x, x, params["self_attn"], params["h"], mask)[0], n1["gamma"], n1["beta"])
    return layer_norm(x + feed_forward(x, params["ffn"]), n2["gamma"], n2["beta"])
''',
}

SAMPLES = {
    "correct": Sample(score=15),
    "blank": Sample(score=0, solution=False),
    "wrong-label-smoothing": Sample(score=15 - 3, override=WRONG_LABEL_SMOOTHING),
    "wrong-encoder": Sample(score=15 - 3, override=WRONG_ENCODER),
    "different": Sample(score=15, override=DIFFERENT),
}
