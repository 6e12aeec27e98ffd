"""Stage 1, collect: every submission found in the folder an instructor is handed, with its student id.

Layouts (they can be mixed in one folder; docs/grading.md documents each):

* nbgrader's ``submitted/<student>/<assignment>/<notebook>.ipynb`` (or the course folder holding ``submitted/``);
* a flat folder of ``<student>.ipynb`` files or ``<student>.zip`` archives;
* a Moodle "download all submissions" folder: one folder per participant, ``<Full Name>_<id>_assignsubmission_file_``;
* a Canvas export: flat files ``<lastfirst>_[LATE_]<userid>_<submissionid>_<filename>``;
* either export still zipped, as downloaded (one zip holding every student's files), given as the folder's
  entry or as SUBMISSIONS itself: unpacked safely by ``lms.py`` into one submission per student, with timestamps.

Nothing is dropped silently: a hidden (dot) file or folder, a symbolic link and any other file that is not a
submission comes back in ``skipped`` with the reason, and the summary lists them. Nothing outside the
submissions folder is ever read (symbolic links are not followed).
"""
from __future__ import annotations

import re
import tempfile
import zipfile
from pathlib import Path

from autograder import course
from autograder.reasons import R
from autograder.grading import lms
from autograder.grading import submission
from autograder.grading.submission import (CANVAS_RE, MOODLE_RE, NBGRADER_COURSE, SAFE_PUNCTUATION,  # noqa: F401
                                          Skipped, Submission, parse_timestamp, student_id)

def _pick(names: list[str], notebook: str) -> tuple[str | None, list[str]]:
    names = [n for n in names if n.endswith(".ipynb") and "__MACOSX" not in n and ".ipynb_checkpoints" not in n
             and not Path(n).name.startswith(".")]
    if not names:
        return None, []
    exact = [n for n in names if Path(n).name == f"{notebook}.ipynb"]
    chosen = (exact or sorted(names))[0]
    return chosen, [n for n in names if n != chosen]


#: Canvas names a re-submission of ``qkv.ipynb`` ``qkv-1.ipynb``, ``qkv-2.ipynb``, ...
RESUBMISSION_RE = re.compile(r"^(?P<base>.+?)-(?P<n>\d+)(?P<ext>\.ipynb)$")


def _original(name: str) -> tuple[str, int]:
    """The file name a student first uploaded, and which re-submission ``name`` is (0: the original)."""
    m = RESUBMISSION_RE.match(name)
    return (m["base"] + m["ext"], int(m["n"])) if m else (name, 0)


def _newest(files: dict[str, Path], times: dict[str, object]) -> tuple[dict[str, Path], dict[str, list[str]]]:
    """Of each uploaded file and its LMS re-submissions, the newest (by the export's time, else by its number):
    the files to choose from under their original names, and the older uploads left out, by original name."""
    versions: dict[str, list[tuple[object, int, str]]] = {}
    for name, path in files.items():
        base, n = _original(name)
        versions.setdefault(base, []).append((times.get(path.name), n, name))
    kept, older = {}, {}
    for base, vs in versions.items():
        # A missing time sorts first; among equal times the higher re-submission number is the newer.
        vs.sort(key=lambda v: (v[0] is not None, v[0] or 0, v[1]))
        kept[base] = files[vs[-1][2]]
        if len(vs) > 1:
            older[base] = [v[2] for v in vs[:-1]]
    return kept, older


def _other_assignments(folder: Path, assignment: str) -> list[str]:
    """The sub-folders of a student's folder named after another of the course's assignments (nbgrader's
    ``submitted/<student>/<assignment>/`` holding several assignments)."""
    others = set(course.assignments()) - {assignment}
    return sorted(p.name for p in folder.iterdir() if p.name in others and p.is_dir() and not p.is_symlink())


