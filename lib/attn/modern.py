"""Attention at the scale of today's models (chapter 10), in PyTorch.

The KV cache, online softmax and tiled attention, grouped-query attention, rotary positions (RoPE), ALiBi
and sliding-window masks, each written out the book's way and checked on the pages against
``F.scaled_dot_product_attention``. Tensors are (B, h, n, d_head); boolean masks mean True = may attend
(the course's convention).
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn


# ------------------------------------------------------------------------------------------ KV cache
class CausalSelfAttention(nn.Module):
    """Causal multi-head self-attention with ``h_kv`` key/value heads (h_kv = h: MHA, 1: MQA, else GQA).

    ``forward(x, cache)`` attends from the new positions ``x`` (B, t, d_model) to the cached keys and
    values plus the new ones (eq-kv-cache) and returns the output and the grown cache.
    """

    def __init__(self, d_model: int, h: int, h_kv: int | None = None):
        super().__init__()
        self.h, self.h_kv, self.d_head = h, h_kv or h, d_model // h
        assert h % self.h_kv == 0, "the query heads must split evenly into groups"
        self.q_proj = nn.Linear(d_model, d_model)
        self.kv_proj = nn.Linear(d_model, 2 * self.h_kv * self.d_head)  # fewer K/V heads: a smaller cache
        self.out_proj = nn.Linear(d_model, d_model)

    def forward(self, x, cache=None):
        B, t, _ = x.shape
        q = self.q_proj(x).view(B, t, self.h, self.d_head).transpose(1, 2)  # (B, h, t, d_head)
        k, v = self.kv_proj(x).view(B, t, 2, self.h_kv, self.d_head).permute(2, 0, 3, 1, 4)  # 2 x (B, h_kv, t, d_head)
        if cache is not None:  # the keys and values of earlier positions never change: reuse them
            k, v = torch.cat([cache[0], k], dim=2), torch.cat([cache[1], v], dim=2)
        n = k.shape[2]
        # query i (absolute position n - t + i) may see keys 0 .. n - t + i
        mask = torch.ones(t, n, dtype=torch.bool).tril(diagonal=n - t)  # (t, n)
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, enable_gqa=self.h_kv != self.h)
        return self.out_proj(out.transpose(1, 2).reshape(B, t, -1)), (k, v)


class TinyDecoder(nn.Module):
    """A decoder-only (GPT-style) stack of pre-LN blocks: causal self-attention and an MLP, learned positions."""

    def __init__(self, vocab: int = 64, d_model: int = 64, h: int = 4, h_kv: int | None = None,
                 n_layers: int = 2, max_len: int = 1100):
        super().__init__()
        self.embed, self.pos = nn.Embedding(vocab, d_model), nn.Embedding(max_len, d_model)
        self.attn = nn.ModuleList(CausalSelfAttention(d_model, h, h_kv) for _ in range(n_layers))
        self.mlp = nn.ModuleList(nn.Sequential(nn.LayerNorm(d_model), nn.Linear(d_model, 4 * d_model), nn.GELU(),
                                               nn.Linear(4 * d_model, d_model)) for _ in range(n_layers))
        self.norms = nn.ModuleList(nn.LayerNorm(d_model) for _ in range(n_layers))
        self.head = nn.Sequential(nn.LayerNorm(d_model), nn.Linear(d_model, vocab))

    def forward(self, tokens, caches=None):
        """Logits (B, t, vocab) of the new ``tokens`` (B, t) and the caches of every layer after them."""
        start = 0 if caches is None else caches[0][0].shape[2]  # how many positions are cached already
        x = self.embed(tokens) + self.pos(torch.arange(start, start + tokens.shape[1]))
        new_caches = []
        for i, (attn, mlp, norm) in enumerate(zip(self.attn, self.mlp, self.norms)):
            a, cache = attn(norm(x), None if caches is None else caches[i])
            x = x + a
            x = x + mlp(x)
            new_caches.append(cache)
        return self.head(x), new_caches


@torch.no_grad()
def generate(model: TinyDecoder, prompt: torch.Tensor, n: int, use_cache: bool = True):
    """Greedy generation of ``n`` tokens after ``prompt`` (B, t0); returns tokens and seconds per token.

    Without the cache every step runs the model on the whole sequence so far; with it, only on the newest
    token (the cache holds the keys and values of the others).
    """
    tokens, caches, seconds = prompt, None, []
    for _ in range(n):
        t0 = time.perf_counter()
        if use_cache:
            logits, caches = model(tokens if caches is None else tokens[:, -1:], caches)
        else:
            logits, _ = model(tokens)
        nxt = logits[:, -1].argmax(-1, keepdim=True)  # (B, 1)
        tokens = torch.cat([tokens, nxt], dim=1)
        seconds.append(time.perf_counter() - t0)
    return tokens, np.array(seconds)


def kv_cache_bytes(layers: int, kv_heads: int, d_head: int, n: int, bytes_per_value: int = 2, batch: int = 1) -> int:
    """Size of the KV cache (eq-kv-cache-size): keys and values, every layer, every K/V head, every position."""
    return 2 * layers * kv_heads * d_head * n * bytes_per_value * batch


def train_decoder(task, h_kv: int, n: int = 32, steps: int = 200, batch: int = 32, lr: float = 3e-3, seed: int = 0,
                  progress: bool = True) -> TinyDecoder:
    """Train a small ``TinyDecoder`` (d_model 64, 4 query heads, ``h_kv`` K/V heads) on ``task`` (Adam, seeded).

    ``task.batch(generator, size, n)`` returns tokens and targets (-100 = not scored).
    """
    from tqdm.auto import tqdm

    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    model = TinyDecoder(vocab=task.vocab, h_kv=h_kv, max_len=n)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    losses = []
    bar = tqdm(range(steps), desc=f"h_kv={h_kv}", disable=not progress, mininterval=1.0)
    for _ in bar:
        x, y = task.batch(gen, batch, n)
        loss = F.cross_entropy(model(x)[0].flatten(0, 1), y.flatten(), ignore_index=-100)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
        bar.set_postfix({"loss, mean of last 20 steps": f"{np.mean(losses[-20:]):.3f}"}, refresh=False)
    return model.eval()


@torch.no_grad()
def scored_accuracy(logits: torch.Tensor, y: torch.Tensor) -> float:
    """Fraction of the scored positions (target != -100) whose most probable token is the target."""
    scored = y != -100
    return float((logits.argmax(-1) == y)[scored].float().mean())


# ------------------------------------------------------------------ online softmax, tiled attention
def online_softmax_stats(x: torch.Tensor, block: int):
    """Running maximum m and running sum l of exp(x - m) over the last axis, one block at a time (eq-online-softmax)."""
    m = torch.full(x.shape[:-1], float("-inf"), dtype=x.dtype)
    l = torch.zeros(x.shape[:-1], dtype=x.dtype)
    for start in range(0, x.shape[-1], block):
        xb = x[..., start:start + block]
        m_new = torch.maximum(m, xb.amax(-1))
        l = l * torch.exp(m - m_new) + torch.exp(xb - m_new[..., None]).sum(-1)  # rescale the old sum
        m = m_new
    return m, l


def tiled_attention(q, k, v, block: int = 128, causal: bool = False):
    """softmax(q k^T / sqrt(d)) v computed over blocks of keys, never holding the n x n matrix (eq-tiled).

    q (..., n_q, d), k (..., n_k, d), v (..., n_k, d_v). Memory per query block: (block_q, block) scores.
    """
    n_q, n_k = q.shape[-2], k.shape[-2]
    scale = 1.0 / math.sqrt(q.shape[-1])
    out = torch.empty(q.shape[:-1] + v.shape[-1:], dtype=q.dtype)
    for qs in range(0, n_q, block):
        qb = q[..., qs:qs + block, :] * scale  # (..., bq, d)
        m = torch.full(qb.shape[:-1] + (1,), float("-inf"), dtype=q.dtype)  # running max (..., bq, 1)
        l = torch.zeros_like(m)  # running sum of exp(s - m)
        acc = torch.zeros(qb.shape[:-1] + v.shape[-1:], dtype=q.dtype)  # running sum of exp(s - m) v
        for ks in range(0, n_k, block):
            if causal and ks > qs + qb.shape[-2] - 1 + (n_k - n_q):
                break  # every later key block is in the future of every query of this block
            s = qb @ k[..., ks:ks + block, :].transpose(-2, -1)  # (..., bq, bk): one tile of scores
            if causal:
                rows = torch.arange(qs, qs + s.shape[-2])[:, None] + (n_k - n_q)
                cols = torch.arange(ks, ks + s.shape[-1])[None, :]
                s = s.masked_fill(cols > rows, float("-inf"))
            m_new = torch.maximum(m, s.amax(-1, keepdim=True))
            p = torch.exp(s - m_new)  # (..., bq, bk)
            correction = torch.exp(m - m_new)  # old terms were scaled by exp(-m); now by exp(-m_new)
            l = l * correction + p.sum(-1, keepdim=True)
            acc = acc * correction + p @ v[..., ks:ks + block, :]
            m = m_new
        out[..., qs:qs + block, :] = acc / l
    return out


def naive_attention(q, k, v, causal: bool = False):
    """softmax(q k^T / sqrt(d)) v with the whole (n_q, n_k) score matrix in memory (eq-sdpa)."""
    s = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])  # (..., n_q, n_k)
    if causal:
        s = s.masked_fill(torch.ones(s.shape[-2:], dtype=torch.bool).tril().logical_not(), float("-inf"))
    return torch.softmax(s, dim=-1) @ v


def peak_bytes(fn, *args, **kwargs) -> int:
    """Peak of the bytes torch allocates on the CPU while ``fn`` runs, from the profiler's memory records.

    The profiler records each operator's own allocations and every free (a negative size); their running
    total in time order, starting at 0, peaks at the largest working memory ``fn`` held beyond its inputs.
    """
    import os

    from torch.profiler import ProfilerActivity, profile

    os.environ.setdefault("KINETO_LOG_LEVEL", "99")  # the profiler would log two lines to stderr per run
    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        fn(*args, **kwargs)
    events = sorted(prof.events(), key=lambda e: e.time_range.start)
    running = peak = 0
    for e in events:
        running += e.self_cpu_memory_usage
        peak = max(peak, running)
    return peak


def sdpa_kernel_name(q, k, v, **kwargs) -> str:
    """The aten kernel ``F.scaled_dot_product_attention`` dispatches to for these inputs (read from the profiler)."""
    import os

    from torch.profiler import ProfilerActivity, profile

    os.environ.setdefault("KINETO_LOG_LEVEL", "99")
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        F.scaled_dot_product_attention(q, k, v, **kwargs)
    names = [e.key for e in prof.key_averages() if "scaled_dot_product" in e.key and e.key != "aten::scaled_dot_product_attention"]
    return names[0] if names else "aten::scaled_dot_product_attention"


# ------------------------------------------------------------------------------ grouped-query heads
def grouped_query_attention(q, k, v, mask=None):
    """Attention with h query heads sharing h_kv key/value heads (eq-gqa): q (B, h, n, d), k and v (B, h_kv, n, d).

    Query head j reads key/value head j // (h / h_kv): consecutive query heads form a group.
    """
    group = q.shape[-3] // k.shape[-3]
    k = k.repeat_interleave(group, dim=-3)  # (B, h, n, d): each K/V head copied for its group
    v = v.repeat_interleave(group, dim=-3)
    s = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])  # (B, h, n_q, n_k)
    if mask is not None:
        s = s.masked_fill(~mask, float("-inf"))
    return torch.softmax(s, dim=-1) @ v


# ------------------------------------------------------------------------------------------ positions
def rope(x: torch.Tensor, positions: torch.Tensor, base: float = 10000.0) -> torch.Tensor:
    """Rotary position embedding (Su et al.; eq-rope): rotate pairs (x_2i, x_2i+1) by angle p * base^(-2i/d).

    x (..., n, d) with d even; positions (n,). Dot products of rotated queries and keys depend only on
    the difference of their positions.
    """
    d = x.shape[-1]
    theta = base ** (-torch.arange(0, d, 2, dtype=torch.float64) / d)  # (d/2,)
    angle = positions.to(torch.float64)[:, None] * theta  # (n, d/2)
    cos, sin = angle.cos().to(x.dtype), angle.sin().to(x.dtype)
    x1, x2 = x[..., 0::2], x[..., 1::2]  # the two coordinates of each pair
    rotated = torch.stack([x1 * cos - x2 * sin, x1 * sin + x2 * cos], dim=-1)  # (..., n, d/2, 2)
    return rotated.flatten(-2)


def alibi_slopes(h: int) -> torch.Tensor:
    """ALiBi's head slopes 2^(-8/h), 2^(-16/h), ... (Press et al. 2022), for h a power of two."""
    return 2.0 ** (-8.0 * torch.arange(1, h + 1) / h)


