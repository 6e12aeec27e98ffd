"""Shared fixtures: the repository root, and the list of assignments (every folder of solutions/)."""
from __future__ import annotations

import os
import sys
from pathlib import Path

from tests import REPO

sys.path.insert(0, str(REPO))
os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
os.environ.setdefault("MPLBACKEND", "Agg")

from autograder.course import assignments  # noqa: E402

ASSIGNMENTS = assignments()


# The built book, shared by tests/test_book.py and tests/test_browser.py: built once per test run
# (a file lock makes parallel xdist workers wait for one build instead of running several).
import uuid  # noqa: E402

import pytest  # noqa: E402

_RUN_ID = os.environ.get("PYTEST_XDIST_TESTRUNUID") or uuid.uuid4().hex


@pytest.fixture(scope="session")
def built_book() -> Path:
    """Path of the built HTML site; fails the test if the build failed (a cell error or a Sphinx warning)."""
    from bookbuild.build import build_once

    status = build_once(_RUN_ID, REPO)
    if status != 0:
        pytest.fail(f"the book build failed (exit {status}); run `make book` to see why", pytrace=False)
    return REPO / "_build" / "html"
