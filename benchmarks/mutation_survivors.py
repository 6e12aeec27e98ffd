"""Survivors of ``benchmarks/mutation.py``: mutants of the reference that no hidden case tells apart.

``EQUIVALENT`` lists the ones that cannot change a graded output on any input the notebook allows, each with
the reason. Every other survivor of the first run got a new hidden case instead; ``KILLED_BY_NEW_CASES``
records them, and ``tests/test_mutants.py`` re-creates each of those mutant kinds by hand and checks, on a
fixed seed, that the hidden cases now tell it apart from the reference.

Names are mutmut's (``<module>.x_<function>__mutmut_<n>``), stable as long as the reference file is unchanged.
"""

_PRECISION = ("only changes which float type an input is converted to (float32 kept or raised to float64, integers "
              "kept or converted); the grader compares at float32-level tolerance and the notebooks accept either "
              "precision, and every operation that follows gives the same values for integers as for floats")

EQUIVALENT: dict[str, str] = {
    # 03-qkv
    "autograder.reference.qkv.x__float__mutmut_3": _PRECISION,
    "autograder.reference.qkv.x__float__mutmut_4": _PRECISION,
    "autograder.reference.qkv.x__float__mutmut_5": _PRECISION,
    "autograder.reference.qkv.x__float__mutmut_6": _PRECISION,
    "autograder.reference.qkv.x__float__mutmut_9": _PRECISION,
    "autograder.reference.qkv.x_masked_softmax__mutmut_9": "mask keeps its own dtype instead of bool: the notebook "
        "says mask is boolean, and np.where reads a 0/1 mask the same way",
    "autograder.reference.qkv.x_masked_softmax__mutmut_11": "same as mutmut_9 (dtype argument dropped)",
    "autograder.reference.qkv.x_masked_softmax__mutmut_38": "the shift of an entirely masked row (0.0 -> 1.0): every "
        "entry of such a row is masked, so it is 0 whatever the shift",
    "autograder.reference.qkv.x_cosine_scores__mutmut_34": "a zero query is divided by 2 instead of 1: still the zero "
        "vector, so its cosines stay 0",
    "autograder.reference.qkv.x_cosine_scores__mutmut_45": "same as mutmut_34, for a zero key",
}

KILLED_BY_NEW_CASES: dict[str, str] = {
    "autograder.reference.qkv.x_masked_softmax__mutmut_22": "one max over the whole array instead of per row: new "
        "case 'rows of very different sizes (+1000 and -1000)' (the low row underflows to 0 / 0)",
    "autograder.reference.qkv.x_masked_softmax__mutmut_25": "same as mutmut_22 (axis dropped)",
}
