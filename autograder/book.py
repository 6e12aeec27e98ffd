"""Build or serve the online book: ``python -m autograder.book build|serve`` (``make book`` / ``make serve``).

The build executes every page (cached: unchanged pages are not re-run) and fails on any cell error
and on any Sphinx warning, so a broken page never reaches readers.
"""
from __future__ import annotations

import functools
import http.server
import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
HTML = REPO / "_build" / "html"


def build(root: Path = REPO, extra: list[str] | None = None) -> int:
    """Run ``jupyter-book build`` on the repository; return its exit status."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(root), env.get("PYTHONPATH")]))
    # Kernels must use matplotlib's inline backend, or figures are not captured: a test run's
    # MPLBACKEND=Agg must not leak into the pages.
    env.pop("MPLBACKEND", None)
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    cmd = [str(Path(sys.executable).parent / "jupyter-book"), "build", str(root), "--warningiserror", "--keep-going", *(extra or [])]
    start = time.perf_counter()
    status = subprocess.call(cmd, cwd=root, env=env)
    took = time.perf_counter() - start
    if status == 0:
        print(f"\nBook built in {took:.0f} s: open {root / '_build' / 'html' / 'index.html'}  (or `make serve`)")
    else:
        print(f"\nBook build FAILED after {took:.0f} s (a cell error or a Sphinx warning; see above)", file=sys.stderr)
    return status


def serve(port: int = 8000) -> None:
    """Serve the built HTML on http://localhost:PORT until interrupted."""
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(HTML))
    with http.server.ThreadingHTTPServer(("127.0.0.1", port), handler) as httpd:
        print(f"Serving the book at http://localhost:{port}/ (Ctrl-C to stop)")
        try:
            httpd.serve_forever()
        except KeyboardInterrupt:
            pass


def main(argv: list[str]) -> int:
    if not argv or argv[0] == "build":
        return build(extra=argv[1:])
    if argv[0] == "serve":
        serve(int(argv[1]) if len(argv) > 1 else 8000)
        return 0
    print("usage: python -m autograder.book build|serve [PORT]", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