def _read_capped(path: Path, sub: Submission) -> bytes | None:
    if path.is_symlink():
        sub.problem = R("symlink", name=path.name)
        return None
    if path.stat().st_size > submission.MAX_NOTEBOOK_BYTES:
        sub.problem = R("too_large")
        return None
    return path.read_bytes()


def _from_zip(item: Path, sub: Submission, notebook: str) -> None:
    try:
        with zipfile.ZipFile(item) as zf:
            chosen, others = _pick(zf.namelist(), notebook)
            if chosen is None:
                sub.problem = R("zip_empty")
            elif zf.getinfo(chosen).file_size > submission.MAX_NOTEBOOK_BYTES:
                sub.problem = R("zip_too_large")
            else:
                with zf.open(chosen) as fh:
                    sub.data = fh.read(submission.MAX_NOTEBOOK_BYTES + 1)
                if others:
                    sub.notes.append(R("several_in_archive", chosen=chosen, others=", ".join(others)))
                    sub.review = True
    except (zipfile.BadZipFile, OSError, RuntimeError) as exc:
        sub.problem = R("zip_unreadable", type=type(exc).__name__)


def _from_folder(folder: Path, sub: Submission, notebook: str, skipped: list[Skipped], label: str) -> None:
    links = sorted(p.name for p in folder.glob("*.ipynb") if p.is_symlink())
    for name in links:
        skipped.append(Skipped(f"{label}/{name}", "a symbolic link: not followed, so nothing outside the folder is read"))
    chosen, others = _pick([p.name for p in folder.glob("*.ipynb") if not p.is_symlink()], notebook)
    stamp = folder / "timestamp.txt"
    if stamp.is_file() and not stamp.is_symlink():
        text = stamp.read_text(errors="replace")[:64].strip()
        sub.timestamp = parse_timestamp(text)
        if text and sub.timestamp is None:
            sub.notes.append(R("bad_timestamp", text=repr(text[:40])))
    if chosen is None:
        sub.problem = R("no_notebook_link" if links else "no_notebook", folder=label)
    else:
        sub.data = _read_capped(folder / chosen, sub)
        if others:
            sub.notes.append(R("several_submitted", chosen=chosen, others=", ".join(others)))
            sub.review = True


