"""The variant check: run the pages that train, sample or time on other "machines" and report every guard.

``python -m bookbuild variants [--quick] [--jobs N] [--no-cache] [PAGE.md ...]`` (``make variants``).

PyTorch picks its CPU kernels at run time (AVX-512, AVX2 or plain) and they round differently, so one seed
trains a different model on another CPU. A page's guarded claims must hold for the method, not for one run.
Each variant runs a page in a fresh kernel with

* ``ATTN_SEED_OFFSET=k``: every seed ``s`` of torch, NumPy and ``random`` becomes ``s + 1000 k``
  (``attn.seeding``; applied when the page imports ``attn``),
* ``ATEN_CPU_CAPABILITY=default|avx2|avx512``: PyTorch's CPU kernels (only those this CPU has),
* ``OMP_NUM_THREADS=1|2``: PyTorch's threads,

lets every cell run (a failing guard does not stop the page) and records, per guard (a hidden ``remove-cell``
cell with an ``assert``), whether it held. It prints the table pages × variants and writes it, with every
failure, to ``_build/variants/report.md`` (and ``report.json``). Exit status 1 if a guard failed, a cell
raised or a cell wrote to stderr. Runs longer than a page's 60 s are listed, not failed: variants run side by
side on a shared machine, and the page budget is checked where a page runs alone (``run-page``, the build).

Results are cached per page, ``attn`` source and variant in ``_build/variants/cache/``.
The quick slice (``--quick``: one other seed, another CPU path and one thread, in one run) is what
``tests/test_download.py`` applies to every downloaded page in the suite.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

from bookbuild.build import REPO, code_pages

OUT = REPO / "_build" / "variants"
#: A page "trains, samples or times" when a code cell calls one of these (the book's loops and samplers).
STOCHASTIC = re.compile(r"\b(train\w*|trained_model|sample\w*|generate\w*|beam_search|greedy\w*|perf_counter|timeit|"
                        r"manual_seed|default_rng|randn|randperm)\s*\(")
PAGE_BUDGET = 60.0


@dataclass(frozen=True)
class Variant:
    seed_offset: int
    cpu: str          # ATEN_CPU_CAPABILITY, or "native" for what PyTorch picks itself
    threads: int

    @property
    def name(self) -> str:
        return f"seed+{self.seed_offset} {self.cpu} {self.threads}t"

    def env(self) -> dict[str, str]:
        env = {"ATTN_SEED_OFFSET": str(self.seed_offset), "OMP_NUM_THREADS": str(self.threads)}
        if self.cpu != "native":
            env["ATEN_CPU_CAPABILITY"] = self.cpu
        return env


def cpu_paths() -> list[str]:
    """The CPU kernel paths PyTorch can take on this machine, best first (``avx512``, ``avx2``, ``default``)."""
    out = subprocess.run([sys.executable, "-c", "import torch; print(torch.backends.cpu.get_cpu_capability())"],
                         capture_output=True, text=True, check=True).stdout.strip().lower()
    ladder = ["avx512", "avx2", "default"]
    return ladder[ladder.index(out):] if out in ladder else ["default"]


def other_machine(paths: list[str] | None = None) -> Variant:
    """The quick slice: another seed, the next CPU path down from this machine's, one thread."""
    paths = paths or cpu_paths()
    return Variant(1, paths[1] if len(paths) > 1 else paths[0], 1)


def matrix(paths: list[str] | None = None) -> list[Variant]:
    """Three seeds x every CPU path at 2 threads, and one thread on every CPU path (seed 0)."""
    paths = paths or cpu_paths()
    out = [Variant(s, cpu, 2) for s in (0, 1, 2) for cpu in paths]
    return out + [Variant(0, cpu, 1) for cpu in paths]


def stochastic_pages(root: Path = REPO) -> list[Path]:
    """The pages whose code trains, samples, draws random numbers or times something."""
    return [p for p in code_pages(root) if STOCHASTIC.search("\n".join(_code_cells(p.read_text(encoding="utf-8"))))]


