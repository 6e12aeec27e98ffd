"""The grading room: it decides scores, and nothing else (no gradebook, no report).

A short pipeline of named stages (``pipeline``): **collect** (``collect.py``, with ``lms.py`` for the LMS exports
and ``submission.py`` for what a submission is) -> **prepare** (``prepare.py``: the assignment's structure and its
hidden cases) -> **run** (``run.py``: rebuild each notebook and run it in the sandbox, ``sandbox.py`` and the probe
``probe/``; ``staging.py`` stages a run for the local pool and for Dask, ``distributed.py``) -> **judge**
(``judge.py``: every test cell's points, from values the grader compares itself, ``cases.py``, ``checking.py``).
``specs/`` holds the hidden cases, ``reference/`` the answer key, ``standins.py`` the public stand-ins.

The cache key of a result covers exactly this folder (``staging.code_digest``).
"""