def alibi_bias(h: int, n: int) -> torch.Tensor:
    """The (h, n, n) bias -m_head * (i - j) added to the scores of query i and key j <= i (eq-alibi)."""
    i = torch.arange(n)[:, None]
    j = torch.arange(n)[None, :]
    return -alibi_slopes(h)[:, None, None] * (i - j).clamp(min=0)


def sliding_window_mask(n: int, window: int) -> torch.Tensor:
    """Causal sliding window (eq-sliding-window): query i may see keys i - window + 1 .. i. (n, n) bool."""
    i = torch.arange(n)[:, None]
    j = torch.arange(n)[None, :]
    return (j <= i) & (j > i - window)


# ------------------------------------------------------------- the position experiment (train short)
POSITION_SCHEMES = ("sinusoidal", "learned", "rope", "alibi")


class PositionLM(nn.Module):
    """A small causal attention model whose only difference between runs is how it gets positions.

    sinusoidal / learned: a vector added to each token embedding; rope: queries and keys rotated in every
    layer; alibi: a distance penalty added to the scores. Two pre-LN layers, ``h`` heads.
    """

    def __init__(self, scheme: str, vocab: int, d_model: int = 64, h: int = 4, n_layers: int = 2, max_len: int = 128):
        super().__init__()
        from attn.transformer import positional_encoding

        self.scheme, self.h, self.d_head = scheme, h, d_model // h
        self.embed = nn.Embedding(vocab, d_model)
        if scheme == "learned":  # rows beyond the training length exist but never receive a gradient
            self.pos = nn.Parameter(torch.randn(max_len, d_model) * 0.1)
        elif scheme == "sinusoidal":
            self.register_buffer("pos", positional_encoding(max_len, d_model))
        self.qkv = nn.ModuleList(nn.Linear(d_model, 3 * d_model) for _ in range(n_layers))
        self.proj = nn.ModuleList(nn.Linear(d_model, d_model) for _ in range(n_layers))
        self.mlp = nn.ModuleList(nn.Sequential(nn.LayerNorm(d_model), nn.Linear(d_model, 2 * d_model), nn.GELU(),
                                               nn.Linear(2 * d_model, d_model)) for _ in range(n_layers))
        self.norms = nn.ModuleList(nn.LayerNorm(d_model) for _ in range(n_layers))
        self.head = nn.Sequential(nn.LayerNorm(d_model), nn.Linear(d_model, vocab))

    def forward(self, tokens):
        B, n = tokens.shape
        x = self.embed(tokens)
        if self.scheme in ("learned", "sinusoidal"):
            x = x + self.pos[:n]
        causal = torch.ones(n, n, dtype=torch.bool).tril()
        bias = torch.zeros(n, n).masked_fill(~causal, float("-inf"))  # (n, n) additive mask
        if self.scheme == "alibi":
            bias = bias + alibi_bias(self.h, n)  # (h, n, n)
        positions = torch.arange(n)
        for qkv, proj, mlp, norm in zip(self.qkv, self.proj, self.mlp, self.norms):
            q, k, v = qkv(norm(x)).view(B, n, 3, self.h, self.d_head).permute(2, 0, 3, 1, 4)  # 3 x (B, h, n, d_head)
            if self.scheme == "rope":
                q, k = rope(q, positions), rope(k, positions)
            a = F.scaled_dot_product_attention(q, k, v, attn_mask=bias)
            x = x + proj(a.transpose(1, 2).reshape(B, n, -1))
            x = x + mlp(x)
        return self.head(x)


