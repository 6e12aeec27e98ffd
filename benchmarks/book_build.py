"""Time the book build, both editions (English, then Chinese from the same execution cache): a clean build
(every page executed) and a rebuild with nothing changed.

    python benchmarks/book_build.py            (or `make bench`)

Targets on 2 cores: clean build <= 8 min, no-change rebuild <= 30 s. The clean build runs on a copy of
the repository in a temporary folder, so the working tree's `_build/` (and its execution cache) is left
alone. Exit status 1 if a build fails or a target is missed.
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bookbuild.build import TIMES, build, ensure_assets, toc_pages  # noqa: E402

CLEAN_TARGET_S = 8 * 60
REBUILD_TARGET_S = 30
SKIP = {".git", ".venv", "_build", "artifacts", "grading", ".pytest_cache", "__pycache__"}


def copy_repo(dest: Path) -> Path:
    """Copy the sources (not the build, the venv or git) to ``dest``; link node_modules instead of copying."""
    ensure_assets(REPO)
    shutil.copytree(REPO, dest, ignore=lambda d, names: [n for n in names if n in SKIP or n == "node_modules"])
    (dest / "node_modules").symlink_to(REPO / "node_modules", target_is_directory=True)
    return dest


def timed_build(root: Path, quiet: bool) -> tuple[int, float]:
    start = time.perf_counter()
    if quiet:
        log = root / "_build_log.txt"
        saved = os.dup(1), os.dup(2)
        with log.open("w") as fh:
            os.dup2(fh.fileno(), 1)
            os.dup2(fh.fileno(), 2)
            try:
                status = build(root)
            finally:
                os.dup2(saved[0], 1)
                os.dup2(saved[1], 2)
        if status != 0:
            print(log.read_text()[-4000:], file=sys.stderr)
    else:
        status = build(root)
    return status, time.perf_counter() - start


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--verbose", action="store_true", help="show the build output")
    args = parser.parse_args(argv)
    pages = len(toc_pages(REPO))
    with tempfile.TemporaryDirectory(prefix="book-bench-") as tmp:
        root = copy_repo(Path(tmp) / "repo")
        status1, clean = timed_build(root, quiet=not args.verbose)
        parts1 = dict(TIMES)
        status2, rebuild = timed_build(root, quiet=not args.verbose) if status1 == 0 else (1, float("nan"))
        parts2 = dict(TIMES)
    ok_clean, ok_rebuild = clean <= CLEAN_TARGET_S, rebuild <= REBUILD_TARGET_S
    print(f"pages in the table of contents: {pages}  (cpus: {os.cpu_count()})")
    print(f"clean build with execution: {clean:6.1f} s   target <= {CLEAN_TARGET_S} s   "
          f"{'ok' if status1 == 0 and ok_clean else 'FAILED' if status1 else 'SLOW'}")
    print(f"no-change rebuild:          {rebuild:6.1f} s   target <= {REBUILD_TARGET_S} s   "
          f"{'ok' if status2 == 0 and ok_rebuild else 'FAILED' if status2 else 'SLOW'}")
    for name, parts in (("clean", parts1), ("no-change", parts2)):
        print(f"  {name}: English edition {parts.get('en', float('nan')):6.1f} s, "
              f"Chinese edition (gettext, catalog check, build) {parts.get('zh', float('nan')):6.1f} s")
    return 0 if status1 == 0 and status2 == 0 and ok_clean and ok_rebuild else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
