"""Given helpers of the exercises (locked cells) keep their contract and give no graded answer away (issue 11).

Each helper that another assignment grades (04 and 05 get ``masked_softmax``, 05 ``softmax``, 06 and 07 03's
``attention``, 08 07's ``multi_head_attention``) is computed by PyTorch's own functions. Here it is run on
every hidden case of the function it stands for and must agree with the reference (the contract the old NumPy
helper had: shapes, masks, all-zero weights for a fully masked query), and its cell must not be a NumPy copy.
"""
from __future__ import annotations

import copy
import json

import pytest

from autograder.grading.checking import compare, rng_for
from autograder.course import SOLUTIONS
from autograder.grading.specs import all_specs

GIVEN = [  # (assignment, locked cell, helper, assignment that grades it)
    ("04-alignment", "imports", "masked_softmax", "03-qkv"),
    ("05-variants", "imports", "softmax", "03-qkv"),
    ("05-variants", "imports", "masked_softmax", "03-qkv"),
    ("06-self-attention", "given-attention", "attention", "03-qkv"),
    ("07-multihead", "given-attention", "attention", "03-qkv"),
    ("08-transformer", "mha", "multi_head_attention", "07-multihead"),
]


def locked_cell(assignment: str, grade_id: str) -> str:
    (path,) = (SOLUTIONS / assignment).glob("*.ipynb")
    for cell in json.loads(path.read_text())["cells"]:
        if cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") == grade_id:
            assert cell["metadata"]["nbgrader"].get("locked"), f"{assignment}/{grade_id} must be locked"
            return "".join(cell["source"])
    raise KeyError(grade_id)


@pytest.mark.parametrize("assignment,cell,helper,graded_in", GIVEN, ids=[f"{g[0]}:{g[2]}" for g in GIVEN])
def test_given_helper_keeps_the_contract_and_uses_pytorch(assignment, cell, helper, graded_in):
    source = locked_cell(assignment, cell)
    assert "torch" in source, f"{assignment}: the given {helper} must be computed by PyTorch"
    import numpy

    ns: dict = {"np": numpy}  # the notebook imports numpy as np in its first cell
    exec(compile(source, f"<{assignment}/{cell}>", "exec"), ns)
    fn = ns[helper]
    spec = all_specs(graded_in)[helper]
    n = 0
    for seed in (3,):
        for case in spec.cases(rng_for(f"{graded_in}/{helper}", seed)):
            expected = spec.reference(*copy.deepcopy(case.args), **copy.deepcopy(case.kwargs))
            problem = compare(fn(*copy.deepcopy(case.args), **copy.deepcopy(case.kwargs)), expected, spec.rtol, spec.atol)
            assert problem is None, f"{case.label}: {problem}"
            n += 1
    assert n > 10


def test_no_locked_cell_holds_a_numpy_answer_of_another_assignment():
    """Every function a locked cell defines is either not graded anywhere, or one of the PyTorch helpers above."""
    graded = {}
    for folder in sorted(p for p in SOLUTIONS.iterdir() if p.is_dir()):
        try:
            graded.update({name: folder.name for name in all_specs(folder.name)})
        except KeyError:
            continue
    allowed = {(a, h) for a, _, h, _ in GIVEN}
    offenders = []
    for folder in sorted(p for p in SOLUTIONS.iterdir() if p.is_dir()):
        for path in folder.glob("*.ipynb"):
            for cell in json.loads(path.read_text())["cells"]:
                meta = cell.get("metadata", {}).get("nbgrader", {})
                if cell["cell_type"] != "code" or not meta.get("locked") or meta.get("grade"):
                    continue
                import ast

                try:
                    tree = ast.parse("".join(cell["source"]))
                except SyntaxError:
                    continue
                for node in tree.body:
                    if isinstance(node, ast.FunctionDef) and node.name in graded and (folder.name, node.name) not in allowed:
                        offenders.append(f"{folder.name}/{meta.get('grade_id')}: {node.name} (graded in {graded[node.name]})")
    assert not offenders, offenders


def test_alignment_masked_softmax_without_a_mask_is_the_softmax():
    """04's given masked_softmax kept its optional mask (the answers call it with mask=None)."""
    import numpy as np

    from autograder.grading.reference.qkv import softmax

    ns: dict = {}
    exec(compile(locked_cell("04-alignment", "imports"), "<04/imports>", "exec"), ns)
    scores = np.random.default_rng(0).standard_normal((2, 3, 5))
    assert compare(ns["masked_softmax"](scores), softmax(scores)) is None
    assert compare(ns["masked_softmax"](scores, None), softmax(scores)) is None
