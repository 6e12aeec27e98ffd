"""Input generators shared by every assignment's hidden cases."""
from __future__ import annotations

import numpy as np

#: Hidden cases come in both precisions: correct float32 code must pass, float64 must not be truncated.
DTYPES = (np.float64, np.float32)


def randn(rng: np.random.Generator, shape, dtype=np.float64, scale: float = 1.0) -> np.ndarray:
    """Standard-normal array of ``shape`` times ``scale``, cast to ``dtype``."""
    return (scale * rng.standard_normal(shape)).astype(dtype)


def lead_dims(rng: np.random.Generator) -> tuple[int, ...]:
    """Random leading (batch) dimensions: none, one or two of them, each of size 1 to 3."""
    return tuple(int(n) for n in rng.integers(1, 4, size=rng.integers(0, 3)))