def _code_cells(text: str) -> list[str]:
    return re.findall(r"```\{code-cell\}[^\n]*\n(.*?)```", text, re.S)


def is_guard(cell) -> bool:
    """A hidden cell that asserts something about the page's results."""
    return (cell.cell_type == "code" and "remove-cell" in cell.metadata.get("tags", [])
            and re.search(r"^\s*assert\b", cell.source, re.M) is not None)


def guard_label(cell, number: int) -> str:
    """The guard's own words: its first comment line (``# Guard: the text says ...``), else its first assert."""
    for line in cell.source.splitlines():
        if line.strip().startswith("#"):
            return f"{number}: " + line.strip().lstrip("#").strip()[:110]
    first = next(l for l in cell.source.splitlines() if l.strip().startswith("assert"))
    return f"{number}: " + first.strip()[:110]


def run_one(page: Path, variant: Variant, timeout: int = 300) -> dict:
    """Execute ``page`` in a fresh kernel with ``variant``'s environment; every cell runs. Returns the record."""
    import jupytext
    from nbclient import NotebookClient

    nb = jupytext.read(page)
    os.environ.pop("MPLBACKEND", None)
    os.environ["COURSE_STATIC_FIGURES"] = "1"
    os.environ.update(variant.env())
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3", allow_errors=True,
                            resources={"metadata": {"path": str(page.parent)}})
    start = time.perf_counter()
    client.execute()
    seconds = time.perf_counter() - start
    guards, errors, stderr = [], [], []
    number = 0
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        error = next((o for o in cell.get("outputs", []) if o.get("output_type") == "error"), None)
        text = f"{error['ename']}: {error['evalue']}"[:300] if error else None
        first = cell.source.strip().splitlines()[0][:80] if cell.source.strip() else "?"
        if is_guard(cell):
            number += 1
            guards.append({"guard": guard_label(cell, number), "held": error is None, "error": text})
        elif error is not None:
            errors.append(f"cell starting {first!r}: {text}")
        for out in cell.get("outputs", []):
            if out.get("output_type") == "stream" and out.get("name") == "stderr" and out.get("text", "").strip():
                stderr.append(f"cell starting {first!r}: {out['text'].strip()[:200]}")
    return {"page": _shown(page), "variant": variant.name, "seconds": round(seconds, 1),
            "load": round(os.getloadavg()[0], 1), "guards": guards, "errors": errors, "stderr": stderr}


def _shown(page: Path) -> str:
    return page.relative_to(REPO).as_posix() if page.is_relative_to(REPO) else str(page)


def _key(page: Path, variant: Variant) -> str:
    h = hashlib.sha256(page.read_bytes())
    for src in sorted((REPO / "lib" / "attn").rglob("*.py")):
        h.update(src.read_bytes())
    h.update(json.dumps(asdict(variant), sort_keys=True).encode())
    return h.hexdigest()[:24]


def run_cached(page: Path, variant: Variant, use_cache: bool = True) -> dict:
    """``run_one`` in a child process (its own environment), cached by page, ``attn`` source and variant."""
    cache = OUT / "cache" / f"{_key(page, variant)}.json"
    if use_cache and cache.exists():
        return json.loads(cache.read_text())
    cmd = [sys.executable, "-m", "bookbuild.variants", "--one", str(page), json.dumps(asdict(variant))]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO)
    try:
        record = json.loads(proc.stdout.strip().splitlines()[-1])
    except (IndexError, json.JSONDecodeError):
        record = {"page": _shown(page), "variant": variant.name, "seconds": 0.0, "guards": [],
                  "errors": [f"the run failed: {proc.stderr.strip()[-500:]}"], "stderr": []}
    else:
        cache.parent.mkdir(parents=True, exist_ok=True)
        cache.write_text(json.dumps(record))
    return record


