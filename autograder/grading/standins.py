"""Public stand-ins for graded functions, used only while *another* function's test cell runs.

When the sandbox runs the test cell of, say, ``attention`` (03), every other graded function of 03 that a
student's ``attention`` (or the cell's visible asserts) may call (``softmax``, ``masked_softmax``,
``scaled_dot_product_scores``, ...) is replaced in the notebook's namespace by the stand-in below, in the
process that runs that test only. So a wrong, failing or endless ``masked_softmax`` costs the points of
``masked_softmax`` and nothing else.

The stand-ins are public material, like the given helpers of the exercises: where PyTorch has the
operation they call it (``torch.softmax``, ``F.scaled_dot_product_attention``, ...), converting NumPy in
and out, so that no stand-in is a copy of a graded reference answer. ``tests/test_standins.py`` checks each
against the reference on that function's hidden cases.

This module is the grader's, not the probe's: it is never copied into the sandbox. For each test cell the
grader builds, with :func:`source_for`, the source of exactly the stand-ins that cell is given (never one of
the function the cell grades) and hands it to that cell's process alone, through a pipe
(``autograder/grading/sandbox.py``, ``autograder/grading/probe/runner.py``). Each stand-in is therefore self-contained: it
may use the private helpers ``_t`` and ``_torch`` and NumPy, and never calls another graded name (a stand-in
calling ``softmax`` would need the stand-in of ``softmax`` while ``softmax`` itself is graded).
"""
from __future__ import annotations

import numpy as np


def _torch():
    import torch

    return torch


def _t(x, dtype=None):
    torch = _torch()
    a = np.asarray(x)
    if a.dtype.kind not in "fc":
        a = a.astype(np.float64)
    return torch.from_numpy(np.array(a, dtype=dtype or np.float64))


# --------------------------------------------------------------------------- 03-qkv
def softmax(x, axis=-1):
    return _torch().softmax(_t(x), dim=axis).numpy()


def masked_softmax(scores, mask=None):  # mask=None (nothing masked) too: a student's own helper may allow it
    torch = _torch()
    s = _t(scores)
    mask = True if mask is None else mask
    m = torch.from_numpy(np.broadcast_to(np.asarray(mask, dtype=bool), s.shape).copy())
    w = torch.softmax(s.masked_fill(~m, float("-inf")), dim=-1)
    return torch.nan_to_num(w, nan=0.0).numpy()  # a fully masked row: softmax of all -inf is nan -> zeros


def dot_product_scores(Q, K):
    return (_t(Q) @ _t(K).transpose(-1, -2)).numpy()


def scaled_dot_product_scores(Q, K):
    return (_t(Q) @ _t(K).transpose(-1, -2)).numpy() / np.sqrt(np.shape(Q)[-1])


def cosine_scores(Q, K):
    F = _torch().nn.functional
    return (F.normalize(_t(Q), dim=-1, eps=1e-300) @ F.normalize(_t(K), dim=-1, eps=1e-300).transpose(-1, -2)).numpy()


# --------------------------------------------------------------------------- 01-glimpse
def extract_glimpse(image, center, size):
    image = np.asarray(image)
    image = image if image.dtype.kind == "f" else image.astype(np.float64)
    size = int(size)
    rows = int(center[0]) - size // 2 + np.arange(size)
    cols = int(center[1]) - size // 2 + np.arange(size)
    keep_r, keep_c = (rows >= 0) & (rows < image.shape[0]), (cols >= 0) & (cols < image.shape[1])
    out = np.zeros((size, size) + image.shape[2:], dtype=image.dtype)
    out[np.ix_(keep_r, keep_c)] = image[np.ix_(rows[keep_r], cols[keep_c])]
    return out


def gaussian_blur(image, sigma):
    torch = _torch()
    x = _t(image)
    R = int(np.ceil(3 * float(sigma)))
    k = torch.arange(-R, R + 1, dtype=torch.float64)
    h = torch.exp(-(k**2) / (2 * float(sigma) ** 2))
    h = (h / h.sum()).numpy()
    a = np.pad(x.numpy(), [(R, R), (R, R)] + [(0, 0)] * (x.dim() - 2), mode="edge")
    for axis in (0, 1):  # rows, then columns: a sum of shifted slices
        n = a.shape[axis] - 2 * R
        a = sum(h[i] * np.take(a, np.arange(i, i + n), axis=axis) for i in range(2 * R + 1))
    return a


