"""Bulk exports of a learning-management system: one zip holding every student's files, read safely.

* Canvas's "Download submissions" (``submissions.zip``): flat entries ``<lastfirst>_[LATE_]<userid>_<submissionid>_<file>``;
* Moodle's "Download all submissions": folders ``<Full Name>_<id>_assignsubmission_file_/<file>`` (or, with
  "download in folders" off, flat ``<Full Name>_<id>_assignsubmission_file_<file>``).

The export is unpacked into a temporary folder and handed to the collect stage, which parses the names as it does
for an unpacked export (``collect.py``): one submission per student, ``LATE`` noted. Each submission's
``timestamp`` is the latest modification time of its notebook (or zip) entries in the archive, as naive UTC, the
way nbgrader keeps times: from the entry's Unix extended timestamp (ZIP extra field 0x5455, UTC) when the archive
has one, else from ZIP's basic date and time, which has no time zone and is read as UTC.

Reading is bounded and confined: an entry whose name is absolute or climbs out (``..``) is not unpacked; nor are
symbolic links, encrypted entries, entries beyond ``MAX_ENTRIES``, an entry whose uncompressed size passes
``MAX_NOTEBOOK_BYTES`` (counted while reading, whatever its header claims), nor anything once the whole export has
given ``export_budget`` bytes (a zip bomb stops there). Each is reported with the reason in the summary's
*Not graded* list. Only notebooks and zip archives are written out; other files are written empty, so that the
collect stage lists them as not graded (and nbgrader's ``timestamp.txt``, in a zipped nbgrader course folder, is
kept and wins over the archive's time). A student's own zip inside the export is read as the collect stage reads
any student zip.
"""
from __future__ import annotations

import stat
import zipfile
from datetime import datetime, timezone
from pathlib import Path

from autograder.grading import submission
from autograder.grading.submission import CANVAS_RE, MOODLE_RE

MAX_ENTRIES = 20_000
CHUNK = 1 << 20
#: An export's entries may expand to at most this many times its own size (and at least MIN_BUDGET bytes).
MAX_RATIO = 100
MIN_BUDGET = 256 << 20
MAX_BUDGET = 8 << 30
KEPT = (".ipynb", ".zip")


def export_budget(path: Path) -> int:
    """Uncompressed bytes one export may give in all: generous for notebooks, small for a zip bomb."""
    return min(MAX_BUDGET, max(MIN_BUDGET, MAX_RATIO * path.stat().st_size))


def _name(info: zipfile.ZipInfo) -> str:
    """The entry's name as its writer meant it: UTF-8 names written without ZIP's UTF-8 flag are decoded again."""
    name = info.filename
    if not info.flag_bits & 0x800:
        try:
            name = name.encode("cp437").decode("utf-8")
        except (UnicodeEncodeError, UnicodeDecodeError):
            pass
    return name


def _parts(name: str) -> list[str] | None:
    """The path components of an entry, or None if the name is absolute or climbs out of the export."""
    name = name.replace("\\", "/")
    if name.startswith("/") or (len(name) > 1 and name[1] == ":"):
        return None
    parts = [p for p in name.split("/") if p not in ("", ".")]
    if not parts or ".." in parts or any("\0" in p for p in parts):
        return None
    return parts


def entry_time(info: zipfile.ZipInfo) -> datetime | None:
    """The entry's modification time as naive UTC (extended timestamp if present, else ZIP's basic time)."""
    extra = info.extra
    i = 0
    while i + 4 <= len(extra):
        tag = int.from_bytes(extra[i:i + 2], "little")
        size = int.from_bytes(extra[i + 2:i + 4], "little")
        data = extra[i + 4:i + 4 + size]
        if tag == 0x5455 and len(data) >= 5 and data[0] & 1:
            seconds = int.from_bytes(data[1:5], "little", signed=True)
            return datetime.fromtimestamp(seconds, timezone.utc).replace(tzinfo=None)
        i += 4 + size
    try:
        return datetime(*info.date_time)
    except ValueError:
        return None


def _top_names(zf: zipfile.ZipFile) -> list[str]:
    names = []
    for info in zf.infolist()[:MAX_ENTRIES]:
        parts = _parts(_name(info))
        if parts and parts[0] != "__MACOSX" and not parts[0].startswith("."):
            names.append(parts[0] + ("/" if len(parts) > 1 or info.is_dir() else ""))
    return names


