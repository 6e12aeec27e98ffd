"""The line between the public book and the private grader holds.

The hidden reference (``autograder/grading/reference/``) is the answer key of the graded NumPy exercises. Public
material — the book's pages, the book's package ``attn`` (``lib/``), the student release (``exercises/``)
and everything in the built site (HTML, ``_sources``, ``_downloads``, the shipped wheel) — must neither import
it nor contain the body of any of its functions, even renamed: bodies are compared as normalised syntax trees
(docstrings dropped, local names replaced by their order of first appearance), and any run of statements in
public code that equals a reference function's body counts as a copy.
"""
from __future__ import annotations

import ast
import html
import json
import re
import zipfile
from pathlib import Path

import pytest

from tests.pagecode import no_magic
from bookbuild.build import REPO

REFERENCE = REPO / "autograder" / "grading" / "reference"
#: Bodies smaller than this many AST nodes are one-line formulas any correct code shares (e.g. ``return x.T``).
MIN_NODES = 25


# ------------------------------------------------------------------------------------------ normalising
class _Rename(ast.NodeTransformer):
    """Replace every local name and argument by ``v0, v1, ...`` in order of first appearance."""

    def __init__(self) -> None:
        self.names: dict[str, str] = {}

    def _new(self, name: str) -> str:
        return self.names.setdefault(name, f"v{len(self.names)}")

    def visit_Name(self, node: ast.Name) -> ast.AST:
        return ast.copy_location(ast.Name(id=self._new(node.id), ctx=node.ctx), node)

    def visit_arg(self, node: ast.arg) -> ast.AST:
        return ast.copy_location(ast.arg(arg=self._new(node.arg), annotation=None), node)

    def visit_keyword(self, node: ast.keyword) -> ast.AST:
        self.generic_visit(node)
        return node


def _strip_docstring(body: list[ast.stmt]) -> list[ast.stmt]:
    if body and isinstance(body[0], ast.Expr) and isinstance(getattr(body[0], "value", None), ast.Constant) \
            and isinstance(body[0].value.value, str):
        return body[1:]
    return body


def normalised(statements: list[ast.stmt]) -> str:
    """A canonical text of a run of statements: the same for a copy with other local names."""
    module = ast.Module(body=[ast.parse(ast.unparse(s)).body[0] for s in statements], type_ignores=[])
    module = _Rename().visit(module)
    return "\n".join(ast.dump(s, annotate_fields=False) for s in module.body)


def _shape(statements: list[ast.stmt]) -> tuple:
    """The node types of each statement: a cheap filter before the full comparison."""
    return tuple(tuple(type(n).__name__ for n in ast.walk(s)) for s in statements)


def _size(statements: list[ast.stmt]) -> int:
    return sum(1 for s in statements for _ in ast.walk(s))


def reference_bodies() -> dict[str, tuple[tuple, str]]:
    """``module.function`` -> (shape, normalised body) for every reference function worth comparing."""
    out = {}
    for path in sorted(REFERENCE.glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                body = _strip_docstring(node.body)
                if body and _size(body) >= MIN_NODES:
                    out[f"{path.stem}.{node.name}"] = (_shape(body), normalised(body))
    return out


def statement_runs(tree: ast.AST):
    """Every list of statements in ``tree`` (module body, function bodies, loop and branch bodies)."""
    for node in ast.walk(tree):
        for field in ("body", "orelse", "finalbody"):
            stmts = getattr(node, field, None)
            if isinstance(stmts, list) and stmts and isinstance(stmts[0], ast.stmt):
                yield _strip_docstring(stmts)


def copies_in(code: str, bodies: dict[str, tuple[tuple, str]]) -> list[str]:
    """Names of the reference functions whose body appears in ``code`` (IPython magics are ignored)."""
    code = "\n".join(no_magic(line) for line in code.splitlines())
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return []
    found = []
    for run in statement_runs(tree):
        shapes = _shape(run)
        for name, (shape, body) in bodies.items():
            n = len(shape)
            for i in range(len(run) - n + 1):
                if shapes[i : i + n] == shape and normalised(run[i : i + n]) == body:
                    found.append(name)
                    break
    return found


BODIES = reference_bodies()


def test_the_reference_is_found_when_copied():
    """The detector is not blind: a renamed copy of a reference function is found, an unrelated function is not."""
    assert len(BODIES) >= 20, sorted(BODIES)
    source = (REFERENCE / "qkv.py").read_text(encoding="utf-8")
    tree = ast.parse(source)
    fn = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "masked_softmax")
    renamed = ast.unparse(_Rename().visit(ast.parse(ast.unparse(fn))))
    renamed = renamed.replace("def v0(", "def my_own_masked_softmax(")
    assert "qkv.masked_softmax" in copies_in(renamed, BODIES)
    assert copies_in("import torch\n\ndef f(x):\n    y = torch.softmax(x, -1)\n    return y * 2 + 1\n", BODIES) == []