def collect(submissions: Path, assignment: str, notebook: str, *, _depth: int = 0,
            _times: dict | None = None) -> tuple[list[Submission], list[Skipped]]:
    """Every submission in ``submissions`` (layouts: the module docstring), and what was not graded, with why.

    ``_times`` (from ``collect_export``): the export's time of each entry, to grade the newest re-submission."""
    times = _times or {}
    if submissions.is_file() and zipfile.is_zipfile(submissions):
        # A learning-management system's bulk export given as it was downloaded (lms.py).
        return collect_export(submissions, assignment, notebook)
    if not submissions.is_dir():
        raise SystemExit(f"no such folder of submissions: {submissions}")
    skipped: list[Skipped] = []
    exported: list[Submission] = []
    if (submissions / "submitted").is_dir() and not (submissions / "submitted").is_symlink():
        # nbgrader's course folder: the submissions are in submitted/; anything else there that is not part of
        # an nbgrader course is reported, not silently passed over.
        for item in sorted(submissions.iterdir()):
            if item.name != "submitted" and item.name not in NBGRADER_COURSE and not item.name.startswith("."):
                skipped.append(Skipped(item.name, "outside submitted/ in an nbgrader course folder (only submitted/ is graded)"))
        submissions = submissions / "submitted"
    # First pass: which entries belong to which student (Canvas and Moodle may give one student several).
    groups: dict[str, list[tuple[Path, str]]] = {}
    lms_ids: dict[str, tuple[str, str]] = {}  # student -> the LMS's own id, as its download names it
    claims: dict[str, list[tuple[str, str]]] = {}  # student -> who the source says it is (Submission.claims)
    for item in sorted(submissions.iterdir()):
        name = item.name
        if name.startswith("."):
            skipped.append(Skipped(name, "a hidden file or folder (its name starts with a dot)"))
            continue
        if item.is_symlink():
            skipped.append(Skipped(name, "a symbolic link: not followed, so nothing outside the folder is read"))
            continue
        if item.is_dir():
            m = MOODLE_RE.match(name)
            if m:
                if m["plugin"] != "file":
                    skipped.append(Skipped(name, f"a Moodle '{m['plugin']}' submission, not a file upload"))
                    continue
                groups.setdefault(student_id(f"{m['name']}_{m['user']}"), []).append((item, "moodle"))
                lms_ids[student_id(f"{m['name']}_{m['user']}")] = ("moodle", m["user"])
                claims[student_id(f"{m['name']}_{m['user']}")] = [("moodle_id", m["user"]), ("full_name", m["name"])]
            else:
                groups.setdefault(student_id(name), []).append((item, "folder"))
                claims.setdefault(student_id(name), [("name", name)])
            continue
        if not item.is_file():
            skipped.append(Skipped(name, "not a regular file"))
            continue
        m = MOODLE_RE.match(name)
        c = CANVAS_RE.match(name)
        if item.suffix == ".zip" and _depth == 0 and (lms.is_bulk_export(item) or lms.is_class_zip(item, notebook)):
            # One zip holding every student's files (Canvas, Moodle, or a plain zip of <student>.ipynb files):
            # one submission per student, not one. A plain zip's times say nothing of when students submitted.
            subs, more = collect_export(item, assignment, notebook, _depth, timed=lms.is_bulk_export(item))
            exported += subs
            skipped += more
        elif m and m["plugin"] == "file" and item.suffix in (".ipynb", ".zip"):
            groups.setdefault(student_id(f"{m['name']}_{m['user']}"), []).append((item, "moodle-file"))
            lms_ids[student_id(f"{m['name']}_{m['user']}")] = ("moodle", m["user"])
            claims[student_id(f"{m['name']}_{m['user']}")] = [("moodle_id", m["user"]), ("full_name", m["name"])]
        elif c and item.suffix in (".ipynb", ".zip"):
            groups.setdefault(student_id(f"{c['name']}_{c['user']}"), []).append((item, "canvas-late" if c["late"] else "canvas"))
            lms_ids[student_id(f"{c['name']}_{c['user']}")] = ("canvas", c["user"])
            claims[student_id(f"{c['name']}_{c['user']}")] = [("canvas_user_id", c["user"]), ("sortable_name", c["name"])]
        elif item.suffix in (".ipynb", ".zip"):
            groups.setdefault(student_id(item.stem), []).append((item, "file"))
            claims.setdefault(student_id(item.stem), [("name", item.stem)])
        else:
            skipped.append(Skipped(name, f"not a notebook or a zip archive ({item.suffix or 'no extension'})"))
    found: dict[str, Submission] = {}
    for student, items in groups.items():
        kinds = {k for _, k in items}
        from_lms = kinds & {"canvas", "canvas-late", "moodle-file"}
        if from_lms and all(p.suffix == ".ipynb" for p, _ in items):
            # Canvas and Moodle name each uploaded file after the student: one submission of several files.
            sub = Submission(student, ", ".join(p.name for p, _ in items), lms=lms_ids.get(student),
                             claims=list(claims.get(student, [])))
            by_file = {}
            for p, k in items:
                m = CANVAS_RE.match(p.name) if k.startswith("canvas") else MOODLE_RE.match(p.name)
                by_file[m["file"]] = p
            by_file, older = _newest(by_file, times)
            chosen, others = _pick(sorted(by_file), notebook)
            sub.data = _read_capped(by_file[chosen], sub)
            sub.graded_file = by_file[chosen].name
            if chosen in older:  # the newest re-submission is graded, with its own time (collect_export)
                sub.notes.append(R("resubmitted", chosen=by_file[chosen].name, older=", ".join(older[chosen])))
            if others:
                sub.notes.append(R("several_submitted", chosen=chosen, others=", ".join(others)))
                sub.review = True
            if "canvas-late" in kinds:
                sub.notes.append(R("canvas_late"))
            _add(found, sub)
            continue
        for item, kind in items:
            sub = Submission(student, str(item), lms=lms_ids.get(student), claims=list(claims.get(student, [])))
            if item.is_dir() and kind == "folder":
                own = item / assignment
                graded_here = own.is_dir() and not own.is_symlink()
                other = _other_assignments(item, assignment)
                for name in other if graded_here else []:
                    skipped.append(Skipped(f"{item.name}/{name}", str(R("other_assignment", folders=name,
                                                                        assignment=assignment))))
                if not graded_here and other and not any(p.suffix == ".ipynb" for p in item.iterdir()):
                    # Only other assignments' folders: not this assignment's missing notebook, and not a student.
                    skipped.append(Skipped(item.name, str(R("other_assignment", folders=", ".join(other),
                                                            assignment=assignment))))
                    continue
            if item.is_dir():
                _from_folder(item / assignment if (item / assignment).is_dir() and not (item / assignment).is_symlink()
                             else item, sub, notebook, skipped, item.name)
            elif item.suffix == ".zip":
                _from_zip(item, sub, notebook)
            else:
                sub.data = _read_capped(item, sub)
            if kind == "canvas-late":
                sub.notes.append(R("canvas_late"))
            _add(found, sub)
    for sub in exported:
        _add(found, sub)
    return list(found.values()), skipped


