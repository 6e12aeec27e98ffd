"""Shared code of the course "Attention, from the human eye to the Transformer".

- ``autograder.reference``: the one reference implementation of every graded function.
  The book pages, the hidden tests and the test suite all import it from here.
- ``autograder.viz``: the plotting helpers every chapter uses (one heatmap function, not one per page).
- ``autograder.specs``: for each assignment, the randomised and edge-case inputs the hidden tests use.
- ``autograder.checking``: the one comparison helper the hidden tests call.
- ``autograder.release`` / ``autograder.grade``: the instructor's commands (``python -m autograder --help``).
"""
