"""Run one page as the book build would, without building the book: ``python -m bookbuild run-page PAGE.md ...``.

Prints, per page, the seconds it took and every problem the build would also reject: a cell error, an error
output (an exception raised while a figure is displayed) and any output written to stderr (warnings, leftover
progress bars). Exit status 1 if any page has a problem.
For authors: a quick loop while writing a page (a full ``make book`` takes minutes).
"""
from __future__ import annotations

import os
import sys
import time
from pathlib import Path


def run_page(path: Path, timeout: int = 180) -> tuple[float, list[str]]:
    """Execute ``path`` (a MyST notebook) in a fresh kernel; returns (seconds, problems)."""
    import jupytext
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    nb = jupytext.read(path)
    os.environ.pop("MPLBACKEND", None)
    os.environ["COURSE_STATIC_FIGURES"] = "1"
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}})
    problems: list[str] = []
    start = time.perf_counter()
    failed = False
    try:
        client.execute()
    except CellExecutionError as err:
        failed = True
        problems.append(f"cell error: {str(err).splitlines()[-1] if str(err) else err!r}")
    took = time.perf_counter() - start
    errors: list[tuple[int, str]] = []
    for index, cell in enumerate(nb.cells):
        for out in cell.get("outputs", []):
            first = cell.source.strip().splitlines()[0] if cell.source.strip() else "?"
            if out.get("output_type") == "stream" and out.get("name") == "stderr" and out.get("text", "").strip():
                problems.append(f"stderr in cell starting {first!r}: {out['text'].strip()[:200]!r}")
            elif out.get("output_type") == "error" and "raises-exception" not in cell.metadata.get("tags", []):
                # An exception while a figure is displayed is an error output, not a failed cell.
                errors.append((index, f"error output in cell starting {first!r}: {out['ename']}: {out['evalue'][:400]}"))
    if failed and errors:  # the failed cell's own error output is the cell error reported above
        errors = [(i, e) for i, e in errors if i != errors[-1][0]]
    return took, problems + [e for _, e in errors]


def main(argv: list[str]) -> int:
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__)
        return 0
    bad = 0
    for arg in argv:
        took, problems = run_page(Path(arg).resolve())
        print(f"{arg}: {took:.1f} s" + ("" if not problems else f", {len(problems)} problem(s)"))
        for p in problems:
            print("   -", p)
        bad += bool(problems) or took > 60
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
