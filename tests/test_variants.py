"""The variant check (``bookbuild/variants.py``) and its knob (``attn.seeding``, ``ATTN_SEED_OFFSET``).

The knob must move every seed a page can use, and the runner must see a guard fail when the words stop
matching a variant's numbers: both are checked here on small inputs. The check itself runs in the suite as its
quick slice on every downloaded page (``tests/test_download.py``) and in full with ``make variants``.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

from bookbuild import variants
from bookbuild.build import REPO

_DRAWS = textwrap.dedent("""
    import json, random
    import attn, numpy as np, torch
    torch.manual_seed(0); a = torch.rand(1).item()
    b = torch.rand(1, generator=torch.Generator().manual_seed(0)).item()
    c = float(np.random.default_rng(0).random())
    np.random.seed(0); d = float(np.random.rand())
    random.seed(0); e = random.random()
    print(json.dumps([a, b, c, d, e]))
""")


def _draws(offset: str | None, seed: int = 0) -> list[float]:
    env = {k: v for k, v in os.environ.items() if k != "ATTN_SEED_OFFSET"}
    if offset is not None:
        env["ATTN_SEED_OFFSET"] = offset
    out = subprocess.run([sys.executable, "-c", _DRAWS.replace("(0)", f"({seed})")], env=env,
                         capture_output=True, text=True, check=True).stdout
    return json.loads(out)


def test_the_offset_moves_every_seed_by_a_thousand_per_step():
    plain, moved, unset = _draws("0"), _draws("2"), _draws(None)
    assert plain == unset, "ATTN_SEED_OFFSET=0 must change nothing"
    assert all(p != m for p, m in zip(plain, moved)), (plain, moved)  # torch, torch.Generator, NumPy (both), random
    assert moved == _draws("0", seed=2000), "offset 2 must turn seed 0 into seed 2000"


def test_quick_slice_is_another_seed_cpu_path_and_thread_count():
    v = variants.other_machine(["avx512", "avx2", "default"])
    assert (v.seed_offset, v.cpu, v.threads) == (1, "avx2", 1)
    assert variants.other_machine(["avx2", "default"]).cpu == "default"
    assert v.env() == {"ATTN_SEED_OFFSET": "1", "OMP_NUM_THREADS": "1", "ATEN_CPU_CAPABILITY": "avx2"}


def test_full_matrix_covers_three_seeds_every_cpu_path_and_one_and_two_threads():
    m = variants.matrix(["avx2", "default"])
    assert {v.seed_offset for v in m} == {0, 1, 2}
    assert {v.cpu for v in m} == {"avx2", "default"} and {v.threads for v in m} == {1, 2}
    assert len(set(m)) == len(m) == 3 * 2 + 2


def test_every_page_that_trains_is_in_the_check():
    pages = {p.relative_to(REPO).as_posix() for p in variants.stochastic_pages()}
    for page in ("book/04-attention-seq2seq/index.md", "book/08-transformer/training.md", "book/09-gpt-bert/index.md",
                 "book/09-gpt-bert/poems.md", "book/10-modern/beam-search.md"):
        assert page in pages


PAGE = textwrap.dedent('''\
    ---
    jupytext:
      text_representation:
        extension: .md
        format_name: myst
    kernelspec:
      display_name: Python 3
      language: python
      name: python3
    ---
    # A page whose claim holds for one seed only

    ```{code-cell} ipython3
    import attn
    import torch
    torch.manual_seed(0)
    x = torch.rand(1).item()
    ```

    ```{code-cell} ipython3
    :tags: [remove-cell]
    # Guard: the text says the draw is below the threshold.
    assert x < 0.5, x
    ```

    ```{code-cell} ipython3
    :tags: [remove-cell]
    # Guard: the text says the draw is a probability.
    assert 0 <= x <= 1, x
    ```
    ''')


@pytest.mark.slow
def test_the_runner_reports_each_guard_per_variant(tmp_path):
    page = tmp_path / "page.md"
    page.write_text(PAGE)
    env = {**os.environ, "ATTN_SEED_OFFSET": "0"}
    # The page's threshold lies between the draws of seed 0 and seed 1000 (computed here, not pasted), on the side
    # that makes the claim true for seed 0 only.
    draws = [float(subprocess.run([sys.executable, "-c", f"import torch; torch.manual_seed({s}); print(torch.rand(1).item())"],
                                  env=env, capture_output=True, text=True, check=True).stdout) for s in (0, 1000)]
    op = "<" if draws[0] < draws[1] else ">"
    page.write_text(PAGE.replace("x < 0.5", f"x {op} {sum(draws) / 2!r}"))
    records = [variants.run_cached(page, variants.Variant(k, "default", 1), use_cache=False) for k in (0, 1)]
    for record, holds in zip(records, (True, False)):
        assert [g["held"] for g in record["guards"]] == [holds, True], record
        assert record["guards"][0]["guard"].startswith("1: Guard: the text says the draw is below the threshold")
        assert not record["errors"] and not record["stderr"]
    text = variants.report(records, [variants.Variant(0, "default", 1), variants.Variant(1, "default", 1)])
    assert f"[{records[1]['variant']}]: guard '1: Guard: the text says the draw is below the threshold.' failed" in text
