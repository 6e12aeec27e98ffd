"""Test glue: a torch layer's weights as the parameter dictionaries of the NumPy reference (autograder.grading.reference)."""
from __future__ import annotations

import numpy as np
import torch


def _np(t):
    return t.detach().cpu().double().numpy()


def attn_params(attn) -> dict:
    """Our ``MultiHeadAttention`` or torch's ``nn.MultiheadAttention`` -> W_q, ..., b_o (W = weight.T)."""
    if hasattr(attn, "in_proj_weight"):  # torch packs q, k, v into one (3 d_model, d_model) matrix
        Wq, Wk, Wv = _np(attn.in_proj_weight).reshape(3, -1, attn.embed_dim)
        bq, bk, bv = _np(attn.in_proj_bias).reshape(3, -1)
        return {"W_q": Wq.T, "W_k": Wk.T, "W_v": Wv.T, "W_o": _np(attn.out_proj.weight).T,
                "b_q": bq, "b_k": bk, "b_v": bv, "b_o": _np(attn.out_proj.bias)}
    p = {}
    for name, lin in (("q", attn.q_proj), ("k", attn.k_proj), ("v", attn.v_proj), ("o", attn.out_proj)):
        p[f"W_{name}"], p[f"b_{name}"] = _np(lin.weight).T, _np(lin.bias)
    return p


def layer_params(layer) -> dict:
    """An encoder or decoder layer (ours, or ``nn.TransformerEncoderLayer`` / ``nn.TransformerDecoderLayer``)
    as the parameter dictionary of ``autograder.grading.reference.transformer``."""
    ffn = getattr(layer, "ffn", layer)  # torch keeps linear1 / linear2 on the layer itself
    attn = layer.self_attn
    p = {
        "h": attn.h if hasattr(attn, "h") else attn.num_heads,
        "self_attn": attn_params(attn),
        "ffn": {"W_1": _np(ffn.linear1.weight).T, "b_1": _np(ffn.linear1.bias),
                "W_2": _np(ffn.linear2.weight).T, "b_2": _np(ffn.linear2.bias)},
    }
    for name in ("norm1", "norm2", "norm3"):
        if hasattr(layer, name):
            norm = getattr(layer, name)
            p[name] = {"gamma": _np(norm.weight), "beta": _np(norm.bias)}
    cross = getattr(layer, "cross_attn", getattr(layer, "multihead_attn", None))
    if cross is not None:
        p["cross_attn"] = attn_params(cross)
    return p




@torch.no_grad()
def mha_numpy_params(module) -> dict:
    """``attn.mha.MultiHeadAttention`` -> the ``params`` dict of ``autograder.grading.reference.mha.multi_head_attention``."""
    params = {}
    for name, proj in zip("qkvo", (module.q_proj, module.k_proj, module.v_proj, module.out_proj)):
        params[f"W_{name}"] = proj.weight.detach().cpu().numpy().T.copy()
        if proj.bias is not None:
            params[f"b_{name}"] = proj.bias.detach().cpu().numpy().copy()
    return params


@torch.no_grad()
def load_mha_numpy_params(module, params: dict):
    """Load a NumPy ``params`` dict into ``attn.mha.MultiHeadAttention`` (the inverse of ``mha_numpy_params``)."""
    for name, proj in zip("qkvo", (module.q_proj, module.k_proj, module.v_proj, module.out_proj)):
        proj.weight.copy_(torch.as_tensor(np.asarray(params[f"W_{name}"]).T))
        if proj.bias is not None:
            proj.bias.copy_(torch.as_tensor(np.asarray(params.get(f"b_{name}", np.zeros(module.d_model)))))
    return module
