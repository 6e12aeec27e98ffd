"""The Chinese release of the assignments, generated from the English release and a gettext catalog.

    python -m autograder translate update     # refresh locales/zh_CN/LC_MESSAGES/exercises/<assignment>.po
    python -m autograder translate release    # write exercises/zh/<assignment>/<notebook>.ipynb
    python -m autograder translate check      # untranslated, fuzzy or inconsistent messages

The one hand-written version of an assignment stays the source notebook in ``solutions/``; ``nbgrader
generate_assignment`` makes the English release in ``exercises/<assignment>/``. Its instruction cells (Markdown)
are split into messages — one per paragraph, heading or list — and the Chinese release is that same notebook
with each message replaced by its translation from ``locales/zh_CN/LC_MESSAGES/exercises/<assignment>.po``.

The code cells' words are messages of the same catalog, with a context (``msgctxt``) saying what they are
(``autograder.code_messages``): ``docstring`` (one per paragraph), ``comment`` and ``message`` (an ``assert``'s
or a ``print``'s string). Only those words change: a translated cell must parse and have the same syntax tree as
the English one once its docstrings and messages are blanked, and an f-string's translation must keep its
placeholders (``check`` says where not; ``release`` refuses). Cell ids and nbgrader metadata are untouched, and
the checksum of every changed cell (Markdown, locked code, test or answer cell) is recomputed with nbgrader's own
function, so a Chinese notebook is graded exactly like an English one: the grader matches cells by ``grade_id``
and runs the instructor's locked and test cells whatever the student's notebook holds. It writes its feedback in
the language the submission was released in (notebook metadata ``attention_course.language``; if a student's tool
stripped it, Chinese text in the instruction cells).

The catalogs are made from the *release*, never from the solutions: they hold no answer and no hidden test.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

from autograder import code_messages
from autograder.catalogs import (LANG, META_KEY, blocks, catalog_path, code_translations, read_catalog as _read,
                                 translate_code, translate_markdown, translations)
from autograder.course import EXERCISES

ZH_EXERCISES = EXERCISES / "zh"
def is_message(block: str) -> bool:
    """Prose to translate (not a code block, a display formula or a line of symbols)."""
    stripped = block.strip()
    return bool(re.search(r"[A-Za-z]{2}", stripped)) and not stripped.startswith(("```", "$$"))


def release_notebooks(assignment: str) -> list[Path]:
    return sorted((EXERCISES / assignment).glob("*.ipynb"))


def messages(assignment: str) -> list[str]:
    """The instruction messages of an assignment's English release, in order, without duplicates."""
    seen: dict[str, None] = {}
    for path in release_notebooks(assignment):
        nb = json.loads(path.read_text(encoding="utf-8"))
        for cell in nb["cells"]:
            if cell["cell_type"] == "markdown":
                for block in blocks("".join(cell["source"])):
                    if is_message(block):
                        seen.setdefault(block, None)
    return list(seen)


def code_cells(assignment: str) -> list[tuple[str, str, str]]:
    """(notebook, grade_id, source) of every code cell of the assignment's English release."""
    out = []
    for path in release_notebooks(assignment):
        nb = json.loads(path.read_text(encoding="utf-8"))
        for cell in nb["cells"]:
            if cell["cell_type"] == "code":
                gid = (cell.get("metadata", {}).get("nbgrader") or {}).get("grade_id") or cell.get("id", "?")
                out.append((path.name, gid, "".join(cell["source"])))
    return out


_WHAT = {code_messages.DOCSTRING: "a paragraph of a docstring", code_messages.COMMENT: "a # comment",
         code_messages.MESSAGE: "the message of an assert or a print"}


def code_message_list(assignment: str) -> list[tuple[str, str, list[str]]]:
    """(kind, English text, where) of the code cells' messages, in order, without duplicates; ``where`` lists the
    cells (``notebook:grade_id``) it is in."""
    seen: dict[tuple[str, str], list[str]] = {}
    for notebook, gid, source in code_cells(assignment):
        for kind, text in code_messages.messages(source):
            where = seen.setdefault((kind, text), [])
            if f"{notebook}:{gid}" not in where:
                where.append(f"{notebook}:{gid}")
    return [(kind, text, where) for (kind, text), where in seen.items()]


