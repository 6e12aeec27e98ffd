"""How strong are the hidden cases? Mutation testing of the graded reference with mutmut, the hidden cases as oracle.

    python benchmarks/mutation.py                 # every assignment (about 10-20 minutes on 2 cores)
    python benchmarks/mutation.py 03-qkv 05-variants --jobs 2

For each assignment, mutmut (https://github.com/boxed/mutmut, pinned in requirements.txt) makes every small
change it knows to the assignment's reference module in ``autograder/grading/reference/`` (an operator, a constant,
a comparison, an argument...): each change is a *mutant*. The oracle is the hidden cases and nothing else:
the cases are drawn once from fixed seeds with the original reference, which also gives the expected
outputs; a mutant is **killed** when, on any of those cases, the mutated reference raises, runs out of time,
or returns something the grader's own comparison (``autograder.grading.cases.compare`` or the spec's ``compare``)
rejects, i.e. something that would cost a student points. A mutant that **survives** is a wrong reference
that the hidden cases cannot tell from the right one, unless it is equivalent (it cannot change any output
the notebook asks for). Mutants in functions the assignment does not grade (helpers used only by the book)
are "not graded" and left out of the score.

Each survivor must be classified in ``benchmarks/mutation_survivors.py`` (``EQUIVALENT``: why it cannot
change a graded output) or be killed by a new hidden case. The script prints the score per assignment and
lists unclassified survivors with their diff; it exits 1 if there is any. The work happens in a scratch
copy (``--work``, default a temporary folder), never in the repository.
"""
from __future__ import annotations

import argparse
import copy
import json
import os
import pickle
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

SEEDS = (101, 202, 303)
MUTMUT = str(Path(sys.executable).parent / "mutmut")

ORACLE_TEST = '''"""The oracle: every hidden case of one graded function, expected outputs from the unmutated reference."""
import copy
import pickle
from pathlib import Path

import pytest

from autograder.grading.cases import compare
from autograder.grading.specs import all_specs

GOLDEN = pickle.loads((Path(__file__).resolve().parent.parent / "golden.pkl").read_bytes())


@pytest.mark.parametrize("name", sorted(GOLDEN["functions"]))
def test_hidden_cases(name):
    spec = all_specs(GOLDEN["assignment"])[name]
    for case, expected in GOLDEN["functions"][name]:
        got = spec.reference(*copy.deepcopy(case.args), **copy.deepcopy(case.kwargs))
        if spec.compare is not None:
            problem = spec.compare(got, case, expected)
        else:
            problem = compare(got, expected, spec.rtol, spec.atol)
        assert problem is None, f"{case.label}: {problem}"
'''


#: What the oracle imports of the course package (paths under autograder/).
ORACLE_NEEDS = ["__init__.py", "reasons.py", "labels_zh.py", "grading/__init__.py", "grading/cases.py",
                "grading/specs", "grading/reference"]


def reference_module(assignment: str) -> str:
    """The file of ``autograder/grading/reference/`` that holds the assignment's graded functions."""
    from autograder.grading.specs import all_specs

    modules = {spec.reference.__module__ for spec in all_specs(assignment).values()}
    (module,) = modules
    return module


def golden(assignment: str, seeds=SEEDS) -> dict:
    """Every hidden case of every graded function for ``seeds``, with the unmutated reference's output."""
    from autograder.grading.cases import rng_for
    from autograder.grading.specs import all_specs

    functions = {}
    for name, spec in all_specs(assignment).items():
        rows = []
        for seed in seeds:
            for case in spec.cases(rng_for(f"{assignment}/{name}", seed)):
                expected = spec.reference(*copy.deepcopy(case.args), **copy.deepcopy(case.kwargs))
                rows.append((case, expected))
        functions[name] = rows
    return {"assignment": assignment, "functions": functions}


