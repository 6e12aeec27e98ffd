"""Human visual attention in code (chapter 1, assignment 01): where to look, and what is there.

Images are numpy arrays of shape (H, W) (grayscale) or (H, W, C) (C channels, e.g. RGB).
Locations are (row, col) pairs in pixel units, row 0 at the top.

* ``extract_glimpse`` / ``multiscale_glimpse``: the glimpse sensor (retina) of the Recurrent Attention
  Model (Mnih et al., 2014): a sharp small window plus coarser, wider ones around the same point.
* ``gaussian_blur`` / ``centre_surround_saliency``: a bottom-up saliency map in the spirit of
  Itti, Koch and Niebur (1998): how much each point differs from its surroundings.
* ``gaussian_attention_mask`` / ``soft_read`` / ``hard_read``: soft attention (a weighted sum over all
  regions) versus hard attention (read the single region with the largest weight).
"""
from __future__ import annotations

import math

import numpy as np

from autograder.grading.reference.qkv import softmax


def _float(x) -> np.ndarray:
    """Return ``x`` as a floating-point array (integers and booleans become float64)."""
    x = np.asarray(x)
    return x if np.issubdtype(x.dtype, np.floating) else x.astype(np.float64)


def extract_glimpse(image, center, size) -> np.ndarray:
    """The ``size`` x ``size`` window of ``image`` around ``center``, zero where it leaves the image (chapter 1, eq-glimpse-window).

    The window covers rows ``r - size // 2`` to ``r - size // 2 + size - 1`` (and likewise columns), so for
    an odd size ``center`` is the middle pixel, and for an even size it is the pixel just below and right of
    the middle. ``center`` holds integers and may lie anywhere, even outside the image.
    Returns (size, size) for an (H, W) image and (size, size, C) for an (H, W, C) image.
    """
    image = _float(image)
    r, c = (int(v) for v in center)
    size = int(size)
    H, W = image.shape[:2]
    top, left = r - size // 2, c - size // 2
    out = np.zeros((size, size) + image.shape[2:], dtype=image.dtype)
    # The part of the window that lies inside the image, in image and in window coordinates.
    r0, r1 = max(top, 0), min(top + size, H)
    c0, c1 = max(left, 0), min(left + size, W)
    if r0 < r1 and c0 < c1:
        out[r0 - top:r1 - top, c0 - left:c1 - left] = image[r0:r1, c0:c1]
    return out


def block_average(x, factor: int) -> np.ndarray:
    """Shrink the first two axes of ``x`` by an integer ``factor``: each output pixel is the mean of a block."""
    x = _float(x)
    h, w = x.shape[0] // factor, x.shape[1] // factor
    blocks = x.reshape((h, factor, w, factor) + x.shape[2:])  # (h, f, w, f, ...)
    return blocks.mean(axis=(1, 3))


def multiscale_glimpse(image, center, size, n_scales) -> np.ndarray:
    """The retina: ``n_scales`` windows around ``center``, scale k being 2**k * size wide, each block-averaged to size (chapter 1, eq-retina).

    Returns (n_scales, size, size) or (n_scales, size, size, C). Scale 0 is ``extract_glimpse(image, center, size)``.
    """
    scales = []
    for k in range(int(n_scales)):
        factor = 2**k
        wide = extract_glimpse(image, center, size * factor)  # (size * 2^k, size * 2^k[, C])
        scales.append(block_average(wide, factor))  # (size, size[, C])
    return np.stack(scales)


def gaussian_kernel1d(sigma) -> np.ndarray:
    """Normalised 1-d Gaussian taps exp(-k^2 / 2 sigma^2), k = -R..R with R = ceil(3 sigma) (chapter 1, eq-blur)."""
    sigma = float(sigma)
    radius = int(math.ceil(3 * sigma))
    k = np.arange(-radius, radius + 1, dtype=np.float64)
    g = np.exp(-(k**2) / (2 * sigma**2))
    return g / g.sum()


def gaussian_blur(image, sigma) -> np.ndarray:
    """Separable Gaussian blur of each channel (chapter 1, eq-blur), with edge pixels repeated beyond the border.

    Blurs the rows, then the columns, with ``gaussian_kernel1d(sigma)``; the output has the image's shape.
    """
    image = _float(image)
    g = gaussian_kernel1d(sigma)
    R = len(g) // 2
    H, W = image.shape[:2]
    pad = [(R, R), (R, R)] + [(0, 0)] * (image.ndim - 2)
    padded = np.pad(image, pad, mode="edge")  # (H + 2R, W + 2R[, C])
    # Along columns (axis 1), then rows (axis 0): a sum of shifted copies weighted by the taps.
    cols = sum(g[j] * padded[:, j:j + W] for j in range(len(g)))  # (H + 2R, W[, C])
    out = sum(g[i] * cols[i:i + H] for i in range(len(g)))  # (H, W[, C])
    return np.asarray(out, dtype=image.dtype)


def centre_surround_saliency(image, center_sigma, surround_sigma) -> np.ndarray:
    """Bottom-up saliency |blur_c(I) - blur_s(I)|, summed over channels (chapter 1, eq-saliency). Returns (H, W).

    A point is salient when it differs from its neighbourhood: the fine blur (centre) keeps a small item,
    the wide blur (surround) averages it with its background. A uniform image has saliency 0 everywhere.
    """
    image = _float(image)
    diff = np.abs(gaussian_blur(image, center_sigma) - gaussian_blur(image, surround_sigma))
    return diff if image.ndim == 2 else diff.sum(axis=-1)  # (H, W)


def gaussian_attention_mask(shape, center, sigma) -> np.ndarray:
    """Soft attention weights over an (H, W) grid: proportional to exp(-|x - center|^2 / 2 sigma^2), summing to 1 (chapter 1, eq-gaussian-mask).

    ``center`` may be fractional and may lie outside the grid. Computed as a softmax of the scores
    -|x - center|^2 / (2 sigma^2), which never divides 0 by 0 even when every exponential underflows.
    """
    H, W = (int(v) for v in shape)
    r, c = (float(v) for v in center)
    rows = np.arange(H, dtype=np.float64)[:, None]  # (H, 1)
    cols = np.arange(W, dtype=np.float64)[None, :]  # (1, W)
    scores = -((rows - r) ** 2 + (cols - c) ** 2) / (2 * float(sigma) ** 2)  # (H, W)
    return softmax(scores.reshape(-1)).reshape(H, W)


def soft_read(features, weights) -> np.ndarray:
    """Soft attention read-out sum_i w_i f_i over every region i (chapter 1, eq-soft-read).

    ``weights`` has any shape S (e.g. (H, W)); ``features`` has shape S + (D,). Returns (D,).
    """
    features, weights = _float(features), _float(weights)
    D = features.shape[-1]
    return weights.reshape(-1) @ features.reshape(-1, D)  # (N,) @ (N, D) -> (D,)


def hard_read(features, weights) -> np.ndarray:
    """Hard attention read-out f_i* with i* = argmax_i w_i, the first maximum in row-major order (chapter 1, eq-hard-read).

    Same shapes as ``soft_read``; returns a copy of the chosen region's (D,) feature vector.
    """
    features, weights = _float(features), _float(weights)
    D = features.shape[-1]
    best = int(np.argmax(weights.reshape(-1)))  # np.argmax returns the first maximum
    return features.reshape(-1, D)[best].copy()
