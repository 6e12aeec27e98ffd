"""The public stand-ins that replace other graded functions during a test agree with the reference on
every hidden case of the function they stand in for (so a correct later function still gets its points)."""
from __future__ import annotations

import copy

import pytest

from autograder.grading.checking import compare, rng_for
from autograder.grading import standins
from autograder.grading.specs import all_specs

PAIRS = [(a, n) for a, table in sorted(standins.STANDINS.items()) for n in sorted(table)]


@pytest.mark.parametrize("assignment,name", PAIRS, ids=[f"{a}:{n}" for a, n in PAIRS])
@pytest.mark.parametrize("seed", [1, 2])
def test_standin_matches_the_reference_on_every_hidden_case(assignment, name, seed):
    spec = all_specs(assignment)[name]
    fn = standins.load(standins.source_for(assignment, [name]))[name]  # as the sandbox defines it
    for case in spec.cases(rng_for(f"{assignment}/{name}", seed)):
        expected = spec.reference(*copy.deepcopy(case.args), **copy.deepcopy(case.kwargs))
        got = fn(*copy.deepcopy(case.args), **copy.deepcopy(case.kwargs))
        problem = compare(got, expected, spec.rtol, spec.atol)
        assert problem is None, f"{case.label}: {problem}"


# ------------------------------------------------------------------ issue 26: never a stand-in of the graded function
def _test_cells():
    from autograder.course import assignments
    from autograder.grading.prepare import load_assignment

    for assignment in assignments():
        spec = load_assignment(assignment)
        for cell in spec.tests:
            for _, name in cell.checks:
                yield assignment, spec, cell, name


CELLS = list(_test_cells())


@pytest.mark.parametrize("assignment,spec,cell,name", CELLS, ids=[f"{a}:{n}" for a, _, _, n in CELLS])
def test_a_test_cell_is_given_no_stand_in_of_the_function_it_grades(assignment, spec, cell, name):
    """The source a test cell's process receives neither defines nor names the function the cell grades."""
    import ast

    from autograder.grading.run import given_names, given_source

    source = given_source(spec, cell.checks)
    tree = ast.parse(source)
    defined = {n.name for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))}
    defined |= {t.id for n in ast.walk(tree) if isinstance(n, (ast.Assign, ast.AugAssign, ast.AnnAssign))
                for t in ([*n.targets] if isinstance(n, ast.Assign) else [n.target]) if isinstance(t, ast.Name)}
    named = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)} | {
        a.asname or a.name for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom)) for a in n.names}
    assert name not in defined | named, f"{assignment}: the test of {name} would be given a way to {name}"
    # Self-contained: nothing but NumPy, the two helpers and the stand-ins themselves.
    loaded = standins.load(source) if source else {}
    assert set(loaded) == set(given_names(spec, cell.checks)) and name not in loaded
    assert all(fn.__module__ == "_given" for fn in loaded.values())


def test_each_stand_in_source_is_self_contained():
    """A stand-in calls no other graded function: each one's source alone defines it and it still works."""
    import ast

    for assignment, table in standins.STANDINS.items():
        graded = set(table)
        for name in table:
            tree = ast.parse(standins.source_for(assignment, [name]))
            (fn,) = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == name]
            calls = {n.id for n in ast.walk(fn) if isinstance(n, ast.Name)} & (graded - {name})
            assert not calls, f"{assignment}: the stand-in of {name} calls {calls}"


GUARD_SCRIPT = """
import importlib, sys
from autograder import runner
source, workdir, what = open(sys.argv[1]).read(), sys.argv[2], sys.argv[3]
held = {}
if what == "given":
    exec(compile(source, "<_given>", "exec"), held := {"__name__": runner.GIVEN_MODULE})
elif what == "module":
    sys.path.insert(0, sys.argv[4])
    importlib.import_module("elsewhere_26")
print(repr(runner.guard(sys.argv[5].split(","), workdir)))
"""


@pytest.mark.parametrize("what,names,found", [
    ("nothing", "softmax,masked_softmax", None),
    ("given", "softmax", "a stand-in of softmax"),        # the stand-in of the graded function: found
    ("given", "masked_softmax", None),                    # another function's stand-in is what isolation needs
    ("module", "cosine_scores", "defines cosine_scores"),  # a module from outside the working folder and Python
    ("module", "softmax", None),
])
def test_the_guard_finds_a_correct_implementation_of_the_graded_function(tmp_path, what, names, found):
    """The sandbox's guard (``runner.guard``, run before each test cell) reports a stand-in of the graded function,
    and a loaded module from outside the student's folder and the Python installation that defines it; it says
    nothing otherwise. Run as in the sandbox: the probe staged as the package ``autograder``, nothing else."""
    import subprocess
    import sys

    from autograder.grading import sandbox

    lib = sandbox.stage_probe(tmp_path / "probe")
    (tmp_path / "work").mkdir()
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "elsewhere_26.py").write_text("def cosine_scores(Q, K):\n    return Q\n")
    (tmp_path / "given.py").write_text(standins.source_for("03-qkv", ["softmax"]))
    out = subprocess.run([sys.executable, "-c", GUARD_SCRIPT, str(tmp_path / "given.py"), str(tmp_path / "work"), what,
                          str(tmp_path / "elsewhere"), names], cwd=tmp_path / "work", capture_output=True, text=True,
                         env={"PYTHONPATH": str(lib), "PATH": "/usr/bin:/bin"})
    assert out.returncode == 0, out.stderr
    said = eval(out.stdout.strip().splitlines()[-1])  # noqa: S307 - our own repr
    assert (said is None) if found is None else (found in said), said


def test_the_probe_defines_no_graded_name():
    """Nothing the grader brings into the sandbox is named like a graded function (the guard would take it for a
    correct implementation within reach, and a student might)."""
    import ast

    from autograder.course import assignments
    from autograder.grading.sandbox import PROBE
    from autograder.grading.prepare import load_assignment

    graded = {f for a in assignments() for c in load_assignment(a).tests for _, f in c.checks}
    for path in PROBE.glob("*.py"):
        tree = ast.parse(path.read_text())
        defined = {n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef))}
        defined |= {t.id for n in tree.body if isinstance(n, ast.Assign) for t in n.targets if isinstance(t, ast.Name)}
        assert not defined & graded, f"{path.name} defines {defined & graded}"