def is_bulk_export(path: Path) -> bool:
    """True when ``path`` is a zip whose top-level entries are named the way Canvas or Moodle name submissions
    (and no notebook at its top level is named otherwise: then it is one student's own zip)."""
    try:
        with zipfile.ZipFile(path) as zf:
            names = _top_names(zf)
    except (zipfile.BadZipFile, OSError, RuntimeError, ValueError):
        return False
    lms = [n for n in names if MOODLE_RE.match(n.rstrip("/")) or (not n.endswith("/") and CANVAS_RE.match(n))]
    strays = [n for n in names if n.endswith(".ipynb") and n not in lms]
    return bool(lms) and not strays


def is_class_zip(path: Path, notebook: str) -> bool:
    """True when ``path`` is a plain zip of a class's ``<student>.ipynb`` files: several notebooks at its top
    level, none named after the assignment's notebook (a student's own zip holds ``<notebook>.ipynb``)."""
    try:
        with zipfile.ZipFile(path) as zf:
            names = _top_names(zf)
    except (zipfile.BadZipFile, OSError, RuntimeError, ValueError):
        return False
    books = [n for n in names if n.endswith(".ipynb")]
    return len(set(books)) > 1 and f"{notebook}.ipynb" not in books


def unpack(path: Path, dest: Path) -> tuple[dict[str, datetime], list[tuple[str, str]]]:
    """Unpack the export ``path`` into ``dest`` within the bounds of the module doc.

    Returns the time of every notebook and zip entry unpacked (by its path in the export), and the entries not
    unpacked, as (name, reason).
    """
    times: dict[str, datetime] = {}
    refused: list[tuple[str, str]] = []
    budget = export_budget(path)
    with zipfile.ZipFile(path) as zf:
        infos = zf.infolist()
        for info in infos[MAX_ENTRIES:]:
            refused.append((_name(info), f"the export has more than {MAX_ENTRIES} entries; the rest were not read"))
        written: set[tuple[str, ...]] = set()
        for info in infos[:MAX_ENTRIES]:
            name = _name(info)
            parts = _parts(name)
            if parts is None:
                refused.append((name, "an unsafe path in the archive (absolute or with '..'); not unpacked"))
                continue
            if info.is_dir() or parts[0] == "__MACOSX":
                continue
            if stat.S_ISLNK(info.external_attr >> 16):
                refused.append((name, "a symbolic link in the archive; not followed"))
                continue
            if info.flag_bits & 0x1:
                refused.append((name, "an encrypted entry; it cannot be read"))
                continue
            key = tuple(parts)
            if key in written:
                refused.append((name, "a second entry with the same name in the archive; the first was kept"))
                continue
            target = dest.joinpath(*parts)
            keep = target.suffix.lower() in KEPT or target.name == "timestamp.txt"  # nbgrader's, in a zipped course
            try:
                target.parent.mkdir(parents=True, exist_ok=True)
                if target.parent.is_symlink() or not target.parent.resolve().is_relative_to(dest.resolve()):
                    refused.append((name, "an unsafe path in the archive; not unpacked"))
                    continue
                with open(target, "xb") as out:
                    if keep:
                        size, cap = 0, min(submission.MAX_NOTEBOOK_BYTES, budget)
                        with zf.open(info) as fh:
                            # Read at most one byte past the cap, whatever the entry's header claims.
                            while size <= cap and (chunk := fh.read(min(CHUNK, cap + 1 - size))):
                                size += len(chunk)
                                out.write(chunk)
                        budget -= size
                        if size > cap:
                            out.close()
                            target.unlink()
                            why = (f"its uncompressed size passes {submission.MAX_NOTEBOOK_BYTES >> 20} MB" if size > submission.MAX_NOTEBOOK_BYTES
                                   else "the export expands to more than allowed (a zip bomb?); it was not read further")
                            refused.append((name, why))
                            budget = max(budget, 0)
                            continue
            except (OSError, zipfile.BadZipFile, RuntimeError, EOFError, ValueError) as exc:
                refused.append((name, f"it cannot be unpacked ({type(exc).__name__})"))
                target.unlink(missing_ok=True)
                continue
            written.add(key)
            when = entry_time(info)
            if keep and when is not None:
                times["/".join(parts)] = when
    return times, refused
