"""The grading probe: the only code of the course that runs inside the sandbox.

Inside the sandbox this folder is importable as the package ``autograder``, so the hidden test
cells' ``from autograder.checking import check`` finds ``checking.check`` here. That ``check``
does not judge anything: it runs the student's function on the inputs the grader wrote (plain
arrays) and sends the returned values back. The reference implementation, the expected values,
the seed and the gradebook never enter the sandbox; the grader compares outside
(``autograder.grading.judge``). ``runner`` executes the notebook's code cells in order.
"""
