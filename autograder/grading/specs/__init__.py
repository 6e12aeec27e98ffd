"""Hidden test cases of every assignment: one module per assignment, found by a naming convention.

The cases of assignment ``NN-some-slug`` (a folder of ``solutions/``) live in
``autograder/grading/specs/some_slug.py``: the slug after the number, hyphens as underscores. That module defines
``FUNCTIONS = {name: FunctionSpec(...)}``. There is no hand-kept registry to forget or to list twice.
"""
from __future__ import annotations

import importlib
import re
from types import ModuleType

from autograder.grading.cases import FunctionSpec

_ID = re.compile(r"^\d+-([a-z0-9]+(?:-[a-z0-9]+)*)$")


def module_name(assignment: str) -> str:
    """``"03-qkv"`` -> ``"autograder.grading.specs.qkv"``; ``"09-gpt-bert"`` -> ``"autograder.grading.specs.gpt_bert"``."""
    m = _ID.match(str(assignment))
    if not m:
        raise KeyError(f"{assignment!r} is not an assignment id of the form NN-slug (e.g. 03-qkv)")
    return "autograder.grading.specs." + m.group(1).replace("-", "_")


def module(assignment: str) -> ModuleType:
    """The spec module of ``assignment``, or a KeyError that says which file is missing."""
    name = module_name(assignment)
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name != name:
            raise
        raise KeyError(f"no hidden cases for {assignment!r}: expected autograder/grading/specs/{name.rsplit('.', 1)[1]}.py") from None


def get_spec(assignment: str, name: str) -> FunctionSpec:
    """The ``FunctionSpec`` of function ``name`` in ``assignment``."""
    functions = module(assignment).FUNCTIONS
    if name not in functions:
        raise KeyError(f"{assignment} has no graded function {name!r}; known: {sorted(functions)}")
    return functions[name]


def all_specs(assignment: str) -> dict[str, FunctionSpec]:
    """Every graded function of ``assignment``."""
    return dict(module(assignment).FUNCTIONS)
