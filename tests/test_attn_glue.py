"""attn.glue hands plain Python numbers to the book's text, and works where MyST-NB is not installed."""
from __future__ import annotations

import builtins

import numpy as np
import torch

from attn.glue import glue, plain


def test_scalars_become_python_numbers():
    for value, expected in [(np.float32(0.5), 0.5), (np.float64(2.25), 2.25), (np.int64(4), 4),
                            (torch.tensor(3.0), 3.0), (torch.tensor(7), 7)]:
        got = plain(value)
        assert type(got) in (int, float) and got == expected, (value, got)
        assert format(got, ".2f") == format(expected, ".2f")
    arr = np.array([1.0, 2.0])
    assert plain(arr) is arr and plain("text") == "text"


def test_glue_without_myst_nb_shows_the_value(monkeypatch, capsys):
    real_import = builtins.__import__

    def no_myst_nb(name, *args, **kwargs):
        if name.startswith("myst_nb"):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_myst_nb)
    glue("x", np.float64(1.5))            # shown
    glue("y", np.float64(2.5), display=False)  # not shown
    out = capsys.readouterr().out
    assert "1.5" in out and "2.5" not in out
