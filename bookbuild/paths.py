"""Where the checkout is, for every module of ``bookbuild`` (defined once)."""
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
