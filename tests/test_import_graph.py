"""No import cycle in the course's own packages: ``autograder``, ``bookbuild`` and ``attn`` (``lib/attn``), and
the rooms of ``autograder`` import only downwards.

Every ``import`` counts, at module level or inside a function (an import moved into a function to dodge a cycle
is still a cycle: it only fails later). A room that needs another's names sits below it:

    commands -> term -> reports -> gradebook -> grading;   authoring -> (shared only);   everything -> shared

where *shared* is the course's vocabulary (``course``, ``errors``, ``reasons``, ``labels_zh``, ``catalogs``, ``code_messages``, ``syntax_trees``).
"""
from __future__ import annotations

import ast
from pathlib import Path

from tests import REPO
PACKAGES = {"autograder": REPO / "autograder", "bookbuild": REPO / "bookbuild", "attn": REPO / "lib" / "attn"}


def modules() -> dict[str, Path]:
    """Every module of the three packages: dotted name -> file."""
    found = {}
    for top, folder in PACKAGES.items():
        for path in sorted(folder.rglob("*.py")):
            parts = list(path.relative_to(folder).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            found[".".join([top, *parts])] = path
    return found


def _imports(name: str, path: Path, known: set[str]) -> set[str]:
    """The modules of ``known`` that module ``name`` imports (anywhere in its file)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    targets: set[str] = set()

    def add(dotted: str) -> None:
        # Importing a.b.c runs a/__init__, a/b/__init__ and a/b/c: an edge to each (but not to our own packages).
        parts = dotted.split(".")
        for i in range(1, len(parts) + 1):
            target = ".".join(parts[:i])
            if target in known and not (name == target or name.startswith(target + ".")):
                targets.add(target)

    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                add(alias.name)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            add(source)
            for alias in node.names:
                if f"{source}.{alias.name}" in known:
                    add(f"{source}.{alias.name}")
    return targets


def graph() -> dict[str, set[str]]:
    found = modules()
    known = set(found)
    return {name: _imports(name, path, known) for name, path in found.items()}


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return out


#: The rooms of ``autograder`` (a subpackage, or a top-level module) and the rooms each may import.
SHARED = {"course", "errors", "reasons", "labels_zh", "catalogs", "code_messages", "syntax_trees", "nbgrader_config"}
BELOW = {
    "grading": set(),
    "gradebook": {"grading"},
    "reports": {"gradebook", "grading"},
    "term": {"reports", "gradebook", "grading"},
    "authoring": set(),
    "commands": {"term", "reports", "gradebook", "grading", "authoring"},
    "checking": {"grading"},     # the one name hidden tests import: ``from autograder.checking import check``
    "__main__": {"commands"},
    "shared": set(),
}


def room(module: str) -> str | None:
    """The room of an ``autograder`` module (None outside ``autograder``)."""
    parts = module.split(".")
    if parts[0] != "autograder" or len(parts) == 1:
        return None
    return "shared" if parts[1] in SHARED else parts[1]


def upward(edges: dict[str, set[str]]) -> list[str]:
    """Every import from one room into another that is not below it."""
    bad = []
    for source, targets in sorted(edges.items()):
        here = room(source)
        for target in sorted(targets):
            there = room(target)
            if here is None or there is None or there == here or there == "shared":
                continue
            if there not in BELOW.get(here, set()):
                bad.append(f"{source} -> {target} ({here} may import only {sorted(BELOW.get(here, set())) or 'shared'})")
    return bad


def test_every_module_is_in_a_room():
    rooms = {room(m) for m in modules() if m.startswith("autograder.")}
    assert rooms <= set(BELOW), rooms - set(BELOW)


def test_rooms_import_only_downwards():
    assert upward({"autograder.grading.judge": {"autograder.gradebook.store"}}), "the check sees an upward import"
    assert not upward({"autograder.reports.report": {"autograder.gradebook.standing", "autograder.reasons"}})
    found = upward(graph())
    assert not found, "imports against the rooms' order:\n" + "\n".join(found)


def test_commands_are_reached_and_only_through_the_commands_room():
    """``python -m autograder COMMAND`` imports each command's module by name (start-up time): they exist, and
    nothing below the commands imports them."""
    import importlib

    from autograder.commands import COMMANDS

    for command, (module, function) in COMMANDS.items():
        assert callable(getattr(importlib.import_module(f"autograder.commands.{module}"), function)), command


def test_library_code_raises_no_system_exit():
    """Library code raises ``autograder.errors`` exceptions; only the command layer (argparse) exits."""
    found = []
    for name, path in modules().items():
        if not name.startswith("autograder.") or room(name) in ("commands", "__main__"):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            raised = node.exc.func if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call) else \
                node.exc if isinstance(node, ast.Raise) else None
            # Raising it, or sys.exit; telling a student's SystemExit apart (the probe shows it as the shell does) is fine.
            if isinstance(raised, ast.Name) and raised.id == "SystemExit" or \
                    isinstance(node, ast.Attribute) and node.attr == "exit" and getattr(node.value, "id", "") == "sys":
                found.append(f"{name}:{node.lineno}")
    assert not found, found


def test_the_graph_sees_imports_inside_functions():
    edges = {"a": {"b"}, "b": {"a"}, "c": set()}
    assert cycles(edges) == [["a", "b"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycle():
    found = cycles(graph())
    assert not found, "import cycles:\n" + "\n".join(" <-> ".join(c) for c in found)


if __name__ == "__main__":  # print the graph (the closing note of issue 22 shows it)
    for module, targets in sorted(graph().items()):
        print(f"{module}: {', '.join(sorted(targets)) or '-'}")
