"""The book's Sphinx extension flags pages that would load something from another host."""
from __future__ import annotations

import pytest

from bookbuild.sphinx_ext import _REMOTE

REMOTE = [
    '<script src="https://cdn.jsdelivr.net/npm/mathjax@3/es5/tex-mml-chtml.js"></script>',
    "<script async src='//unpkg.com/thebe@0.8.2/lib/index.js'></script>",
    '<link rel="stylesheet" href="https://fonts.googleapis.com/css?family=Lato">',
    '<img alt="logo" src="http://example.org/logo.png">',
    "<style>@import url('https://fonts.googleapis.com/css2?family=Noto');</style>",
]
LOCAL = [
    '<script src="../_static/mathjax/es5/tex-chtml.js"></script>',
    '<a href="https://arxiv.org/abs/1706.03762">Vaswani et al.</a>',   # a link, not a resource
    '<link rel="canonical" href="https://example.org/book/intro.html">',
    '<img alt="heatmap" src="../../_images/abc.png">',
]


@pytest.mark.parametrize("html", REMOTE)
def test_remote_assets_are_flagged(html):
    assert _REMOTE.search(html)


@pytest.mark.parametrize("html", LOCAL)
def test_local_assets_and_plain_links_are_not(html):
    assert not _REMOTE.search(html)


def test_saved_progress_bars_are_dropped_and_other_boxes_drawn():
    """tqdm.auto in a notebook saves an HBox(HTML, FloatProgress, HTML): no bar is left in the book; a box of
    text widgets is drawn as static HTML, with no JS."""
    from bookbuild.sphinx_ext import static_widget

    state = {
        "box": {"model_name": "HBoxModel", "state": {"children": ["IPY_MODEL_a", "IPY_MODEL_bar", "IPY_MODEL_b"]}},
        "a": {"model_name": "HTMLModel", "state": {"value": "training: 100%"}},
        "bar": {"model_name": "FloatProgressModel", "state": {"max": 50.0, "value": 50.0}},
        "b": {"model_name": "HTMLModel", "state": {"value": " 50/50 [00:01&lt;00:00]"}},
        "slider": {"model_name": "FloatSliderModel", "state": {"value": 0.5}},
    }
    assert static_widget(state, "box") == "" and static_widget(state, "bar") == ""
    state["text"] = {"model_name": "VBoxModel", "state": {"children": ["IPY_MODEL_a", "IPY_MODEL_b"]}}
    html = static_widget(state, "text")
    assert html.index("training: 100%") < html.index("50/50") and "<progress" not in html
    assert static_widget(state, "slider") == "" and static_widget(state, "missing") == ""
