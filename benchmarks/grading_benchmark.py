"""Benchmark: seconds per submission of ``python -m autograder grade`` on a class of 03, against a cold
``import numpy, torch`` and stock ``nbgrader autograde``, measured in one run.

    PYTHONPATH=.:lib python benchmarks/grading_benchmark.py [--n 200 1000] [--jobs 1 2] [--stock-n 20]
                                                           [--loopers 4] [--cold-n 20] [--keep DIR]

The class is a mix of assignment 03's samples (tests/samples/a03_qkv.py), each copy made unique by a comment:
fair answers (``correct``, and ``different``, which is right with loops, float32 and torch inside ``attention``)
and wrong ones (``blank``, a wrong cosine, a ``masked_softmax`` that raises, a wrong dot product), in turn.
Looping answers are bounded by their time limit, not by the grader, so they are graded apart (``--loopers``
copies of the sample whose ``softmax`` never returns) and reported on their own line. Every submission must get
its sample's known score.

Printed, in one run on the same machine:

* the cold ``import numpy, torch`` of this machine, three times before and three after every measurement below
  (the machine is shared: its load changes within a run, so each ratio is to the imports of its own moment, and
  stock nbgrader's time is counted in the cold imports of its own);
* stock ``nbgrader autograde`` on ``--stock-n`` submissions of the same mix, in its usual single process, with the
  course's configuration and hidden tests calling ``autograder.grading.checking.check`` in the student's kernel (no
  sandbox);
* this command, every defence on, sandboxes forked from the warm template (the default): each ``--n`` at each
  ``--jobs``, with the ratios to the cold import and to stock nbgrader; the loopers; and ``--cold-n``
  submissions with cold sandboxes (``--cold-start``) for reference;
* memory per worker: the template's resident and proportional memory at rest, and the peak of the template with
  its sandboxes while grading (one worker: one template, ``--jobs`` sandboxes at a time).

This is a benchmark, not a test: timings depend on the machine and its load (printed before and after).
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from autograder.course import SOLUTIONS, nbgrader_env  # noqa: E402
from autograder.grading import warm  # noqa: E402
from autograder.term import grade  # noqa: E402
from tests.samples import build  # noqa: E402
from tests.samples.a03_qkv import SAMPLES  # noqa: E402

ASSIGNMENT = "03-qkv"
FAIR = ("correct", "different")
WRONG = ("blank", "wrong-cosine", "broken-masked-softmax-raises", "broken-dot-product-wrong")
LOOPING = ("broken-softmax-loops",)
SEED = 24


def notebooks(n: int, kinds) -> list[tuple[str, dict, float]]:
    """``n`` unique submissions cycling through the samples ``kinds``: (student id, notebook, expected score)."""
    built = {k: build(ASSIGNMENT, SAMPLES[k]) for k in kinds}
    out = []
    for i in range(n):
        kind = kinds[i % len(kinds)]
        nb = json.loads(json.dumps(built[kind]))
        first = next(c for c in nb["cells"] if c["cell_type"] == "code")
        first["source"] = f"# submission {i:05d}\n" + "".join(first["source"])
        out.append((f"s{i:05d}-{kind}", nb, float(SAMPLES[kind].score)))
    return out


def cold_import(times: int = 3) -> list[float]:
    took = []
    for _ in range(times):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", "import numpy, torch"], check=True)
        took.append(time.perf_counter() - start)
    return took


def stock(root: Path, batch) -> float:
    """Seconds taken by ``nbgrader autograde`` (after generate_assignment) for the batch."""
    shutil.copytree(SOLUTIONS / ASSIGNMENT, root / "source" / ASSIGNMENT)
    for student, nb, _ in batch:
        folder = root / "submitted" / student / ASSIGNMENT
        folder.mkdir(parents=True)
        (folder / "qkv.ipynb").write_text(json.dumps(nb))
    base = [sys.executable, "-m", "nbgrader"]
    opts = [f"--CourseDirectory.root={root}", "--CourseDirectory.source_directory=source",
            "--CourseDirectory.release_directory=release", f"--db=sqlite:///{root / 'gradebook.db'}"]
    env = nbgrader_env(PYTHONPATH=str(REPO))
    subprocess.run(base + ["generate_assignment", ASSIGNMENT, "--force"] + opts, cwd=root, env=env,
                   check=True, capture_output=True)
    start = time.perf_counter()
    result = subprocess.run(base + ["autograde", ASSIGNMENT, "--force"] + opts, cwd=root, env=env,
                            capture_output=True, text=True)
    took = time.perf_counter() - start
    graded = len(list((root / "autograded").glob(f"*/{ASSIGNMENT}/qkv.ipynb")))
    if graded != len(batch):
        print(result.stdout[-2000:], result.stderr[-2000:])
        raise SystemExit(f"stock nbgrader graded {graded} of {len(batch)}")
    return took


class Memory:
    """Samples the proportional set size (PSS) of every warm template of this process and its sandboxes."""

    def __init__(self):
        self.peak = 0  # the largest PSS of one template with its sandboxes, in bytes
        self._stop = threading.Event()
        threading.Thread(target=self._watch, daemon=True).start()

    def stop(self):
        self._stop.set()

    def _watch(self):
        while not self._stop.wait(0.25):
            for pid in _templates():
                self.peak = max(self.peak, sum(_rollup(p, "Pss") for p in [pid] + _descendants(pid)))


def template_at_rest() -> tuple[int, int]:
    """(RSS, PSS) in bytes of a warm template that is ready and has forked nothing yet."""
    with warm.Template() as template:
        if not template.ok:
            return 0, 0
        (pid,) = [p for p in _templates() if _descends(p, template.proc.pid)]
        return _rollup(pid, "Rss"), _rollup(pid, "Pss")


def _templates() -> list[int]:
    found = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                argv = Path(f"/proc/{name}/cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if b"autograder.template" in argv and b"python" in argv[0] and _descends(int(name), os.getpid()):
                found.append(int(name))
    return found


def _parent(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        return 0


def _descends(pid: int, ancestor: int) -> bool:
    while pid > 1:
        pid = _parent(pid)
        if pid == ancestor:
            return True
    return False


def _descendants(root: int) -> list[int]:
    return [int(n) for n in os.listdir("/proc") if n.isdigit() and int(n) != root and _descends(int(n), root)]


def _rollup(pid: int, field: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    return 0


def ours(root: Path, batch, jobs: int, warm_start: bool = True) -> float:
    subs = root / "submissions"
    subs.mkdir(parents=True)
    for student, nb, _ in batch:
        (subs / f"{student}.ipynb").write_text(json.dumps(nb))
    start = time.perf_counter()
    rows = grade(ASSIGNMENT, subs, root / "out", seed=SEED, jobs=jobs, progress=True, warm_start=warm_start)
    took = time.perf_counter() - start
    got = {r["student_id"]: float(r["score"]) for r in rows}
    want = {student: score for student, _, score in batch}
    if got != want:
        wrong = sorted(s for s in want if got.get(s) != want[s])
        raise SystemExit(f"the command graded {len(got)} of {len(want)}; wrong scores: {wrong[:10]}")
    summary = (root / "out" / "summary.md").read_text()
    if warm_start and f"warm template: {len(batch)};" not in summary:
        raise SystemExit("not every sandbox was forked from the warm template: " + summary[-300:])
    return took


def measured(run):
    """``run()`` between three cold imports before and three after: (its result, the median import time around it,
    the mean load average). On a shared machine the load changes within a run; each ratio is to the imports made
    around the same measurement."""
    before, load = cold_import(), [os.getloadavg()[0]]
    value = run()
    after = cold_import()
    load.append(os.getloadavg()[0])
    return value, statistics.median(before + after), sum(load) / len(load)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, nargs="+", default=[200, 1000], help="class sizes (default 200 1000)")
    parser.add_argument("--jobs", type=int, nargs="+", default=[1, 2], help="sandboxes at a time (default 1 2)")
    parser.add_argument("--stock-n", type=int, default=20, help="submissions graded by stock nbgrader (default 20)")
    parser.add_argument("--loopers", type=int, default=4, help="looping submissions, graded apart (default 4)")
    parser.add_argument("--cold-n", type=int, default=20, help="submissions graded with cold sandboxes (default 20)")
    parser.add_argument("--keep", type=Path, default=None, help="keep the work folders here")
    args = parser.parse_args()
    mix = FAIR + WRONG
    print(f"machine: {os.cpu_count()} cores; load average at the start: {os.getloadavg()}", flush=True)
    rows = []  # (what, submissions, --jobs, s/submission, cold import around it, load)
    with tempfile.TemporaryDirectory() as tmp:
        work = args.keep or Path(tmp)
        took, imp, load = measured(lambda: stock(work / "stock", notebooks(args.stock_n, mix)))
        t_stock = took / args.stock_n
        stock_row = ("stock nbgrader autograde", args.stock_n, 1, t_stock, imp, load)
        print(f"stock nbgrader autograde: {t_stock:.2f} s/submission ({args.stock_n} submissions)", flush=True)
        memory = Memory()
        for n in args.n:
            for jobs in args.jobs:
                took, imp, load = measured(lambda: ours(work / f"warm-{n}-{jobs}", notebooks(n, mix), jobs))
                rows.append(("warm sandboxes", n, jobs, took / n, imp, load))
                print(f"warm: {n} submissions, --jobs {jobs}: {took:.1f} s, {took / n:.3f} s/submission", flush=True)
        memory.stop()
        if args.cold_n:
            took, imp, load = measured(lambda: ours(work / "cold", notebooks(args.cold_n, mix), max(args.jobs),
                                                    warm_start=False))
            rows.append(("cold sandboxes (--cold-start)", args.cold_n, max(args.jobs), took / args.cold_n, imp, load))
        loop = None
        if args.loopers:
            loop = ours(work / "loopers", notebooks(args.loopers, LOOPING), max(args.jobs)) / args.loopers
    print()
    print(f"stock nbgrader: {args.stock_n} submissions of the mix in one process, {t_stock:.2f} s/submission, "
          f"= {t_stock / stock_row[4]:.2f} cold imports of that moment ({stock_row[4]:.2f} s, load {stock_row[5]:.1f})")
    print()
    print("| grading | submissions | --jobs | s/submission | cold import then (s) | load | x cold import | x stock nbgrader |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for what, n, jobs, per, imp, load in rows:
        # Both ratios are taken against the cold import measured around the same run: stock nbgrader's time is
        # counted in cold imports of its own moment, this command's in those of its moment.
        print(f"| {what} | {n} | {jobs} | {per:.3f} | {imp:.2f} | {load:.1f} | {per / imp:.3f} | "
              f"{(per / imp) / (t_stock / stock_row[4]):.3f} |")
    print("(goal: <= 0.2 x cold import and <= 0.1 x stock nbgrader)")
    if loop is not None:
        print(f"looping submissions, graded apart: {args.loopers} at --jobs {max(args.jobs)}: {loop:.1f} s/submission "
              "(bounded by the cell's time limit, 60 s by default)")
    mib = 1 << 20
    rss, pss = template_at_rest()
    print(f"memory per worker: the template at rest {rss / mib:.0f} MiB resident ({pss / mib:.0f} MiB proportional: "
          "the libraries' pages are shared with every other process that maps them)")
    if memory.peak:
        print(f"memory per worker: peak of the template with its sandboxes {memory.peak / mib:.0f} MiB proportional "
              f"(--jobs up to {max(args.jobs)})")
    print(f"load average at the end: {os.getloadavg()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
