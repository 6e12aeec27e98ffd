"""The Chinese edition's catalogs: extract, update, check, and build.

    python -m bookbuild.translations update          # after changing English text: refresh every catalog
    python -m bookbuild.translations check [PO ...]  # what is untranslated, fuzzy, or breaks the markup
    python -m bookbuild.translations stats           # messages per catalog
    python -m bookbuild.translations dump PO [--all]  # numbered untranslated (or all) messages, for translators
    python -m bookbuild.translations apply PO FILE.json   # set translations {"<number>": "<Chinese>", ...}

``update`` runs Sphinx's gettext builder (templates in ``_build/gettext/``) and ``sphinx-intl update``, which
adds new English messages to ``locales/zh_CN/LC_MESSAGES/<page>.po`` with an empty translation, marks a changed
message *fuzzy* (keeping the old translation as a hint) and drops removed ones. ``check`` is what the book build
runs before the Chinese build: it fails on any untranslated or fuzzy message, and on a translation that does
not keep the message's markup — the same glued numbers, citations, cross-references, glossary links, inline
math, inline code and link targets as the English.
"""
from __future__ import annotations

import re
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from bookbuild.paths import REPO
LOCALES = REPO / "locales"
LANG = "zh_CN"
CATALOGS = LOCALES / LANG / "LC_MESSAGES"
POT = REPO / "_build" / "gettext"

# Markup a translation must keep, as (name, pattern, what to compare).
_MATH = re.compile(r"(?<![\\$])\$(?!\$)([^$]+?)(?<!\\)\$")
_LINK = re.compile(r"\]\(([^)\s]+)\)")
_ROLE_TARGET = re.compile(r"<([^<>]+)>\s*$")


def _roles(roles: list[tuple[str, str]]) -> Counter:
    """Roles with the part that must not change: the whole content of glue/cite/ref roles, the target of
    ``{term}`` (``{term}`shown <target>``` or ``{term}`target```)."""
    out = Counter()
    for name, content in roles:
        if name == "term":
            m = _ROLE_TARGET.search(content)
            out[(name, (m.group(1) if m else content).strip().lower())] += 1
        elif name in ("ref", "doc", "numref", "download") and _ROLE_TARGET.search(content):
            out[(name, _ROLE_TARGET.search(content).group(1))] += 1
        else:
            out[(name, content)] += 1
    return out


def _spans(text: str) -> tuple[list[tuple[str, str]], list[str], str]:
    """Scan a message left to right: its roles ``(name, content)``, its inline code spans, and the rest."""
    roles, code, rest, i = [], [], [], 0
    role_start = re.compile(r"\{([a-z:]+)\}`")
    while i < len(text):
        m = role_start.match(text, i)
        if m:
            end = text.find("`", m.end())
            if end != -1:
                roles.append((m.group(1), text[m.end():end]))
                rest.append(" ")
                i = end + 1
                continue
        if text[i] == "`":
            run = len(text[i:]) - len(text[i:].lstrip("`"))
            end = text.find("`" * run, i + run)
            if end != -1:
                code.append(text[i + run:end].strip())
                rest.append(" ")
                i = end + run
                continue
        rest.append(text[i])
        i += 1
    return roles, code, "".join(rest)


def markup(text: str) -> dict[str, Counter]:
    """The markup of one message that its translation must reproduce."""
    roles, code, rest = _spans(text)
    return {
        "roles": _roles(roles),
        "inline math": Counter(m.strip() for m in _MATH.findall(rest)),
        "inline code": Counter(code),
        "link targets": Counter(_LINK.findall(rest)),
    }


@dataclass
class Problem:
    catalog: str
    msgid: str
    what: str

    def __str__(self) -> str:
        short = self.msgid if len(self.msgid) < 90 else self.msgid[:87] + "..."
        return f"{self.catalog}: {self.what}: {short!r}"


def _read(path: Path):
    from babel.messages.pofile import read_po

    with open(path, "rb") as f:
        return read_po(f, abort_invalid=True)


def check_catalog(path: Path) -> list[Problem]:
    """Every problem of one catalog (empty list: ready to build)."""
    name = str(path.relative_to(CATALOGS)) if path.is_relative_to(CATALOGS) else str(path)
    problems = []
    for message in _read(path):
        if not message.id:
            continue
        msgid = message.id if isinstance(message.id, str) else message.id[0]
        msgstr = message.string if isinstance(message.string, str) else (message.string or [""])[0]
        if message.fuzzy:
            problems.append(Problem(name, msgid, "fuzzy (the English changed; check and clear the flag)"))
            continue
        if not msgstr.strip():
            problems.append(Problem(name, msgid, "untranslated"))
            continue
        want, got = markup(msgid), markup(msgstr)
        for kind in want:
            if want[kind] != got[kind]:
                missing = want[kind] - got[kind]
                extra = got[kind] - want[kind]
                detail = "; ".join(filter(None, [f"missing {sorted(missing)}" if missing else "",
                                                 f"not in English {sorted(extra)}" if extra else ""]))
                problems.append(Problem(name, msgid, f"{kind} differ ({detail})"))
    return problems


