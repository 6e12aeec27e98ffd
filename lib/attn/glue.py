"""Name a computed value so that the book's prose can quote it (the book's numbers come from its cells)."""
from __future__ import annotations


def plain(value):
    """A NumPy or torch scalar as a Python number (the book formats glued numbers with Python's format spec)."""
    if hasattr(value, "item") and getattr(value, "ndim", None) == 0:  # np.float64(1.5), torch.tensor(1.5)
        return value.item()
    return value


def glue(name: str, value, display: bool = True) -> None:
    """MyST-NB's ``glue`` when the book is built; in any other notebook, just show the value (if asked)."""
    value = plain(value)
    try:
        from myst_nb import glue as myst_glue
    except ImportError:  # a page run outside the book's build (Colab, a fresh virtualenv)
        if display:
            from IPython.display import display as show

            show(value)
        return
    myst_glue(name, value, display=display)