def update(assignment: str) -> Path:
    """Create or refresh the assignment's catalog: new messages empty, changed ones fuzzy, gone ones dropped."""
    from babel.messages.catalog import Catalog
    from babel.messages.pofile import write_po

    template = Catalog(locale=LANG, project=f"exercises/{assignment}")
    for text in messages(assignment):
        template.add(text)
    for kind, text, where in code_message_list(assignment):
        template.add(text, context=kind, auto_comments=[f"{_WHAT[kind]} in {', '.join(where)}"])
    path = catalog_path(assignment)

    def keys(cat):  # the messages, their contexts and automatic comments (which the .po file wraps)
        return [(m.id, m.context, "".join("".join(m.auto_comments).split())) for m in cat if m.id]

    if path.exists():
        catalog = _read(path)
        if keys(catalog) == keys(template) and not catalog.obsolete:
            return path  # nothing changed: leave the file (and its dates) alone
        catalog.update(template, no_fuzzy_matching=False)
        catalog.obsolete.clear()
    else:
        catalog = Catalog(locale=LANG, project=f"exercises/{assignment}")
        for message in template:
            if message.id:
                catalog.add(message.id, context=message.context, auto_comments=message.auto_comments)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as f:
        write_po(f, catalog, width=0, omit_header=False)
    return path


_CJK_THEN_ASCII_PUNCT = re.compile(r"[\u4e00-\u9fff][,;:!?()]|[()][\u4e00-\u9fff]")
_CJK_TOUCHES_LATIN = re.compile(r"[\u4e00-\u9fff][A-Za-z0-9`]|[A-Za-z0-9`][\u4e00-\u9fff]")


def style_problems(translation: str) -> list[str]:
    """The Chinese style rules a check can see: full-width punctuation in Chinese prose, a space between Chinese
    and Latin text (letters, digits, inline code)."""
    out = []
    if _CJK_THEN_ASCII_PUNCT.search(translation):
        out.append(f"half-width punctuation next to Chinese text ({_CJK_THEN_ASCII_PUNCT.search(translation).group()!r})")
    if _CJK_TOUCHES_LATIN.search(translation):
        out.append(f"no space between Chinese and Latin text ({_CJK_TOUCHES_LATIN.search(translation).group()!r})")
    return out


def _message_problem(message, text: str) -> list[str]:
    """What is wrong with one catalog entry for the English ``text`` (None: not in the catalog)."""
    from bookbuild.translations import markup

    if message is None:
        return ["not in the catalog (run `python -m autograder translate update`)"]
    if message.fuzzy:
        return ["fuzzy (the English changed)"]
    if not message.string:
        return ["untranslated"]
    if markup(text) != markup(message.string):
        return ["markup differs from the English"]
    return style_problems(message.string)


def problems(assignment: str) -> list[str]:
    """Everything that stops the Chinese release of ``assignment``: messages missing, untranslated, fuzzy or
    breaking markup or style; code cells whose translation breaks Python, a placeholder or the code itself."""
    catalog = _read(catalog_path(assignment)) if catalog_path(assignment).exists() else []
    table_all = {(m.id, m.context): m for m in catalog if m.id}
    out = []
    for text in messages(assignment):
        short = repr(text[:70].replace("\n", " "))
        out += [f"{assignment}: {p}: {short}" for p in _message_problem(table_all.get((text, None)), text)]
    for kind, text, where in code_message_list(assignment):
        short = f"{kind} {text[:60].replace(chr(10), ' ')!r} ({where[0]})"
        out += [f"{assignment}: {p}: {short}" for p in _message_problem(table_all.get((text, kind)), text)]
    table = code_translations(assignment)
    for notebook, gid, source in code_cells(assignment):
        out += [f"{assignment}: {notebook}:{gid}: {p}"
                for p in code_messages.problems(source, lambda kind, text: table.get((kind, text)))]
    return out


def release_zh(assignment: str, out_dir: Path = ZH_EXERCISES) -> Path:
    """Write the Chinese release of ``assignment`` (refuses while its catalog has a problem)."""
    from nbgrader.utils import compute_checksum
    from nbformat import from_dict

    found = problems(assignment)
    if found:
        raise RuntimeError("the Chinese catalog is not complete:\n  " + "\n  ".join(found[:20]))
    table, code_table = translations(assignment), code_translations(assignment)
    target = Path(out_dir) / assignment
    target.mkdir(parents=True, exist_ok=True)
    for old in target.glob("*.ipynb"):
        old.unlink()
    for path in release_notebooks(assignment):
        nb = json.loads(path.read_text(encoding="utf-8"))
        for cell in nb["cells"]:
            source = "".join(cell["source"])
            if cell["cell_type"] == "markdown":
                text = translate_markdown(source, table)
            elif cell["cell_type"] == "code":
                text = translate_code(source, code_table)
            else:
                continue
            if text == source:
                continue
            cell["source"] = text.splitlines(keepends=True)
            meta = cell.get("metadata", {}).get("nbgrader")
            if meta and "checksum" in meta:
                # nbgrader checksums the source as one string (as nbformat.read gives it), not as a list of lines
                meta["checksum"] = compute_checksum(from_dict({**cell, "source": text}))
        nb["metadata"][META_KEY] = {"language": LANG, "translated_from": f"exercises/{assignment}/{path.name}"}
        (target / path.name).write_text(json.dumps(nb, indent=1, sort_keys=True, ensure_ascii=False) + "\n",
                                        encoding="utf-8")
    return target
