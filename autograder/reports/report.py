"""The files of an assignment's report folder: each student's log and feedback page, ``summary.md`` with its
histogram, ``grades.csv``, and the lines the grading command prints. Every score they show is the record's
(``autograder.gradebook.standing.Standing``).

Feedback pages of one output folder share one copy of MathJax (``feedback/.mathjax/``) instead of embedding
2 MB each: a class of 500 no longer needs 1 GB of copies.
"""
from __future__ import annotations

import csv
import logging
from pathlib import Path

import numpy as np

from autograder.gradebook.standing import EXPORT_COLUMNS
from autograder.grading.judge import StudentResult
from autograder.grading.prepare import Assignment
from autograder.grading.submission import Skipped
from autograder.reasons import R, render
from autograder.reports.feedback import render as render_page
from autograder.reports.offline import MATHJAX_DIR

log = logging.getLogger(__name__)

#: Where every feedback page of an output folder finds the shared MathJax copy, relative to the page
#: (``feedback/<student>/<assignment>/<notebook>.html``).
SHARED_MATHJAX = "../../.mathjax/tex-svg.js"


def write_log(path: Path, result: StudentResult, standing=None) -> None:
    """The student's log, from the grader's result and the record (``autograder.gradebook.standing.Standing``): rewritten by every
    command that changes the record, so it never shows an older score than the other outputs."""
    lines = [f"student: {result.student}", f"submission: {result.origin or '(not recorded)'}",
             f"automatic score: {result.total:g}"]
    if standing is not None:
        lines += [f"set by a grader: {g} {v:g}" + (f" ({standing.comments[g]})" if g in standing.comments else "")
                  for g, v in standing.manual.items()]
        if standing.timestamp:
            lines.append(render(R("log_submitted_late", time=str(standing.timestamp), duedate=str(standing.duedate),
                                  seconds=round(standing.seconds_late)) if standing.seconds_late
                                else R("log_submitted", time=str(standing.timestamp))))
        if standing.penalty:
            lines.append(render(R("log_late_penalty", points=float(standing.penalty))))
        lines.append(f"score: {standing.total:g}")
        lines += [f"comment from the grader on {g}: {c}" for g, c in standing.answer_comments.items()]
    if standing is not None and standing.review_note is not None:
        lines.append(f"needs review: no (reviewed: {standing.review_note})")
    else:
        lines.append(f"needs review: {'yes' if result.review else 'no'}")
    lines += [f"seconds: {result.seconds:.1f}", ""]
    lines += ["unusual:"] + [f"  - {render(n)}" for n in result.notes] if result.notes else ["unusual: nothing"]
    lines += ["", "lost points:"] + [f"  - {g}: {render(r)}" for g, r in result.reasons.items()]
    path.write_text("\n".join(lines) + "\n")


