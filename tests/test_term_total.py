"""Issue 23, item 4: a term total from one documented file (grading/term.toml): weights, the lowest k dropped,
letters from cut-offs, exclusions not counted or counted as 0; in the term's grades (term-grades.csv, rewritten
with every change of the record) and as a column of the Canvas and Moodle exports.

The gradebook is built with nbgrader's API (no notebook runs); every expected total is worked out by hand.
"""
from __future__ import annotations

import csv
from datetime import datetime

import pytest

from autograder import commands
from autograder.commands.export import main as export_main
from autograder.errors import UsageError
from autograder.gradebook.term_total import TermConfig, compute, parse_config

CONFIG = """
drop_lowest = 1
excluded = "not_counted"

[weights]
01-glimpse = 1
03-qkv = 2
05-variants = 1

[letters]
A = 90
B = 80
C = 70
F = 0
"""

# student: {assignment: score}, no entry: no submission; maxima 10, 12 (03-qkv's own cells), 40
MAX = {"01-glimpse": 10, "03-qkv": 12, "05-variants": 40}
SCORES = {
    "ann": {"01-glimpse": 10, "03-qkv": 10.8, "05-variants": 20},  # 100, 90, 50 -> drop 05: (100 + 2*90)/3 = 93.33 A
    "bob": {"01-glimpse": 5, "03-qkv": 9.6, "05-variants": 36},    # 50, 80, 90 -> drop 01: (2*80 + 90)/3 = 83.33 B
    "cat": {"03-qkv": 8.4, "05-variants": 32},                     # 0 (none), 70, 80 -> drop 01: (140 + 80)/3 = 73.33 C
    "dan": {"01-glimpse": 9, "03-qkv": 1.2, "05-variants": 40},    # excluded from 03: 90, 100 -> drop 01: 100 A
}
CANVAS = {"ann": "canvas:11", "bob": "canvas:12", "cat": "canvas:13", "dan": "moodle:504"}


@pytest.fixture()
def term(tmp_path):
    """A term's grading folder: the gradebook (three assignments, four students, dan excluded from 03) and
    term.toml."""
    from nbgrader.api import Gradebook

    from autograder.gradebook import edits
    from autograder.gradebook.store import _fast_alembic_version, open_gradebook

    from autograder.grading.prepare import load_assignment

    qkv = load_assignment("03-qkv")  # its real notebook and cells: `exclude` refreshes its outputs
    cells = {a: [("nb", "all", top)] for a, top in MAX.items()}
    cells["03-qkv"] = [(qkv.notebook, c.grade_id, c.points) for c in qkv.tests]
    _fast_alembic_version()
    url = f"sqlite:///{tmp_path / 'gradebook.db'}"
    with Gradebook(url) as gb:
        for a, its in cells.items():
            gb.add_assignment(a)
            gb.add_notebook(its[0][0], a)
            for nb, cell, top in its:
                gb.add_grade_cell(cell, nb, a, max_score=top, cell_type="code")
        for student, scores in SCORES.items():
            gb.add_student(student, lms_user_id=CANVAS[student])
            for a, score in scores.items():
                with gb.db.no_autoflush:
                    gb.add_submission(a, student, timestamp=datetime(2026, 11, 20, 9, 0, 0))
                for nb, cell, top in cells[a]:  # the score fills the cells in order
                    gb.find_grade(cell, nb, a, student).auto_score = min(top, score)
                    score = max(0.0, score - top)
        gb.db.commit()
    with open_gradebook(url) as gb:
        edits.set_excluded(gb, "03-qkv", "dan", "medical leave")
    (tmp_path / "term.toml").write_text(CONFIG)
    return tmp_path


def read(path):
    with path.open(newline="", encoding="utf-8") as fh:
        return {r[next(iter(r))]: r for r in csv.DictReader(fh)}


def test_weights_drop_lowest_letters_and_exclusions(term, capsys):
    assert commands.run("term", ["--out-root", str(term)]) == 0
    rows = read(term / "term-grades.csv")
    got = {s: (r["term_total"], r["letter"], r["dropped"]) for s, r in rows.items()}
    assert got == {"ann": ("93.33", "A", "05-variants"), "bob": ("83.33", "B", "01-glimpse"),
                   "cat": ("73.33", "C", "01-glimpse"), "dan": ("100", "A", "01-glimpse")}
    # Each assignment's percent is shown; no submission is 0; an exclusion is said, not a 0.
    assert (rows["cat"]["01-glimpse"], rows["dan"]["03-qkv"], rows["ann"]["03-qkv"]) == ("0", "excluded", "90")
    out = capsys.readouterr().out
    assert "ann\t93.33\tA" in out and "term totals of 4 student(s) written" in out
    report = (term / "term-grades.report.txt").read_text()
    for said in ("weights: 01-glimpse 1, 03-qkv 2, 05-variants 1", "1 lowest assignment(s) dropped",
                 "excluded from is not counted", "letters: A >= 90, B >= 80, C >= 70, F >= 0"):
        assert said in report


