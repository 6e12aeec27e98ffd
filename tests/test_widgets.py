"""Sliders in a notebook, a static figure in the book: the same call gives one or the other."""
from __future__ import annotations

import os

import nbformat
import pytest
from nbclient import NotebookClient

from attn import widgets
from bookbuild.build import REPO

WIDGET = "application/vnd.jupyter.widget-view+json"


CALLS = ["softmax_temperature()", "sqrt_dk_scale()", "mask_explorer()"]


def run_cells(codes: list[str], static: bool) -> list[list[dict]]:
    """Execute each code cell in one real kernel (as Jupyter does); return each cell's outputs."""
    cells = [nbformat.v4.new_code_cell("%matplotlib inline\nfrom attn.widgets import *")]
    cells += [nbformat.v4.new_code_cell(code) for code in codes]
    nb = nbformat.v4.new_notebook(cells=cells)
    env = {"COURSE_STATIC_FIGURES": "1" if static else "", "PYTHONPATH": str(REPO), "MPLBACKEND": "Agg"}
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        NotebookClient(nb, timeout=120, kernel_name="python3").execute()
    finally:
        for k, v in old.items():
            os.environ.pop(k) if v is None else os.environ.__setitem__(k, v)
    return [c.outputs for c in nb.cells[1:]]


@pytest.fixture(scope="module")
def outputs():
    return {"notebook": dict(zip(CALLS, run_cells(CALLS, static=False))),
            "book": dict(zip(CALLS, run_cells(CALLS, static=True)))}


@pytest.mark.parametrize("call", CALLS)
def test_notebook_gets_sliders_and_book_gets_one_static_figure(outputs, call):
    live = outputs["notebook"][call]
    assert any(WIDGET in o.get("data", {}) for o in live), "no widget shown in the notebook"
    book = outputs["book"][call]
    images = [o for o in book if "image/png" in o.get("data", {})]
    assert len(images) == 1, f"the book should show exactly one figure, got {len(images)}"
    assert not any(WIDGET in o.get("data", {}) for o in book), "the book must not contain widgets"


def test_static_panels_follow_the_settings(monkeypatch):
    monkeypatch.setenv(widgets.STATIC_ENV, "1")
    assert not widgets.interactive()
    fig = widgets.softmax_temperature([3.0, 0.0], temperatures=(0.1, 1.0, 100.0), show=False)
    heights = [[bar.get_height() for bar in ax.patches] for ax in fig.axes]
    # Low temperature: nearly all weight on the larger score; very high temperature: nearly uniform.
    assert heights[0][0] > 0.99 and abs(heights[2][0] - 0.5) < 0.01
    assert [ax.get_title() for ax in fig.axes] == ["τ = 0.1", "τ = 1", "τ = 100"]
    fig = widgets.mask_explorer(n=5, lengths=(5, 3), show=False)
    assert len(fig.axes) == 4
    padded = fig.axes[2].images[0].get_array()  # length 3, not causal
    assert float(abs(padded[:, 3:]).max()) == 0.0  # padding keys get no weight


def test_explore_uses_interact_in_a_kernel(monkeypatch):
    calls = {}
    ipywidgets = pytest.importorskip("ipywidgets")
    monkeypatch.setattr(widgets, "interactive", lambda: True)
    monkeypatch.setattr(ipywidgets, "interact", lambda f, **controls: calls.update(controls) or f)
    assert widgets.explore(lambda ax, a: ax.plot([a]), static=[{"a": 1}], controls={"a": (0, 5)}) is None
    assert calls == {"a": (0, 5)}


def test_show_false_gives_the_static_figure_in_a_kernel_too(monkeypatch):
    """A page's hidden check (show=False) inspects the static panels even where sliders could be shown,
    so a page downloaded and run in Jupyter passes the same checks as in the book build."""
    monkeypatch.setattr(widgets, "interactive", lambda: True)
    for make in (lambda: widgets.softmax_temperature([3.0, 0.0], temperatures=(0.1, 1.0), show=False),
                 lambda: widgets.sqrt_dk_scale(d_k_values=(4, 64), show=False),
                 lambda: widgets.mask_explorer(n=4, lengths=(4, 2), show=False)):
        fig = make()
        assert fig is not None and len(fig.axes) >= 2
