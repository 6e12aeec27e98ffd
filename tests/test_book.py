"""The book builds: every page executes without a cell error and Sphinx emits no warning."""
from __future__ import annotations

import pytest


@pytest.mark.slow
@pytest.mark.xdist_group("book")
def test_book_builds_without_errors_or_warnings(built_book):
    assert (built_book / "index.html").exists()
    # MathJax is part of the site (offline reading), not fetched from a CDN.
    assert (built_book / "_static" / "mathjax" / "es5" / "tex-chtml.js").exists()
