"""One knob that moves every seed: ``ATTN_SEED_OFFSET=k`` makes seed ``s`` mean ``s + 1000 k`` everywhere.

A page's claims must hold for the method, not for one lucky run. The variant check of the build
(``python -m bookbuild variants``) re-runs every page that trains or samples with the seeds moved, with other
CPU kernels (``ATEN_CPU_CAPABILITY``) and with one thread; a page needs no change for it, because importing
``attn`` with the variable set shifts the seeds of PyTorch, NumPy and ``random`` at their source.
"""
from __future__ import annotations

import os
import random

OFFSET_ENV = "ATTN_SEED_OFFSET"
STRIDE = 1000  # seed 0 of one variant is never seed 1 of another


def seed_offset() -> int:
    """The shift every seed gets: ``1000 * ATTN_SEED_OFFSET`` (0 when the variable is unset)."""
    return STRIDE * int(os.environ.get(OFFSET_ENV, "0") or 0)


def offset_every_seed(shift: int) -> None:
    """Make ``torch.manual_seed(s)``, ``torch.Generator().manual_seed(s)``, ``np.random.default_rng(s)``,
    ``np.random.seed(s)`` and ``random.seed(s)`` use ``s + shift`` for every integer seed ``s``."""
    import numpy as np
    import torch

    def moved(seed):
        return seed + shift if isinstance(seed, (int, np.integer)) and not isinstance(seed, bool) else seed

    manual_seed, default_rng, np_seed, py_seed = torch.manual_seed, np.random.default_rng, np.random.seed, random.seed

    class Generator(torch.Generator):  # torch's own generator, with the shifted seed
        def manual_seed(self, seed):
            return super().manual_seed(moved(seed))

    torch.manual_seed = torch.random.manual_seed = lambda seed: manual_seed(moved(seed))
    torch.Generator = Generator
    np.random.default_rng = lambda seed=None: default_rng(moved(seed))
    np.random.seed = lambda seed=None: np_seed(moved(seed))
    random.seed = lambda a=None, version=2: py_seed(moved(a), version)
