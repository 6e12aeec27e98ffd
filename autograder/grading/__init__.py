"""The grading pipeline, one module per stage: collect -> prepare -> run -> judge -> record -> report.

``autograder.grade`` wires them together (``python -m autograder grade``); docs/grading.md describes each stage.
"""
