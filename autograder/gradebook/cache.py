"""The grader's kept results, beside the gradebook: one JSON file per student in ``OUT/work/results/`` (so that a
re-run resumes and a report can show the reasons behind a score), and what the last run did not grade
(``OUT/work/skipped.json``, listed by the summary)."""
from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

from autograder.grading.judge import StudentResult
from autograder.grading.submission import Skipped


def results_dir(out: Path) -> Path:
    return Path(out) / "work" / "results"


def save_result(out: Path, result: StudentResult) -> None:
    """Keep one student's result for re-runs (written atomically)."""
    cache = results_dir(out)
    cache.mkdir(parents=True, exist_ok=True)
    tmp = cache / f".{result.student}.json.tmp"
    tmp.write_text(json.dumps(asdict(result)))
    tmp.replace(cache / f"{result.student}.json")


def kept_result(out: Path, student: str, key: str | None = None) -> StudentResult | None:
    """The last result kept for ``student`` in ``out`` (only if it was made with ``key``, when given: the same
    bytes, seed, code and limits), or None."""
    path = results_dir(out) / f"{student}.json"
    try:
        data = json.loads(path.read_text())
        if key is not None and data.get("key") != key:
            return None
        return StudentResult(**data)
    except (OSError, ValueError, TypeError, AttributeError):
        return None


def save_skipped(out: Path, skipped: list[Skipped]) -> None:
    path = Path(out) / "work" / "skipped.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps([{"name": s.name, "reason": s.reason} for s in skipped]))


def kept_skipped(out: Path) -> list[Skipped]:
    """What the last run of ``out`` did not grade, with why (empty if unknown)."""
    try:
        return [Skipped(**s) for s in json.loads((Path(out) / "work" / "skipped.json").read_text())]
    except (OSError, ValueError, TypeError):
        return []
