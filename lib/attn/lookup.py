"""Chapter 5's benchmark: one small lookup task, one tiny torch model per attention variant.

Task: a sequence of ``n_pairs`` (key, value) tokens with distinct keys, and a query key; the answer is the
value stored under that key. Solving it needs *content-based* addressing (find the key that matches),
so it separates the score functions that look at the keys from those that only look at positions.

Model: h_j = [E_k(key_j); E_v(value_j)] (the "hidden state" of source position j, size 2d),
s = W_s E_k(query) (the "decoder state"), weights a = softmax(score(s, h)), context c = sum_j a_j h_j,
prediction = Linear(c). Only the score function (and, for a few variants, the read-out) changes.
Equation labels (eq-var-...) are those of chapter 5.
"""
from __future__ import annotations

import math
import time

import torch
from torch import nn
from torch.distributions import Categorical
from torch.nn import functional as F

N_KEYS = 16
N_VALUES = 8
N_PAIRS = 10  # source length of the benchmark
STEPS, BATCH = 150, 128  # training budget, the same for every variant
N_TEST = 2000  # fresh problems for evaluation

VARIANTS = (
    "dot", "scaled dot", "general", "additive", "cosine",
    "location", "local-p", "key-value", "multi-head", "hard",
)
# end of the settings


def local_weights(scores, p, D: int, gaussian: bool = True):
    """Luong's local attention (eq-var-window, eq-var-localp): softmax of ``scores`` (..., n) over the
    window |j - p| <= D around the centres ``p`` (..., 1), times a Gaussian of sigma = D / 2 around p
    (local-p; ``gaussian=False`` gives local-m's plain windowed softmax). Zero outside the window."""
    pos = torch.arange(scores.shape[-1], dtype=scores.dtype)  # (n,) source positions 0..n-1
    inside = (pos - p).abs() <= D  # (..., n); never empty: the nearest position is within 1/2 of p
    w = torch.softmax(scores.masked_fill(~inside, float("-inf")), dim=-1)
    if gaussian:
        sigma = D / 2
        w = w * torch.exp(-((pos - p) ** 2) / (2 * sigma**2))
    return w


def make_batch(batch: int, n_pairs: int, generator: torch.Generator):
    """Random lookup problems: keys (B, n) distinct per row, values (B, n), query (B,), answer (B,), position (B,)."""
    keys = torch.rand(batch, N_KEYS, generator=generator).argsort(-1)[:, :n_pairs]  # (B, n) distinct keys
    values = torch.randint(N_VALUES, (batch, n_pairs), generator=generator)  # (B, n)
    pos = torch.randint(n_pairs, (batch,), generator=generator)  # (B,) which pair is asked about
    rows = torch.arange(batch)
    return keys, values, keys[rows, pos], values[rows, pos], pos


