"""Hostile and faulty submissions of assignment 03, each with its exact expected score and reason.

Built like tests/samples: start from the released notebook, fill answer cells with the instructor's
solution, then change what the case is about. Points of 03-qkv: softmax 2, masked_softmax 3,
dot_product_scores 1, scaled_dot_product_scores 1, cosine_scores 2, attention 3 (total 12).
``lost`` maps each test cell that must lose its points to a phrase its reason must contain; every
other test cell must get full points. ``review`` says whether the submission must be flagged for a
human look. The time limits the suite grades with are ``LIMITS`` (short, to keep CI fast).
"""
from __future__ import annotations

import io
import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from tests.samples import Sample, build

ASSIGNMENT = "03-qkv"
POINTS = {"softmax-tests": 2, "masked-softmax-tests": 3, "dot-tests": 1, "scaled-tests": 1, "cosine-tests": 2,
          "attention-tests": 3}
MAX = sum(POINTS.values())
FUNCTION_TIMEOUT, CELL_TIMEOUT, NOTEBOOK_TIMEOUT = 3.0, 8.0, 40.0
TOTAL_MEMORY_MB = 1536  # the whole sandbox (cgroup); each process may map 4 GB


def limits():
    from autograder.grading.sandbox import Limits

    return Limits(function_timeout=FUNCTION_TIMEOUT, cell_timeout=CELL_TIMEOUT, notebook_timeout=NOTEBOOK_TIMEOUT,
                  cpu_seconds=60, processes=32, total_memory_mb=TOTAL_MEMORY_MB)


@dataclass
class Hostile:
    """One submission: how to build it, the questions it loses (phrase of the reason), and the review flag."""

    build: Callable[[], bytes | None]
    lost: dict[str, str] = field(default_factory=dict)
    review: bool = False
    layout: str = "flat"  # "flat" (<name>.ipynb), "zip" (<name>.zip), "nbgrader" (<name>/03-qkv/qkv.ipynb), "empty-dir"
    note: str | None = None  # a phrase the student's log must contain
    cgroups: bool = False  # meaningful only where the grader can make cgroups (else skipped)

    @property
    def score(self) -> float:
        return MAX - sum(POINTS[q] for q in self.lost)


def solution_cell(grade_id: str) -> str:
    """The instructor's answer of ``grade_id`` as a student would write it."""
    for cell in build(ASSIGNMENT, Sample(score=MAX))["cells"]:
        if cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") == grade_id:
            return "".join(cell["source"])
    raise KeyError(grade_id)


def notebook(override: dict[str, str] | None = None, edit: Callable[[dict], None] | None = None) -> Callable[[], bytes]:
    def make() -> bytes:
        nb = build(ASSIGNMENT, Sample(score=MAX, override=override or {}))
        if edit:
            edit(nb)
        return json.dumps(nb).encode()
    return make


