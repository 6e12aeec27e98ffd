"""Sliders in the notebooks, the same idea as a static figure in the built book.

One call in a page's code cell gives both: run in Jupyter, it shows ipywidgets controls and redraws as
they move; executed by the book build (``bookbuild`` sets ``COURSE_STATIC_FIGURES=1``) or anywhere
ipywidgets cannot be shown, it draws one panel per chosen setting side by side, so the printed book shows
the same idea with no JavaScript. No widget is created in the book, so its pages load no widget code.

Ready-made explorers for chapter 3::

    from attn.widgets import softmax_temperature, sqrt_dk_scale, mask_explorer
    softmax_temperature([2.0, 1.0, 0.5, -1.0])     # slider: temperature tau
    sqrt_dk_scale()                                  # slider: d_k; checkbox: divide by sqrt(d_k)
    mask_explorer(n=6)                               # slider: valid length; checkbox: causal

and a generic one for anything else, :func:`explore` (``draw(ax, **params)`` draws one panel).
Give the cell a caption and alt text (``mystnb: figure: caption`` / ``image: alt``) as for any figure.
"""
from __future__ import annotations

import itertools
import math
import os
from typing import Callable, Sequence

import numpy as np
import torch

STATIC_ENV = "COURSE_STATIC_FIGURES"


def interactive() -> bool:
    """True when widgets can be shown: a Jupyter kernel with ipywidgets, and not the book build."""
    if os.environ.get(STATIC_ENV, "") not in ("", "0"):
        return False
    try:
        import ipywidgets  # noqa: F401
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


def explore(
    draw: Callable,
    *,
    static: Sequence[dict],
    controls: dict,
    panel_size: tuple[float, float] = (3.0, 2.4),
    sharey: bool = True,
    label: Callable[[dict], str] | None = None,
    show: bool = True,
):
    """Interactive: ``ipywidgets.interact(draw on one axis, **controls)``; static: one panel per dict of ``static``.

    ``draw(ax, **params)`` draws one panel. ``controls`` maps each parameter to an ipywidgets widget (or an
    ``interact`` abbreviation such as ``(0.1, 10.0)``); ``static`` lists the settings drawn in the book.
    Shows the result and returns None (so a cell ending with the call displays it once); with
    ``show=False`` it draws the static panels, in Jupyter too, and returns the figure without showing it
    (for tests, and for the book's hidden checks of what a figure shows).
    """
    import matplotlib.pyplot as plt

    label = label or (lambda p: ", ".join(f"{k} = {v:g}" if isinstance(v, (int, float)) and not isinstance(v, bool)
                                          else f"{k} = {v}" for k, v in p.items()))
    if interactive() and show:
        import ipywidgets

        def redraw(**params):
            fig, ax = plt.subplots(figsize=panel_size, layout="constrained")
            draw(ax, **params)
            ax.set_title(label(params), fontsize=10)
            plt.show()

        ipywidgets.interact(redraw, **controls)
        return None

    n = len(static)
    fig, axes = plt.subplots(1, n, figsize=(panel_size[0] * n, panel_size[1]), sharey=sharey,
                             squeeze=False, layout="constrained")
    for ax, params in zip(axes[0], static):
        draw(ax, **params)
        ax.set_title(label(params), fontsize=10)
    if not show:
        return fig
    plt.show()
    return None


# --- chapter 3: temperature, the sqrt(d_k) scale, masks ---------------------------------------------

def _bars(ax, weights, names=None, color="tab:red") -> None:
    names = names or [f"$k_{j + 1}$" for j in range(len(weights))]
    ax.bar(range(len(weights)), weights, color=color)
    ax.set_xticks(range(len(weights)), names)
    ax.set_ylim(0, 1)
    if ax.get_subplotspec() is None or ax.get_subplotspec().is_first_col():
        ax.set_ylabel("weight")


def softmax_temperature(scores=(2.0, 1.0, 0.5, -1.0), temperatures=(0.25, 1.0, 4.0), show: bool = True):
    """Softmax weights of fixed scores divided by a temperature τ (slider: τ, log scale; static: one panel per τ)."""
    s = torch.tensor(scores, dtype=torch.float64)

    def draw(ax, tau):
        _bars(ax, torch.softmax(s / tau, dim=-1).numpy())

    controls = {}
    if interactive() and show:
        import ipywidgets

        controls = {"tau": ipywidgets.FloatLogSlider(value=1.0, base=10, min=-1.5, max=1.5, step=0.05,
                                                     description="τ", continuous_update=True)}
    return explore(draw, static=[{"tau": t} for t in temperatures], controls=controls,
                   label=lambda p: f"τ = {p['tau']:.3g}", show=show)