class LookupModel(nn.Module):
    """Embed, attend with one score variant, classify the context vector (scores: eq-var-dot to
    eq-var-location; local-p: eq-var-localp; key-value: eq-var-kv; hard: eq-var-hard). ``hard=True`` reads
    out the argmax position of a soft variant instead of the average. The ``"hard"`` variant reads one
    position, sampled while training, the argmax in ``eval()`` mode, and returns its policy as the weights."""

    def __init__(self, variant: str, n_pairs: int, d: int = 16, d_att: int = 16, D: int = 2):
        super().__init__()
        if variant not in VARIANTS:
            raise ValueError(f"unknown variant {variant!r}")
        self.variant, self.n_pairs, self.d, self.D = variant, n_pairs, d, D
        self.key_emb = nn.Embedding(N_KEYS, d)
        self.value_emb = nn.Embedding(N_VALUES, d)
        d_h = 2 * d
        d_q = d if variant == "key-value" else d_h  # key-value: the query only has to match the key half
        self.query = nn.Linear(d, d_q)
        if variant == "general":
            self.W = nn.Parameter(torch.randn(d_h, d_h) / math.sqrt(d_h))  # s^T W h
        elif variant == "additive":
            self.W1 = nn.Linear(d_h, d_att, bias=False)  # applied to h
            self.W2 = nn.Linear(d_h, d_att, bias=False)  # applied to s
            self.v = nn.Linear(d_att, 1, bias=False)
        elif variant == "cosine":
            self.log_beta = nn.Parameter(torch.tensor(math.log(5.0)))  # key strength beta (Graves et al. 2014)
        elif variant == "location":
            self.W_a = nn.Linear(d_h, n_pairs)  # one score per position, from s alone
        elif variant == "local-p":
            self.W_p = nn.Linear(d_h, d_att, bias=False)
            self.v_p = nn.Linear(d_att, 1, bias=False)
        elif variant == "multi-head":
            self.mha = nn.MultiheadAttention(d_h, num_heads=2, batch_first=True)
        self.out = nn.Linear(d if variant == "key-value" else d_h, N_VALUES)

    def forward(self, keys, values, query, hard: bool = False):
        """Return (logits (B, N_VALUES), weights (B, n) or (B, heads, n) for multi-head)."""
        h = torch.cat([self.key_emb(keys), self.value_emb(values)], dim=-1)  # (B, n, 2d)
        s = self.query(self.key_emb(query))  # (B, d_q)
        v = self.variant
        if v == "multi-head":
            ctx, w = self.mha(s[:, None, :], h, h, average_attn_weights=False)  # (B, 1, 2d), (B, heads, 1, n)
            return self.out(ctx[:, 0]), w[:, :, 0]
        values_read = h
        if v == "dot":
            scores = torch.einsum("bd,bnd->bn", s, h)
        elif v == "scaled dot":
            scores = torch.einsum("bd,bnd->bn", s, h) / math.sqrt(h.shape[-1])
        elif v == "general":
            scores = torch.einsum("bd,de,bne->bn", s, self.W, h)
        elif v == "additive":
            scores = self.v(torch.tanh(self.W1(h) + self.W2(s)[:, None, :]))[..., 0]  # (B, n)
        elif v == "cosine":
            scores = self.log_beta.exp() * F.cosine_similarity(s[:, None, :], h, dim=-1)
        elif v == "location":
            scores = self.W_a(s)  # (B, n): ignores the keys' content
        elif v == "key-value":
            k, values_read = h[..., : self.d], h[..., self.d:]  # (B, n, d) each
            scores = torch.einsum("bd,bnd->bn", s, k)
        elif v == "local-p":
            n = h.shape[1]
            p = (n - 1) * torch.sigmoid(self.v_p(torch.tanh(self.W_p(s))))  # (B, 1) centre, eq-var-pt
            w = local_weights(torch.einsum("bd,bnd->bn", s, h), p, self.D)  # eq-var-localp
            return self.out(torch.einsum("bn,bnd->bd", w, h)), w
        elif v == "hard":  # policy over positions (scaled dot); reads ONE position (eq-var-hard)
            scores = torch.einsum("bd,bnd->bn", s, h) / math.sqrt(h.shape[-1])
            policy = Categorical(logits=scores)
            pick = policy.sample() if self.training else scores.argmax(-1)  # (B,): sampled while training
            self.log_pi = policy.log_prob(pick)  # (B,) log pi(j_t), kept for REINFORCE (eq-var-hard-loss)
            read = h[torch.arange(h.shape[0]), pick]  # (B, 2d): the one state read out
            return self.out(read), torch.softmax(scores, dim=-1)
        w = torch.softmax(scores, dim=-1)  # (B, n)
        if hard:  # read out the single best position instead of the average
            w = F.one_hot(w.argmax(-1), w.shape[-1]).to(w.dtype)
        return self.out(torch.einsum("bn,bnd->bd", w, values_read)), w


def train_variant(variant: str, n_pairs: int = N_PAIRS, steps: int = STEPS, batch: int = BATCH, lr: float = 1e-2,
                  seed: int = 0, reinforce: bool = True):
    """Train one variant from a fixed seed (same data for every variant); return (model, losses, seconds).

    Soft variants minimise the cross-entropy. The hard variant samples one position per problem and adds the
    REINFORCE term of eq-var-hard-loss, with the reward r = log p(answer | h_j) and a moving-average baseline
    (``reinforce=False`` drops that term, to show what the scores learn without it).
    """
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    model = LookupModel(variant, n_pairs)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    losses, baseline = [], 0.0
    start = time.perf_counter()
    for _ in range(steps):
        keys, values, query, answer, _ = make_batch(batch, n_pairs, gen)
        logits, _ = model(keys, values, query)
        nll = F.cross_entropy(logits, answer, reduction="none")  # (B,): -log p(answer | what was read)
        loss = nll.mean()
        if variant == "hard" and reinforce:
            reward = -nll.detach()  # (B,) r = log p(answer | h_j): no gradient flows through the reward
            loss = loss - ((reward - baseline) * model.log_pi).mean()  # REINFORCE for the scores
            baseline = 0.9 * baseline + 0.1 * reward.mean().item()  # moving average, as Xu et al.
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(nll.mean().item())
    return model, losses, time.perf_counter() - start


@torch.no_grad()
def evaluate(model: LookupModel, n: int = N_TEST, seed: int = 1234, hard: bool = False):
    """Accuracy, mean attention entropy (nats) and weight on the right position, on fresh problems.

    Puts the model in ``eval()`` mode (the hard variant then reads its argmax position)."""
    model.eval()
    keys, values, query, answer, pos = make_batch(n, model.n_pairs, torch.Generator().manual_seed(seed))
    logits, w = model(keys, values, query, hard=hard)
    if w.dim() == 3:  # multi-head: (B, heads, n); entropy per head, then averaged
        on_target = w.gather(-1, pos[:, None, None].expand(-1, w.shape[1], 1)).mean()
    else:
        on_target = w.gather(-1, pos[:, None]).mean()
    entropy = torch.special.entr(w).sum(-1).mean()
    return {
        "accuracy": (logits.argmax(-1) == answer).float().mean().item(),
        "entropy": entropy.item(),
        "on_target": on_target.item(),
    }
