"""The book builds: every page executes without a cell error and Sphinx emits no warning."""
from __future__ import annotations

import pytest

from autograder.book import REPO, build


@pytest.mark.slow
@pytest.mark.xdist_group("book")
def test_book_builds_without_errors_or_warnings():
    assert build(REPO) == 0
    html = REPO / "_build" / "html"
    assert (html / "index.html").exists()
