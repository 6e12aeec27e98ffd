"""nbgrader configuration of the course (loaded by ``autograder.authoring.release``, ``autograder.authoring.exchange`` and by
``nbgrader`` itself when ``JUPYTER_CONFIG_PATH`` holds this folder; docs/grading.md, "The exchange, step by step").

The course keeps nbgrader's instructor folders under names that say what they hold, in the checkout:
``solutions/`` is nbgrader's *source* directory and ``exercises/`` its *release* directory. Student work never
lands in the checkout: the course folder (nbgrader's ``CourseDirectory.root``, where ``nbgrader collect`` puts
``submitted/`` and ``release_feedback`` reads ``feedback/``) is outside it, ``$ATTN_COURSE_DIR`` or by default
``~/attention-course``.

Environment variables (all optional):

* ``ATTN_LANGUAGE``: ``zh`` for the Chinese class: the release is ``exercises/zh/`` (made by
  ``python -m autograder translate``), and the class is its own course in the exchange, ``attention-zh``, with its
  own course folder ``~/attention-course-zh`` (default ``en``: ``exercises/``, ``attention``, ``~/attention-course``);
* ``ATTN_COURSE_DIR``: the course folder (default ``~/attention-course``, or ``~/attention-course-zh``);
* ``ATTN_COURSE_ID``: nbgrader's course id in the exchange (default ``attention``, or ``attention-zh``);
* ``ATTN_EXCHANGE``: the exchange root (default nbgrader's ``/srv/nbgrader/exchange``);
* ``ATTN_GRADEBOOK``: the gradebook URL nbgrader uses (default ``sqlite:///<course folder>/gradebook.db``).
"""
import os
import sys
from pathlib import Path

c = get_config()  # noqa: F821 - provided by traitlets when nbgrader loads this file

REPO = Path(__file__).resolve().parent.parent
# The Chinese class: its own course (release exercises/zh/, course id and folder with "-zh"). Kept in step with
# autograder.course.course_dir, which this file cannot import (nbgrader loads it without the checkout on sys.path).
ZH = (os.environ.get("ATTN_LANGUAGE") or "en").lower().startswith("zh")
SUFFIX = "-zh" if ZH else ""
COURSE_DIR = Path(os.environ.get("ATTN_COURSE_DIR") or Path.home() / f"attention-course{SUFFIX}").expanduser().resolve()

c.CourseDirectory.root = str(COURSE_DIR)
c.CourseDirectory.course_id = os.environ.get("ATTN_COURSE_ID") or f"attention{SUFFIX}"
# Absolute: read from the checkout whatever the course folder is. (nbgrader's generate_assignment cannot take an
# absolute source folder; `python -m autograder release` runs it with the checkout as root.)
c.CourseDirectory.source_directory = str(REPO / "solutions")
c.CourseDirectory.release_directory = str(REPO / "exercises" / "zh" if ZH else REPO / "exercises")
if os.environ.get("ATTN_GRADEBOOK"):
    c.CourseDirectory.db_url = os.environ["ATTN_GRADEBOOK"]
if os.environ.get("ATTN_EXCHANGE"):
    c.Exchange.root = os.environ["ATTN_EXCHANGE"]

# nbgrader creates a new gradebook by running `alembic` from PATH. Started as `.venv/bin/nbgrader` without the
# virtualenv activated, it would fail and leave a half-made gradebook.db behind: put this interpreter's bin
# folder (where `alembic` is) first on PATH, for nbgrader's own subprocesses.
_bindir = str(Path(sys.executable).parent)
if _bindir not in os.environ.get("PATH", "").split(os.pathsep):
    os.environ["PATH"] = os.pathsep.join([_bindir, os.environ.get("PATH", "")])

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
