"""``nbgrader export`` for this course: nbgrader's CSV without the students excluded from an assignment.

nbgrader's own exporter knows nothing of ``python -m autograder exclude``: it lists every student of the gradebook,
an excluded one with a 0. The course's configuration (``autograder/nbgrader_config.py``) names this exporter instead,
so ``python -m autograder nbgrader export`` (or ``nbgrader export`` with ``JUPYTER_CONFIG_PATH=autograder/``) writes
the rows every other output of the course reads (``gradebook.standing.export_rows``): nbgrader's columns and values,
its ``--to``, ``--assignment`` and ``--student`` options, minus the exclusions.
"""
from __future__ import annotations

from pathlib import Path

from nbgrader.plugins.export import CsvExportPlugin

from autograder.gradebook.standing import export_rows
from autograder.gradebook.store import add_course_tables
from autograder.reports.report import write_csv


class CourseCsvExport(CsvExportPlugin):
    """nbgrader's CSV export, without the students excluded from an assignment."""

    def export(self, gradebook) -> None:
        dest = Path(self.to or "grades.csv")
        add_course_tables(gradebook)  # a gradebook no command of the course has opened yet has none excluded
        students = {str(s) for s in self.student}
        rows = [r for r in export_rows(gradebook, [str(a) for a in self.assignment] or None)
                if not students or r["student_id"] in students]
        self.log.info("Exporting grades to %s (without the students excluded from an assignment)", dest)
        write_csv(dest, rows)
