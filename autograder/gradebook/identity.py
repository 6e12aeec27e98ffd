"""One person, one id: the roster maps every source's identity to one student id (issue 23, item 1).

A submission says who it is from in its source's own terms (``Submission.claims``, set by the collect stage):

* nbgrader's exchange folder or a flat ``<name>.ipynb`` / ``<name>.zip``: a name (``name``), which may be the
  student id, an e-mail, a Canvas login id, or the person's name;
* Canvas's download: the user id (``canvas_user_id``) and the sortable name (``sortable_name``, ``lastfirst``);
* Moodle's download: the participant id (``moodle_id``) and the full name (``full_name``).

The roster (``python -m autograder roster students.csv``) gives each student id its identities, kept in the table
``autograder_identity`` (student, kind, value): the id itself; ``email``; ``lms_user_id`` or ``canvas_user_id``
(Canvas's user id); ``login_id`` (Canvas's login id); ``sortable_name`` (default "last_name, first_name");
``moodle_id`` (Moodle's participant id); ``full_name`` (default "first_name last_name"). Names are compared
case-, accent- and punctuation-blind (Canvas writes "Lovelace, Ada" as ``lovelaceada``).

Once a roster exists, every submission is matched to a roster id by its strongest claim that names exactly one
student; one that matches nobody is not graded and is listed in the summary as "not on the roster" with what it
was matched against (never made a new student). Without a roster nothing changes: the id is the source's name.

:func:`link` merges two ids after the fact (a student known under two names before the roster): every submission,
score, comment, extension, exclusion, review and late penalty of the first becomes the second's.
"""
from __future__ import annotations

import datetime as dt
import unicodedata
from dataclasses import dataclass

from autograder.errors import UsageError
from autograder.grading.submission import Skipped, Submission, student_id
from autograder.reasons import R

_EPOCH = dt.datetime(1, 1, 1)

TABLE = ("CREATE TABLE IF NOT EXISTS autograder_identity (student VARCHAR(128) NOT NULL, kind VARCHAR(32) NOT NULL, "
         "value VARCHAR(256) NOT NULL, PRIMARY KEY (kind, value, student))")

#: The roster's columns (lower case) for each kind of identity.
COLUMNS = {
    "email": ("email", "e-mail", "mail"),
    "canvas_user_id": ("canvas_user_id", "lms_user_id", "canvas_id"),
    "login_id": ("login_id", "canvas_login_id", "sis_login_id", "username"),
    "sortable_name": ("sortable_name",),
    "moodle_id": ("moodle_id", "moodle_participant_id", "participant_id", "participant"),
    "full_name": ("full_name", "name"),
}
#: What a plain name (a folder or file name) is compared with, strongest first.
NAME_KINDS = ("id", "email", "login_id", "full_name", "sortable_name")


def norm(kind: str, value: str) -> str:
    """The form kept and compared: an id as the grader makes ids; an e-mail or login lower case; a number as is;
    a name without case, accents, spaces or punctuation."""
    value = unicodedata.normalize("NFC", (value or "").strip())
    if kind == "id":
        return student_id(value)
    if kind in ("email", "login_id"):
        return value.casefold()
    if kind in ("canvas_user_id", "moodle_id"):
        value = value.split(":", 1)[1] if value.startswith(("canvas:", "moodle:")) else value
        return value.lstrip("0") or value
    plain = unicodedata.normalize("NFKD", value)
    return "".join(ch for ch in plain if ch.isalnum()).casefold()


def ensure_table(gb) -> None:
    from sqlalchemy import text

    gb.db.execute(text(TABLE))
    gb.db.commit()


def _rows(gb, sql: str, **params) -> list:
    from sqlalchemy import text

    ensure_table(gb)
    return list(gb.db.execute(text(sql), params))


def has_roster(gb) -> bool:
    return bool(_rows(gb, "SELECT 1 FROM autograder_identity LIMIT 1"))


def lms_ids(gb) -> dict[str, dict[str, str]]:
    """The ids the LMSs know each student by, from the roster: ``{student: {"canvas": user id, "moodle": participant
    id}}``, each only where the roster gives exactly one (a person linked under two Canvas ids has none here)."""
    found: dict[str, dict[str, set[str]]] = {}
    for student, kind, value in _rows(gb, "SELECT student, kind, value FROM autograder_identity "
                                          "WHERE kind IN ('canvas_user_id', 'moodle_id')"):
        found.setdefault(student, {}).setdefault("canvas" if kind == "canvas_user_id" else "moodle", set()).add(value)
    return {student: {lms: next(iter(values)) for lms, values in by_lms.items() if len(values) == 1}
            for student, by_lms in found.items()}


