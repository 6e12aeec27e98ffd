"""The instructor's private side of the course "Attention, from the human eye to the Transformer".

One room per job; a room imports only the rooms below it (docs/grading.md, "Where the code is"):

- ``autograder.grading``: decides scores: the pipeline, the sandbox and its probe, the hidden reference
  (``grading.reference``, the answer key; nothing public imports it: the book's code is ``attn`` in ``lib/``) and
  the hidden cases (``grading.specs``);
- ``autograder.gradebook``: the record of each student's standing, and where it is kept;
- ``autograder.reports``: everything rendered from the record (feedback, summary, logs, LMS exports);
- ``autograder.term``: grade an assignment of the term, and change the record;
- ``autograder.authoring``: the student releases (English, Chinese) and nbgrader's exchange;
- ``autograder.commands``: the instructor's commands (``python -m autograder --help``);
- shared by all: ``course`` (paths and options), ``errors``, ``reasons`` and ``labels_zh`` (why points were lost,
  in two languages), ``catalogs`` (the exercises' translations); ``checking`` is the name hidden tests import.
"""
