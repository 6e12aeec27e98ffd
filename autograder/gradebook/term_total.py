"""A term total per student: weighted assignments, the lowest k dropped, an optional letter from cut-offs.

Configured in one file, ``ROOT/term.toml`` (``ROOT`` is the term's grading folder, default ``grading/``;
docs/grading.md, "A term total", documents every key)::

    drop_lowest = 1              # drop each student's k lowest assignments (default 0)
    excluded = "not_counted"     # an exclusion: "not_counted" (default) or "zero"

    [weights]                    # default: every assignment of the gradebook, weight 1
    01-glimpse = 1
    03-qkv = 2

    [letters]                    # optional: the letter of the highest cut-off the total reaches (percent)
    A = 90
    B = 80
    C = 70
    F = 0

Each assignment counts as its final score (nbgrader's: cell scores, a grader's winning, minus the late penalty)
over its maximum, in percent; no submission counts 0. An assignment the configuration weighs but the gradebook does
not hold yet (not graded) is left out for everyone and named. Dropping takes the lowest percentages among the
assignments a student has counted (ties: the heavier weight first, then the assignment's name), never all of
them. The total is ``sum(weight * percent) / sum(weight)`` over the assignments kept, rounded to two decimals; the
letter is that of the highest cut-off it reaches.

Pure computation (:func:`compute`) on the gradebook's numbers (:func:`term_totals`); the reports write it
(``ROOT/term-grades.csv``, the Canvas and Moodle exports' term column).
"""
from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from autograder.errors import UsageError
from autograder.reasons import R

CONFIG_NAME = "term.toml"
EXCLUSIONS = ("not_counted", "zero")
_KEYS = {"drop_lowest", "excluded", "weights", "letters"}


@dataclass(frozen=True)
class TermConfig:
    weights: dict[str, float] = field(default_factory=dict)  # empty: every assignment of the gradebook, weight 1
    drop_lowest: int = 0
    excluded: str = "not_counted"
    letters: tuple[tuple[str, float], ...] = ()              # (letter, minimum percent), highest first
    path: Path | None = None


@dataclass(frozen=True)
class TermTotal:
    """One student's term: each assignment's percent (None: excluded and not counted), what was dropped, the
    total in percent (None: nothing counted) and the letter ("" without cut-offs)."""

    student: str
    percents: dict[str, float | None]
    dropped: tuple[str, ...]
    total: float | None
    letter: str = ""


def _bad(path, problem: str) -> UsageError:
    return UsageError(str(R("term_config_bad", path=str(path), problem=problem)))


def parse_config(data: dict, path: Path | str = CONFIG_NAME) -> TermConfig:
    unknown = sorted(set(data) - _KEYS)
    if unknown:
        raise _bad(path, f"unknown key(s) {', '.join(unknown)} (known: {', '.join(sorted(_KEYS))})")
    drop = data.get("drop_lowest", 0)
    if isinstance(drop, bool) or not isinstance(drop, int) or drop < 0:
        raise _bad(path, f"drop_lowest = {drop!r}: a whole number >= 0")
    exclusion = data.get("excluded", "not_counted")
    if exclusion not in EXCLUSIONS:
        raise _bad(path, f"excluded = {exclusion!r}: one of {', '.join(EXCLUSIONS)}")
    weights = data.get("weights", {})
    if not isinstance(weights, dict):
        raise _bad(path, "[weights]: a table of assignment = weight")
    for name, w in weights.items():
        if isinstance(w, bool) or not isinstance(w, (int, float)) or w < 0:
            raise _bad(path, f"weights.{name} = {w!r}: a number >= 0")
    if weights and not any(weights.values()):
        raise _bad(path, "[weights]: every weight is 0")
    letters = data.get("letters", {})
    if not isinstance(letters, dict):
        raise _bad(path, "[letters]: a table of letter = minimum percent")
    for letter, cut in letters.items():
        if isinstance(cut, bool) or not isinstance(cut, (int, float)) or not 0 <= cut <= 100:
            raise _bad(path, f"letters.{letter} = {cut!r}: a percent from 0 to 100")
    if letters and min(letters.values()) != 0:
        raise _bad(path, "[letters]: the lowest cut-off must be 0, so that every total gets a letter")
    if len(set(letters.values())) != len(letters):
        raise _bad(path, "[letters]: two letters share a cut-off")
    order = tuple(sorted(((k, float(v)) for k, v in letters.items()), key=lambda kv: -kv[1]))
    return TermConfig({k: float(v) for k, v in weights.items()}, drop, exclusion, order, Path(path))


def load_config(path: Path) -> TermConfig | None:
    """The term's configuration, or None if ``path`` does not exist (no term total)."""
    path = Path(path)
    if not path.is_file():
        return None
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise _bad(path, str(exc)) from None
    return parse_config(data, path)


def letter_of(total: float | None, letters) -> str:
    if total is None:
        return ""
    return next((letter for letter, cut in letters if total >= cut), "")


def compute(cfg: TermConfig, student: str, scores: dict[str, tuple[float, float] | None],
            excluded: set[str]) -> TermTotal:
    """One student's total. ``scores``: assignment -> (final score, maximum), None without a submission (0);
    ``excluded``: the assignments this student is excluded from."""
    weights = cfg.weights or {a: 1.0 for a in scores}
    percents: dict[str, float | None] = {}
    for a in weights:
        if a not in scores:
            continue  # not graded yet (the caller names it)
        got = scores[a]
        if a in excluded:
            percents[a] = 0.0 if cfg.excluded == "zero" else None
        elif got is None:
            percents[a] = 0.0
        else:
            score, top = got
            percents[a] = 100.0 * score / top if top else None
    counted = [a for a, p in percents.items() if p is not None and weights[a] > 0]
    k = min(cfg.drop_lowest, max(0, len(counted) - 1))
    dropped = tuple(sorted(counted, key=lambda a: (percents[a], -weights[a], a))[:k])
    kept = [a for a in counted if a not in dropped]
    weight = sum(weights[a] for a in kept)
    total = round(sum(weights[a] * percents[a] for a in kept) / weight, 2) if weight else None
    return TermTotal(student, percents, dropped, total, letter_of(total, cfg.letters))


def term_totals(gb, cfg: TermConfig) -> tuple[list[TermTotal], list[str]]:
    """Every student of the gradebook's total, and the configured assignments the gradebook does not hold yet."""
    from nbgrader.api import MissingEntry

    from autograder.gradebook.store import excluded

    held = {a.name: a for a in gb.assignments}
    names = list(cfg.weights) if cfg.weights else sorted(held)
    missing = [a for a in names if a not in held]
    names = [a for a in names if a in held]
    gone = {a: set(excluded(gb, a)) for a in names}
    totals = []
    for student in sorted(gb.students, key=lambda s: s.id):
        scores: dict[str, tuple[float, float] | None] = {}
        for a in names:
            try:
                sub = gb.find_submission(a, student.id)
            except MissingEntry:
                scores[a] = None
            else:
                final = max(0.0, float(sub.score) - float(sub.late_submission_penalty or 0.0))
                scores[a] = (final, float(held[a].max_score))
        totals.append(compute(cfg, student.id, scores, {a for a in names if student.id in gone[a]}))
    return totals, missing
