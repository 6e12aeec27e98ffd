"""Hidden test cases of every assignment: one module per assignment, registered below."""
from __future__ import annotations

import importlib

from autograder.checking import FunctionSpec

#: assignment id (the folder name under solutions/) -> module of autograder.specs
MODULES = {
    "01-glimpse": "autograder.specs.glimpse",
    "03-qkv": "autograder.specs.qkv",
    "05-variants": "autograder.specs.variants",
    "06-self-attention": "autograder.specs.self_attention",
    "07-multihead": "autograder.specs.multihead",
    "02-seq2seq": "autograder.specs.seq2seq",
    "03-qkv": "autograder.specs.qkv",
    "04-alignment": "autograder.specs.alignment",
    "08-transformer": "autograder.specs.transformer",
    "09-gpt-bert": "autograder.specs.lm",
    "10-modern": "autograder.specs.modern",
}


def get_spec(assignment: str, name: str) -> FunctionSpec:
    """The ``FunctionSpec`` of function ``name`` in ``assignment``."""
    if assignment not in MODULES:
        raise KeyError(f"unknown assignment {assignment!r}; known: {sorted(MODULES)}")
    module = importlib.import_module(MODULES[assignment])
    return module.FUNCTIONS[name]


def all_specs(assignment: str) -> dict[str, FunctionSpec]:
    """Every graded function of ``assignment``."""
    return dict(importlib.import_module(MODULES[assignment]).FUNCTIONS)