def set_identities(gb, student: str, row: dict[str, str], first: str = "", last: str = "") -> None:
    """Replace the roster's identities of ``student`` (``row``: the roster's columns, lower case) and keep any alias
    that ``link`` added."""
    from sqlalchemy import text

    ensure_table(gb)
    gb.db.execute(text("DELETE FROM autograder_identity WHERE student=:s AND kind != 'alias'"), {"s": student})
    found = {("id", norm("id", student))}
    for kind, names in COLUMNS.items():
        for name in names:
            if (row.get(name) or "").strip():
                found.add((kind, norm(kind, row[name])))
    if first or last:
        found.add(("full_name", norm("full_name", f"{first} {last}")))
        found.add(("sortable_name", norm("sortable_name", f"{last}, {first}")))
    for kind, value in found:
        if value:
            gb.db.execute(text("INSERT INTO autograder_identity (student, kind, value) VALUES (:s, :k, :v)"),
                          {"s": student, "k": kind, "v": value})


def _index(gb) -> dict[tuple[str, str], set[str]]:
    index: dict[tuple[str, str], set[str]] = {}
    for student, kind, value in _rows(gb, "SELECT student, kind, value FROM autograder_identity"):
        index.setdefault(("id" if kind == "alias" else kind, value), set()).add(student)
    return index


