"""The gradebook room: the one record of each student's standing, and where it is kept.

- ``store``: the term's nbgrader gradebook, opened one way (``open_gradebook``), with the course's tables
  (extensions, exclusions, reviews); the grader's scores go in through ``record``, late penalties through ``settle``;
- ``edits``: what the instructor's commands change (a score, a comment, a due date, an extension, ...);
- ``standing``: ``Standing``, the typed record of one student on one assignment that every output reads;
- ``cache``: the grader's kept results (a re-run resumes from them; the reports show their reasons);
- ``nbgrader_layout``: nbgrader's course folders under the grading root (``autograded/``, ``source/``, ``release/``).

It sits above ``grading`` (it stores what grading decided) and below ``reports``.
"""
