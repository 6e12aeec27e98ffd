"""The Chinese release of the assignments, generated from the English release and a gettext catalog.

    python -m autograder translate update     # refresh locales/zh_CN/LC_MESSAGES/exercises/<assignment>.po
    python -m autograder translate release    # write exercises/zh/<assignment>/<notebook>.ipynb
    python -m autograder translate check      # untranslated, fuzzy or inconsistent messages

The one hand-written version of an assignment stays the source notebook in ``solutions/``; ``nbgrader
generate_assignment`` makes the English release in ``exercises/<assignment>/``. Its instruction cells (Markdown)
are split into messages — one per paragraph, heading or list — and the Chinese release is that same notebook
with each message replaced by its translation from ``locales/zh_CN/LC_MESSAGES/exercises/<assignment>.po``.
Code cells, cell ids and nbgrader metadata are untouched (checksums of the translated locked cells are
recomputed with nbgrader's own function), so a Chinese notebook is graded exactly like an English one, and the
grader writes its feedback in the language the submission was released in (notebook metadata
``attention_course.language``; if a student's tool stripped it, Chinese text in the instruction cells).

The catalogs are made from the *release*, never from the solutions: they hold no answer and no hidden test.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

from autograder.catalogs import LANG, META_KEY, blocks, catalog_path, read_catalog as _read, translate_markdown, translations
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


def update(assignment: str) -> Path:
    """Create or refresh the assignment's catalog: new messages empty, changed ones fuzzy, gone ones dropped."""
    from babel.messages.catalog import Catalog
    from babel.messages.pofile import write_po

    template = Catalog(locale=LANG, project=f"exercises/{assignment}")
    for text in messages(assignment):
        template.add(text)
    path = catalog_path(assignment)
    if path.exists():
        catalog = _read(path)
        if {m.id for m in catalog if m.id} == {m.id for m in template if m.id} and not catalog.obsolete:
            return path  # nothing changed: leave the file (and its dates) alone
        catalog.update(template, no_fuzzy_matching=False)
        catalog.obsolete.clear()
    else:
        catalog = Catalog(locale=LANG, project=f"exercises/{assignment}")
        for message in template:
            if message.id:
                catalog.add(message.id)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as f:
        write_po(f, catalog, width=0, omit_header=False)
    return path


def problems(assignment: str) -> list[str]:
    from bookbuild.translations import markup

    table_all = {m.id: m for m in _read(catalog_path(assignment)) if m.id} if catalog_path(assignment).exists() else {}
    out = []
    for text in messages(assignment):
        message = table_all.get(text)
        short = text[:70].replace("\n", " ")
        if message is None:
            out.append(f"{assignment}: not in the catalog (run `python -m autograder translate update`): {short!r}")
        elif message.fuzzy:
            out.append(f"{assignment}: fuzzy (the English changed): {short!r}")
        elif not message.string:
            out.append(f"{assignment}: untranslated: {short!r}")
        elif markup(text) != markup(message.string):
            out.append(f"{assignment}: markup differs from the English: {short!r}")
    return out


def release_zh(assignment: str, out_dir: Path = ZH_EXERCISES) -> Path:
    """Write the Chinese release of ``assignment`` (refuses while its catalog has a problem)."""
    from nbgrader.utils import compute_checksum
    from nbformat import from_dict

    found = problems(assignment)
    if found:
        raise RuntimeError("the Chinese catalog is not complete:\n  " + "\n  ".join(found[:20]))
    table = translations(assignment)
    target = Path(out_dir) / assignment
    target.mkdir(parents=True, exist_ok=True)
    for old in target.glob("*.ipynb"):
        old.unlink()
    for path in release_notebooks(assignment):
        nb = json.loads(path.read_text(encoding="utf-8"))
        for cell in nb["cells"]:
            if cell["cell_type"] != "markdown":
                continue
            text = translate_markdown("".join(cell["source"]), table)
            cell["source"] = text.splitlines(keepends=True)
            meta = cell.get("metadata", {}).get("nbgrader")
            if meta and "checksum" in meta:
                # nbgrader checksums the source as one string (as nbformat.read gives it), not as a list of lines
                meta["checksum"] = compute_checksum(from_dict({**cell, "source": text}))
        nb["metadata"][META_KEY] = {"language": LANG, "translated_from": f"exercises/{assignment}/{path.name}"}
        (target / path.name).write_text(json.dumps(nb, indent=1, sort_keys=True, ensure_ascii=False) + "\n",
                                        encoding="utf-8")
    return target
