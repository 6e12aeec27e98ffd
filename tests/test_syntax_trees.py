"""The grader builds one syntax tree at a time (``autograder/syntax_trees.py``): a CPython race must not cost a
correct student points.

Python 3.11 before 3.11.8 (and 3.12 before 3.12.2) share one depth counter between every thread building a tree
(python/cpython#106905). The grader's threads translate the instructor's cells of a Chinese notebook while the judge
reads returned arrays with ``numpy.load``; before the lock, a correct Chinese submission sometimes lost a case
("returned a value the grader could not read (SystemError)") or the whole notebook.
"""
from __future__ import annotations

import ast
import contextlib
import gc
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from autograder import syntax_trees
from autograder.catalogs import code_translations, translate_code
from autograder.grading import judge, run
from autograder.grading.probe import wire
from tests.conftest import REPO

#: CPython releases with the shared counter (the fix: python/cpython#113035, in 3.11.8 and 3.12.2).
RACY = (3, 11) <= sys.version_info[:3] < (3, 11, 8) or (3, 12) <= sys.version_info[:3] < (3, 12, 2)


class _Finalised:
    def __del__(self):
        pass  # Python code run by a collection: a point where the other thread may take over


def hammer(first, second, seconds: float = 3.0) -> list[BaseException]:
    """Call ``first`` and ``second`` over and over in two threads for ``seconds`` (or until one raises
    ``SystemError``), with collections of finalised cycles every few allocations and threads switching every 10 µs:
    the conditions under which a tree built in one thread is interrupted by a tree built in the other."""
    errors, stop = [], []

    def loop(call):
        while not stop:
            cycle = _Finalised()
            cycle.me = cycle
            del cycle
            try:
                call()
            except SystemError as exc:
                errors.append(exc)
                stop.append(True)

    threshold, interval = gc.get_threshold(), sys.getswitchinterval()
    gc.set_threshold(50)
    sys.setswitchinterval(1e-5)
    try:
        threads = [threading.Thread(target=loop, args=(call,)) for call in (first, second)]
        for t in threads:
            t.start()
        deadline = time.monotonic() + seconds
        while not stop and time.monotonic() < deadline:
            time.sleep(0.005)
        stop.append(True)
        for t in threads:
            t.join()
    finally:
        gc.set_threshold(*threshold)
        sys.setswitchinterval(interval)
    return errors


def _grader_calls():
    """Two things the grader does at once: a thread running a Chinese notebook translates an instructor's cell and
    reads the names it defines, while the judge reads a returned array."""
    source = (REPO / "autograder/grading/judge.py").read_text(encoding="utf-8")
    table = code_translations("05-variants")
    assert table, "the Chinese catalog of 05-variants has code messages"
    store: dict = {}
    tree = wire.encode_value(np.arange(12.0).reshape(3, 4), store)
    header, payload = {"value": tree}, wire.pack_arrays(store)
    assert judge.read_value(header, payload).shape == (3, 4)

    def runner_thread():
        translate_code(source, table)
        run._defined_names(source)

    def judge_thread():
        judge.read_value(header, payload)

    return runner_thread, judge_thread


@pytest.mark.skipif(not RACY, reason="this Python builds trees in separate counters: the race cannot happen")
def test_without_the_lock_the_grader_races_on_this_python(monkeypatch):
    """The control: the same calls with the lock taken away raise the SystemError a student was once graded by
    (so the next test can fail)."""
    monkeypatch.setattr(syntax_trees, "LOCK", contextlib.nullcontext())
    errors = hammer(*_grader_calls(), seconds=20.0)
    assert errors and "recursion depth mismatch" in str(errors[0])


def test_the_grader_builds_one_tree_at_a_time():
    assert hammer(*_grader_calls()) == []


def _locked(parents) -> bool:
    return any(isinstance(p, ast.With) and any("LOCK" in ast.unparse(item.context_expr) for item in p.items)
               for p in parents)