# --------------------------------------------------------------------------- 02-seq2seq
def gru_cell(x, h, params):
    torch = _torch()
    x, h = _t(x), _t(h)
    D, H = x.shape[-1], h.shape[-1]
    cell = torch.nn.GRUCell(D, H).double()
    with torch.no_grad():
        for name in ("W_ih", "W_hh", "b_ih", "b_hh"):
            getattr(cell, name.replace("W_", "weight_").replace("b_", "bias_")).copy_(_t(params[name]))
        out = cell(x.reshape(-1, D), h.reshape(-1, H))
    return out.reshape(h.shape).numpy()


# --------------------------------------------------------------------------- 04-alignment
def additive_scores(Q, K, W_q, W_k, v):
    torch = _torch()
    q, k = _t(Q) @ _t(W_q), _t(K) @ _t(W_k)  # (..., n_q, d_a), (..., n_k, d_a)
    return (torch.tanh(q.unsqueeze(-2) + k.unsqueeze(-3)) @ _t(v)).numpy()


def general_scores(Q, K, W):
    return (_t(Q) @ _t(W) @ _t(K).transpose(-1, -2)).numpy()


def attention_context(scores, H, mask=None):
    torch = _torch()
    s = _t(scores)
    if mask is None:
        w = torch.softmax(s, dim=-1)
    else:
        m = torch.from_numpy(np.broadcast_to(np.asarray(mask, dtype=bool), s.shape).copy())
        w = torch.nan_to_num(torch.softmax(s.masked_fill(~m, float("-inf")), dim=-1), nan=0.0)  # fully masked: zeros
    w = w.numpy()
    return (_t(w) @ _t(H)).numpy(), w


# --------------------------------------------------------------------------- 05-variants
def local_window(p, n, D):
    torch = _torch()
    return ((torch.arange(int(n)) - _t(p).unsqueeze(-1)).abs() <= D).numpy()


# --------------------------------------------------------------------------- 06-self-attention
def causal_mask(n):
    torch = _torch()
    return torch.tril(torch.ones(int(n), int(n), dtype=torch.bool)).numpy()


def padding_mask(lengths, n):
    torch = _torch()
    lengths = torch.from_numpy(np.asarray(lengths).reshape(-1).astype(np.int64))
    return (torch.arange(int(n)) < lengths[:, None, None]).numpy()


# --------------------------------------------------------------------------- 07-multihead
def split_heads(X, h):
    X = _torch().from_numpy(np.array(X))
    return X.unflatten(-1, (int(h), -1)).transpose(-2, -3).numpy()  # (..., n, h, d_head) -> (..., h, n, d_head)


def merge_heads(X):
    X = _torch().from_numpy(np.array(X))
    return X.transpose(-2, -3).flatten(-2).numpy()  # (..., n, h, d_head) -> (..., n, h * d_head)


# --------------------------------------------------------------------------- 08-transformer
def layer_norm(x, gamma, beta, eps=1e-5):
    F = _torch().nn.functional
    x = _t(x)
    return F.layer_norm(x, x.shape[-1:], weight=_t(gamma), bias=_t(beta), eps=eps).numpy()


def feed_forward(x, params):
    F = _torch().nn.functional
    hidden = F.relu(_t(x) @ _t(params["W_1"]) + _t(params["b_1"]))
    return (hidden @ _t(params["W_2"]) + _t(params["b_2"])).numpy()