def write_summary(out: Path, assignment: Assignment, results: list[StudentResult], seed_note: str,
                  skipped: list[Skipped], cached: int = 0, *, standings: dict | None = None,
                  excluded: dict | None = None) -> None:
    """``summary.md`` and ``histogram.png`` of the whole class. With ``standings`` (``autograder.gradebook.standing.Standing``
    by student, read from the gradebook) every score is the final one: manual scores, late penalties."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    standings = standings or {}

    def final(r, gid=None):
        st = standings.get(r.student)
        if gid is None:
            return st.total if st else r.total
        return st.scores.get(gid, 0.0) if st else r.scores.get(gid, 0.0)

    totals = [final(r) for r in results]
    lines = [f"# Grades for {assignment.name}", "", f"{len(results)} submission(s); maximum {assignment.max_score:g} points.",
             f"Mean {np.mean(totals) if totals else 0:.2f}, median {np.median(totals) if totals else 0:.2f} "
             f"(final scores: a grader's scores count, late penalties are taken off). {seed_note}",
             "", "## Per question", "", "| question | points | mean | full marks |", "| --- | --- | --- | --- |"]
    for cell in assignment.tests:
        got = [final(r, cell.grade_id) for r in results]
        full = sum(1 for g in got if g >= cell.points)
        lines.append(f"| {cell.grade_id} | {cell.points:g} | {np.mean(got) if got else 0:.2f} | {full}/{len(got)} |")
    def needs_look(r):
        st = standings.get(r.student)
        return st.needs_review if st else r.review

    review = [r for r in results if needs_look(r)]
    lines += ["", "## Needs a human look", ""]
    lines += [f"- {r.student}: " + "; ".join(render(n) for n in r.notes[:5]) + f" (logs/{r.student}.log)"
              for r in review] or ["Nothing."]
    done = sorted((s, st.review_note) for s, st in standings.items() if st.review_note is not None)
    if done:
        lines += ["", "## Reviewed", ""] + [f"- {s}: {note}" for s, note in done]
    lines += ["", "## Not graded", ""]
    not_graded = [f"- `{s.name}`: {render(s.reason)}" for s in skipped]
    not_graded += [f"- {s}: " + render(R("excluded_why", assignment=assignment.name, why=why) if why
                                       else R("excluded", assignment=assignment.name))
                   for s, why in sorted((excluded or {}).items())]
    lines += not_graded or ["Every entry of the submissions folder was graded."]
    if any(st.duedate for st in standings.values()):
        untimed = sorted(s for s, st in standings.items() if st.timestamp is None)
        if untimed:
            lines += ["", "## No submission time", "",
                      "The assignment has a due date, but these submissions have no time, so they were not checked "
                      "for lateness (`grade --timestamps FILE.csv` or `--timestamps mtime` gives them one): "
                      + ", ".join(untimed)]
    if excluded:
        lines += ["", "## Excluded", ""]
        lines += [f"- {s}{': ' + why if why else ''}" for s, why in sorted(excluded.items())]
    if cached:
        lines += ["", f"{cached} of {len(results)} result(s) were reused from an earlier run (work/results/): "
                      "nothing they depend on changed."]
    if assignment.warnings:
        lines += ["", "## Warnings about the assignment", ""] + [f"- {w}" for w in assignment.warnings]
    lines += ["", "## Students", "", "| student | score | late penalty | set by a grader | review |",
              "| --- | --- | --- | --- | --- |"]
    for r in sorted(results, key=lambda r: r.student):
        st = standings.get(r.student)
        manual = ", ".join(f"{g} {v:g}" for g, v in st.manual.items()) if st else ""
        penalty = f"-{st.penalty:g}" if st and st.penalty else ""
        lines.append(f"| {r.student} | {final(r):g} | {penalty} | {manual} | "
                     f"{'yes' if needs_look(r) else 'reviewed' if st and st.review_note is not None else ''} |")
    lines += ["", "![Score histogram](histogram.png)"]
    (out / "summary.md").write_text("\n".join(lines) + "\n")
    fig, ax = plt.subplots(figsize=(6, 3.5))
    bins = np.arange(0, assignment.max_score + 2) - 0.5
    ax.hist(totals, bins=bins, color="#4c72b0", edgecolor="white")
    ax.set_xlabel("score")
    ax.set_ylabel("students")
    ax.set_title(f"{assignment.name}: {len(results)} submissions")
    fig.tight_layout()
    fig.savefig(out / "histogram.png", dpi=100)
    plt.close(fig)


def shared_mathjax(out: Path, mathjax: str | None) -> str | None:
    """What each feedback page of ``out`` loads for its math.

    By default (``None``/"auto") one copy of the course's MathJax 3 goes into ``feedback/.mathjax/`` and every
    page links to it by a relative path (it still works offline, and when the folder is zipped or moved).
    "embed" embeds MathJax in every page (self-contained files, 2 MB each); "none" or a URL/path as given.
    """
    if mathjax == "embed":
        return None
    if mathjax not in (None, "auto"):
        return mathjax
    source = MATHJAX_DIR / "tex-svg.js"
    if not source.exists():
        log.warning("MathJax is not installed (%s is missing): the feedback pages show their math as TeX source. "
                    "Run `npm ci` in the checkout (`make grade` does it), or pass --mathjax URL", source)
        return "none"
    target = out / "feedback" / ".mathjax" / "tex-svg.js"  # a dot: no student id starts with one
    target.parent.mkdir(parents=True, exist_ok=True)
    if not target.exists() or target.stat().st_size != source.stat().st_size:
        target.write_bytes(source.read_bytes())
    return SHARED_MATHJAX


def write_feedback(out: Path, assignment: Assignment, result: StudentResult, mathjax: str | None,
                   standing=None) -> Path:
    folder = out / "feedback" / result.student / assignment.name
    folder.mkdir(parents=True, exist_ok=True)
    page = folder / f"{assignment.notebook}.html"
    page.write_text(render_page(assignment, result, mathjax=mathjax, standing=standing))
    return page


def console_lines(rows: list[dict], out: Path, seconds: float, ran: int, cached: int) -> list[str]:
    """What the command prints: one line per student, then what was done (honest about reused results)."""
    lines = []
    for r in rows:
        flag = "  needs review" if r["needs_review"] else ""
        lines.append(f"{r['student_id']:>24}  {float(r['score']):5.1f} / {float(r['max_score']):g}{flag}")
    if ran and cached:
        did = f"graded {ran} submission(s) in {seconds:.1f} s and reused {cached} unchanged result(s) from an earlier run"
    elif cached:
        did = (f"nothing to grade: all {cached} result(s) reused from an earlier run (nothing they depend on changed; "
               f"--force grades again); reports rewritten in {seconds:.1f} s")
    else:
        did = f"graded {ran} submission(s) in {seconds:.1f} s"
    lines.append(f"{did}; grades: {out / 'grades.csv'}, feedback: {out / 'feedback'}, summary: {out / 'summary.md'}")
    return lines


def write_csv(path: Path, rows: list[dict]) -> None:
    """A grades file in ``nbgrader export``'s columns (``autograder.gradebook.standing.export_rows``), atomically."""
    tmp = path.with_name(f".{path.name}.tmp")
    with tmp.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, EXPORT_COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    tmp.replace(path)


def append_isolation(summary: Path, held: list[str], missing: list[str], workers: dict | None, as_root: bool,
                     starts: dict | None = None) -> None:
    """Add to summary.md which limits held for this run (some need root: docs/grading.md); on a cluster, as each
    worker that ran a notebook reported them (``workers``: host -> limits it could not apply); and how many
    sandboxes were forked from a warm template and how many started cold (``starts``)."""
    if workers is None:
        lines = ["", "## Limits that held", "",
                 f"Notebooks ran on this machine as {'root' if as_root else 'an ordinary user'}.", ""]
        lines += [f"- held: {h}" for h in held] + [f"- **not applied**: {m}" for m in missing]
    else:
        lines = ["", "## Limits that held", "", "Notebooks ran on Dask workers; each reported what it could not apply.", ""]
        for host, gaps in sorted(workers.items()):
            lines.append(f"- {host}: " + ("every limit applied" if not gaps else "**not applied**: " + "; ".join(gaps)))
        if not workers:
            lines.append("- no notebook ran in this run (every result was reused)")
    if starts:
        lines += ["", f"Sandboxes forked from a warm template: {starts.get('warm', 0)}; started cold: "
                      f"{starts.get('cold', 0)} (the same isolation and limits either way: docs/grading.md)."]
    with summary.open("a") as fh:
        fh.write("\n".join(lines) + "\n")
