"""The spec registry follows the naming convention: every assignment has its module, and a wrong id says why."""
from __future__ import annotations

import pytest

from autograder.grading.specs import all_specs, get_spec, module_name
from autograder.grading.prepare import load_assignment
from tests.conftest import ASSIGNMENTS


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_every_checked_function_has_a_spec(assignment):
    checked = {(a, f) for c in load_assignment(assignment).tests for a, f in c.checks}
    assert checked and all(a == assignment for a, _ in checked)
    assert {f for _, f in checked} == set(all_specs(assignment))


def test_the_module_name_follows_the_slug():
    assert module_name("03-qkv") == "autograder.grading.specs.qkv"
    assert module_name("09-gpt-bert") == "autograder.grading.specs.gpt_bert"


@pytest.mark.parametrize("bad,phrase", [("qkv", "NN-slug"), ("99-no-such-thing", "no_such_thing.py"),
                                        ("03-qkv/../x", "NN-slug")])
def test_unknown_assignments_get_a_clear_error(bad, phrase):
    with pytest.raises(KeyError, match=phrase.replace(".", r"\.")):
        get_spec(bad, "softmax")


def test_unknown_function_gets_a_clear_error():
    with pytest.raises(KeyError, match="no graded function 'nope'"):
        get_spec("03-qkv", "nope")