# --------------------------------------------------------------------------- 10-modern
def blockwise_attention(Q, K, V, block_size, causal=False, key_mask=None):
    torch = _torch()
    q, k, v = _t(Q), _t(K), _t(V)
    n_q, n_k = q.shape[-2], k.shape[-2]
    mask = torch.ones(n_q, n_k, dtype=torch.bool)
    if causal:
        mask = mask.tril(diagonal=n_k - n_q)  # the queries are the last n_q positions
    if key_mask is not None:
        mask = mask & torch.from_numpy(np.asarray(key_mask, dtype=bool).copy())[..., None, :]
    out = _torch().nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=mask, enable_gqa=q.shape[-3] != k.shape[-3])
    seen = mask.expand(out.shape[:-1] + (n_k,)).any(-1, keepdim=True)  # torch 2.13 already gives 0; be explicit
    return torch.where(seen, out, 0.0).numpy()


def kv_cache_step(q, k_new, v_new, cache_k, cache_v):
    torch = _torch()
    K = torch.cat([_t(cache_k), _t(k_new)], dim=-2)
    V = torch.cat([_t(cache_v), _t(v_new)], dim=-2)
    out = torch.nn.functional.scaled_dot_product_attention(_t(q), K, V, enable_gqa=np.shape(q)[-3] != K.shape[-3])
    return out.numpy(), K.numpy(), V.numpy()


STANDINS = {
    "03-qkv": {"softmax": softmax, "masked_softmax": masked_softmax, "dot_product_scores": dot_product_scores,
               "scaled_dot_product_scores": scaled_dot_product_scores, "cosine_scores": cosine_scores},
    "01-glimpse": {"extract_glimpse": extract_glimpse, "gaussian_blur": gaussian_blur},
    "02-seq2seq": {"gru_cell": gru_cell},
    "04-alignment": {"additive_scores": additive_scores, "general_scores": general_scores,
                     "attention_context": attention_context},
    "05-variants": {"local_window": local_window},
    "06-self-attention": {"causal_mask": causal_mask, "padding_mask": padding_mask},
    "07-multihead": {"split_heads": split_heads, "merge_heads": merge_heads},
    "08-transformer": {"layer_norm": layer_norm, "feed_forward": feed_forward},
    "10-modern": {"blockwise_attention": blockwise_attention, "kv_cache_step": kv_cache_step},
}
extract_glimpse.uses_torch = False


#: The ``__name__`` of the namespace the sandbox defines the stand-ins in (so their ``__module__``): the probe's
#: guard looks for a function of this module named like the function under test.
from autograder.grading.probe.runner import GIVEN_MODULE  # noqa: E402

HELPERS = (_torch, _t)


def uses_torch(assignment: str, names) -> bool:
    """Whether the stand-ins ``names`` of ``assignment`` need PyTorch (the sandbox then imports it once, up front)."""
    table = STANDINS.get(assignment, {})
    return any(getattr(table[n], "uses_torch", True) for n in names if n in table)


def source_for(assignment: str, names) -> str:
    """The self-contained source of the stand-ins ``names`` of ``assignment`` (empty if none has one).

    Only these functions, the helpers ``_t``/``_torch`` and ``import numpy as np``: nothing else of this module.
    """
    import inspect

    table = STANDINS.get(assignment, {})
    chosen = sorted(n for n in set(names) if n in table)
    if not chosen:
        return ""
    parts = ["import numpy as np\n"] + [inspect.getsource(f) for f in HELPERS]
    parts += [inspect.getsource(table[n]).replace(f"def {table[n].__name__}(", f"def {n}(", 1) for n in chosen]
    return "\n\n".join(parts)


def load(source: str) -> dict:
    """Define the stand-ins of ``source`` in a fresh namespace named ``GIVEN_MODULE``: name -> function."""
    namespace: dict = {"__name__": GIVEN_MODULE}
    exec(compile(source, f"<{GIVEN_MODULE}>", "exec"), namespace)  # noqa: S102 - the grader's own source
    return {k: v for k, v in namespace.items() if callable(v) and getattr(v, "__module__", None) == GIVEN_MODULE
            and not k.startswith("_")}


def install(namespace: dict, assignment: str, names) -> None:
    """Replace ``names`` in ``namespace`` by stand-ins built from their source, as the sandbox does (for the
    in-process replay of ``tests/isolation.py``)."""
    namespace.update(load(source_for(assignment, names)))