@dataclass
class RecentTask:
    """Recall the most recent *key* token: a rule about recency, which holds at every length.

    Tokens 0 .. n_keys - 1 are keys, the others fillers; at every filler position the answer is the latest
    key before it (positions before the first key, and key positions themselves, are not scored).
    """

    n_keys: int = 8
    n_fillers: int = 8
    p_key: float = 0.25

    @property
    def vocab(self) -> int:
        return self.n_keys + self.n_fillers

    def batch(self, generator: torch.Generator, size: int, n: int):
        is_key = torch.rand(size, n, generator=generator) < self.p_key
        keys = torch.randint(0, self.n_keys, (size, n), generator=generator)
        fillers = torch.randint(self.n_keys, self.vocab, (size, n), generator=generator)
        x = torch.where(is_key, keys, fillers)
        # index of the latest key at or before each position (-1 if none yet)
        idx = torch.where(is_key, torch.arange(n), -1).cummax(dim=1).values
        y = torch.gather(x, 1, idx.clamp(min=0))
        y = y.masked_fill(is_key | (idx < 0), -100)  # -100: ignored by the loss and the accuracy
        return x, y


@dataclass
class LookbackTask:
    """Output at position t the token seen ``offset`` positions earlier (a rule about relative position).

    The first ``offset`` positions have no answer and are not scored. Tokens are 0 .. n_symbols - 1.
    """

    n_symbols: int = 16
    offset: int = 3

    def batch(self, generator: torch.Generator, size: int, n: int):
        x = torch.randint(0, self.n_symbols, (size, n), generator=generator)
        y = torch.full_like(x, -100)  # -100: ignored by the loss and by the accuracy
        y[:, self.offset:] = x[:, : n - self.offset]
        return x, y


