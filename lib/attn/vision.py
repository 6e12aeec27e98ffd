"""Synthetic visual scenes and three real photographs for chapter 1, in numpy (no downloads).

A scene is a dark background with dim green discs (clutter), one bright red disc (the odd one out, which
"pops out" bottom-up) and one target whose colour differs only slightly from the clutter (found only by a
top-down search for that colour). Items never overlap, so every item's centre is known exactly.
The photographs (``load_photo``) come with boxes labelled by hand, so that a claim about where saliency
points can be checked.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

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


# --- Real photographs (chapter 1, section "Real photographs") -------------------------------------------------
# Three of scikit-image's sample photos, shrunk to 128 pixels on their longer side, with boxes labelled by hand
# (data/photos/: README.md gives each photo's source, licence and checksum; photos.json the boxes).
PHOTOS = Path(__file__).resolve().parent / "data" / "photos"


@dataclass
class Photo:
    """An RGB photograph (H, W, 3) in [0, 1], its labelled boxes (top, left, height, width) and its subject."""

    name: str
    image: np.ndarray
    boxes: dict[str, tuple[int, int, int, int]]
    subject: list[str]  # the labels of the boxes that show what the photo is of
    credit: str  # where it comes from and under which licence


def load_photo(name: str) -> Photo:
    """One of the photos shipped with attn ("astronaut", "coffee", "chelsea"), with its hand-labelled boxes."""
    import matplotlib.image

    meta = json.loads((PHOTOS / "photos.json").read_text(encoding="utf-8"))[name]
    image = matplotlib.image.imread(PHOTOS / f"{name}.png").astype(np.float64)  # 8-bit PNG -> floats in [0, 1]
    boxes = {label: tuple(box) for label, box in meta["boxes"].items()}
    return Photo(name, image, boxes, list(meta["subject"]), f"{meta['source']}; {meta['licence']}")


def label_at(boxes, point) -> str | None:
    """The label of the box that contains ``point`` = (row, col); if several do, the smallest (the one in front)."""
    inside = [(h * w, label) for label, (top, left, h, w) in boxes.items()
              if top <= point[0] < top + h and left <= point[1] < left + w]
    return min(inside)[1] if inside else None


def fixations(saliency_map, n: int, radius: float) -> list[tuple[int, int]]:
    """The first ``n`` points a winner-take-all scan of ``saliency_map`` (H, W) visits: the most salient point,
    then, with a disc of ``radius`` pixels around each visited point set to zero (inhibition of return), the next."""
    s = np.array(saliency_map, dtype=np.float64)  # a copy: the caller's map is left alone
    rows, cols = np.ogrid[: s.shape[0], : s.shape[1]]
    visited = []
    for _ in range(n):
        r, c = np.unravel_index(int(np.argmax(s)), s.shape)
        visited.append((int(r), int(c)))
        s[(rows - r) ** 2 + (cols - c) ** 2 <= radius**2] = 0.0  # never look here again
    return visited
