"""Attention in speech recognition (chapter 5's speech page): log-mel features, spoken digit strings, a small
listen-attend-spell model, its error rates and its alignments.

The audio is synthetic: spoken by the text-to-speech engine eSpeak NG with several of its voices, speeds and
pitches (``bookbuild/speech_data.py`` made it; the book needs no eSpeak NG). ``attn`` ships the log-mel features
of every utterance and the 8 kHz waveform of one of them in ``attn/data/speech/`` (its README gives the recipe,
the license and the checksum). The model is the encoder-decoder of chapter 4 (``LuongSeq2Seq``) with the word
embeddings and the encoder replaced by a "listener" that reads frames of sound, as in Chan et al. (2016).
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from attn.seq2seq import EOS, FIRST_SYMBOL, PAD, greedy_batch, masked_attention, teacher_forcing

SPEECH = Path(__file__).resolve().parent / "data" / "speech" / "digits.npz"
SAMPLE_RATE = 8000  # Hz: telephone quality, enough for the words (speech has little energy above 4 kHz)
N_MELS = 16


# ------------------------------------------------------------------------------------------ features
def mel(f):
    """The mel scale (eq-speech-mel): equal steps in mel sound about equally far apart in pitch."""
    return 2595.0 * np.log10(1.0 + np.asarray(f, dtype=np.float64) / 700.0)


def mel_filterbank(n_mels: int, n_fft: int, sample_rate: int, f_min: float = 0.0, f_max: float | None = None):
    """Triangular filters (n_mels, n_fft // 2 + 1), their centres equally spaced in mel (eq-speech-filters)."""
    f_max = sample_rate / 2 if f_max is None else f_max
    edges_mel = np.linspace(mel(f_min), mel(f_max), n_mels + 2)  # n_mels centres and the two outer edges
    edges = 700.0 * (10 ** (edges_mel / 2595.0) - 1.0)  # back to Hz
    freqs = np.linspace(0, sample_rate / 2, n_fft // 2 + 1)  # the frequency of each FFT bin
    lo, centre, hi = edges[:-2, None], edges[1:-1, None], edges[2:, None]  # (n_mels, 1) each
    rising, falling = (freqs - lo) / (centre - lo), (hi - freqs) / (hi - centre)
    return np.maximum(0.0, np.minimum(rising, falling))  # (n_mels, n_bins): 1 at the centre, 0 at both edges


def log_mel(wave, sample_rate: int = SAMPLE_RATE, n_mels: int = N_MELS, win_ms: float = 25.0, hop_ms: float = 10.0):
    """Log-mel spectrogram (eq-speech-frames, eq-speech-logmel) of a waveform in [-1, 1]: (T, n_mels), in dB.

    Frames of ``win_ms`` every ``hop_ms`` (a Hann window each), the power of their Fourier transform, summed by
    ``mel_filterbank``, on a log scale. Frame t covers the samples from t * hop to t * hop + win."""
    wave = np.asarray(wave, dtype=np.float64)
    win, hop = round(sample_rate * win_ms / 1000), round(sample_rate * hop_ms / 1000)
    n_fft = 1 << (win - 1).bit_length()  # the next power of two: 256 for a 200-sample window
    n_frames = 1 + max(0, len(wave) - win) // hop
    frames = np.lib.stride_tricks.sliding_window_view(wave, win)[::hop][:n_frames]  # (T, win)
    power = np.abs(np.fft.rfft(frames * np.hanning(win), n=n_fft)) ** 2  # (T, n_fft // 2 + 1)
    energies = power @ mel_filterbank(n_mels, n_fft, sample_rate).T  # (T, n_mels)
    return 10.0 * np.log10(np.maximum(energies, 1e-10))  # dB; the floor keeps silence finite


# --------------------------------------------------------------------------------------------- data
#: The characters the transcripts use: the letters of the ten digit words and the space between words.
ALPHABET = " efghinorstuvwxz"
DIGIT_WORDS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
VOCAB_SIZE = FIRST_SYMBOL + len(ALPHABET)


@dataclass
class SpeechCorpus:
    """The shipped utterances: ``features[i]`` is (T_i, 16) log-mel frames in dB, ``texts[i]`` what was said,
    ``voices[i]``, ``speeds[i]`` (words per minute) and ``pitches[i]`` how eSpeak NG said it, ``split[i]`` the
    part it belongs to ("train", "valid": new strings in the training voices, "test": voices never trained on)."""

    features: list
    texts: list
    voices: list
    speeds: np.ndarray
    pitches: np.ndarray
    split: np.ndarray
    example_wave: np.ndarray = field(repr=False)  # the 8 kHz waveform of utterance ``example_index``, in [-1, 1]
    example_index: int = 0

    def part(self, name: str) -> list[int]:
        """The indices of the utterances of one split, in file order."""
        return [int(i) for i in np.flatnonzero(self.split == name)]


def load_speech(path: Path = SPEECH) -> SpeechCorpus:
    """Read the shipped corpus (one ``.npz`` file, no pickles): the features back in dB, one array per utterance."""
    with np.load(path) as z:
        lo, step = (float(v) for v in z["db_scale"])
        frames = lo + step * z["features"].astype(np.float32)  # stored as whole steps of ``step`` dB above ``lo``
        cuts = np.cumsum(z["lengths"])[:-1]
        return SpeechCorpus(
            features=np.split(frames, cuts), texts=[str(t) for t in z["texts"]], voices=[str(v) for v in z["voices"]],
            speeds=z["speeds"].copy(), pitches=z["pitches"].copy(), split=z["split"].astype(str),
            example_wave=z["example_wave"].astype(np.float32) / 32768, example_index=int(z["example_index"]))


def encode_text(text: str) -> list[int]:
    """Character ids of a transcript, then EOS (ids as in chapter 4: PAD 0, BOS 1, EOS 2, characters from 3)."""
    return [FIRST_SYMBOL + ALPHABET.index(ch) for ch in text] + [EOS]


def decode_text(ids) -> str:
    """The transcript of a sequence of ids, up to the first EOS."""
    out = []
    for i in (int(t) for t in ids):
        if i == EOS:
            break
        out.append(ALPHABET[i - FIRST_SYMBOL] if i >= FIRST_SYMBOL else "?")
    return "".join(out)


def batch_of(corpus: SpeechCorpus, idx):
    """Padded tensors for utterances ``idx``: frames (B, T, 16) in dB, their lengths (B,), and the targets
    (B, L + 1): character ids, EOS, then PAD."""
    feats = [torch.from_numpy(corpus.features[i]) for i in idx]
    lengths = torch.tensor([len(f) for f in feats])
    frames = nn.utils.rnn.pad_sequence(feats, batch_first=True)  # (B, T_max, 16), zeros after the end
    targets = nn.utils.rnn.pad_sequence([torch.tensor(encode_text(corpus.texts[i])) for i in idx],
                                        batch_first=True, padding_value=PAD)
    return frames, lengths, targets


# -------------------------------------------------------------------------------------------- model
class Listener(nn.Module):
    """The encoder: ``stack`` consecutive frames side by side (fewer, longer steps, as the pyramid of Chan et al.
    2016 does), a linear layer, and a bidirectional GRU over the stacked steps."""

    def __init__(self, n_mels: int = N_MELS, stack: int = 8, hidden: int = 64):
        super().__init__()
        self.stack = stack
        self.register_buffer("mean", torch.zeros(n_mels))  # per mel band, set from the training frames
        self.register_buffer("std", torch.ones(n_mels))
        self.proj = nn.Linear(n_mels * stack, hidden)
        self.rnn = nn.GRU(hidden, hidden, batch_first=True, bidirectional=True)
        self.bridge = nn.Linear(2 * hidden, hidden)

    def forward(self, frames, lengths):
        B, T, M = frames.shape
        n = T // self.stack  # encoder steps; the last T mod stack frames are dropped
        x = ((frames[:, : n * self.stack] - self.mean) / self.std).reshape(B, n, M * self.stack)  # (B, n, M * stack)
        steps = torch.clamp(lengths // self.stack, min=1)  # (B,) encoder steps of each utterance
        packed = nn.utils.rnn.pack_padded_sequence(torch.tanh(self.proj(x)), steps.cpu(), batch_first=True,
                                                   enforce_sorted=False)
        out, h_n = self.rnn(packed)
        H, _ = nn.utils.rnn.pad_packed_sequence(out, batch_first=True, total_length=n)  # (B, n, 2h)
        s0 = torch.tanh(self.bridge(torch.cat([h_n[0], h_n[1]], dim=-1)))  # (B, h)
        mask = (torch.arange(n) < steps[:, None]).unsqueeze(1)  # (B, 1, n): the steps that hold sound
        return H, s0, mask


class AttendAndSpell(nn.Module):
    """Listener, then chapter 4's additive-attention decoder, one character per step (eq-speech-content);
    with ``location=True`` the score also sees the previous step's weights (eq-speech-location,
    Chorowski et al. 2015)."""

    def __init__(self, vocab: int = VOCAB_SIZE, n_mels: int = N_MELS, stack: int = 8, emb: int = 16,
                 hidden: int = 64, attn: int = 64, location: bool = False, n_filters: int = 8, width: int = 5):
        super().__init__()
        self.listener = Listener(n_mels, stack, hidden)
        self.embed = nn.Embedding(vocab, emb, padding_idx=PAD)
        self.cell = nn.GRUCell(emb + 2 * hidden, hidden)
        self.W_q = nn.Linear(hidden, attn, bias=False)  # the query s_{i-1}
        self.W_k = nn.Linear(2 * hidden, attn)  # the keys h_j (and the bias b)
        self.v = nn.Linear(attn, 1, bias=False)
        self.location = location
        if location:
            self.conv = nn.Conv1d(1, n_filters, width, padding=width // 2, bias=False)  # F: f_i = F * a_{i-1}
            self.U = nn.Linear(n_filters, attn, bias=False)
        self.out = nn.Linear(3 * hidden, vocab)

    def encode(self, frames, lengths):
        H, s0, mask = self.listener(frames, lengths)
        a0 = torch.zeros(H.shape[:2])  # (B, n): the "previous weights" of the first character: all on step 0
        a0[:, 0] = 1.0
        return {"H": H, "HW": self.W_k(H), "mask": mask, "s": s0, "a": a0}

    def decode(self, memory, y_in):
        """Logits (B, T, V) and weights (B, T, n) for decoder inputs ``y_in`` (B, T), one step at a time."""
        e = self.embed(y_in)  # (B, T, emb)
        s, a = memory["s"], memory["a"]  # s_{i-1} (B, h), a_{i-1} (B, n)
        logits, weights = [], []
        for i in range(y_in.shape[1]):
            energy = self.W_q(s).unsqueeze(1) + memory["HW"]  # (B, n, d_a)
            if self.location:
                f = self.conv(a.unsqueeze(1)).transpose(1, 2)  # (B, n, n_filters): where the last step looked
                energy = energy + self.U(f)
            scores = self.v(torch.tanh(energy)).squeeze(-1).unsqueeze(1)  # (B, 1, n)
            a = masked_attention(scores, memory["mask"]).squeeze(1)  # (B, n)
            c = (a.unsqueeze(1) @ memory["H"]).squeeze(1)  # (B, 2h)
            s = self.cell(torch.cat([e[:, i], c], dim=-1), s)  # (B, h): s_i
            logits.append(self.out(torch.cat([s, c], dim=-1)))
            weights.append(a)
        memory["s"], memory["a"] = s, a
        return torch.stack(logits, dim=1), torch.stack(weights, dim=1)

    def forward(self, frames, lengths, y_in):
        return self.decode(self.encode(frames, lengths), y_in)


# ------------------------------------------------------------------------------------ train / score
def train_speller(corpus: SpeechCorpus, location: bool, steps: int = 250, batch: int = 32, lr: float = 3e-3,
                  seed: int = 0, progress: bool = True):
    """Build ``AttendAndSpell(location=location)`` from ``seed`` and train it with teacher forcing on random
    batches of the training utterances (Adam, cross-entropy). Returns ``(model, losses, seconds)``."""
    from tqdm.auto import tqdm

    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    train = corpus.part("train")
    model = AttendAndSpell(location=location)
    frames = np.concatenate([corpus.features[i] for i in train])  # every training frame: (N, 16)
    model.listener.mean.copy_(torch.from_numpy(frames.mean(0)))
    model.listener.std.copy_(torch.from_numpy(frames.std(0)))
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    losses, start = [], time.perf_counter()
    name = "location-aware" if location else "content-based"
    bar = tqdm(range(steps), desc=f"training the {name} model", disable=not progress, mininterval=1.0)
    for _ in bar:
        x, lengths, y = batch_of(corpus, rng.choice(train, size=batch, replace=False))
        logits, _ = model(x, lengths, teacher_forcing(y))
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1), ignore_index=PAD)
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        losses.append(loss.item())
        bar.set_postfix({"loss, mean of last 20 steps": f"{np.mean(losses[-20:]):.3f}"}, refresh=False)
    bar.close()
    model.eval()
    return model, np.array(losses), time.perf_counter() - start


def edit_distance(ref, hyp) -> int:
    """The fewest substitutions, deletions and insertions that turn ``ref`` into ``hyp`` (Levenshtein), for
    strings (characters) or lists (words)."""
    d = list(range(len(hyp) + 1))  # row i of the table: distances from ref[:i] to every prefix of hyp
    for i in range(1, len(ref) + 1):
        diagonal, d[0] = d[0], i
        for j in range(1, len(hyp) + 1):
            diagonal, d[j] = d[j], min(d[j] + 1, d[j - 1] + 1, diagonal + (ref[i - 1] != hyp[j - 1]))
    return d[-1]


@torch.no_grad()
def transcribe(model: AttendAndSpell, corpus: SpeechCorpus, idx):
    """Greedy transcripts of utterances ``idx`` and their weights (B, T, n) over the encoder steps."""
    x, lengths, y = batch_of(corpus, idx)
    ids, weights = greedy_batch(model, x, lengths, max_len=y.shape[1] + 10)
    return [decode_text(row) for row in ids], weights


def error_rates(refs, hyps) -> dict:
    """Character and word error rates (eq-speech-cer): edits over the length of the references."""
    return {"cer": sum(edit_distance(r, h) for r, h in zip(refs, hyps)) / sum(len(r) for r in refs),
            "wer": sum(edit_distance(r.split(), h.split()) for r, h in zip(refs, hyps)) / sum(len(r.split()) for r in refs),
            "right": float(np.mean([r == h for r, h in zip(refs, hyps)]))}
