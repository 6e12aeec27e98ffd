"""Python syntax trees, built one at a time in the grader's process.

Python 3.11 before 3.11.8, and 3.12 before 3.12.2, keep the depth of the tree ``ast.parse`` is building in one
counter shared by every thread (python/cpython#106905). If a garbage collection lets another thread build a tree in
the middle of building one, the first raises ``SystemError: AST constructor recursion depth mismatch``.

The grader builds trees in several threads at once: the threads that run notebooks rebuild and translate the
instructor's cells (``grading.run.merge``, ``code_messages``) while the judge reads returned arrays with
``numpy.load``, which parses each array's header with ``ast.literal_eval``. So a correct submission could lose the
points of a case ("returned a value the grader could not read (SystemError)") or of the whole notebook. Every tree
the grader builds is built under :data:`LOCK`: :func:`parse` here, and ``with LOCK:`` around ``numpy.load``
(``tests/test_syntax_trees.py`` checks both, and that the grader's code calls neither any other way). Should an
interpreter error come back while a value is read, it is the grader's failure, not the student's: the judge lets
the ``SystemError`` through, and the notebook goes to review (``grading.judge.judge_function``).
"""
from __future__ import annotations

import ast
import threading

#: Held while a syntax tree is built (reentrant: a parse inside a locked block is fine).
LOCK = threading.RLock()


def parse(source: str, mode: str = "exec") -> ast.AST:
    """``ast.parse(source, mode=mode)``, one tree at a time in this process."""
    with LOCK:
        return ast.parse(source, mode=mode)
