"""The comparison helper: what it accepts (correct code written differently) and what it rejects."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from autograder.grading.cases import as_plain_array, compare
from autograder.grading.checking import check
from autograder.grading.reference import qkv


def test_compare_accepts_float32_results_of_float64_problems():
    e = np.linspace(0, 1, 10)
    assert compare(e.astype(np.float32), e) is None


@pytest.mark.parametrize(
    "student, expected, words",
    [
        (np.zeros(3), np.zeros(4), "shape"),
        (np.array([np.nan, 1.0]), np.array([0.0, 1.0]), "NaN"),
        (np.array([1.0, 2.0]), np.array([1.0, 2.1]), "wrong in 1 of 2"),
        ("text", np.zeros(1), "numeric numpy array"),
        ((np.zeros(2),), (np.zeros(2), np.zeros(2)), "tuple of 2"),
        (np.array([np.inf]), np.array([1.0]), "infinite"),
    ],
)
def test_compare_rejects_with_a_reason(student, expected, words):
    problem = compare(student, expected)
    assert problem is not None and words in str(problem)  # a Reason: its English wording


def test_compare_accepts_torch_tensors_and_lists():
    assert compare(torch.ones(2, 2), np.ones((2, 2))) is None
    assert compare([[1.0, 2.0]], np.array([[1.0, 2.0]])) is None


def test_an_object_equal_to_everything_is_not_an_array():
    class Liar:
        def __eq__(self, other):
            return True

    assert as_plain_array(Liar()) is None


def test_modifying_inputs_in_place_is_rejected():
    def softmax_in_place(x, axis=-1):
        x -= x.max(axis=axis, keepdims=True)
        np.exp(x, out=x)
        x /= x.sum(axis=axis, keepdims=True)
        return x

    with pytest.raises(AssertionError, match="in place"):
        check("03-qkv", "softmax", softmax_in_place, seed=1)


def test_exceptions_become_reasons_not_crashes():
    def broken(Q, K):
        raise ValueError("shapes do not align")

    with pytest.raises(AssertionError, match="raised ValueError: shapes do not align"):
        check("03-qkv", "dot_product_scores", broken, seed=1)


def test_reason_names_the_case_but_not_the_expected_values():
    def uniform(scores, mask):
        return np.full(np.shape(scores), 1.0 / np.shape(scores)[-1])

    with pytest.raises(AssertionError) as info:
        check("03-qkv", "masked_softmax", uniform, seed=1)
    assert "hidden case" in str(info.value)


def test_fresh_seed_changes_the_random_cases(monkeypatch):
    from autograder.grading.cases import rng_for

    a = rng_for("03-qkv/softmax", 1).standard_normal(3)
    b = rng_for("03-qkv/softmax", 2).standard_normal(3)
    assert not np.allclose(a, b)
    monkeypatch.setenv("AUTOGRADER_SEED", "5")
    np.testing.assert_array_equal(rng_for("x").standard_normal(3), rng_for("x", 5).standard_normal(3))


def test_reference_outputs_preserve_float32():
    x = np.ones((2, 3), dtype=np.float32)
    assert qkv.softmax(x).dtype == np.float32


PLAIN_SCRIPT = r'''
import json, os, signal, sys
from autograder import runner
signal.signal(signal.SIGALRM, runner._on_alarm)
cells = json.loads(sys.argv[2])
shell = runner.make_shell()
limits = {"function_timeout": 1, "cell_timeout": 1.0, "output_limit": 2000}
frames = []
for i, source in enumerate(cells):
    if sys.argv[1] == "plain":
        code = runner.plain_code(shell, source)
        assert code is not None, source
        frame = runner.run_plain(shell, runner.Runner(-1, limits), i, code)
    else:
        frame = runner.run_cell(shell, runner.Runner(-1, limits), i, source)
    frame.pop("seconds")
    for shown in frame["displays"]:
        shown["image/png"] = len(shown.get("image/png", "")) > 1000  # a figure was drawn (its bytes may differ)
    frames.append(frame)
print(json.dumps(frames))
'''

PLAIN_CELLS = [
    "import numpy as np\nx = np.arange(3)\nx",                               # the final expression is displayed
    "print('hi')\ny = x * 2",
    "def f(a):\n    return a + 1\nf(2)",
    "assert f(1) == 3, 'f(1) should be 3'",                                 # an error and its traceback
    "import warnings\nwarnings.warn('careful')\n1/0",                       # a warning, then an error
    "import warnings\nwarnings.warn('careful')",                            # shown again: the registry is cleared
    "None",
    "class A:\n    def __repr__(self):\n        return 'A!'\nA()",
    "import matplotlib.pyplot as plt\nlines = plt.plot([1, 2, 3])",          # an inline figure, drawn and closed
    "len(plt.get_fignums())",                                                # ... so none is open in the next cell
    "from IPython.display import display\ndisplay({'a': 1})\n5",
    "import time\nwhile True:\n    pass",                                  # the cell's time limit
    "'''a docstring first'''\nassert y.sum() == 6",
]


def test_a_plain_cell_runs_as_the_shell_runs_it(tmp_path):
    """A test's process runs plain-Python cells without IPython's ``run_cell`` (``runner.plain_code`` and
    ``run_plain``): each cell gives the same frame — error, output, displays — as the shell gives it, with the
    probe staged as in the sandbox and the inline backend a kernel uses."""
    import json
    import subprocess
    import sys

    from autograder.grading import sandbox

    lib = sandbox.stage_probe(tmp_path / "probe")
    env = {"PYTHONPATH": str(lib), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "MPLCONFIGDIR": str(tmp_path / "mpl"),
           "MPLBACKEND": "module://matplotlib_inline.backend_inline"}
    got = {}
    for how in ("shell", "plain"):
        out = subprocess.run([sys.executable, "-c", PLAIN_SCRIPT, how, json.dumps(PLAIN_CELLS)], cwd=tmp_path,
                             capture_output=True, text=True, env=env, timeout=120)
        assert out.returncode == 0, out.stderr[-2000:]
        got[how] = json.loads(out.stdout.strip().splitlines()[-1])
    for shell, plain, source in zip(got["shell"], got["plain"], PLAIN_CELLS):
        assert plain == shell, source
    errors = [f["error"] for f in got["plain"]]
    assert errors[3].startswith("AssertionError: f(1) should be 3") and errors[4].startswith("ZeroDivisionError")
    assert errors[11].startswith("CellTimeout")
    assert "careful" in got["plain"][5]["stderr"] and "Out[0]: 5" in got["plain"][10]["stdout"]
    assert got["plain"][8]["displays"] == [{"image/png": True, "text/plain": "<Figure size 640x480 with 1 Axes>"}]
    assert "Out[0]: 0" in got["plain"][9]["stdout"]


ONLY_THE_SHELL = [
    "%matplotlib inline\nx = 1",      # a magic
    "!ls",                             # a shell command
    "x = _",                           # the shell's output history
    "Out",
    "get_ipython()",
    "await something()",               # top-level await
    "def f(:\n    pass",               # a syntax error: the shell reports it as it does
]


def test_cells_only_the_shell_can_run_are_left_to_it(tmp_path):
    import json
    import subprocess
    import sys

    from autograder.grading import sandbox

    lib = sandbox.stage_probe(tmp_path / "probe")
    script = ("import json, sys\nfrom autograder import runner\nshell = runner.make_shell()\n"
              "print(json.dumps([runner.plain_code(shell, s) is None for s in json.loads(sys.argv[1])]))")
    out = subprocess.run([sys.executable, "-c", script, json.dumps(ONLY_THE_SHELL + ["x = 1"])], cwd=tmp_path,
                         capture_output=True, text=True, env={"PYTHONPATH": str(lib), "PATH": "/usr/bin:/bin",
                                                              "HOME": str(tmp_path)}, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert json.loads(out.stdout.strip().splitlines()[-1]) == [True] * len(ONLY_THE_SHELL) + [False]