def prepare(assignment: str, work: Path) -> Path:
    """A scratch project for mutmut: what the hidden cases need of the course package (the cases and their
    comparison, the specs, the reference, the reasons they report), the oracle, its config."""
    if work.exists():
        shutil.rmtree(work)
    (work / "tests").mkdir(parents=True)
    pkg = REPO / "autograder"
    for rel in ORACLE_NEEDS:
        src = pkg / rel
        if src.is_dir():
            shutil.copytree(src, work / "autograder" / rel, ignore=shutil.ignore_patterns("__pycache__", "mha_torch.py"))
        else:
            (work / "autograder" / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(src, work / "autograder" / rel)
    module = reference_module(assignment)
    target = module.replace(".", "/") + ".py"
    (work / "golden.pkl").write_bytes(pickle.dumps(golden(assignment)))
    (work / "tests" / "test_oracle.py").write_text(ORACLE_TEST)
    also = [f"autograder/{p}" + ("/" if (pkg / p).is_dir() else "") for p in ORACLE_NEEDS if p != "grading/reference"]
    also += [f"autograder/grading/reference/{p.name}"
             for p in sorted((work / "autograder" / "grading" / "reference").glob("*.py"))
             if f"autograder/grading/reference/{p.name}" != target]
    also += ["golden.pkl"]
    (work / "setup.cfg").write_text("[mutmut]\npaths_to_mutate=" + target + "\ntests_dir=tests/\nalso_copy=\n    "
                                    + "\n    ".join(also) + "\n")
    return work / "mutants" / (target + ".meta")


STATUS = {0: "survived", 1: "killed", 3: "killed", 33: "not graded", 34: "skipped", 36: "timeout", -24: "timeout",
          24: "timeout", 152: "timeout", 255: "timeout", -11: "killed", -9: "timeout", 5: "not graded", 2: "killed"}


def run(assignment: str, work: Path, jobs: int) -> dict:
    meta = prepare(assignment, work)
    env = dict(os.environ, PYTHONPATH="", MPLBACKEND="Agg")
    start = time.perf_counter()
    # mutmut's console script, not `python -m mutmut`: its trampolines import mutmut.__main__ as a module.
    proc = subprocess.run([MUTMUT, "run", "--max-children", str(jobs)], cwd=work, env=env,
                          capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if not meta.exists():
        raise SystemExit(f"mutmut did not run for {assignment}:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    codes = json.loads(meta.read_text())["exit_code_by_key"]
    statuses = {name: STATUS.get(code, f"exit {code}") for name, code in codes.items()}
    return {"statuses": statuses, "seconds": seconds, "work": work}


def diff(work: Path, name: str) -> str:
    proc = subprocess.run([MUTMUT, "show", name], cwd=work, capture_output=True, text=True,
                          env=dict(os.environ, PYTHONPATH=""))
    return proc.stdout.strip()


def main(argv=None) -> int:
    from autograder.course import assignments
    from benchmarks.mutation_survivors import EQUIVALENT

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("assignments", nargs="*", help="assignment ids (default: every one)")
    parser.add_argument("--jobs", type=int, default=2, help="mutants tested in parallel (default 2)")
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "attn-mutation")
    parser.add_argument("--json", type=Path, default=None, help="also write the results here")
    args = parser.parse_args(argv)
    names = args.assignments or assignments()
    rows, unclassified, report = [], [], {}
    for assignment in names:
        res = run(assignment, args.work / assignment, args.jobs)
        st = res["statuses"]
        killed = sum(1 for s in st.values() if s in ("killed", "timeout"))
        survived = sorted(n for n, s in st.items() if s == "survived")
        equivalent = [n for n in survived if n in EQUIVALENT]
        open_ = [n for n in survived if n not in EQUIVALENT]
        other = sorted({s for s in st.values()} - {"killed", "timeout", "survived", "not graded"})
        graded = killed + len(survived)
        score = killed / (graded - len(equivalent)) if graded - len(equivalent) else 1.0
        rows.append((assignment, graded, killed, len(equivalent), len(open_),
                     sum(1 for s in st.values() if s == "not graded"), score, res["seconds"], other))
        report[assignment] = {"statuses": st, "equivalent": equivalent, "unclassified": open_}
        for name in open_:
            unclassified.append((assignment, name, diff(res["work"], name)))
        print(f"{assignment}: {killed}/{graded} killed, {len(equivalent)} equivalent, {len(open_)} unclassified "
              f"survivor(s) ({res['seconds']:.0f} s)", flush=True)
    print()
    print("| assignment | mutants in graded functions | killed | equivalent survivors | other survivors | not graded | score (killed / non-equivalent) |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for a, graded, killed, eq, op, ng, score, secs, other in rows:
        print(f"| {a} | {graded} | {killed} | {eq} | {op} | {ng} | {100 * score:.1f}% |" + (f" {other}" if other else ""))
    for assignment, name, text in unclassified:
        print(f"\nSURVIVED (unclassified) {assignment} {name}\n{text}")
    if args.json:
        args.json.write_text(json.dumps(report, indent=1, default=str))
    return 1 if unclassified else 0


if __name__ == "__main__":
    sys.exit(main())
