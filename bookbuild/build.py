"""Build or serve the online book: ``python -m bookbuild build|serve`` (``make book`` / ``make serve``).

The build executes every page (cached: unchanged pages are not re-run) and fails on any cell error
and on any Sphinx warning, so a broken page never reaches readers.
"""
from __future__ import annotations

import functools
import http.server
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from bookbuild.paths import REPO
HTML = REPO / "_build" / "html"


MATHJAX = Path("node_modules") / "mathjax" / "es5" / "tex-chtml.js"
TIMES: dict[str, float] = {}  # seconds of the last build of each edition ("en", "zh"), for benchmarks


def toc_pages(root: Path = REPO) -> list[str]:
    """Every page of the table of contents (``_toc.yml``), in reading order, as paths without suffix."""
    import yaml

    toc = yaml.safe_load((root / "_toc.yml").read_text(encoding="utf-8"))
    pages: list[str] = []

    def walk(node) -> None:
        if isinstance(node, dict):
            if "file" in node:
                pages.append(str(node["file"]).removesuffix(".md").removesuffix(".ipynb"))
            for key in ("parts", "chapters", "sections"):
                for child in node.get(key, []) or []:
                    walk(child)

    pages.append(str(toc["root"]).removesuffix(".md"))
    walk(toc)
    return pages


def page_source(page: str, root: Path = REPO) -> Path:
    """The source file of a toc entry (``.md`` or ``.ipynb``)."""
    for suffix in (".md", ".ipynb"):
        if (root / (page + suffix)).exists():
            return root / (page + suffix)
    raise FileNotFoundError(f"no source for toc entry {page!r}")


def ensure_assets(root: Path = REPO) -> None:
    """Install the browser assets the site serves itself (MathJax, from package-lock.json) if missing."""
    if (root / MATHJAX).exists():
        return
    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeError("npm is needed once to install MathJax for the offline book (apt-get install npm)")
    subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=root, check=True)


def code_pages(root: Path = REPO) -> list[Path]:
    """The source files of the pages that have code cells (each starts with the install cell)."""
    pages = [page_source(p, root) for p in toc_pages(root)]
    return [p for p in pages if p.suffix == ".md" and "```{code-cell}" in p.read_text(encoding="utf-8")]


def build_wheel(root: Path = REPO) -> Path:
    """Build the wheel of the book's package ``attn`` (``lib/``) into ``_build/wheel/``; returns its path.

    The Sphinx extension copies it into the site's ``_static/``, so that readers (and the test that runs every
    downloaded page outside the repository) install exactly the code the book was built with.
    """
    out = root / "_build" / "wheel"
    shutil.rmtree(out, ignore_errors=True)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
                    "--wheel-dir", str(out), str(root / "lib")], check=True, cwd=root)
    shutil.rmtree(root / "lib" / "build", ignore_errors=True)  # setuptools' scratch folder
    (wheel,) = out.glob("attn-*.whl")
    return wheel


def build(root: Path = REPO, extra: list[str] | None = None) -> int:
    """Run ``jupyter-book build`` on the repository; return its exit status."""
    from bookbuild.install_cell import stale_pages

    try:
        ensure_assets(root)
        build_wheel(root)
    except (RuntimeError, subprocess.CalledProcessError) as err:
        print(f"Book build FAILED: {err}", file=sys.stderr)
        return 2
    stale = stale_pages(code_pages(root), root)
    if stale:
        names = ", ".join(str(p.relative_to(root)) for p in stale)
        print(f"Book build FAILED: the first code cell of {names} is not the install cell for the repository "
              "in _config.yml; run `python -m bookbuild sync-install-cells`", file=sys.stderr)
        return 2
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(root), str(root / "lib"), env.get("PYTHONPATH")]))
    # Kernels must use matplotlib's inline backend, or figures are not captured: a test run's
    # MPLBACKEND=Agg must not leak into the pages.
    env.pop("MPLBACKEND", None)
    env["COURSE_STATIC_FIGURES"] = "1"  # attn.widgets draws static figures instead of sliders
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    cmd = [str(Path(sys.executable).parent / "jupyter-book"), "build", str(root), "--warningiserror", "--keep-going", *(extra or [])]
    start = time.perf_counter()
    status = subprocess.call(cmd, cwd=root, env=env)
    took = time.perf_counter() - start
    if status != 0:
        print(f"\nBook build FAILED after {took:.0f} s (a cell error or a Sphinx warning; see above)", file=sys.stderr)
        return status
    TIMES["en"] = took
    print(f"\nEnglish edition built in {took:.0f} s")
    status = build_chinese(root, env)
    if status == 0:
        print(f"\nBook built in {time.perf_counter() - start:.0f} s: open {root / '_build' / 'html' / 'index.html'} "
              f"(中文版: {root / '_build' / 'html' / 'zh' / 'index.html'})  or `make serve`")
    return status


