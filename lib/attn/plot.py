"""Plotting helpers shared by every chapter: one heatmap function for all attention maps.

Importing this module lets matplotlib draw Chinese with the CJK font attn ships (``use_cjk_font``)."""
from __future__ import annotations

import logging
import unicodedata
from pathlib import Path
from typing import Sequence

import numpy as np


def show_heatmaps(
    matrices,
    xlabels: Sequence[str] | None = None,
    ylabels: Sequence[str] | None = None,
    titles: Sequence[str] | None = None,
    xlabel: str = "keys",
    ylabel: str = "queries",
    cmap: str = "Reds",
    annotate: bool | None = None,
    figsize_per_map: float = 2.6,
    vmin: float | None = 0.0,
    vmax: float | None = None,
):
    """Draw one or several attention-weight matrices side by side and return the figure.

    ``matrices`` is a 2-d array (one map) or a sequence / 3-d array of maps (n_q, n_k).
    Tick labels name the keys (columns) and queries (rows); small maps are annotated with their weights.
    """
    import matplotlib.pyplot as plt

    maps = [np.asarray(matrices)] if np.ndim(matrices) == 2 else [np.asarray(m) for m in matrices]
    n = len(maps)
    n_q, n_k = maps[0].shape
    width = figsize_per_map * max(1.0, n_k / 6)
    height = figsize_per_map * max(0.8, n_q / 6)
    fig, axes = plt.subplots(1, n, figsize=(width * n + 0.8, height), squeeze=False, layout="constrained")
    if annotate is None:
        annotate = n_q * n_k <= 64
    top = vmax if vmax is not None else max(float(np.nanmax(m)) for m in maps)
    image = None
    for i, (ax, m) in enumerate(zip(axes[0], maps)):
        image = ax.imshow(m, cmap=cmap, vmin=vmin, vmax=top, aspect="auto")
        if xlabels is not None:
            ax.set_xticks(range(m.shape[1]), list(xlabels), rotation=45 if max(map(len, xlabels)) > 3 else 0)
        if ylabels is not None:
            ax.set_yticks(range(m.shape[0]), list(ylabels))
        ax.set_xlabel(xlabel)
        if i == 0:
            ax.set_ylabel(ylabel)
        if titles is not None:
            ax.set_title(titles[i])
        if annotate:
            for (r, c), w in np.ndenumerate(m):
                ax.text(c, r, f"{w:.2f}", ha="center", va="center", fontsize=8,
                        color="white" if w > 0.6 * top else "black")
    fig.colorbar(image, ax=list(axes[0]), shrink=0.8, label="weight")
    return fig


def show_images(
    images,
    titles: Sequence[str] | None = None,
    overlays=None,
    boxes=None,
    points=None,
    overlay_cmap: str = "magma",
    overlay_alpha: float = 0.6,
    size: float = 2.8,
):
    """Draw images side by side, optionally with a heatmap over each, rectangles and marked points.

    ``images``: a list of (H, W) or (H, W, 3) arrays (values in [0, 1] for RGB). For image ``i``:
    ``overlays[i]`` is an (H, W) map drawn semi-transparently on top (or None); ``boxes[i]`` a list of
    ``(top, left, height, width, colour)`` rectangles in pixel units; ``points[i]`` a list of
    ``(row, col, marker, colour, label)``. Returns the figure.
    """
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    n = len(images)
    fig, axes = plt.subplots(1, n, figsize=(size * n, size + 0.3), squeeze=False, layout="constrained")
    for i, ax in enumerate(axes[0]):
        img = np.asarray(images[i])
        ax.imshow(np.clip(img, 0, 1) if img.ndim == 3 else img, cmap=None if img.ndim == 3 else "gray")
        if overlays is not None and overlays[i] is not None:
            ax.imshow(overlays[i], cmap=overlay_cmap, alpha=overlay_alpha)
        for top, left, height, width, colour in (boxes[i] if boxes is not None and boxes[i] else []):
            # Pixel (r, c) covers [c - 0.5, c + 0.5] x [r - 0.5, r + 0.5] in imshow's coordinates.
            ax.add_patch(Rectangle((left - 0.5, top - 0.5), width, height, fill=False, edgecolor=colour, linewidth=1.5))
        labelled = False
        for row, col, marker, colour, label in (points[i] if points is not None and points[i] else []):
            ax.plot(col, row, marker, color=colour, markerfacecolor="none", markersize=10, markeredgewidth=2, label=label)
            labelled = labelled or bool(label)
        if labelled:
            ax.legend(loc="lower left", fontsize=7, framealpha=0.8)
        if titles is not None:
            ax.set_title(titles[i], fontsize=10)
        ax.set_xlim(-0.5, img.shape[1] - 0.5)
        ax.set_ylim(img.shape[0] - 0.5, -0.5)
        ax.set_xticks([])
        ax.set_yticks([])
    return fig


# The CJK font attn ships: a subset of Noto Sans CJK SC (SIL Open Font License 1.1, OFL.txt beside it) with the
# characters the book's figures draw, made by bookbuild/cjk_font.py in the course's repository.
CJK_FONT = Path(__file__).parent / "data" / "fonts" / "NotoSansCJKsc-attn-subset.ttf"
CJK_FONT_NAME = "Noto Sans CJK SC attn subset"


class MissingGlyphError(RuntimeError):
    """A figure's text holds a character that none of matplotlib's fonts for it can draw."""


def _missing_glyph(codepoint: int, fontnames: str = "") -> None:
    char = chr(codepoint)
    raise MissingGlyphError(
        f"no font can draw {char!r} (U+{codepoint:04X} {unicodedata.name(char, '')}): matplotlib would show an "
        f"empty box (fonts tried: {fontnames}). The CJK font attn ships holds only the characters the book draws; "
        f"call attn.plot.use_cjk_font(path) with a font file that has {char!r} (e.g. from Debian's fonts-noto-cjk), "
        "or, in the book's repository, add it to the subset: python -m bookbuild.cjk_font")


def _one_weight(record: logging.LogRecord) -> bool:
    """The subset has one weight: bold Chinese is drawn in it, without matplotlib's "Failed to find font weight"."""
    message = record.getMessage()
    return not (message.startswith("findfont: Failed to find font weight") and CJK_FONT_NAME in message)


def use_cjk_font(path: str | Path = CJK_FONT) -> str:
    """Let matplotlib draw Chinese: register a font file and make it the fallback of the default font; return its name.

    ``attn.plot`` calls it with the subset of Noto Sans CJK SC that attn ships when it is imported, so a figure
    drawn after ``import attn.plot`` needs no CJK font on the machine. Latin text keeps matplotlib's own fonts.
    A character that no font can draw raises ``MissingGlyphError`` instead of becoming an empty box.
    """
    from matplotlib import _text_helpers, font_manager, rcParams

    path = str(path)
    if not any(f.fname == path for f in font_manager.fontManager.ttflist):
        font_manager.fontManager.addfont(path)  # by file: matplotlib's font cache may predate the font
    name = font_manager.FontProperties(fname=path).get_name()
    families = list(rcParams["font.family"])
    if name not in families:  # last: each character the fonts before it lack is drawn with it (matplotlib >= 3.6)
        rcParams["font.family"] = [*families, name]
    # Matplotlib's C++ text layout calls this function for a character no font has (it warned and drew a box).
    _text_helpers.warn_on_missing_glyph = _missing_glyph
    logging.getLogger("matplotlib.font_manager").addFilter(_one_weight)
    return name


use_cjk_font()  # on import: every figure drawn after `import attn.plot` can show Chinese
