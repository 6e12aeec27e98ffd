"""The term's grades: ``ROOT/term-grades.csv``, one row per student with each assignment's percent, what was
dropped, the term total and the letter, and ``ROOT/term-grades.report.txt``, the configuration it used
(``autograder.gradebook.term_total``; docs/grading.md, "A term total")."""
from __future__ import annotations

import csv
from pathlib import Path

from autograder.gradebook.term_total import CONFIG_NAME, TermConfig, TermTotal, load_config, term_totals
from autograder.reasons import R

CSV_NAME = "term-grades.csv"
TOTAL_COLUMN = "Term total (%)"
LETTER_COLUMN = "Term letter"


def _pct(value: float | None) -> str:
    return "" if value is None else f"{round(value, 2):g}"


def rows_of(totals: list[TermTotal], names: list[str]) -> list[dict]:
    rows = []
    for t in totals:
        row = {"student_id": t.student}
        for a in names:
            p = t.percents.get(a)
            row[a] = "excluded" if a in t.percents and p is None else _pct(p)
        row.update(dropped=";".join(t.dropped), term_total=_pct(t.total), letter=t.letter)
        rows.append(row)
    return rows


def config_lines(cfg: TermConfig, names: list[str], missing: list[str]) -> list[str]:
    weights = cfg.weights or {a: 1.0 for a in names}
    lines = [str(R("term_config", path=str(cfg.path or CONFIG_NAME))),
             "- " + str(R("term_weights", weights=", ".join(f"{a} {w:g}" for a, w in weights.items()))),
             "- " + str(R("term_drop_lowest", k=cfg.drop_lowest)),
             "- " + str(R("term_excluded_" + cfg.excluded))]
    if cfg.letters:
        lines.append("- " + str(R("term_letters", letters=", ".join(f"{l} >= {c:g}" for l, c in cfg.letters))))
    lines += ["- " + str(R("term_not_graded", assignment=a)) for a in missing]
    return lines


def write_term_grades(gb, root: Path, cfg: TermConfig | None = None) -> list[TermTotal] | None:
    """Write the term's grades if ``ROOT/term.toml`` exists (or ``cfg`` is given); return the totals, or None."""
    root = Path(root)
    cfg = cfg or load_config(root / CONFIG_NAME)
    if cfg is None:
        return None
    totals, missing = term_totals(gb, cfg)
    held = {a.name for a in gb.assignments}
    names = [a for a in (cfg.weights or sorted(held)) if a in held]
    with (root / CSV_NAME).open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=["student_id", *names, "dropped", "term_total", "letter"])
        writer.writeheader()
        writer.writerows(rows_of(totals, names))
    (root / "term-grades.report.txt").write_text("\n".join(config_lines(cfg, names, missing)) + "\n", encoding="utf-8")
    return totals
