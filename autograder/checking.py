"""The name every hidden test imports: ``from autograder.checking import check`` (CONTRIBUTING.md, section 3).

The line is part of each source notebook in ``solutions/``, so it stays this short whatever the package's layout.
Inside the sandbox the probe answers it (``autograder/grading/probe/checking.py``, staged as the package
``autograder``); anywhere else (``nbgrader validate``, an instructor's kernel) the grader's own ``check`` does
(``autograder/grading/checking.py``), which compares with the hidden reference.
"""
from autograder.grading.checking import CheckFailed, check  # noqa: F401
