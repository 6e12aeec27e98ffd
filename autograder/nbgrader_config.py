"""nbgrader configuration of the course (read by ``autograder.authoring``, by the late penalties of
``autograder.gradebook.store``, and by ``nbgrader`` itself when ``JUPYTER_CONFIG_PATH`` holds this folder;
docs/grading.md, "The exchange, step by step").

The course keeps nbgrader's instructor folders under names that say what they hold, in the checkout:
``solutions/`` is nbgrader's *source* directory and ``exercises/`` its *release* directory. Student work never
lands in the checkout: the course folder (nbgrader's ``CourseDirectory.root``, where ``nbgrader collect`` puts
``submitted/`` and ``release_feedback`` reads ``feedback/``) is outside it, ``$ATTN_COURSE_DIR`` or by default
``~/attention-course``. The gradebook is the term's, the one ``python -m autograder grade`` and every other command
write (``grading/gradebook.db`` in the checkout): nbgrader's ``collect``, ``export``, ``db``, ``formgrader`` read
the same scores, students and due dates.

Environment variables (all optional):

* ``ATTN_LANGUAGE``: ``zh`` for the Chinese class: the release is ``exercises/zh/`` (made by
  ``python -m autograder translate``), and the class is its own course in the exchange, ``attention-zh``, with its
  own course folder ``~/attention-course-zh`` (default ``en``: ``exercises/``, ``attention``, ``~/attention-course``);
* ``ATTN_COURSE_DIR``: the course folder (default ``~/attention-course``, or ``~/attention-course-zh``);
* ``ATTN_COURSE_ID``: nbgrader's course id in the exchange (default ``attention``, or ``attention-zh``);
* ``ATTN_EXCHANGE``: the exchange root (default nbgrader's ``/srv/nbgrader/exchange``);
* ``ATTN_GRADEBOOK``: the gradebook URL nbgrader uses (default the term's, ``sqlite:///<checkout>/grading/gradebook.db``;
  ``python -m autograder nbgrader --out-root DIR`` or ``--db URL`` sets it as every other command's options do).
"""
import os
import sys
from pathlib import Path

c = get_config()  # noqa: F821 - provided by traitlets when nbgrader loads this file

# The course's paths are defined once, in autograder/course.py; nbgrader may run from anywhere.
if str(Path(__file__).resolve().parent.parent) not in sys.path:
    sys.path.append(str(Path(__file__).resolve().parent.parent))
from autograder.course import EXERCISES, SOLUTIONS, Course, class_suffix, course_dir, interpreter_on_path  # noqa: E402

# The Chinese class (ATTN_LANGUAGE=zh) is its own course: release exercises/zh/, course id and folder with "-zh".
c.CourseDirectory.root = str(course_dir())
c.CourseDirectory.course_id = os.environ.get("ATTN_COURSE_ID") or f"attention{class_suffix()}"
# Absolute: read from the checkout whatever the course folder is. (nbgrader's generate_assignment cannot take an
# absolute source folder; `python -m autograder release` runs it with the checkout as root.)
c.CourseDirectory.source_directory = str(SOLUTIONS)
c.CourseDirectory.release_directory = str(EXERCISES / "zh" if class_suffix() else EXERCISES)
# One gradebook for the term: the one the grader writes, not a second one in the course folder.
c.CourseDirectory.db_url = os.environ.get("ATTN_GRADEBOOK") or Course().db_url
if os.environ.get("ATTN_EXCHANGE"):
    c.Exchange.root = os.environ["ATTN_EXCHANGE"]

# nbgrader creates a new gradebook by running `alembic` from PATH. Started as `.venv/bin/nbgrader` without the
# virtualenv activated, it would fail and leave a half-made gradebook.db behind: put this interpreter's bin
# folder (where `alembic` is) first on PATH, for nbgrader's own subprocesses.
interpreter_on_path()

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

# `nbgrader export` leaves out the students excluded from an assignment (`python -m autograder exclude`), as every
# other output of the course does: nbgrader's CSV otherwise, same columns and values.
c.ExportApp.plugin_class = "autograder.reports.nbgrader_export.CourseCsvExport"