def stale_catalogs() -> list[Problem]:
    """Messages of the English pages (the gettext templates) missing from the catalogs, and catalogs missing."""
    problems = []
    for pot in sorted(POT.rglob("*.pot")):
        rel = pot.relative_to(POT).with_suffix(".po")
        po = CATALOGS / rel
        if not po.exists():
            problems.append(Problem(str(rel), "", "no catalog; run `python -m bookbuild.translations update`"))
            continue
        have = {m.id for m in _read(po) if m.id}
        for message in _read(pot):
            if message.id and message.id not in have:
                problems.append(Problem(str(rel), message.id if isinstance(message.id, str) else message.id[0],
                                        "new English message; run `python -m bookbuild.translations update`"))
    return problems


def catalogs() -> list[Path]:
    """The book's catalogs (the exercises' catalogs, ``exercises/*.po``, are checked by ``autograder.authoring.translate``)."""
    return sorted((CATALOGS / "book").rglob("*.po"))


def check(paths: list[Path] | None = None, against_templates: bool = True) -> list[Problem]:
    problems: list[Problem] = []
    if against_templates and POT.exists():
        problems += stale_catalogs()
    for path in paths or catalogs():
        problems += check_catalog(Path(path).resolve())
    return problems


def gettext(env: dict | None = None) -> int:
    """Extract the English messages into ``_build/gettext/`` (Sphinx's gettext builder, about 15 s)."""
    return subprocess.call([sys.executable, "-m", "bookbuild.sphinx_run", "gettext", str(POT),
                            str(REPO / "_build" / ".doctrees-gettext")], cwd=REPO, env=env)


def update(env: dict | None = None) -> int:
    status = gettext(env)
    if status:
        return status
    sphinx_intl = Path(sys.executable).parent / "sphinx-intl"
    return subprocess.call([str(sphinx_intl), "update", "-p", str(POT), "-l", LANG, "-d", str(LOCALES),
                            "-w", "0"], cwd=REPO)


def stats() -> dict[str, int]:
    return {str(p.relative_to(CATALOGS)): sum(1 for m in _read(p) if m.id) for p in catalogs()}


def _messages(path: Path) -> list:
    return [m for m in _read(path) if m.id]


def dump(path: Path, everything: bool = False) -> str:
    """The catalog's messages numbered in file order (untranslated or fuzzy only, unless ``everything``)."""
    lines = []
    for number, m in enumerate(_messages(path), 1):
        if everything or m.fuzzy or not m.string:
            lines.append(f"[{number}] {m.id}")
            if m.string:
                lines.append(f"    (current{', fuzzy' if m.fuzzy else ''}) {m.string}")
    return "\n".join(lines)


def apply(path: Path, translations: dict[str, str]) -> int:
    """Set the translations of messages by their ``dump`` number, clearing the fuzzy flag; returns how many."""
    from babel.messages.pofile import write_po

    catalog = _read(path)
    messages = [m for m in catalog if m.id]
    for key, text in translations.items():
        message = messages[int(key) - 1]
        message.string = text
        message.flags.discard("fuzzy")
    with open(path, "wb") as f:
        write_po(f, catalog, width=0, omit_header=False)
    return len(translations)


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__, file=sys.stderr)
        return 2
    if argv[0] == "update":
        return update()
    if argv[0] == "check":
        problems = check([Path(a) for a in argv[1:]] or None, against_templates=not argv[1:])
        for problem in problems:
            print(problem)
        print(f"{len(problems)} problem(s)" if problems else "all catalogs complete and consistent")
        return 1 if problems else 0
    if argv[0] == "dump" and len(argv) >= 2:
        print(dump(Path(argv[1]), "--all" in argv[2:]))
        return 0
    if argv[0] == "apply" and len(argv) == 3:
        import json

        n = apply(Path(argv[1]), json.loads(Path(argv[2]).read_text(encoding="utf-8")))
        problems = check_catalog(Path(argv[1]).resolve())
        print(f"applied {n} translation(s); {len(problems)} problem(s) left in {argv[1]}")
        for problem in problems:
            if problem.what != "untranslated":
                print(problem)
        return 0
    if argv[0] == "stats":
        counts = stats()
        for name, n in counts.items():
            print(f"{n:5d}  {name}")
        print(f"{sum(counts.values()):5d}  messages in {len(counts)} catalogs")
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
