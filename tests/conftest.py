"""Shared fixtures: the repository root, and the list of assignments (every folder of solutions/)."""
from __future__ import annotations

import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
os.environ.setdefault("MPLBACKEND", "Agg")

from autograder.release import assignments  # noqa: E402

ASSIGNMENTS = assignments()