def problems(record: dict) -> list[str]:
    """What fails the check: a guard that did not hold, a cell error, output on stderr."""
    out = [f"guard {g['guard']!r} failed: {g['error']}" for g in record["guards"] if not g["held"]]
    return out + [f"cell error: {e}" for e in record["errors"]] + [f"stderr: {s}" for s in record["stderr"]]


def slow(record: dict) -> str | None:
    """A note when the run took longer than a page may (reported, not failed: runs share the machine, so the
    page budget is checked by ``run-page`` and the build on a quiet machine, not here)."""
    if record["seconds"] <= PAGE_BUDGET:
        return None
    return f"took {record['seconds']:.0f} s (budget {PAGE_BUDGET:.0f} s; load average {record.get('load', '?')})"


def report(records: list[dict], variants: list[Variant]) -> str:
    """The table pages x variants (guards held / guards), then every problem."""
    names = [v.name for v in variants]
    by = {(r["page"], r["variant"]): r for r in records}
    pages = list(dict.fromkeys(r["page"] for r in records))
    lines = ["| page | " + " | ".join(names) + " |", "| --- |" + " --- |" * len(names)]
    for page in pages:
        cells = []
        for name in names:
            r = by.get((page, name))
            if r is None:
                cells.append("")
                continue
            held = sum(g["held"] for g in r["guards"])
            mark = "" if not problems(r) else " ✗"
            cells.append(f"{held}/{len(r['guards'])}{mark} ({r['seconds']:.0f} s)")
        lines.append(f"| {page} | " + " | ".join(cells) + " |")
    bad = [(r, p) for r in records for p in problems(r)]
    if bad:
        lines += ["", "Problems:"] + [f"- {r['page']} [{r['variant']}]: {p}" for r, p in bad]
    else:
        lines += ["", "Every guard held in every variant; no cell error, no stderr."]
    notes = [(r, slow(r)) for r in records if slow(r)]
    if notes:
        lines += ["", "Slow runs (not failures; runs share the machine):"]
        lines += [f"- {r['page']} [{r['variant']}]: {n}" for r, n in notes]
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    if argv[:1] == ["--one"]:
        record = run_one(Path(argv[1]), Variant(**json.loads(argv[2])))
        print(json.dumps(record))
        return 0
    ap = argparse.ArgumentParser(prog="python -m bookbuild variants", description=__doc__.split("\n\n")[0])
    ap.add_argument("pages", nargs="*", type=Path, help="pages to run (default: every page that trains or samples)")
    ap.add_argument("--quick", action="store_true", help="only the quick slice: another seed, CPU path and thread count")
    ap.add_argument("--jobs", type=int, default=1, help="runs at once (default 1; each run uses its variant's threads)")
    ap.add_argument("--no-cache", action="store_true", help="run again even where a cached result exists")
    ap.add_argument("--cached", action="store_true", help="run nothing: the table of the results cached so far")
    args = ap.parse_args(argv)
    pages = [p.resolve() for p in args.pages] or stochastic_pages()
    paths = cpu_paths()
    variants = [other_machine(paths)] if args.quick else matrix(paths)
    print(f"CPU paths here: {', '.join(paths)}; {len(pages)} page(s) x {len(variants)} variant(s)", flush=True)
    jobs = [(p, v) for v in variants for p in pages]
    if args.cached:
        jobs = [(p, v) for p, v in jobs if (OUT / "cache" / f"{_key(p, v)}.json").exists()]

    def one(job):
        record = run_cached(*job, use_cache=not args.no_cache)
        flag = "ok" if not problems(record) else f"{len(problems(record))} problem(s)"
        print(f"  {record['page']} [{record['variant']}]: {record['seconds']:.0f} s, {flag}", flush=True)
        return record

    with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        records = list(pool.map(one, jobs))
    text = report(records, variants)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "report.md").write_text(text + "\n", encoding="utf-8")
    (OUT / "report.json").write_text(json.dumps(records, indent=1), encoding="utf-8")
    print(text)
    return 1 if any(problems(r) for r in records) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
