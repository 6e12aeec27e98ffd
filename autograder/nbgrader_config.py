"""nbgrader configuration of the course (loaded by ``autograder.release`` and ``autograder.grade``).

The course keeps nbgrader's folders under names that say what they hold:
``solutions/`` is nbgrader's *source* directory and ``exercises/`` its *release* directory.
"""
from pathlib import Path

c = get_config()  # noqa: F821 - provided by traitlets when nbgrader loads this file

REPO = Path(__file__).resolve().parent.parent

c.CourseDirectory.root = str(REPO)
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "exercises"

# Students see a clear stub, not an empty cell.
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"

# The release never carries outputs.
c.ClearOutput.remove_metadata_fields = ["collapsed", "scrolled", "ExecuteTime"]

# Per-cell time limit while grading; the kernel's tracebacks are minimal so feedback shows
# the assertion message, not the hidden test code.
c.Execute.timeout = 60
c.Execute.extra_arguments = ["--InteractiveShell.xmode=Minimal"]

# Feedback never shows hidden tests.
c.GenerateFeedback.preprocessors = [
    "nbgrader.preprocessors.GetGrades",
    "nbgrader.preprocessors.ClearHiddenTests",
    "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor",
]
