"""The instructor's private side of the course "Attention, from the human eye to the Transformer".

- ``autograder.reference``: the hidden reference implementation of every graded function (the answer key;
  nothing public imports it: the book's code is the package ``attn`` in ``lib/``).
- ``autograder.specs``: for each assignment, the randomised and edge-case inputs the hidden tests use.
- ``autograder.checking``: the one comparison helper the hidden tests call.
- ``autograder.release`` / ``autograder.grade``: the instructor's commands (``python -m autograder --help``).
"""
