"""The public stand-ins that replace other graded functions during a test agree with the reference on
every hidden case of the function they stand in for (so a correct later function still gets its points)."""
from __future__ import annotations

import copy

import pytest

from autograder.checking import compare, rng_for
from autograder import standins
from autograder.specs import all_specs

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
