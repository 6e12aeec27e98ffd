"""Synthetic visual scenes for chapter 1, made in numpy (no downloads).

A scene is a dark background with dim green discs (clutter), one bright red disc (the odd one out, which
"pops out" bottom-up) and one target whose colour differs only slightly from the clutter (found only by a
top-down search for that colour). Items never overlap, so every item's centre is known exactly.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

BACKGROUND = (0.08, 0.08, 0.10)
CLUTTER = (0.15, 0.45, 0.15)  # dim green
SINGLETON = (1.00, 0.25, 0.10)  # bright red: differs from everything around it
TARGET = (0.10, 0.40, 0.28)  # blue-green: close to the clutter's colour


@dataclass
class Scene:
    """An RGB image (H, W, 3) in [0, 1] and the (row, col) centres of what it contains."""

    image: np.ndarray
    target: tuple[int, int]
    singleton: tuple[int, int]
    clutter: list[tuple[int, int]]
    radius: int


def disc(shape, center, radius) -> np.ndarray:
    """Boolean (H, W) mask of the pixels within ``radius`` of ``center``."""
    rows, cols = np.ogrid[: shape[0], : shape[1]]
    return (rows - center[0]) ** 2 + (cols - center[1]) ** 2 <= radius**2


def make_scene(seed: int = 0, size: int = 64, n_clutter: int = 14, radius: int = 3, noise: float = 0.02) -> Scene:
    """A cluttered scene: ``n_clutter`` green discs, one red singleton and one blue-green target, plus pixel noise."""
    rng = np.random.default_rng(seed)
    margin = radius + 2
    centres: list[tuple[int, int]] = []
    while len(centres) < n_clutter + 2:  # rejection sampling: keep discs at least 3 radii apart
        p = tuple(int(v) for v in rng.integers(margin, size - margin, size=2))
        if all((p[0] - q[0]) ** 2 + (p[1] - q[1]) ** 2 >= (3 * radius) ** 2 for q in centres):
            centres.append(p)
    target, singleton, clutter = centres[0], centres[1], centres[2:]
    image = np.empty((size, size, 3))
    image[:] = BACKGROUND
    for p in clutter:
        image[disc(image.shape, p, radius)] = CLUTTER
    image[disc(image.shape, singleton, radius)] = SINGLETON
    image[disc(image.shape, target, radius)] = TARGET
    image = np.clip(image + noise * rng.standard_normal(image.shape), 0.0, 1.0)
    return Scene(image=image, target=target, singleton=singleton, clutter=clutter, radius=radius)


def colour_match_map(image, colour, tolerance: float = 0.1) -> np.ndarray:
    """Top-down map T of eq-top-down: how well each pixel's colour matches the task's colour, exp(-|I - c|^2 / 2 tau^2)."""
    d2 = np.sum((np.asarray(image, dtype=float) - np.asarray(colour, dtype=float)) ** 2, axis=-1)  # (H, W)
    return np.exp(-d2 / (2 * tolerance**2))
