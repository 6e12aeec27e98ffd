"""Scaled dot-product attention with masks (chapter 6) and multi-head attention as an ``nn.Module`` (chapter 7),
the one attention layer of the book (also of chapter 8's Transformer and the models built on it).

Boolean masks with True = may attend, broadcasting against
(B, n_q, n_k) (or (n_q, n_k), or (n_k,)); a query row with no allowed key gets all-zero weights and a
zero read-out (``nn.MultiheadAttention`` returns NaN there). Weights can be copied to and from
``nn.MultiheadAttention``.
"""
from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn


def scaled_dot_product_attention(Q, K, V, mask=None):
    """softmax(Q K^T / sqrt(d_k)) V with a boolean mask (True = may attend) (eqs. eq-sa-weights, eq-sa-output).

    Returns ``(output, weights)``. Rows with no allowed key give zero weights, with finite gradients:
    their scores are replaced by zeros before the softmax and the weights are multiplied by 0 after it.
    """
    scores = Q @ K.transpose(-1, -2) / math.sqrt(Q.shape[-1])  # (..., n_q, n_k)
    if mask is None:
        weights = torch.softmax(scores, dim=-1)
    else:
        mask = torch.as_tensor(mask, dtype=torch.bool, device=scores.device)
        mask = torch.broadcast_to(mask, scores.shape)
        any_allowed = mask.any(dim=-1, keepdim=True)  # (..., n_q, 1)
        scores = scores.masked_fill(~mask, float("-inf")).masked_fill(~any_allowed, 0.0)
        weights = torch.softmax(scores, dim=-1) * any_allowed
    return weights @ V, weights  # (..., n_q, d_v), (..., n_q, n_k)


def split_heads(X: torch.Tensor, h: int) -> torch.Tensor:
    """(..., n, d_model) -> (..., h, n, d_model / h) (eq. eq-mha-split)."""
    *lead, n, d_model = X.shape
    if d_model % h:
        raise ValueError(f"d_model = {d_model} is not divisible by h = {h}")
    return X.reshape(*lead, n, h, d_model // h).transpose(-3, -2)  # (..., n, h, d_head) -> (..., h, n, d_head)


def merge_heads(X: torch.Tensor) -> torch.Tensor:
    """(..., h, n, d_head) -> (..., n, h * d_head) (eq. eq-mha-concat)."""
    X = X.transpose(-3, -2)  # (..., n, h, d_head)
    return X.reshape(*X.shape[:-2], X.shape[-2] * X.shape[-1])


class MultiHeadAttention(nn.Module):
    """Multi-head attention (eqs. eq-mha-projections to eq-mha-output): project to Q, K, V, split into h heads, attend per head, merge, project.

    ``forward(X_q, X_kv=None, mask=None)`` returns ``(output, weights)``: output (..., n_q, d_model),
    weights (..., h, n_q, n_k). With ``X_kv=None`` it is self-attention (keys and values from ``X_q``).
    ``self.weights`` keeps the weights of the last call (detached), so that the maps of every layer of a
    stack can be read after one forward pass (chapter 8).
    """

    def __init__(self, d_model: int, h: int, bias: bool = True):
        super().__init__()
        if d_model % h:
            raise ValueError(f"d_model = {d_model} is not divisible by h = {h}")
        self.d_model, self.h = d_model, h
        # Named like nn.MultiheadAttention's parts; weight (out, in), so y = x @ weight.T + bias.
        self.q_proj = nn.Linear(d_model, d_model, bias=bias)
        self.k_proj = nn.Linear(d_model, d_model, bias=bias)
        self.v_proj = nn.Linear(d_model, d_model, bias=bias)
        self.out_proj = nn.Linear(d_model, d_model, bias=bias)
        self.weights: torch.Tensor | None = None  # the weights of the last call

    def forward(self, X_q, X_kv=None, mask=None):
        X_kv = X_q if X_kv is None else X_kv
        Q = split_heads(self.q_proj(X_q), self.h)  # (..., h, n_q, d_head)
        K = split_heads(self.k_proj(X_kv), self.h)  # (..., h, n_k, d_head)
        V = split_heads(self.v_proj(X_kv), self.h)  # (..., h, n_k, d_head)
        if mask is not None:
            mask = torch.as_tensor(mask, dtype=torch.bool, device=Q.device)
            if mask.ndim >= 2:
                mask = mask.unsqueeze(-3)  # (..., 1, n_q, n_k): the same mask for every head
        heads, weights = scaled_dot_product_attention(Q, K, V, mask)  # (..., h, n_q, d_head), (..., h, n_q, n_k)
        self.weights = weights.detach()
        return self.out_proj(merge_heads(heads)), weights  # (..., n_q, d_model)

    @property
    def bias(self) -> bool:
        return self.q_proj.bias is not None

    @torch.no_grad()
    def load_from_torch(self, mha: nn.MultiheadAttention) -> "MultiHeadAttention":
        """Copy the weights of an ``nn.MultiheadAttention`` (packed ``in_proj_weight`` = [W_q; W_k; W_v])."""
        if mha.embed_dim != self.d_model or mha.num_heads != self.h or not mha._qkv_same_embed_dim:
            raise ValueError("nn.MultiheadAttention has a different d_model, number of heads, or kdim/vdim")
        if (mha.in_proj_bias is not None) != self.bias:
            raise ValueError("one module has biases and the other has not")
        for proj, w in zip((self.q_proj, self.k_proj, self.v_proj), mha.in_proj_weight.chunk(3)):
            proj.weight.copy_(w)
        if self.bias:
            for proj, b in zip((self.q_proj, self.k_proj, self.v_proj), mha.in_proj_bias.chunk(3)):
                proj.bias.copy_(b)
            self.out_proj.bias.copy_(mha.out_proj.bias)
        self.out_proj.weight.copy_(mha.out_proj.weight)
        return self

    @torch.no_grad()
    def to_torch(self, batch_first: bool = True) -> nn.MultiheadAttention:
        """A new ``nn.MultiheadAttention`` (dropout 0) holding this module's weights."""
        p = self.q_proj.weight
        mha = nn.MultiheadAttention(self.d_model, self.h, bias=self.bias, batch_first=batch_first,
                                    dtype=p.dtype, device=p.device)
        mha.in_proj_weight.copy_(torch.cat([self.q_proj.weight, self.k_proj.weight, self.v_proj.weight]))
        mha.out_proj.weight.copy_(self.out_proj.weight)
        if self.bias:
            mha.in_proj_bias.copy_(torch.cat([self.q_proj.bias, self.k_proj.bias, self.v_proj.bias]))
            mha.out_proj.bias.copy_(self.out_proj.bias)
        return mha


def torch_masks(mask=None, lengths=None, n_k: int | None = None):
    """Our masks (True = may attend) as ``nn.MultiheadAttention`` arguments (True = may NOT attend).

    ``mask`` (n_q, n_k) becomes ``attn_mask``; ``lengths`` (B,) becomes ``key_padding_mask`` (B, n_k).
    """
    out = {}
    if mask is not None:
        out["attn_mask"] = ~torch.as_tensor(np.asarray(mask, dtype=bool))
    if lengths is not None:
        out["key_padding_mask"] = ~(torch.arange(n_k) < torch.as_tensor(np.asarray(lengths))[:, None])
    return out