def train_position_model(scheme: str, task, train_len: int = 16, steps: int = 300, batch: int = 32,
                         lr: float = 3e-3, seed: int = 0, progress: bool = True) -> PositionLM:
    """Train a ``PositionLM`` with ``scheme`` on sequences of length ``train_len`` only (Adam, seeded)."""
    from tqdm.auto import tqdm

    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    model = PositionLM(scheme, task.vocab)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    losses = []
    bar = tqdm(range(steps), desc=scheme, disable=not progress, mininterval=1.0)
    for _ in bar:
        x, y = task.batch(gen, batch, train_len)
        loss = F.cross_entropy(model(x).flatten(0, 1), y.flatten(), ignore_index=-100)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
        bar.set_postfix({"loss, mean of last 20 steps": f"{np.mean(losses[-20:]):.3f}"}, refresh=False)
    return model.eval()


@torch.no_grad()
def accuracy_by_position(model: PositionLM, task, n: int, size: int = 200, seed: int = 1) -> np.ndarray:
    """Accuracy at each position 0 .. n - 1 on fresh sequences of length ``n`` (NaN where nothing is scored)."""
    x, y = task.batch(torch.Generator().manual_seed(seed), size, n)
    right = (model(x).argmax(-1) == y).float()
    scored = (y != -100).float()
    with np.errstate(invalid="ignore"):
        return (right.sum(0) / scored.sum(0)).numpy()