def unlocked_trees(root: Path, skip=("grading/probe/", "syntax_trees.py")) -> list[str]:
    """Where the code under ``root`` builds a syntax tree other than through the lock: ``ast.parse``,
    ``ast.literal_eval``, ``compile(..., PyCF_ONLY_AST)``, ``from ast import``, or ``numpy.load`` /
    ``wire.unpack_arrays`` outside a ``with ...LOCK`` block."""
    found = []
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root).as_posix()
        if rel.startswith(skip):
            continue
        stack: list = []

        def visit(node):
            if isinstance(node, ast.ImportFrom) and node.module == "ast":
                found.append(f"{rel}:{node.lineno}: from ast import ...")
            if isinstance(node, ast.Call):
                called = ast.unparse(node.func)
                if called in ("ast.parse", "ast.literal_eval") or (called == "compile" and "PyCF_ONLY_AST" in ast.unparse(node)):
                    found.append(f"{rel}:{node.lineno}: {called} (use syntax_trees.parse)")
                if called in ("np.load", "numpy.load", "wire.unpack_arrays") and not _locked(stack):
                    found.append(f"{rel}:{node.lineno}: {called} outside `with syntax_trees.LOCK`")
            stack.append(node)
            for child in ast.iter_child_nodes(node):
                visit(child)
            stack.pop()

        visit(ast.parse(path.read_text(encoding="utf-8")))
    return found


def test_the_grader_builds_trees_only_under_the_lock():
    """Every tree the grader's code builds goes through the lock. The probe is not the grader's: it runs in the
    sandbox's processes, where no grader thread is."""
    assert unlocked_trees(REPO / "autograder") == []


def test_the_check_finds_each_unlocked_tree(tmp_path):
    (tmp_path / "bad.py").write_text(
        "import ast\nfrom ast import parse\nimport numpy as np\nast.parse('x')\nast.literal_eval('1')\n"
        "compile('x', 'f', 'exec', ast.PyCF_ONLY_AST)\nnp.load('f.npz')\nwire.unpack_arrays(b'')\n"
        "with syntax_trees.LOCK:\n    np.load('g.npz')\ncompile('x', 'f', 'exec')\n")
    assert [line.split(": ", 1)[0] for line in unlocked_trees(tmp_path)] == [
        "bad.py:2", "bad.py:4", "bad.py:5", "bad.py:6", "bad.py:7", "bad.py:8"]


def test_an_interpreter_error_while_reading_a_value_is_the_graders_not_the_students(monkeypatch):
    """A malformed value costs its case; a ``SystemError`` (the race above, or any like it) is the grader failing:
    it reaches the pipeline, which grades nothing of that notebook and asks for a human look, instead of silently
    costing a correct student the case."""
    from types import SimpleNamespace

    from autograder.grading.prepare import FunctionCases

    store: dict = {}
    tree = wire.encode_value(np.ones(3), store)
    fc = FunctionCases("03-qkv", "softmax", SimpleNamespace(compare=None, rtol=1e-6, atol=1e-9),
                       [SimpleNamespace(args=(np.zeros(3),), kwargs={}, label="three zeros")], [np.ones(3)])
    record = {"status": "ok"}
    assert judge.judge_function(fc, record, {0: ({"value": tree}, wire.pack_arrays(store))}) is None
    broken = judge.judge_function(fc, record, {0: ({"value": tree}, b"not an npz file")})
    assert broken.params["problem"].code == "unreadable_value"

    def race(header, payload):
        raise SystemError("AST constructor recursion depth mismatch (before=39, after=34)")

    monkeypatch.setattr(judge, "read_value", race)
    with pytest.raises(SystemError) as raised:
        judge.judge_function(fc, record, {0: ({"value": tree}, wire.pack_arrays(store))})
    # ... and the pipeline, where it lands, gives the notebook to a human.
    from autograder.grading import pipeline
    from autograder.grading.prepare import load_assignment
    from autograder.grading.submission import Submission

    spec = load_assignment("03-qkv")
    result = pipeline.judge(spec, Submission("ada", "ada.ipynb"), raised.value, None, None, "key")
    assert result.review and set(result.scores.values()) == {0.0}
    assert all("the grader failed on this submission (SystemError" in str(r) for r in result.reasons.values())
