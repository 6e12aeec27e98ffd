"""The test suite. ``REPO``, the checkout's root, is defined here once for every test and helper."""
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