def sqrt_dk_scale(d_k_values=(4, 64, 1024), n_keys: int = 6, seed: int = 0, show: bool = True):
    """Weights of random unit-variance queries/keys as d_k grows, with and without the 1/sqrt(d_k) scale.

    Interactive: a slider for d_k and a checkbox for the scaling. Static: one panel per d_k, raw scores
    (grey) and scaled scores (red) side by side.
    """
    gen = torch.Generator().manual_seed(seed)
    d_max = max(max(d_k_values), 1024)
    q_all = torch.randn(d_max, generator=gen, dtype=torch.float64)
    k_all = torch.randn(n_keys, d_max, generator=gen, dtype=torch.float64)

    def weights(d_k, scaled):
        s = k_all[:, :d_k] @ q_all[:d_k]  # (n_keys,) the scores q . k_j
        return torch.softmax(s / math.sqrt(d_k) if scaled else s, dim=-1).numpy()

    def draw(ax, d_k, scaled=None):
        x = np.arange(n_keys)
        if scaled is None:  # static: both
            ax.bar(x - 0.2, weights(d_k, False), width=0.4, color="0.6", label="$q^\\top k$")
            ax.bar(x + 0.2, weights(d_k, True), width=0.4, color="tab:red", label="$q^\\top k/\\sqrt{d_k}$")
            ax.set_xticks(x, [f"$k_{j + 1}$" for j in x])
            ax.set_ylim(0, 1)
            if ax.get_subplotspec().is_first_col():
                ax.set_ylabel("weight")
            ax.legend(fontsize=7, loc="upper right")
        else:
            _bars(ax, weights(d_k, scaled), color="tab:red" if scaled else "0.5")

    if interactive() and show:
        import ipywidgets

        controls = {"d_k": ipywidgets.SelectionSlider(options=[2 ** i for i in range(1, 11)], value=64,
                                                       description="d_k"),
                    "scaled": ipywidgets.Checkbox(value=True, description="divide by √d_k")}
        return explore(draw, static=[], controls=controls,
                       label=lambda p: f"d_k = {p['d_k']}, " + ("scaled" if p["scaled"] else "not scaled"))
    return explore(draw, static=[{"d_k": d} for d in d_k_values], controls={},
                   label=lambda p: f"$d_k$ = {p['d_k']}", show=show)


def mask_explorer(n: int = 6, lengths=(6, 4), causal_too: bool = True, seed: int = 0, show: bool = True):
    """Attention weights of one sequence of ``n`` positions under a padding mask and/or a causal mask.

    Interactive: a slider for the number of real (non-padding) tokens and a causal checkbox. Static: one
    heatmap per (length, causal) setting among ``lengths`` x (False, True if ``causal_too``).
    """
    X = torch.randn(n, 4, generator=torch.Generator().manual_seed(seed))

    def draw(ax, length, causal):
        mask = torch.arange(n)[None, :] < length  # (1, n_k): padding keys are False
        if causal:
            mask = mask & torch.ones(n, n, dtype=torch.bool).tril()
        scores = (X @ X.T / 2.0).masked_fill(~mask, float("-inf"))  # (n, n), scaled by sqrt(d_k) = 2
        w = torch.softmax(scores, dim=-1)  # every row keeps at least key 0, so no row is fully masked
        ax.imshow(w.numpy(), cmap="Reds", vmin=0, vmax=1)
        ax.set_xticks(range(n), [f"k{j}" for j in range(n)], fontsize=7)
        ax.set_yticks(range(n), [f"q{i}" for i in range(n)], fontsize=7)
        ax.set_xlabel("keys")

    label = lambda p: f"length {p['length']}" + (", causal" if p["causal"] else "")  # noqa: E731
    if interactive() and show:
        import ipywidgets

        controls = {"length": ipywidgets.IntSlider(value=n, min=1, max=n, description="length"),
                    "causal": ipywidgets.Checkbox(value=False, description="causal mask")}
        return explore(draw, static=[], controls=controls, label=label, panel_size=(3.2, 3.0))
    settings = [{"length": L, "causal": c} for L, c in itertools.product(lengths, (False, True) if causal_too else (False,))]
    return explore(draw, static=settings, controls={}, label=label, panel_size=(2.6, 2.6), show=show)
