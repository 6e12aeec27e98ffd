"""The reader sees the code each page runs.

Every name a page imports from the book's package ``attn`` is shown — by a ``literalinclude`` of the
package's source — on that page or on an earlier page in reading order, and every function and class of
``attn`` is shown somewhere in the book. Pages import names explicitly (``from attn.seq2seq import Encoder``),
so that what they use can be read off their imports. Run ``pytest -s`` to see the counts per page.
"""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
import yaml

from tests.pagecode import no_magic
from bookbuild.build import REPO, code_pages, page_source, toc_pages

LIB = REPO / "lib"
PAGES = [page_source(p, REPO) for p in toc_pages(REPO)]
_INCLUDE = re.compile(r"^(`{3,}|~{3,})\{literalinclude\}\s+(\S+)[ \t]*\n((?::[\w-]+:.*\n)*)", re.M)


def _pyobject_lines(source: str, name: str) -> list[str]:
    """The lines of top-level function or class ``name`` (or ``Class.method``), decorators included."""
    tree = ast.parse(source)
    nodes = tree.body
    node = None
    for part in name.split("."):
        node = next((n for n in nodes if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
                     and n.name == part), None)
        if node is None:
            raise LookupError(name)
        nodes = node.body
    start = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
    return source.splitlines()[start - 1 : node.end_lineno]


def included_text(page: Path, target: str, options: dict[str, str]) -> tuple[Path, str]:
    """What Sphinx's literalinclude shows for ``target`` with ``options`` (the options the book uses)."""
    path = (page.parent / target).resolve()
    source = path.read_text(encoding="utf-8")
    lines = _pyobject_lines(source, options["pyobject"]) if "pyobject" in options else source.splitlines()
    # Line-based, as Sphinx's LiteralIncludeReader: the *-at options keep the matching line, *-after/*-before not.
    for key in ("start-at", "start-after"):
        if key in options:
            i = next(k for k, line in enumerate(lines) if options[key] in line)
            lines = lines[i:] if key == "start-at" else lines[i + 1:]
    for key in ("end-at", "end-before"):
        if key in options:
            i = next(k for k, line in enumerate(lines) if options[key] in line)
            lines = lines[: i + 1] if key == "end-at" else lines[:i]
    if "lines" in options:
        keep = set()
        for part in options["lines"].split(","):
            a, _, b = part.strip().partition("-")
            keep.update(range(int(a), int(b or a) + 1))
        lines = [l for k, l in enumerate(lines, 1) if k in keep]
    text = "\n".join(lines)
    return path, text


def _defined_names(text: str) -> set[str]:
    """Top-level names a shown block defines (functions, classes, assigned constants)."""
    import textwrap

    try:
        tree = ast.parse(textwrap.dedent(text))
    except SyntaxError:
        return set()
    names = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            for target in node.targets if isinstance(node, ast.Assign) else [node.target]:
                for n in ast.walk(target):
                    if isinstance(n, ast.Name):
                        names.add(n.id)
    return names


def _module_name(path: Path) -> str:
    return ".".join(path.relative_to(LIB).with_suffix("").parts)


def shown_names(page: Path) -> set[str]:
    """Qualified names (``attn.seq2seq.Encoder``) shown on ``page`` by literalinclude."""
    text = page.read_text(encoding="utf-8")
    shown = set()
    for match in _INCLUDE.finditer(text):
        # MyST reads directive options as YAML ("#: ..." must be quoted there).
        options = {k: str(yaml.safe_load(v) if v.strip() else "") for k, v in re.findall(r"^:([\w-]+):(.*)$", match.group(3), re.M)}
        path, body = included_text(page, match.group(2), options)
        if LIB in path.parents:
            shown |= {f"{_module_name(path)}.{n}" for n in _defined_names(body)}
    return shown


def imported_names(page: Path) -> tuple[set[str], list[str]]:
    """(qualified names imported from attn, module-level imports of attn that hide what is used)."""
    import jupytext

    names, aliases = set(), []
    for cell in jupytext.read(page).cells:
        if cell.cell_type != "code":
            continue
        code = "\n".join(no_magic(l) for l in cell.source.splitlines())
        for node in ast.walk(ast.parse(code)):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "attn":
                for alias in node.names:
                    if node.module == "attn":
                        aliases.append(f"from attn import {alias.name}")
                    else:
                        names.add(f"{node.module}.{alias.name}")
            elif isinstance(node, ast.Import):
                aliases += [f"import {a.name}" for a in node.names if a.name.split(".")[0] == "attn"]
    return names, aliases


def package_objects() -> set[str]:
    """Every module-level function and class of the package."""
    out = set()
    for path in sorted((LIB / "attn").rglob("*.py")):
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                out.add(f"{_module_name(path)}.{node.name}")
    return out


def test_the_checker_reads_literalinclude_like_sphinx(tmp_path):
    """pyobject, start-at/end-before and a class method give exactly the names they show."""
    mod = tmp_path / "lib" / "attn" / "demo.py"
    mod.parent.mkdir(parents=True)
    mod.write_text("A = 1\n# -- marker\nB = 2\n\n\ndef f():\n    return A\n\n\nclass C:\n    def m(self):\n        return B\n")
    page = tmp_path / "page.md"
    assert _defined_names(included_text(page, "lib/attn/demo.py", {"pyobject": "f"})[1]) == {"f"}
    assert _defined_names(included_text(page, "lib/attn/demo.py", {"start-at": "# -- marker", "end-before": "def f"})[1]) == {"B"}
    assert _defined_names(included_text(page, "lib/attn/demo.py", {"pyobject": "C.m"})[1]) == {"m"}
    assert _defined_names(included_text(page, "lib/attn/demo.py", {"start-at": "A = 1", "end-at": "B = 2"})[1]) == {"A", "B"}
    with pytest.raises(LookupError):
        included_text(page, "lib/attn/demo.py", {"pyobject": "g"})


def test_pages_import_names_not_modules():
    offenders = {str(p.relative_to(REPO)): a for p in PAGES if (a := imported_names(p)[1])}
    assert offenders == {}, f"import the names a page uses (from attn.x import y), not modules: {offenders}"


def test_every_name_a_page_uses_is_shown_there_or_before():
    seen: set[str] = set()
    missing = {}
    for page in PAGES:
        used, _ = imported_names(page)
        here = shown_names(page)
        seen |= here
        print(f"{page.relative_to(REPO)}: {len(used)} names used from attn, {len(used & seen)} shown; {len(here)} shown here")
        if used - seen:
            missing[str(page.relative_to(REPO))] = sorted(used - seen)
    assert missing == {}, f"names used but never shown on the page or before it (literalinclude them): {missing}"


def test_every_function_and_class_of_the_package_is_shown_somewhere():
    shown = set().union(*(shown_names(p) for p in PAGES))
    objects = package_objects()
    print(f"attn: {len(objects)} functions and classes, {len(objects & shown)} shown in the book")
    assert sorted(objects - shown) == []


def test_code_pages_start_with_the_install_cell():
    """Outside the course's environment a page installs what it needs in its first cell (from one setting)."""
    from bookbuild.install_cell import install_cell_block, stale_pages

    pages = code_pages(REPO)
    assert pages and stale_pages(pages, REPO) == []
    config = (REPO / "_config.yml").read_text(encoding="utf-8")
    url = re.search(r"^repository:\s*\n\s+url:\s*(\S+)", config, re.M).group(1)
    assert url in install_cell_block(REPO), "the install cell must take the repository URL from _config.yml"
