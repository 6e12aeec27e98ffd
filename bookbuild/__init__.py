"""Build tooling of the online book (not part of the book's public package ``attn``, nor of the grader).

- ``bookbuild.build``: ``python -m bookbuild build|serve`` (``make book`` / ``make serve``): runs
  Jupyter Book over the pages, fails on any cell error or Sphinx warning, ships the ``attn`` wheel with the site.
- ``bookbuild.sphinx_ext``: the Sphinx extension listed in ``_config.yml`` (offline assets, glossary links,
  static widgets, launch buttons).
"""