# ------------------------------------------------------------------------------------- public sources
def _page_code(path: Path) -> str:
    import jupytext

    return "\n\n".join(c.source for c in jupytext.read(path).cells if c.cell_type == "code")


def public_sources():
    """(label, code) for every public source file: pages, the attn package, every code cell of the release."""
    for path in sorted((REPO / "book").rglob("*.md")):
        yield str(path.relative_to(REPO)), _page_code(path)
    for path in sorted((REPO / "lib").rglob("*.py")):
        yield str(path.relative_to(REPO)), path.read_text(encoding="utf-8")
    for path in sorted((REPO / "exercises").rglob("*.ipynb")):
        nb = json.loads(path.read_text(encoding="utf-8"))
        for i, cell in enumerate(nb["cells"]):
            if cell["cell_type"] == "code":
                yield f"{path.relative_to(REPO)} cell {i}", "".join(cell["source"])


def test_no_public_source_imports_the_grader():
    pattern = re.compile(r"^\s*(from|import)\s+autograder\b", re.M)
    offenders = [label for label, code in public_sources() if pattern.search(code)]
    assert offenders == [], f"public material imports the private grader: {offenders}"


def test_no_page_prints_source_code():
    """Pages show code with literalinclude (from the public package), never by printing a module's source."""
    offenders = [label for label, code in public_sources() if label.startswith("book/") and "getsource" in code]
    assert offenders == [], offenders


def test_no_public_source_contains_a_reference_body():
    found = {label: names for label, code in public_sources() if (names := copies_in(code, BODIES))}
    assert found == {}, f"reference bodies in public material: {found}"


# -------------------------------------------------------------------------------------- the built site
def _site_code(site: Path):
    """(label, code) for everything in the built site that carries code."""
    pre = re.compile(r"<pre[^>]*>(.*?)</pre>", re.S)
    tags = re.compile(r"<[^>]+>")
    for path in sorted(site.rglob("*.html")):
        for k, block in enumerate(pre.findall(path.read_text(encoding="utf-8"))):
            yield f"{path.relative_to(site)} <pre> {k}", html.unescape(tags.sub("", block))
    for path in sorted(site.rglob("*.ipynb")):
        nb = json.loads(path.read_text(encoding="utf-8"))
        yield str(path.relative_to(site)), "\n\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code")
    for path in sorted((site / "_sources").rglob("*.md")) if (site / "_sources").exists() else []:
        yield str(path.relative_to(site)), _page_code(path)
    for wheel in sorted(site.rglob("*.whl")):
        with zipfile.ZipFile(wheel) as zf:
            for name in zf.namelist():
                if name.endswith(".py"):
                    yield f"{wheel.name}:{name}", zf.read(name).decode("utf-8")


@pytest.mark.slow
@pytest.mark.xdist_group("book")
def test_the_built_site_carries_no_reference_body(built_book):
    items = list(_site_code(built_book))
    assert any(label.endswith(".whl:attn/__init__.py") for label, _ in items), "the site ships no attn wheel"
    html_blocks = [label for label, code in items if "<pre>" in label and code.strip()]
    assert len(html_blocks) >= 50, "hardly any code found in the built pages: is the extraction broken?"
    found = {}
    for label, code in items:
        if names := copies_in(code, BODIES):
            found[label] = names
        assert "autograder.reference" not in code and "autograder.grading.reference" not in code, \
            f"{label} names the hidden reference"
    assert found == {}, f"reference bodies in the built site: {found}"