def _tries(claims: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """(roster kind, normalised value) to look up, strongest first: a plain name is tried as each kind it may be."""
    out = []
    for kind, raw in claims:
        for k in (NAME_KINDS if kind == "name" else (kind,)):
            out.append((k, norm(k, raw)))
    ids = [t for t in out if t[0] in ("id", "canvas_user_id", "moodle_id", "email", "login_id")]
    return ids + [t for t in out if t not in ids]


def match(index: dict, claims: list[tuple[str, str]]) -> str | None:
    """The roster id the claims name (the first claim, strongest first, that names exactly one student), or None."""
    for key in _tries(claims):
        students = index.get(key, set())
        if len(students) == 1:
            return next(iter(students))
    return None


def shown(claims: list[tuple[str, str]]) -> str:
    """What a submission was matched against, as the roster's column names say it: ``canvas_user_id=2001, ...``."""
    return ", ".join(f"{'id, email, login_id, full_name or sortable_name' if k == 'name' else k}={v!r}"
                     for k, v in claims)


def resolve(gb, subs: list[Submission]) -> tuple[list[Submission], list[Skipped]]:
    """Each submission under its roster id; those not on the roster (or a person's older second submission) come
    back as not graded, with why. Without a roster: ``subs`` unchanged."""
    if not has_roster(gb):
        return subs, []
    index = _index(gb)
    kept: dict[str, Submission] = {}
    skipped: list[Skipped] = []
    for sub in subs:
        claims = sub.claims or [("name", sub.student)]
        sid = match(index, claims)
        if sid is None:
            skipped.append(Skipped(sub.origin, R("not_on_roster", claims=shown(claims))))
            continue
        sub.student = sid
        if sid in kept:  # one person, two submissions of this assignment (two sources): the newer one is graded
            old = kept[sid]
            newer, older = (sub, old) if (sub.timestamp or _EPOCH) >= (old.timestamp or _EPOCH) else (old, sub)
            skipped.append(Skipped(older.origin, R("same_person", student=sid, graded=newer.origin)))
            kept[sid] = newer
        else:
            kept[sid] = sub
    for sub in kept.values():  # a rename by the collect stage ("alice-2") no longer applies
        sub.notes = [n for n in sub.notes if getattr(n, "code", None) != "same_id"]
    return list(kept.values()), skipped


# ------------------------------------------------------------------------------------------------ link

@dataclass
class Linked:
    """What :func:`link` moved: the assignments whose submission moved, and the other rows (extensions, ...)."""

    source: str
    target: str
    assignments: list[str]
    rows: int


def link(gb, source: str, target: str) -> Linked:
    """Merge the student ``source`` into ``target`` in the gradebook: every submission (with its scores, comments,
    late penalty), extension, exclusion and review of ``source`` becomes ``target``'s; ``source``'s identities
    (and its id, as an alias) point to ``target`` from now on; ``source`` is removed. Refused, with nothing
    changed, if both have a submission of the same assignment (exclude one first)."""
    from nbgrader.api import Assignment, Student, SubmittedAssignment
    from sqlalchemy import text

    source, target = student_id(source), student_id(target)
    ensure_table(gb)
    if source == target:
        raise UsageError(str(R("link_same", student=source)))
    students = {s.id: s for s in gb.db.query(Student).filter(Student.id.in_([source, target]))}
    for sid in (source, target):
        if sid not in students:
            raise UsageError(str(R("link_unknown", student=sid)))

    def subs_of(sid):
        return {a: s for s, a in gb.db.query(SubmittedAssignment, Assignment.name)
                .join(Assignment, Assignment.id == SubmittedAssignment.assignment_id)
                .filter(SubmittedAssignment.student_id == sid)}

    mine, theirs = subs_of(source), subs_of(target)
    both = sorted(set(mine) & set(theirs))
    if both:
        raise UsageError(str(R("link_conflict", source=source, target=target, assignments=", ".join(both))))
    for sub in mine.values():
        sub.student_id = target
    moved = 0
    for table in ("autograder_extension", "autograder_excluded", "autograder_review"):
        for (assignment,) in gb.db.execute(text(f"SELECT assignment FROM {table} WHERE student=:s"), {"s": source}):
            clash = gb.db.execute(text(f"SELECT 1 FROM {table} WHERE student=:t AND assignment=:a"),
                                  {"t": target, "a": assignment}).first()
            if clash and table == "autograder_extension":  # the longer of both extensions
                gb.db.execute(text(
                    "UPDATE autograder_extension SET due_seconds=(SELECT MAX(COALESCE(due_seconds, 0)) FROM "
                    "autograder_extension WHERE assignment=:a AND student IN (:s, :t)), time_factor=(SELECT "
                    "MAX(COALESCE(time_factor, 0)) FROM autograder_extension WHERE assignment=:a AND student IN "
                    "(:s, :t)) WHERE assignment=:a AND student=:t"), {"a": assignment, "s": source, "t": target})
            elif clash and table == "autograder_review" and assignment in mine:  # the review of the kept submission
                gb.db.execute(text(f"DELETE FROM {table} WHERE student=:t AND assignment=:a"),
                              {"t": target, "a": assignment})
                clash = None
            if not clash:
                gb.db.execute(text(f"UPDATE {table} SET student=:t WHERE student=:s AND assignment=:a"),
                              {"t": target, "s": source, "a": assignment})
            gb.db.execute(text(f"DELETE FROM {table} WHERE student=:s AND assignment=:a"),
                          {"s": source, "a": assignment})
            moved += 1
    for student, kind, value in _rows(gb, "SELECT student, kind, value FROM autograder_identity WHERE student=:s",
                                      s=source):
        gb.db.execute(text("DELETE FROM autograder_identity WHERE student=:s AND kind=:k AND value=:v"),
                      {"s": source, "k": kind, "v": value})
        gb.db.execute(text("DELETE FROM autograder_identity WHERE student=:t AND kind=:k AND value=:v"),
                      {"t": target, "k": "alias" if kind == "id" else kind, "v": value})
        gb.db.execute(text("INSERT INTO autograder_identity (student, kind, value) VALUES (:t, :k, :v)"),
                      {"t": target, "k": "alias" if kind == "id" else kind, "v": value})
    if has_roster(gb):  # the old id names the same person from now on
        gb.db.execute(text("DELETE FROM autograder_identity WHERE kind='alias' AND value=:v"), {"v": source})
        gb.db.execute(text("INSERT INTO autograder_identity (student, kind, value) VALUES (:t, 'alias', :v)"),
                      {"t": target, "v": source})
    old, new = students[source], students[target]
    for name in ("first_name", "last_name", "email", "lms_user_id"):
        if not getattr(new, name, None) and getattr(old, name, None):
            setattr(new, name, getattr(old, name))
    gb.db.flush()
    gb.db.execute(text("DELETE FROM student WHERE id=:s"), {"s": source})
    gb.db.commit()
    gb.db.expire_all()
    return Linked(source, target, sorted(mine), moved)
