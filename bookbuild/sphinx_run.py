"""Run one Sphinx build of the book through Jupyter Book's own configuration, with our choice of builder,
output folder, doctree folder and configuration overrides.

``jupyter-book build`` puts every builder's doctrees in one folder (and refuses a second builder there) and
has no option for the language; the Chinese edition and the gettext catalogs need both. This module calls
the same function the ``jupyter-book`` command calls (``jupyter_book.sphinx.build_sphinx``), with the same
``_config.yml`` and ``_toc.yml``. Executed notebooks always come from the one shared execution cache
(``_build/.jupyter_cache``), so code runs once for both editions.

    python -m bookbuild.sphinx_run BUILDER OUTDIR DOCTREEDIR [key=value ...]
"""
from __future__ import annotations

import sys
from pathlib import Path

from bookbuild.paths import REPO
CACHE = REPO / "_build" / ".jupyter_cache"


def run(builder: str, outdir: Path, doctreedir: Path, overrides: dict | None = None) -> int:
    from jupyter_book.sphinx import build_sphinx

    conf = {"external_toc_path": str(REPO / "_toc.yml"), "latex_individualpages": False,
            "nb_execution_cache_path": str(CACHE)}
    if builder == "gettext":
        # myst-nb renders cell outputs for the builders it knows; for gettext it would render none, and the alt
        # texts of the figures would not become messages. Use the HTML builder's choice of output types.
        from myst_nb.core.render import base_render_priority

        conf["nb_mime_priority_overrides"] = [("gettext", mime, priority)
                                              for mime, priority in base_render_priority()["html"].items()]
    conf.update(overrides or {})
    result = build_sphinx(str(REPO), str(outdir), use_external_toc=True, noconfig=True,
                          path_config=str(REPO / "_config.yml"), confoverrides=conf, doctreedir=str(doctreedir),
                          builder=builder, warningiserror=True, keep_going=True)
    if isinstance(result, Exception):
        print(f"Sphinx build ({builder}) FAILED: {result}", file=sys.stderr)
        return 1
    return int(result)


def main(argv: list[str]) -> int:
    if len(argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    builder, outdir, doctreedir, *pairs = argv
    overrides = dict(pair.split("=", 1) for pair in pairs)
    return run(builder, Path(outdir), Path(doctreedir), overrides)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