def _add(found: dict[str, Submission], sub: Submission) -> None:
    if sub.student in found:
        n = 2
        while f"{sub.student}-{n}" in found:
            n += 1
        sub.notes.append(R("same_id", student=repr(sub.student), renamed=f"{sub.student}-{n}"))
        sub.student, sub.review = f"{sub.student}-{n}", True
    if sub.problem:
        sub.review = True
    found[sub.student] = sub


def collect_export(path: Path, assignment: str, notebook: str, depth: int = 0, *, timed: bool = True):
    """Every submission in the bulk export ``path``, with timestamps (unless not ``timed``: a plain zip of a
    class's notebooks, whose entries' times are not submission times), and what was not graded (collect's types)."""
    label = path.name
    with tempfile.TemporaryDirectory(prefix="attn-export-") as tmp:
        root = Path(tmp) / "export"
        root.mkdir()
        try:
            times, refused = lms.unpack(path, root)
        except (zipfile.BadZipFile, OSError, RuntimeError, ValueError) as exc:
            return [], [Skipped(label, f"the export cannot be read as a zip archive ({type(exc).__name__})")]
        # The collect stage reads every notebook into memory: nothing refers to the temporary folder afterwards.
        subs, skipped = collect(root, assignment, notebook, _depth=depth + 1, _times=times)
        prefix = str(root) + "/"
        for sub in subs:
            if sub.origin.startswith(prefix):  # a folder or file of the export
                rel = sub.origin.removeprefix(prefix)
                found = [t for path, t in times.items() if path == rel or path.startswith(rel + "/")]
            else:  # several files of one student (Canvas, Moodle flat): their names, joined by the collect stage
                rel = sub.origin
                found = [times[name] for name in sub.origin.split(", ") if name in times]
                if sub.graded_file in times:  # the file graded (the newest re-submission) gives the time
                    found = [times[sub.graded_file]]
            if timed and sub.timestamp is None and found:  # an nbgrader timestamp.txt inside the export wins
                sub.timestamp = max(found)
            sub.origin = f"{label}: {rel}"
    skipped = [Skipped(f"{label}/{s.name}", s.reason) for s in skipped]
    skipped += [Skipped(f"{label}/{name}", reason) for name, reason in refused]
    return subs, skipped