def test_an_exclusion_counted_as_zero_and_no_drop(term):
    (term / "term.toml").write_text(CONFIG.replace('drop_lowest = 1', 'drop_lowest = 0')
                                    .replace('"not_counted"', '"zero"'))
    assert commands.run("term", ["--out-root", str(term)]) == 0
    rows = read(term / "term-grades.csv")
    # dan: (90 + 2*0 + 100) / 4 = 47.5, F; ann: (100 + 180 + 50) / 4 = 82.5, B
    assert (rows["dan"]["term_total"], rows["dan"]["letter"], rows["dan"]["03-qkv"]) == ("47.5", "F", "0")
    assert (rows["ann"]["term_total"], rows["ann"]["letter"], rows["ann"]["dropped"]) == ("82.5", "B", "")


def test_the_term_column_in_canvas_and_moodle_exports(term, capsys):
    db = f"sqlite:///{term / 'gradebook.db'}"
    out = term / "canvas.csv"
    assert export_main(["03-qkv", "--format", "canvas", "--db", db, "--out", str(out)]) == 0  # dan (Moodle only) is excluded from 03
    with out.open(newline="") as fh:
        reader = csv.DictReader(fh)
        assert reader.fieldnames[-3:] == ["03-qkv", "Term total (%)", "Term letter"]
        got = {r["ID"]: (r["03-qkv"], r["Term total (%)"], r["Term letter"]) for r in reader}
    assert got == {"11": ("10.8", "93.33", "A"), "12": ("9.6", "83.33", "B"), "13": ("8.4", "73.33", "C")}
    out = term / "moodle.csv"
    export_main(["05-variants", "--format", "moodle", "--db", db, "--out", str(out)])
    with out.open(newline="") as fh:
        reader = csv.DictReader(fh)
        assert reader.fieldnames[-2:] == ["Term total (%)", "Term letter"]
        got = {r["Identifier"]: (r["Grade"], r["Term total (%)"], r["Term letter"]) for r in reader}
    assert got == {"Participant 504": ("40", "100", "A")}
    # Without a term.toml the exports are as before: no term column.
    (term / "term.toml").unlink()
    export_main(["03-qkv", "--format", "canvas", "--db", db, "--out", str(term / "plain.csv")])
    with (term / "plain.csv").open(newline="") as fh:
        assert csv.DictReader(fh).fieldnames[-1] == "03-qkv"


def test_a_change_of_the_record_rewrites_the_terms_grades(term):
    """exclude --undo goes through refresh, which rewrites term-grades.csv: dan's 03 (10%) now counts."""
    (term / "03-qkv").mkdir()
    assert commands.run("exclude", ["03-qkv", "dan", "--undo", "--out-root", str(term)]) == 0
    rows = read(term / "term-grades.csv")
    # 90, 10, 100 -> drop 03 (1.2 / 12 = 10%): (90 + 100) / 2 = 95
    assert (rows["dan"]["03-qkv"], rows["dan"]["dropped"], rows["dan"]["term_total"]) == ("10", "03-qkv", "95")


def test_an_assignment_not_graded_yet_is_left_out_and_named(term):
    (term / "term.toml").write_text(CONFIG.replace("05-variants = 1", "05-variants = 1\n07-transformer = 3"))
    assert commands.run("term", ["--out-root", str(term)]) == 0
    assert read(term / "term-grades.csv")["ann"]["term_total"] == "93.33"
    assert "07-transformer: weighted in the configuration, not graded yet" in (term / "term-grades.report.txt").read_text()


@pytest.mark.parametrize("text, problem", [
    ("drop_lowest = -1", "drop_lowest = -1"),
    ('excluded = "ignore"', "one of not_counted, zero"),
    ("[letters]\nA = 90\nB = 80", "lowest cut-off must be 0"),
    ("[weights]\n01-glimpse = -2", "a number >= 0"),
    ("weight = 1", "unknown key(s) weight"),
    ("drop_lowest = ", "term.toml"),
])
def test_a_wrong_configuration_is_a_clear_error(term, text, problem, capsys):
    (term / "term.toml").write_text(text)
    assert commands.run("term", ["--out-root", str(term)]) == 2
    assert problem in capsys.readouterr().err


def test_without_a_configuration_term_says_where_it_looked(term, capsys):
    (term / "term.toml").unlink()
    assert commands.run("term", ["--out-root", str(term)]) == 2
    assert "term.toml: no such file" in capsys.readouterr().err


def test_compute_never_drops_everything_and_default_weights_are_equal():
    cfg = parse_config({"drop_lowest": 5})
    t = compute(cfg, "x", {"a": (5.0, 10.0), "b": (10.0, 10.0)}, set())
    assert t.dropped == ("a",) and t.total == 100.0 and t.letter == ""
    t = compute(TermConfig(), "x", {"a": (5.0, 10.0), "b": None}, set())
    assert t.total == 25.0  # equal weights, no submission is 0
    assert compute(TermConfig(), "x", {"a": (5.0, 10.0)}, {"a"}).total is None  # nothing counted: no total
    with pytest.raises(UsageError):
        parse_config({"letters": {"A": 90, "B": 90, "F": 0}})