def build_chinese(root: Path, env: dict) -> int:
    """The Chinese edition (``_build/html/zh/``), from the gettext catalogs in ``locales/``.

    Extracts the English messages, refuses to build while a catalog misses one or has an untranslated, fuzzy or
    inconsistent translation, then builds with ``language = zh_CN``; notebooks come from the same execution
    cache as the English edition, so no cell runs again.
    """
    start = time.perf_counter()
    gettext = [sys.executable, "-m", "bookbuild.sphinx_run", "gettext", str(root / "_build" / "gettext"),
               str(root / "_build" / ".doctrees-gettext")]
    if subprocess.call(gettext, cwd=root, env=env, stdout=subprocess.DEVNULL) != 0:
        print("Book build FAILED: extracting the English messages (gettext) failed; rerun "
              "`python -m bookbuild.translations update` to see why", file=sys.stderr)
        return 1
    check = subprocess.run([sys.executable, "-m", "bookbuild.translations", "check"], cwd=root, env=env,
                           capture_output=True, text=True)
    if check.returncode != 0:
        lines = check.stdout.splitlines()
        print("\n".join(f"  {line}" for line in lines[:30]), file=sys.stderr)
        print(f"Book build FAILED: {lines[-1] if lines else 'problems'} in the Chinese catalogs"
              f"{' (first 30 shown)' if len(lines) > 31 else ''}. After changing English text run "
              "`python -m bookbuild.translations update`, translate the new or fuzzy messages in "
              "locales/zh_CN/LC_MESSAGES/ (CONTRIBUTING.md, section 7), then build again.", file=sys.stderr)
        return 1
    cmd = [sys.executable, "-m", "bookbuild.sphinx_run", "html", str(root / "_build" / "html" / "zh"),
           str(root / "_build" / ".doctrees-zh"), "language=zh_CN"]
    status = subprocess.call(cmd, cwd=root, env=env)
    took = time.perf_counter() - start
    TIMES["zh"] = took
    if status == 0:
        print(f"\nChinese edition built in {took:.0f} s")
    else:
        print(f"\nChinese edition FAILED after {took:.0f} s (a Sphinx warning; see above)", file=sys.stderr)
    return status


def build_once(run_id: str | None, root: Path = REPO) -> int:
    """Build the book at most once per ``run_id`` (e.g. one pytest run) even from parallel processes.

    The first caller builds under a file lock and records the exit status; later callers with the same
    ``run_id`` wait for the lock and reuse it. With ``run_id=None`` it always builds.
    """
    from filelock import FileLock

    stamp = root / "_build" / ".last-build"
    stamp.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(stamp) + ".lock"):
        if run_id and stamp.exists():
            last_id, _, status = stamp.read_text().partition(" ")
            if last_id == run_id:
                return int(status)
        status = build(root)
        stamp.write_text(f"{run_id or '-'} {status}")
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
    if argv[0] == "run-page":
        from bookbuild.run_page import main as run_page_main

        return run_page_main(argv[1:])
    if argv[0] == "sync-install-cells":
        from bookbuild.install_cell import sync

        for page in sync(code_pages()):
            print(f"updated {page.relative_to(REPO)}")
        return 0
    print("usage: python -m bookbuild build | serve [PORT] | run-page PAGE.md ... | sync-install-cells | variants",
          file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
