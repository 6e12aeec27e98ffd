"""A tiny Vision Transformer on real handwritten digits, and a CNN of the same size to compare it with (chapter 8).

The images are the UCI "Optical Recognition of Handwritten Digits" test set (Alpaydin & Kaynak 1998): 1,797
images of 8x8 pixels, shipped with the package in ``attn/data/digits/`` (its README gives the source, the
license and the checksum). The ViT reuses the pre-LN ``EncoderLayer`` of ``attn.transformer``, so the class
token's attention can be read back after a forward pass.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from attn.transformer import EncoderLayer

DIGITS = Path(__file__).resolve().parent / "data" / "digits" / "digits.csv.gz"


def load_digits() -> tuple[np.ndarray, np.ndarray]:
    """The 1,797 handwritten digits shipped with attn: images (1797, 8, 8) and labels (1797,), int64.

    Each pixel counts the inked pixels of a 4x4 block of the 32x32 scan, so it lies in 0..16."""
    table = np.loadtxt(DIGITS, delimiter=",", dtype=np.int64)  # one image per row: 64 pixels, then the label
    return table[:, :64].reshape(-1, 8, 8), table[:, 64]


def patchify(images: torch.Tensor, p: int) -> torch.Tensor:
    """Cut (B, H, W) images into non-overlapping p x p patches, row by row (eq-vit-patches): (B, HW/p^2, p^2)."""
    B, H, W = images.shape
    x = images.reshape(B, H // p, p, W // p, p).transpose(2, 3)  # (B, H/p, W/p, p, p)
    return x.reshape(B, (H // p) * (W // p), p * p)  # (B, n, p^2): patch (r, c) is row r * W/p + c


class TinyViT(nn.Module):
    """Vision Transformer (Dosovitskiy et al. 2021; eq-vit-input, eq-vit-head): linear patch embedding, a learned
    class token and learned positions, pre-LN encoder layers, a linear classifier on the class token."""

    def __init__(self, image=8, patch=2, d_model=32, h=2, d_ff=64, n_layers=2, n_classes=10):
        super().__init__()
        self.patch, n = patch, (image // patch) ** 2
        self.embed = nn.Linear(patch * patch, d_model)  # the same matrix E for every patch
        self.cls = nn.Parameter(torch.zeros(1, 1, d_model))
        self.pos = nn.Parameter(0.02 * torch.randn(1, n + 1, d_model))  # one learned vector per position
        self.layers = nn.ModuleList(EncoderLayer(d_model, h, d_ff, norm_first=True) for _ in range(n_layers))
        self.norm, self.head = nn.LayerNorm(d_model), nn.Linear(d_model, n_classes)

    def forward(self, images):
        x = self.embed(patchify(images, self.patch))  # (B, n, d_model)
        x = torch.cat([self.cls.expand(len(x), -1, -1), x], dim=1) + self.pos  # (B, 1 + n, d_model)
        for layer in self.layers:
            x = layer(x)  # no mask: every token sees every token
        return self.head(self.norm(x[:, 0]))  # (B, n_classes): the class token's output only

    def cls_attention(self) -> torch.Tensor:
        """The class token's weights over the patches in the last forward pass: (B, n_layers, h, n)."""
        return torch.stack([layer.self_attn.weights[:, :, 0, 1:] for layer in self.layers], dim=1)


class SmallCNN(nn.Module):
    """The baseline: two 3x3 convolutions with ReLU, 2x2 max-pooling, two linear layers; with the defaults it
    has about as many parameters as ``TinyViT()``."""

    def __init__(self, channels=(16, 32), hidden=24, n_classes=10):
        super().__init__()
        c1, c2 = channels
        self.features = nn.Sequential(nn.Conv2d(1, c1, 3, padding=1), nn.ReLU(),
                                      nn.Conv2d(c1, c2, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2))
        self.classifier = nn.Sequential(nn.Flatten(), nn.Linear(c2 * 16, hidden), nn.ReLU(), nn.Linear(hidden, n_classes))

    def forward(self, images):
        return self.classifier(self.features(images[:, None]))  # (B, 1, 8, 8) -> (B, c2, 4, 4) -> (B, n_classes)


@dataclass
class ClassifierResult:
    model: nn.Module
    losses: list = field(default_factory=list)
    seconds: float = 0.0


def train_classifier(build: Callable[[], nn.Module], x: torch.Tensor, y: torch.Tensor, steps: int = 600,
                     batch: int = 64, lr: float = 3e-3, warmup: int = 30, seed: int = 0, desc: str = "training",
                     progress: bool = True) -> ClassifierResult:
    """Build a model after seeding and train it on images ``x`` (N, 8, 8) and labels ``y`` with cross-entropy:
    AdamW, linear warm-up then cosine decay, ``steps`` random batches of ``batch`` images. Every model of the
    page gets this same budget."""
    from tqdm.auto import tqdm

    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    model = build()
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.01)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min((s + 1) / warmup, 0.5 * (1 + np.cos(np.pi * min(s, steps) / steps))))
    result = ClassifierResult(model)
    start = time.perf_counter()
    bar = tqdm(range(steps), desc=desc, disable=not progress, mininterval=1.0)
    for _ in bar:
        model.train()
        idx = torch.from_numpy(rng.choice(len(x), size=batch, replace=False))
        loss = F.cross_entropy(model(x[idx]), y[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        result.losses.append(loss.item())
        bar.set_postfix({"loss, mean of last 20 steps": f"{np.mean(result.losses[-20:]):.3f}"}, refresh=False)
    bar.close()
    result.seconds = time.perf_counter() - start
    model.eval()
    return result


@torch.no_grad()
def accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    """Fraction of images whose highest-scoring class is their label."""
    model.eval()
    return float((model(x).argmax(-1) == y).float().mean())