def insert_before(grade_id: str, source: str) -> Callable[[dict], None]:
    """An edit that adds a student code cell (no nbgrader metadata) before the cell ``grade_id``."""
    def edit(nb):
        cells = nb["cells"]
        i = next(i for i, c in enumerate(cells) if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") == grade_id)
        cells.insert(i, {"cell_type": "code", "metadata": {}, "source": source, "outputs": [], "execution_count": None})
    return edit


def append_cell(source: str) -> Callable[[dict], None]:
    def edit(nb):
        nb["cells"].append({"cell_type": "code", "metadata": {}, "source": source, "outputs": [], "execution_count": None})
    return edit


SCORES = solution_cell("scores-answer")
SOFTMAX = solution_cell("softmax-answer")
ATTENTION = solution_cell("attention-answer")
BEFORE_COSINE, COSINE_BODY = SCORES.split("def cosine_scores")


def cosine(code: str) -> dict[str, str]:
    """An override of the scores cell whose ``cosine_scores`` is ``code`` (``_true_cosine`` is the right one)."""
    return {"scores-answer": BEFORE_COSINE + "def _true_cosine" + COSINE_BODY + "\n" + code}


PATCH_ALLCLOSE = """
np.allclose = lambda *a, **k: True
np.array_equal = lambda *a, **k: True
np.testing.assert_allclose = lambda *a, **k: None
"""


def _delete_tests(nb):
    nb["cells"] = [c for c in nb["cells"] if not c.get("metadata", {}).get("nbgrader", {}).get("grade")]


def _strip_metadata(nb):
    for c in nb["cells"]:
        c["metadata"] = {}


def _schema_99(nb):
    for c in nb["cells"]:
        if "nbgrader" in c.get("metadata", {}):
            c["metadata"]["nbgrader"]["schema_version"] = 99
    nb["metadata"]["nbgrader"] = {"schema_version": 99}


CASES: dict[str, Hostile] = {
    "correct": Hostile(notebook()),
    # Partial credit from output: the test cells display numbers (a post-run hook and sys.displayhook).
    "displayhook-partial-credit": Hostile(notebook(cosine("""
import sys
from IPython.display import display
get_ipython().events.register("post_run_cell", lambda result: display(2))
sys.displayhook(2.0)

def cosine_scores(Q, K):
    return _true_cosine(Q, K) + 0.5
""")), lost={"cosine-tests": "AssertionError"}),
    # An object whose == is always True (and np.allclose replaced so the visible asserts pass).
    "eq-always-true": Hostile(notebook(cosine(PATCH_ALLCLOSE + """
class Liar:
    def __init__(self, shape):
        self.shape = shape
    def __eq__(self, other):
        return True
    def __array__(self, dtype=None, copy=None):
        return np.full(self.shape, 0.5)
    def __getitem__(self, i):
        return Liar(self.shape[1:])

def cosine_scores(Q, K):
    return Liar(_true_cosine(Q, K).shape)
""")), lost={"cosine-tests": "got Liar"}),
    # An ndarray subclass with the wrong values whose comparisons always succeed.
    "ndarray-subclass": Hostile(notebook(cosine(PATCH_ALLCLOSE + """
class Agreeable(np.ndarray):
    def __eq__(self, other):
        return np.ones(self.shape, dtype=bool)
    def all(self, *a, **k):
        return True

def cosine_scores(Q, K):
    return (_true_cosine(Q, K) + 0.5).view(Agreeable)
""")), lost={"cosine-tests": "is wrong in"}),
    # np.allclose (and friends) monkeypatched to always agree, with a wrong cosine.
    "allclose-patched": Hostile(notebook(cosine(PATCH_ALLCLOSE + """
def cosine_scores(Q, K):
    return _true_cosine(Q, K) * 0.9
""")), lost={"cosine-tests": "is wrong in"}),
    # Looks for the reference, the hidden tests, the source notebook and gradebooks, on disk and in stack frames.
    "steal-reference": Hostile(notebook(cosine("""
import inspect, os, sys
stolen = []
for mod in ("autograder.reference.qkv", "autograder.specs.qkv", "autograder.grade", "autograder.release",
            "autograder.grading.reference.qkv", "autograder.grading.specs.qkv", "autograder.grading.pipeline",
            "autograder.authoring.release"):
    try:
        __import__(mod)
        stolen.append(mod)
    except Exception:
        pass
for dirpath, dirnames, filenames in os.walk("/"):
    dirnames[:] = [d for d in dirnames if d not in ("proc", "sys", "dev", "usr", "lib", "lib64", "bin", "sbin")]
    for f in filenames:
        if f in ("qkv.ipynb", "qkv.py", "gradebook.db", "seed") or f.endswith(".db"):
            stolen.append(os.path.join(dirpath, f))
print("STOLEN=" + repr(stolen))

def cosine_scores(Q, K):
    for frame in inspect.stack():
        for name, value in frame.frame.f_locals.items():
            if name in ("expected", "reference", "spec", "seed"):
                return value
    return _true_cosine(Q, K) + 0.5
""")), lost={"cosine-tests": "AssertionError"}),
    # Tries to write every gradebook it can find (and the grader's inputs); does not answer `attention`.
    "write-gradebook": Hostile(notebook({"attention-answer": """
import os, sqlite3
wrote = []
for dirpath, dirnames, filenames in os.walk("/"):
    dirnames[:] = [d for d in dirnames if d not in ("proc", "sys", "dev", "usr")]
    for f in filenames:
        path = os.path.join(dirpath, f)
        if f.endswith(".db"):
            try:
                con = sqlite3.connect(path)
                con.execute("UPDATE grade SET auto_score = 100")
                con.commit()
                wrote.append(path)
            except Exception:
                pass
        if path.startswith("/grader/"):
            try:
                with open(path, "ab") as fh:
                    fh.write(b"x")
                wrote.append(path)
            except Exception:
                pass
print("WROTE=" + repr(wrote))

def attention(Q, K, V, mask=None):
    raise NotImplementedError()
"""}), lost={"attention-tests": "NotImplementedError"}),
    # Fairness: correct code that warns and writes to stderr (Python-level and file descriptor 2).
    "warnings-stderr": Hostile(notebook({"softmax-answer": """
import os, sys, warnings
warnings.warn("a warning at import time")
sys.stderr.write("something on stderr\\n")
os.write(2, b"raw bytes on fd 2\\n")

def softmax(x, axis=-1):
    warnings.warn("softmax is being called", RuntimeWarning)
    print("stderr inside softmax", file=sys.stderr)
    x = np.asarray(x, dtype=float)
    z = np.exp(x - x.max(axis=axis, keepdims=True))
    return z / z.sum(axis=axis, keepdims=True)
"""})),
    # os._exit at the top level: the notebook stops; the tests before it keep their points.
    "os-exit-top-level": Hostile(notebook({"attention-answer": ATTENTION + "\nimport os\nos._exit(0)\n"}),
                                 lost={"attention-tests": "did not run"}, review=True, note="process ended"),
    # os._exit inside one function: only that function's test is lost.
    "os-exit-in-function": Hostile(notebook({"scores-answer": SCORES.replace(
        "def cosine_scores(Q, K):", "def cosine_scores(Q, K):\n    import os\n    os._exit(3)")}),
        lost={"cosine-tests": "process ended"}),
    # ... and only on a hidden case (d = 64), so that the visible asserts pass.
    "os-exit-in-hidden-case": Hostile(notebook(cosine("""
import os

def cosine_scores(Q, K):
    if np.shape(Q)[-1] == 64:
        os._exit(3)
    return _true_cosine(Q, K)
""")), lost={"cosine-tests": "stopped the process"}),
    # A 20 MB line of output: kept short in the feedback, no effect on the grade.
    "huge-output": Hostile(notebook({"softmax-answer": SOFTMAX + "\nprint('x' * 20_000_000)\n"}), note="characters to stdout"),
    # Test cells deleted, nbgrader metadata stripped, a schema from the future: the original tests still run.
    "deleted-test-cells": Hostile(notebook(edit=_delete_tests), note="was missing"),
    "stripped-metadata": Hostile(notebook(edit=_strip_metadata), note="lost its nbgrader metadata"),
    "schema-version-99": Hostile(notebook(edit=_schema_99)),
    # Not a notebook at all, or no notebook.
    "invalid-json": Hostile(lambda: b'{"cells": [ this is not json', lost={q: "not valid notebook JSON" for q in POINTS},
                            review=True),
    "missing-notebook": Hostile(lambda: None, lost={q: "no notebook" for q in POINTS}, review=True, layout="empty-dir"),
    # A top-level loop that swallows the cell timeout: the notebook runs out of time.
    "hang-forever": Hostile(notebook({"attention-answer": ATTENTION + """
import time
while True:
    try:
        time.sleep(1)
    except BaseException:
        pass
"""}), lost={"attention-tests": "ran out of time"}, review=True),
    # A plain infinite loop at the top level of one cell is interrupted by the cell time limit, and flagged.
    "cell-timeout": Hostile(notebook(edit=insert_before("attention-tests", "while True:\n    pass\n")),
                           note="(a cell you added) ran longer than its time limit", review=True),
    # A segmentation fault at the top level.
    "crash-segfault": Hostile(notebook({"attention-answer": ATTENTION + "\nimport ctypes\nctypes.string_at(0)\n"}),
                              lost={"attention-tests": "killed"}, review=True),
    # A memory bomb in one function, and one at the top level of an extra cell.
    "memory-bomb": Hostile(notebook({"scores-answer": SCORES.replace(
        "def cosine_scores(Q, K):", "def cosine_scores(Q, K):\n    hog = np.ones((1 << 38,))")},
        edit=insert_before("softmax-tests", "hog = bytearray(64 << 30)\n")), lost={"cosine-tests": "MemoryError"}),
    # Memory touched for real, under the per-process limit but over the sandbox's: the kernel kills it.
    "memory-kill": Hostile(notebook({"attention-answer": ATTENTION + "\nhog = np.ones(300_000_000)\n"}),
                           lost={"attention-tests": "more memory than allowed"}, review=True, cgroups=True),
    # A fork bomb whose children stay: the processes limit stops it. It runs again in the replay before the test of
    # attention, whose hidden cases run in the test's own process and need no new one: nothing is lost.
    "fork-bomb": Hostile(notebook(edit=insert_before("attention-answer", """
import os, time
children = 0
try:
    while True:
        if os.fork() == 0:
            time.sleep(1000)
            os._exit(0)
        children += 1
except OSError:
    print("the fork bomb stopped after", children, "children")
""")), lost={}),
    # An infinite loop in one function only: the other functions keep their points.
    "loop-in-one-function": Hostile(notebook({"scores-answer": SCORES.replace(
        "def cosine_scores(Q, K):", "def cosine_scores(Q, K):\n    while True:\n        pass")}),
        lost={"cosine-tests": "time limit"}, review=True),
    # ... and only on a hidden case (d = 64): the function's own time limit stops it.
    "loop-in-hidden-case": Hostile(notebook(cosine("""
def cosine_scores(Q, K):
    while np.shape(Q)[-1] == 64:
        pass
    return _true_cosine(Q, K)
""")), lost={"cosine-tests": "did not finish within"}, review=True),
    # ... and one that swallows the time limit's alarm every time it comes: the kernel kills the test a second later.
    "loop-swallows-alarm": Hostile(notebook(cosine("""
def cosine_scores(Q, K):
    while np.shape(Q)[-1] == 64:
        try:
            while True:
                pass
        except BaseException:
            pass
    return _true_cosine(Q, K)
""")), lost={"cosine-tests": "did not finish within"}, review=True),
    # ... and one stuck in a library call that never returns to Python (a regular expression that backtracks for
    # ever), where no alarm can interrupt it: killed the same way.
    "stuck-in-library-call": Hostile(notebook(cosine("""
import re

def cosine_scores(Q, K):
    if np.shape(Q)[-1] == 64:
        re.match(r"(a+)+$", "a" * 64 + "b")
    return _true_cosine(Q, K)
""")), lost={"cosine-tests": "did not finish within"}, review=True),
    # Slow but within every limit.
    "sleeps-under-timeout": Hostile(notebook({"softmax-answer": f"""
import time
_slept = []

def softmax(x, axis=-1):
    if not _slept:
        _slept.append(1)
        time.sleep({0.7 * FUNCTION_TIMEOUT})
    x = np.asarray(x, dtype=float)
    z = np.exp(x - x.max(axis=axis, keepdims=True))
    return z / z.sum(axis=axis, keepdims=True)

time.sleep({0.7 * CELL_TIMEOUT})
"""})),
    # Fairness: a figure drawn with `%matplotlib inline` (as in a kernel) shows in the feedback.
    "plots-inline": Hostile(notebook(edit=append_cell(
        "%matplotlib inline\nimport matplotlib.pyplot as plt\nplt.plot([1, 3, 2])\nplt.title('my plot')\nplt.show()\n"))),
    # Reseeding every random generator, at the top level and inside the functions.
    "reseeds-generators": Hostile(notebook({"softmax-answer": """
import random
import torch
np.random.seed(0); random.seed(0); torch.manual_seed(0)

def softmax(x, axis=-1):
    np.random.seed(0); random.seed(0); torch.manual_seed(0)
    x = np.asarray(x, dtype=float)
    z = np.exp(x - x.max(axis=axis, keepdims=True))
    return z / z.sum(axis=axis, keepdims=True)
"""})),
    # Right when it thinks nobody grades it, wrong when it detects grading.
    "detects-grading": Hostile(notebook(cosine("""
import os, sys

def grading():
    return "autograder" in sys.modules or "nbgrader" in sys.modules or os.path.exists("/grader") or any(
        k.startswith(("AUTOGRADER", "NBGRADER")) for k in os.environ)

def cosine_scores(Q, K):
    return _true_cosine(Q, K) * (0.5 if grading() else 1.0)
""")), lost={"cosine-tests": "AssertionError"}),
    # Forges the results channel with garbage: everything after is ignored and the submission flagged.
    "forges-results": Hostile(notebook({"softmax-answer": SOFTMAX + """
import os
os.write(int(os.environ["AUTOGRADER_CHANNEL_FD"]), b"AGW1 all tests passed, full marks please")
"""}), lost={q: "corrupted" for q in POINTS}, review=True),
    # Submission formats: a zip from a learning-management system, nbgrader's folder layout.
    "lms-zip": Hostile(notebook(), layout="zip"),
    "nbgrader-layout": Hostile(notebook(), layout="nbgrader"),
}


def write_all(folder: Path, names=None) -> dict[str, Hostile]:
    """Write every case (or only ``names``) into ``folder`` in its layout; return the cases written."""
    folder.mkdir(parents=True, exist_ok=True)
    chosen = {name: CASES[name] for name in names} if names else CASES
    for name, case in chosen.items():
        data = case.build()
        if case.layout == "flat":
            (folder / f"{name}.ipynb").write_bytes(data)
        elif case.layout == "zip":
            buf = io.BytesIO()
            with zipfile.ZipFile(buf, "w") as zf:
                zf.writestr("__MACOSX/._qkv.ipynb", b"junk")
                zf.writestr(f"{name}_attempt_2024/qkv.ipynb", data)
            (folder / f"{name}.zip").write_bytes(buf.getvalue())
        elif case.layout == "nbgrader":
            (folder / name / ASSIGNMENT).mkdir(parents=True)
            (folder / name / ASSIGNMENT / "qkv.ipynb").write_bytes(data)
        elif case.layout == "empty-dir":
            (folder / name / ASSIGNMENT).mkdir(parents=True)
            (folder / name / ASSIGNMENT / "README.txt").write_text("forgot the notebook")
    return chosen
