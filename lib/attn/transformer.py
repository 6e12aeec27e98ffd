"""A small Transformer in PyTorch and its training loop on chapter 2's reversal task (chapter 8).

The layers are written out (not ``nn.TransformerEncoderLayer``) so that every attention map can be read
back after a forward pass and every line matched with an equation of chapter 8; the book checks them
against ``nn.TransformerEncoderLayer`` / ``nn.TransformerDecoderLayer`` given the same weights. Their
attention is chapter 7's ``attn.mha.MultiHeadAttention``; the task, its token ids and ``teacher_forcing``
are chapter 2's (``attn.seq2seq``).

Post-LN (``norm_first=False``) is the layer of the original paper: x -> LN(x + F(x)).
Pre-LN (``norm_first=True``) is the layer of most code today: x -> x + F(LN(x)), with one extra
LayerNorm after the last layer of each stack (Xiong et al. 2020).
Masks are boolean, True = may attend (the course's convention; torch's boolean masks mean the opposite).
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from attn.mha import MultiHeadAttention
from attn.seq2seq import BOS, EOS, PAD, ReverseTask, teacher_forcing


def positional_encoding(n: int, d_model: int) -> torch.Tensor:
    """Sinusoidal positions (Vaswani et al. 2017, sec. 3.5; eq-positional-encoding): (n, d_model) float32."""
    position = torch.arange(n, dtype=torch.float64).unsqueeze(1)  # (n, 1)
    inv_freq = 10000.0 ** (-torch.arange(0, d_model, 2, dtype=torch.float64) / d_model)  # (ceil(d/2),)
    angle = position * inv_freq  # (n, ceil(d/2))
    pe = torch.stack([angle.sin(), angle.cos()], dim=-1).flatten(1)  # (n, 2 ceil(d/2)): sin, cos interleaved
    return pe[:, :d_model].float()  # odd d_model: the last cosine column is dropped


def noam_rate(step: int, d_model: int, warmup: int) -> float:
    """The warm-up schedule of Vaswani et al. (2017, sec. 5.3; eq-warmup): linear rise, then 1/sqrt(step)."""
    step = max(step, 1)  # LambdaLR starts counting at 0
    return d_model**-0.5 * min(step**-0.5, step * warmup**-1.5)

# --------------------------------------------------------------------------------------------- layers


class FeedForward(nn.Module):
    """Position-wise feed-forward network d_model -> d_ff -> d_model with ReLU (eq-ffn)."""

    def __init__(self, d_model: int, d_ff: int, dropout: float = 0.0):
        super().__init__()
        self.linear1, self.linear2, self.dropout = nn.Linear(d_model, d_ff), nn.Linear(d_ff, d_model), nn.Dropout(dropout)

    def forward(self, x):
        return self.linear2(self.dropout(F.relu(self.linear1(x))))


class EncoderLayer(nn.Module):
    """Self-attention + feed-forward (eq-encoder-layer), each in a residual sub-layer wrapped post-LN or
    pre-LN (``norm_first``; eq-post-pre-ln)."""

    def __init__(self, d_model, h, d_ff, dropout=0.0, norm_first=False):
        super().__init__()
        self.self_attn, self.ffn = MultiHeadAttention(d_model, h), FeedForward(d_model, d_ff, dropout)
        self.norm1, self.norm2 = nn.LayerNorm(d_model), nn.LayerNorm(d_model)
        self.dropout, self.norm_first = nn.Dropout(dropout), norm_first

    def sublayer(self, x, fn, norm):
        if self.norm_first:
            return x + self.dropout(fn(norm(x)))  # pre-LN
        return norm(x + self.dropout(fn(x)))  # post-LN

    def forward(self, x, mask=None):
        x = self.sublayer(x, lambda z: self.self_attn(z, z, mask)[0], self.norm1)
        return self.sublayer(x, self.ffn, self.norm2)


class DecoderLayer(EncoderLayer):
    """Masked self-attention, then encoder-decoder attention (queries from the decoder, keys and values from
    the memory), then feed-forward (eq-decoder-layer)."""

    def __init__(self, d_model, h, d_ff, dropout=0.0, norm_first=False):
        super().__init__(d_model, h, d_ff, dropout, norm_first)
        self.cross_attn, self.norm3 = MultiHeadAttention(d_model, h), nn.LayerNorm(d_model)

    def forward(self, y, memory, self_mask=None, memory_mask=None):
        y = self.sublayer(y, lambda z: self.self_attn(z, z, self_mask)[0], self.norm1)
        y = self.sublayer(y, lambda z: self.cross_attn(z, memory, memory_mask)[0], self.norm2)
        return self.sublayer(y, self.ffn, self.norm3)


class Seq2SeqTransformer(nn.Module):
    """Encoder-decoder Transformer: embeddings x sqrt(d_model) + sinusoids (eq-transformer-input), N encoder
    and N decoder layers, a linear layer to next-token logits."""

    def __init__(self, vocab, d_model=32, h=2, d_ff=64, n_layers=2, dropout=0.0, norm_first=False, max_len=64):
        super().__init__()
        self.d_model, self.norm_first = d_model, norm_first
        self.embed = nn.Embedding(vocab, d_model)  # shared by source and target (one vocabulary)
        # Entries of size d_model^-1/2, so that after the x sqrt(d_model) scaling they are of size 1,
        # like the sinusoids they are added to (torch's default N(0, 1) would drown the positions).
        nn.init.normal_(self.embed.weight, std=d_model**-0.5)
        self.register_buffer("pe", positional_encoding(max_len, d_model))
        self.encoder = nn.ModuleList(EncoderLayer(d_model, h, d_ff, dropout, norm_first) for _ in range(n_layers))
        self.decoder = nn.ModuleList(DecoderLayer(d_model, h, d_ff, dropout, norm_first) for _ in range(n_layers))
        # Pre-LN layers leave the residual stream unnormalised, so each stack ends with a LayerNorm.
        self.enc_norm = nn.LayerNorm(d_model) if norm_first else nn.Identity()
        self.dec_norm = nn.LayerNorm(d_model) if norm_first else nn.Identity()
        self.generator = nn.Linear(d_model, vocab)
        self.dropout = nn.Dropout(dropout)

    def embed_tokens(self, tokens):
        n = tokens.shape[1]
        return self.dropout(self.embed(tokens) * math.sqrt(self.d_model) + self.pe[:n])  # (B, n, d_model)

    def encode(self, src, src_pad_mask):
        x = self.embed_tokens(src)
        for layer in self.encoder:
            x = layer(x, src_pad_mask)
        return self.enc_norm(x)

    def decode(self, tgt_in, memory, src_pad_mask):
        n = tgt_in.shape[1]
        causal = torch.ones(n, n, dtype=torch.bool, device=tgt_in.device).tril()  # (n, n) True = may attend
        y = self.embed_tokens(tgt_in)
        for layer in self.decoder:
            y = layer(y, memory, causal, src_pad_mask)
        return self.generator(self.dec_norm(y))  # (B, n, vocab) logits

    def forward(self, src, tgt_in, pad: int = 0):
        src_pad_mask = (src != pad)[:, None, :]  # (B, 1, n_src): every query may see every real token
        return self.decode(tgt_in, self.encode(src, src_pad_mask), src_pad_mask)

    def attention_maps(self) -> dict[str, torch.Tensor]:
        """The weights of the last forward pass, e.g. ``{"encoder 1 self": (B, h, n, n), ...}``."""
        maps = {f"encoder {i + 1} self": l.self_attn.weights for i, l in enumerate(self.encoder)}
        for i, l in enumerate(self.decoder):
            maps[f"decoder {i + 1} self"] = l.self_attn.weights
            maps[f"decoder {i + 1} cross"] = l.cross_attn.weights
        return maps


# ------------------------------------------------------------------------------------ the reversal task


def with_eos(src: torch.Tensor, src_len: torch.Tensor) -> torch.Tensor:
    """The source as the Transformer reads it: the string, then <eos>, then padding (B, m + 1).

    The <eos> marks where the string ends, so that the decoder can find the token t places before it
    (chapter 2's GRU encoders need no marker: they stop at the end of the string).
    """
    out = F.pad(src, (0, 1), value=PAD)  # (B, m + 1)
    out[torch.arange(len(src)), src_len] = EOS
    return out


@torch.no_grad()
def greedy_decode(model: Seq2SeqTransformer, src: torch.Tensor, max_len: int) -> torch.Tensor:
    """Greedy decoding (eq-greedy-transformer): feed <bos>, append the most probable token, repeat ``max_len`` times.

    Returns (B, max_len + 1) tokens starting with <bos>; positions after a sequence's <eos> are set to <pad>.
    """
    model.eval()
    src_pad_mask = (src != PAD)[:, None, :]
    memory = model.encode(src, src_pad_mask)
    out = torch.full((src.shape[0], 1), BOS, dtype=torch.long)
    done = torch.zeros(src.shape[0], dtype=torch.bool)
    for _ in range(max_len):
        logits = model.decode(out, memory, src_pad_mask)[:, -1]  # (B, vocab): only the newest position
        nxt = logits.argmax(-1).masked_fill(done, PAD)
        out = torch.cat([out, nxt[:, None]], dim=1)
        done |= nxt == EOS
        if done.all():
            break
    return out


def sequence_accuracy(model, task: ReverseTask, rng, n: int = 1000) -> float:
    """Fraction of ``n`` fresh sequences whose greedy output equals the target exactly (up to <eos>)."""
    src, src_len, tgt = task.batch(rng, n)
    pred = greedy_decode(model, with_eos(src, src_len), tgt.shape[1])[:, 1:]  # without <bos>; may stop early
    pred = F.pad(pred, (0, tgt.shape[1] - pred.shape[1]), value=PAD)  # (B, n_tgt), padded like tgt
    return float((pred == tgt).all(dim=1).float().mean())


@dataclass
class TrainResult:
    model: Seq2SeqTransformer
    losses: list = field(default_factory=list)
    lrs: list = field(default_factory=list)
    seconds: float = 0.0
    steps: int = 0


def train_reverser(
    task: ReverseTask,
    norm_first: bool = False,
    steps: int = 600,
    batch_size: int = 64,
    warmup: int = 40,
    lr_scale: float = 0.35,
    label_smoothing: float = 0.1,
    seed: int = 0,
    time_budget: float | None = None,
    progress: bool = True,
    **model_kwargs,
) -> TrainResult:
    """Train a ``Seq2SeqTransformer`` on ``task`` (chapter 2's ``ReverseTask``, the source read ``with_eos``) with
    teacher forcing (eq-teacher-forcing-parallel), Adam(0.9, 0.98), warm-up and label smoothing (eq-label-smoothing).

    The learning rate follows ``lr_scale * noam_rate(step, d_model, warmup)`` (eq-warmup). Training stops
    after ``steps`` steps or ``time_budget`` seconds, whichever comes first.
    """
    from tqdm.auto import tqdm

    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    model = Seq2SeqTransformer(task.vocab_size, norm_first=norm_first, max_len=task.max_len + 2, **model_kwargs)
    opt = torch.optim.Adam(model.parameters(), lr=1.0, betas=(0.9, 0.98), eps=1e-9)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: lr_scale * noam_rate(s + 1, model.d_model, warmup))
    result = TrainResult(model)
    start = time.perf_counter()
    bar = tqdm(range(steps), desc="post-LN" if not norm_first else "pre-LN", disable=not progress)
    for step in bar:
        model.train()
        src, src_len, tgt = task.batch(rng, batch_size)
        logits = model(with_eos(src, src_len), teacher_forcing(tgt))  # predict token t+1 from tokens <= t
        loss = F.cross_entropy(logits.reshape(-1, task.vocab_size), tgt.reshape(-1),
                               ignore_index=PAD, label_smoothing=label_smoothing)
        opt.zero_grad()
        loss.backward()
        opt.step()
        result.lrs.append(sched.get_last_lr()[0])
        sched.step()
        result.losses.append(loss.item())
        bar.set_postfix({"loss, mean of last 20 steps": f"{np.mean(result.losses[-20:]):.3f}"}, refresh=False)
        result.steps = step + 1
        if time_budget is not None and time.perf_counter() - start > time_budget:
            break
    bar.close()
    result.seconds = time.perf_counter() - start
    model.eval()
    return result
