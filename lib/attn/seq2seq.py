"""The toy translation task and the GRU encoder-decoders of chapters 2 and 4 (shared by pages and tests).

Task ("reverse"): the source is a random string of ``n_symbols`` symbols of length 1..``max_len``; the
target is the same string reversed, followed by EOS. Lengths are sampled uniformly, so long inputs are
as frequent as short ones during training. Ids: PAD 0, BOS 1, EOS 2, symbols 3.. (shared by both sides).
The one reversal task of the book: chapter 8's Transformer (``attn.transformer``) and chapter 10's beam
search train on it too.

Models (all batch-first, torch):
* ``Seq2Seq``: the encoder-decoder of Cho et al. (2014) -- one fixed context C, computed from the final
  states of a bidirectional GRU, given to the decoder at every step (chapter 2). The GRUs are PyTorch's
  (reset gate applied after the recurrent product), a variant of Cho et al.'s cell.
* ``LuongSeq2Seq``: global attention of Luong et al. (2015): the *current* decoder state s_t queries the
  encoder states; attentional state tanh(W_c [c_t; s_t]) feeds the output layer (chapter 4). Under
  teacher forcing all steps run in parallel, which is what makes it quick to train on a CPU.
* ``BahdanauSeq2Seq``: additive attention of Bahdanau et al. (2015): the *previous* state s_{t-1}
  queries, the context enters the recurrent update, so the steps run one at a time.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

PAD, BOS, EOS = 0, 1, 2
FIRST_SYMBOL = 3


# --------------------------------------------------------------------------------------------- data
@dataclass
class ReverseTask:
    """Random strings to reverse: ``batch`` draws source/target pairs as padded integer tensors.

    ``alphabet`` only names the symbols when they are printed (chapter 8 writes them as digits).
    """

    n_symbols: int = 20
    min_len: int = 1
    max_len: int = 40
    alphabet: str = "abcdefghijklmnopqrstuvwxyz"

    @property
    def vocab_size(self) -> int:
        return FIRST_SYMBOL + self.n_symbols

    def batch(self, rng: np.random.Generator, size: int, length: int | None = None):
        """``size`` examples; all of one ``length`` if given, else lengths uniform in [min_len, max_len].

        Returns ``(src (B, m), src_len (B,), tgt (B, m + 1))``; padding is PAD, tgt ends with EOS.
        """
        if length is None:
            lens = rng.integers(self.min_len, self.max_len + 1, size=size)
        else:
            lens = np.full(size, length)
        m = int(lens.max())
        src = np.full((size, m), PAD, dtype=np.int64)
        tgt = np.full((size, m + 1), PAD, dtype=np.int64)
        for b, n in enumerate(lens):
            s = rng.integers(FIRST_SYMBOL, self.vocab_size, size=n)
            src[b, :n] = s
            tgt[b, :n] = s[::-1]
            tgt[b, n] = EOS
        return torch.from_numpy(src), torch.from_numpy(lens), torch.from_numpy(tgt)

    def symbols(self, ids) -> str:
        """Readable form of a sequence of ids: symbols as characters of ``alphabet``, stops at EOS."""
        out = []
        for i in (int(t) for t in ids):
            if i == EOS:
                break
            out.append(self.alphabet[i - FIRST_SYMBOL] if i >= FIRST_SYMBOL else "_")
        return "".join(out)


def teacher_forcing(tgt: torch.Tensor) -> torch.Tensor:
    """Decoder inputs [BOS, y_1, ..., y_{n-1}] (eq-teacher-forcing): at step i the decoder reads the true y_{i-1}."""
    return torch.cat([torch.full_like(tgt[:, :1], BOS), tgt[:, :-1]], dim=1)


# ------------------------------------------------------------------------------------------ encoder
class Encoder(nn.Module):
    """Embedding + bidirectional GRU over the padded source (eq-bi-context): every state H and the context C."""

    def __init__(self, vocab: int, emb: int, hidden: int):
        super().__init__()
        self.embed = nn.Embedding(vocab, emb, padding_idx=PAD)
        self.rnn = nn.GRU(emb, hidden, batch_first=True, bidirectional=True)
        self.bridge = nn.Linear(2 * hidden, hidden)  # final states of both directions -> decoder size

    def forward(self, src, src_len):
        x = self.embed(src)  # (B, m, emb)
        if bool((src_len == src.shape[1]).all()):  # no padding: the plain (faster) path
            H, h_n = self.rnn(x)
            final = torch.cat([h_n[0], h_n[1]], dim=-1)
            return H, torch.tanh(self.bridge(final))
        packed = nn.utils.rnn.pack_padded_sequence(x, src_len.cpu(), batch_first=True, enforce_sorted=False)
        out, h_n = self.rnn(packed)
        H, _ = nn.utils.rnn.pad_packed_sequence(out, batch_first=True, total_length=src.shape[1])  # (B, m, 2h)
        final = torch.cat([h_n[0], h_n[1]], dim=-1)  # (B, 2h): forward end state, backward start state
        return H, torch.tanh(self.bridge(final))  # (B, m, 2h), (B, h)


# ------------------------------------------------------------------------------ models of chapter 2
class Seq2Seq(nn.Module):
    """Encoder-decoder with one fixed context C (eq-rnn-encdec): s_0 = C, s_i = GRU([e(y_{i-1}); C], s_{i-1}),
    logits W_o [s_i; C] + b_o."""

    has_attention = False

    def __init__(self, vocab: int, emb: int = 32, hidden: int = 64):
        super().__init__()
        self.encoder = Encoder(vocab, emb, hidden)
        self.embed = nn.Embedding(vocab, emb, padding_idx=PAD)
        self.rnn = nn.GRU(emb + hidden, hidden, batch_first=True)
        self.out = nn.Linear(2 * hidden, vocab)

    def encode(self, src, src_len):
        _, C = self.encoder(src, src_len)
        return {"C": C, "s": C.unsqueeze(0)}

    def decode(self, memory, y_in):
        """Logits for decoder inputs ``y_in`` (B, T); updates ``memory['s']`` (the decoder state)."""
        C = memory["C"]  # (B, h), the same for every step
        e = self.embed(y_in)  # (B, T, emb)
        Cs = C.unsqueeze(1).expand(-1, y_in.shape[1], -1)  # (B, T, h)
        s, memory["s"] = self.rnn(torch.cat([e, Cs], dim=-1), memory["s"])  # (B, T, h)
        return self.out(torch.cat([s, Cs], dim=-1)), None

    def forward(self, src, src_len, y_in):
        return self.decode(self.encode(src, src_len), y_in)


# ------------------------------------------------------------------------------ models of chapter 4
def additive_scores_torch(Q, K, W_q, W_k, v):
    """Additive score v^T tanh(W_q q + W_k k) of every (query, key) pair (chapter 4, eq-additive).

    Q (B, n_q, d_q), K (B, n_k, d_k), W_q (d_q, d_a), W_k (d_k, d_a), v (d_a,) -> (B, n_q, n_k).
    """
    return torch.tanh((Q @ W_q).unsqueeze(-2) + (K @ W_k).unsqueeze(-3)) @ v  # (B, n_q, n_k)


def general_scores_torch(Q, K, W):
    """General (bilinear) score q^T W k of every (query, key) pair (chapter 4, eq-luong-scores).

    Q (B, n_q, d_q), K (B, n_k, d_k), W (d_q, d_k) -> (B, n_q, n_k); d_q and d_k may differ.
    """
    return (Q @ W) @ K.transpose(-1, -2)  # (B, n_q, n_k)


def masked_attention(scores, mask):
    """Weights a_ij of chapter 4's eq-align-weights: softmax over the source positions allowed by ``mask``
    (B, 1, m), so that padding gets weight exactly 0. Every row must allow at least one position."""
    return torch.softmax(scores.masked_fill(~mask, float("-inf")), dim=-1)


class LuongSeq2Seq(nn.Module):
    """Global attention, general score (Luong et al. 2015; chapter 4, eq-luong-scores and eq-luong-output):
    a_t = softmax(s_t^T W_a H^T), c_t = a_t H, h~_t = tanh(W_c [c_t; s_t]), p(y_t) = softmax(W_o h~_t)."""

    has_attention = True

    def __init__(self, vocab: int, emb: int = 32, hidden: int = 64):
        super().__init__()
        self.encoder = Encoder(vocab, emb, hidden)
        self.embed = nn.Embedding(vocab, emb, padding_idx=PAD)
        self.rnn = nn.GRU(emb, hidden, batch_first=True)
        self.W_a = nn.Parameter(torch.randn(hidden, 2 * hidden) / math.sqrt(2 * hidden))  # (d_q, d_k)
        self.W_c = nn.Linear(2 * hidden + hidden, hidden, bias=False)
        self.out = nn.Linear(hidden, vocab)

    def encode(self, src, src_len):
        H, s0 = self.encoder(src, src_len)
        return {"H": H, "mask": (src != PAD).unsqueeze(1), "s": s0.unsqueeze(0)}

    def decode(self, memory, y_in):
        s, memory["s"] = self.rnn(self.embed(y_in), memory["s"])  # (B, T, h): current states s_t
        a = masked_attention(general_scores_torch(s, memory["H"], self.W_a), memory["mask"])  # (B, T, m)
        c = a @ memory["H"]  # (B, T, 2h): one context per target step
        h_tilde = torch.tanh(self.W_c(torch.cat([c, s], dim=-1)))  # (B, T, h)
        return self.out(h_tilde), a

    def forward(self, src, src_len, y_in):
        return self.decode(self.encode(src, src_len), y_in)


class BahdanauSeq2Seq(nn.Module):
    """Additive attention (Bahdanau et al. 2015; chapter 4, eq-additive and eq-context-i):
    a_i = softmax(v^T tanh(W_q s_{i-1} + W_k h_j)), c_i = a_i H, s_i = GRU([e(y_{i-1}); c_i], s_{i-1}),
    p(y_i) = softmax(W_o [s_i; c_i])."""

    has_attention = True

    def __init__(self, vocab: int, emb: int = 32, hidden: int = 64, attn: int = 64):
        super().__init__()
        self.encoder = Encoder(vocab, emb, hidden)
        self.embed = nn.Embedding(vocab, emb, padding_idx=PAD)
        self.cell = nn.GRUCell(emb + 2 * hidden, hidden)
        self.W_q = nn.Parameter(torch.randn(hidden, attn) / math.sqrt(hidden))  # (d_q, d_a)
        self.W_k = nn.Parameter(torch.randn(2 * hidden, attn) / math.sqrt(2 * hidden))  # (d_k, d_a)
        self.v = nn.Parameter(torch.randn(attn) / math.sqrt(attn))  # (d_a,)
        self.out = nn.Linear(3 * hidden, vocab)

    def encode(self, src, src_len):
        H, s0 = self.encoder(src, src_len)
        # W_k h_j does not depend on the step: computed once, reused at every step
        return {"H": H, "HW": H @ self.W_k, "mask": (src != PAD).unsqueeze(1), "s": s0}

    def decode(self, memory, y_in):
        e = self.embed(y_in)  # (B, T, emb)
        s = memory["s"]  # (B, h): s_{i-1}
        logits, weights = [], []
        for i in range(y_in.shape[1]):
            q = (s @ self.W_q).unsqueeze(1).unsqueeze(2)  # (B, 1, 1, d_a)
            scores = torch.tanh(q + memory["HW"].unsqueeze(1)) @ self.v  # (B, 1, m)
            a = masked_attention(scores, memory["mask"])  # (B, 1, m)
            c = (a @ memory["H"]).squeeze(1)  # (B, 2h)
            s = self.cell(torch.cat([e[:, i], c], dim=-1), s)  # (B, h): s_i
            logits.append(self.out(torch.cat([s, c], dim=-1)))
            weights.append(a)
        memory["s"] = s
        return torch.stack(logits, dim=1), torch.cat(weights, dim=1)  # (B, T, V), (B, T, m)

    def forward(self, src, src_len, y_in):
        return self.decode(self.encode(src, src_len), y_in)


#: The three encoder-decoders, by the name ``trained_model`` takes.
MODELS = {"seq2seq": Seq2Seq, "luong": LuongSeq2Seq, "bahdanau": BahdanauSeq2Seq}
# end of MODELS


# --------------------------------------------------------------------------------- train / decode
def train(model, task: ReverseTask, steps: int, batch: int = 64, lr: float = 3e-3, seed: int = 0,
          progress: bool = True, desc: str | None = None, callback=None):
    """Teacher-forced cross-entropy training (eq-seq-loss) with Adam; returns the loss of every step (seeded).

    ``callback(step, model)``, if given, runs after each step (1-based); it must not touch torch's global
    random state, so that a run with a callback trains exactly the same model as a run without.
    """
    from tqdm.auto import tqdm

    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    losses = []
    model.train()
    bar = tqdm(range(steps), desc=desc or type(model).__name__, disable=not progress, mininterval=1.0)
    for _ in bar:
        # one length per batch, uniform over [min_len, max_len]: no padding, and short batches are cheap
        src, src_len, tgt = task.batch(rng, batch, length=int(rng.integers(task.min_len, task.max_len + 1)))
        logits, _ = model(src, src_len, teacher_forcing(tgt))
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), tgt.reshape(-1), ignore_index=PAD)
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        losses.append(loss.item())
        bar.set_postfix({"loss, mean of last 20 steps": f"{np.mean(losses[-20:]):.3f}"}, refresh=False)
        if callback is not None:
            callback(len(losses), model)
    model.eval()
    return np.array(losses)


@torch.no_grad()
def greedy_batch(model, src, src_len, max_len: int):
    """Greedy decoding of a batch (eq-greedy): tokens (B, T <= max_len), PAD after EOS, and weights (B, T, m) or None."""
    memory = model.encode(src, src_len)
    y = torch.full((src.shape[0], 1), BOS, dtype=torch.long)
    done = torch.zeros(src.shape[0], dtype=torch.bool)
    tokens, weights = [], []
    for _ in range(max_len):
        logits, a = model.decode(memory, y)
        y = logits[:, -1].argmax(-1, keepdim=True)  # (B, 1)
        tokens.append(torch.where(done, PAD, y[:, 0]))
        if a is not None:
            weights.append(a[:, -1])
        done |= y[:, 0] == EOS
        if bool(done.all()):
            break
    out = torch.stack(tokens, dim=1)
    return out, (torch.stack(weights, dim=1) if weights else None)


def accuracy_by_length(model, task: ReverseTask, lengths, n_per_length: int = 100, seed: int = 1234):
    """Sequence and token accuracy (eq-accuracy) of greedy decoding for inputs of each length (fresh strings).

    A string counts as right when every target token up to and including <eos> is right; token accuracy is
    the fraction of those target tokens predicted at their position.
    """
    rng = np.random.default_rng(seed)
    seq, tok = [], []
    for n in lengths:
        src, src_len, tgt = task.batch(rng, n_per_length, length=int(n))
        pred, _ = greedy_batch(model, src, src_len, max_len=tgt.shape[1] + 5)
        pred = F.pad(pred, (0, max(0, tgt.shape[1] - pred.shape[1])), value=PAD)[:, : tgt.shape[1]]  # (B, T_tgt)
        real = tgt != PAD  # the positions that count
        right = (pred == tgt) & real
        seq.append(float((right.sum(1) == real.sum(1)).float().mean()))
        tok.append(float(right.sum() / real.sum()))
    return np.array(seq), np.array(tok)


# ----------------------------------------------------------------------------- the runs of the book
#: The settings of the runs in chapters 2 and 4 (the same for every model, so the comparison is fair).
TASK = ReverseTask(n_symbols=20, min_len=1, max_len=40)
RUN = dict(hidden=64, emb=32, steps=400, batch=64, lr=5e-3, seed=0)


def trained_model(name: str, task: ReverseTask = TASK, progress: bool = True, callback=None, **overrides):
    """Build model ``name`` ('seq2seq', 'luong' or 'bahdanau') from seed ``RUN['seed']`` and train it.

    ``overrides`` replace entries of ``RUN``; ``callback`` is passed to ``train``.
    Returns ``(model, losses, seconds)``. Same name and settings -> the same model (training is seeded),
    so chapter 4 re-trains chapter 2's baseline instead of loading stored weights.
    """
    cfg = {**RUN, **overrides}
    torch.manual_seed(cfg["seed"])
    model = MODELS[name](task.vocab_size, emb=cfg["emb"], hidden=cfg["hidden"])
    t0 = time.perf_counter()
    losses = train(model, task, cfg["steps"], batch=cfg["batch"], lr=cfg["lr"], seed=cfg["seed"],
                   progress=progress, desc=f"training {name}", callback=callback)
    return model, losses, time.perf_counter() - t0


# ------------------------------------------------------------------- attention over an image (Xu et al.)
SHAPES = {
    "plus": ["...##...", "...##...", "...##...", "########", "########", "...##...", "...##...", "...##..."],
    "ring": ["..####..", ".#....#.", "#......#", "#......#", "#......#", "#......#", ".#....#.", "..####.."],
    "bar": ["........", "........", "........", "########", "########", "........", "........", "........"],
    "slash": [".......#", "......#.", ".....#..", "....#...", "...#....", "..#.....", ".#......", "#......."],
}
CAPTION_WORDS = list(SHAPES)  # word ids FIRST_SYMBOL + index
# end of the shapes


@dataclass
class ShapesTask:
    """Tiny "images": a ``grid`` x ``grid`` board of 8x8 cells, 2-3 of them holding a shape; the caption
    names the shapes in reading order (left to right, top to bottom), then EOS."""

    grid: int = 3
    cell: int = 8
    min_objects: int = 2
    max_objects: int = 3

    @property
    def vocab_size(self) -> int:
        return FIRST_SYMBOL + len(SHAPES)

    def batch(self, rng: np.random.Generator, size: int):
        """Returns ``(images (B, 1, G*8, G*8), captions (B, max_objects + 1), cells (B, max_objects))``;
        ``cells`` holds the cell index of each named shape (-1 for padding): the ideal alignment."""
        G, c = self.grid, self.cell
        masks = [np.array([[ch == "#" for ch in row] for row in SHAPES[w]], dtype=np.float32) for w in CAPTION_WORDS]
        images = np.zeros((size, 1, G * c, G * c), dtype=np.float32)
        captions = np.full((size, self.max_objects + 1), PAD, dtype=np.int64)
        cells = np.full((size, self.max_objects), -1, dtype=np.int64)
        for b in range(size):
            k = int(rng.integers(self.min_objects, self.max_objects + 1))
            where = np.sort(rng.choice(G * G, size=k, replace=False))  # reading order
            for i, cell_id in enumerate(where):
                w = int(rng.integers(len(CAPTION_WORDS)))
                r, q = divmod(int(cell_id), G)
                images[b, 0, r * c:(r + 1) * c, q * c:(q + 1) * c] = masks[w]
                captions[b, i] = FIRST_SYMBOL + w
                cells[b, i] = cell_id
            captions[b, k] = EOS
        images += 0.1 * rng.standard_normal(images.shape).astype(np.float32)  # a little sensor noise
        return torch.from_numpy(images), torch.from_numpy(captions), torch.from_numpy(cells)


class Captioner(LuongSeq2Seq):
    """Show, attend and tell in miniature: a one-layer CNN turns the image into a grid of region vectors
    (the "annotation vectors" of Xu et al. 2015), and the Luong decoder attends over the regions: the h_j
    of chapter 4's eq-context-i are image regions."""

    def __init__(self, vocab: int, grid: int = 3, cell: int = 8, emb: int = 16, hidden: int = 32):
        super().__init__(vocab, emb=emb, hidden=hidden)
        del self.encoder
        self.cnn = nn.Conv2d(1, 2 * hidden, kernel_size=cell, stride=cell)  # one feature vector per cell
        self.where = nn.Parameter(0.1 * torch.randn(grid * grid, 2 * hidden))  # which region is which
        self.init = nn.Linear(2 * hidden, hidden)

    def encode(self, images, _lengths=None):
        feats = torch.relu(self.cnn(images))  # (B, 2h, G, G)
        H = feats.flatten(2).transpose(1, 2) + self.where  # (B, G*G, 2h): regions play the source words
        s0 = torch.tanh(self.init(H.mean(dim=1)))  # (B, h)
        mask = torch.ones(H.shape[0], 1, H.shape[1], dtype=torch.bool)
        return {"H": H, "mask": mask, "s": s0.unsqueeze(0)}


def train_captioner(task: ShapesTask = ShapesTask(), steps: int = 300, batch: int = 64, lr: float = 1e-2,
                    seed: int = 0, progress: bool = True):
    """Train ``Captioner`` with teacher forcing (seeded); returns ``(model, losses)``."""
    from tqdm.auto import tqdm

    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    model = Captioner(task.vocab_size, grid=task.grid, cell=task.cell)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    losses = []
    bar = tqdm(range(steps), desc="training the captioner", disable=not progress, mininterval=1.0)
    for _ in bar:
        images, captions, _ = task.batch(rng, batch)
        logits, _ = model.decode(model.encode(images), teacher_forcing(captions))
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), captions.reshape(-1), ignore_index=PAD)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
        bar.set_postfix({"loss, mean of last 20 steps": f"{np.mean(losses[-20:]):.3f}"}, refresh=False)
    model.eval()
    return model, np.array(losses)
