"""The Chinese edition: complete catalogs, the same numbers as the English edition, Chinese exercises that
grade like the English ones, feedback in the submission's language."""
from __future__ import annotations

import html
import json
import re
from collections import Counter
from pathlib import Path

import pytest

from bookbuild import translations
from bookbuild.build import REPO, toc_pages
from bookbuild.sphinx_ext import glossary_chinese, glossary_terms
from tests.conftest import ASSIGNMENTS

PAGES = toc_pages(REPO)


# --- catalogs --------------------------------------------------------------------------------------------

def test_every_page_has_a_catalog():
    have = {str(p.relative_to(translations.CATALOGS).with_suffix("")) for p in translations.catalogs()}
    assert set(PAGES) <= have, f"pages without a catalog: {sorted(set(PAGES) - have)}"


@pytest.mark.parametrize("catalog", translations.catalogs(), ids=lambda p: str(p.relative_to(translations.CATALOGS)))
def test_book_catalog_complete_and_consistent(catalog):
    problems = translations.check_catalog(catalog)
    assert not problems, "\n".join(map(str, problems[:20]))


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_exercise_catalog_complete_and_consistent(assignment):
    from autograder.authoring.translate import problems

    found = problems(assignment)
    assert not found, "\n".join(found[:20])


def test_markup_check_catches_a_changed_number_a_lost_link_and_changed_math():
    english = "The weight is {glue:text}`w:.2f` for {term}`keys <key>`, with $\\sqrt{d_k}$ and `np.exp`."
    good = "权重为 {glue:text}`w:.2f`，对应 {term}`键 <key>`，并有 $\\sqrt{d_k}$ 和 `np.exp`。"
    assert translations.markup(english) == translations.markup(good)
    for bad in (good.replace("w:.2f", "w:.3f"),            # another format: another number
                good.replace("{term}`键 <key>`", "键"),     # a glossary link dropped
                good.replace("{term}`键 <key>`", "{term}`键 <value>`"),
                good.replace("\\sqrt{d_k}", "d_k"),
                good.replace("`np.exp`", "np.exp"),
                good.replace("权重为 {glue:text}`w:.2f`", "权重为 0.37")):
        assert translations.markup(english) != translations.markup(bad), bad


def test_checker_reports_untranslated_and_fuzzy(tmp_path):
    po = tmp_path / "page.po"
    po.write_text('msgid ""\nmsgstr "Content-Type: text/plain; charset=UTF-8\\n"\n\n'
                  'msgid "Attention"\nmsgstr ""\n\n#, fuzzy\nmsgid "Query"\nmsgstr "查询"\n\n'
                  'msgid "Key"\nmsgstr "键"\n', encoding="utf-8")
    what = sorted(p.what.split(" ")[0] for p in translations.check_catalog(po))
    assert what == ["fuzzy", "untranslated"]


# --- glossary ------------------------------------------------------------------------------------------

def test_glossary_has_the_terms_chinese_readers_look_for():
    terms = glossary_terms(REPO)
    chinese = " ".join(glossary_chinese(REPO).values())
    assert len(terms) >= 80, len(terms)
    for word in ["聚焦式注意力", "显著性注意力", "分心模型", "硬性注意力", "软性注意力", "全局注意力", "局部注意力",
                 "循环神经网络", "长距离依赖", "梯度消失", "交叉熵", "束搜索", "教师强制", "注意力机制", "软寻址",
                 "语义编码", "对齐", "自注意力", "多头注意力", "位置编码", "掩码"]:
        assert word in chinese, f"{word} is not the Chinese name of any glossary term"
    text = (REPO / "book" / "glossary.md").read_text(encoding="utf-8")
    assert "递归神经网络" in text, "the RNN entry should say why not 递归神经网络"


# --- the built editions ------------------------------------------------------------------------------

_PASTED = re.compile(r'<span class="pasted-text">(.*?)</span>', re.S)


@pytest.mark.slow
@pytest.mark.xdist_group("book")
@pytest.mark.parametrize("page", PAGES)
def test_both_editions_show_the_same_glued_numbers(built_book, page):
    """Every number glued into the text of the English page is glued into the Chinese page too (the same
    values, as often), and the Chinese page is really translated."""
    english = (built_book / f"{page}.html").read_text(encoding="utf-8")
    chinese = (built_book / "zh" / f"{page}.html").read_text(encoding="utf-8")
    en, zh = Counter(_PASTED.findall(english)), Counter(_PASTED.findall(chinese))
    assert en == zh, f"only in English: {dict(en - zh)}; only in Chinese: {dict(zh - en)}"
    figures = lambda text: sorted(re.findall(r'<img [^>]*src="([^"]*_images/[^"]+)"', text))  # noqa: E731
    assert [Path(f).name for f in figures(english)] == [Path(f).name for f in figures(chinese)], "figures differ"
    body = re.sub(r"<[^>]+>", " ", chinese.split('<article', 1)[-1])
    assert len(re.findall(r"[\u4e00-\u9fff]", body)) > 100, "the Chinese page has little Chinese text"


@pytest.mark.slow
@pytest.mark.xdist_group("book")
def test_chinese_search_index_is_segmented_by_jieba(built_book):
    index = (built_book / "zh" / "searchindex.js").read_text(encoding="utf-8")
    data = json.loads(index[index.index("(") + 1: index.rindex(")")])
    for word in ["注意力", "自注意力", "位置编码", "查询"]:
        assert word in data["terms"], f"{word} is not a search term of the Chinese edition"
    assert "注意力机制的三个阶段" not in data["terms"], "whole phrases indexed: Chinese text was not segmented"


# --- exercises in Chinese -------------------------------------------------------------------------------

_CJK = re.compile(r"[\u4e00-\u9fff]")
# An English word: three letters or more that are not part of a name (x_1, d_model, W_q) or a call (tanh(, GRU().
_ENGLISH_WORD = re.compile(r"(?<![\w.])[A-Za-z]{3,}(?![\w(])")


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_chinese_release_is_in_sync_and_only_the_words_differ(assignment, tmp_path):
    """The Chinese release is what the catalog makes of the English one: the same cells, ids and nbgrader metadata,
    every instruction cell in Chinese, every code cell running the same code (the same syntax tree once docstrings
    and messages are blanked) with its docstrings, comments and messages in Chinese, and the checksum of every
    changed cell recomputed as nbgrader computes it (so nbgrader sees no locked cell changed)."""
    from nbformat import from_dict
    from nbgrader.utils import compute_checksum

    from autograder import code_messages
    from autograder.authoring.translate import META_KEY, ZH_EXERCISES, release_zh

    fresh = release_zh(assignment, tmp_path)
    committed = ZH_EXERCISES / assignment
    for nb_path in sorted(fresh.glob("*.ipynb")):
        mine = committed / nb_path.name
        assert mine.exists(), f"exercises/zh/{assignment}/{nb_path.name} is missing"
        assert mine.read_text(encoding="utf-8") == nb_path.read_text(encoding="utf-8"), (
            f"exercises/zh/{assignment}/{nb_path.name} is out of date: `python -m autograder translate release`")
        zh = json.loads(nb_path.read_text(encoding="utf-8"))
        en = json.loads((REPO / "exercises" / assignment / nb_path.name).read_text(encoding="utf-8"))
        assert zh["metadata"][META_KEY]["language"] == "zh_CN"
        assert [c.get("id") for c in zh["cells"]] == [c.get("id") for c in en["cells"]]
        for a, b in zip(en["cells"], zh["cells"]):
            ga, gb = a["metadata"].get("nbgrader", {}), b["metadata"].get("nbgrader", {})
            assert {k: v for k, v in ga.items() if k != "checksum"} == {k: v for k, v in gb.items() if k != "checksum"}
            source = "".join(b["source"])
            if "checksum" in gb:
                assert gb["checksum"] == compute_checksum(from_dict({**b, "source": source})), gb.get("grade_id")
            if a["cell_type"] == "code":
                assert {k: v for k, v in a.items() if k not in ("source", "metadata")} == \
                       {k: v for k, v in b.items() if k not in ("source", "metadata")}
                assert code_messages.skeleton(source) == code_messages.skeleton("".join(a["source"])), (
                    f"{gb.get('grade_id')}: the Chinese cell runs different code")
                for kind, text in code_messages.messages(source):
                    assert _CJK.search(text) or not _ENGLISH_WORD.search(text), (
                        f"{gb.get('grade_id')}: an English {kind} in the Chinese release: {text!r}")
            elif len("".join(a["source"])) > 40:
                assert _CJK.search(source), "an instruction cell is not translated"


def test_translate_check_refuses_a_translation_that_breaks_the_code(tmp_path, monkeypatch):
    """`translate check` (and the release, which refuses while it finds something) catches, in a catalog: an
    f-string's placeholder lost, a quote that ends the string early, half-width punctuation in Chinese, and a code
    message left untranslated."""
    from autograder.authoring import translate

    catalogs = tmp_path / "exercises"
    catalogs.mkdir()
    text = translate.catalog_path("07-multihead").read_text(encoding="utf-8")
    assert translate.problems("07-multihead") == []
    broken = (text.replace('msgstr "合并必须还原拆分（h = {h}）"', 'msgstr "合并必须还原拆分"')
                  .replace('msgstr "各个头按顺序拼接"', 'msgstr "各个头按\\"顺序\\"拼接"')  # PO escapes: 按"顺序"拼接
                  .replace('msgstr "没有批量轴；h = d_model 时每个头的大小为 1"', 'msgstr "没有批量轴;h = d_model 时每个头的大小为 1"')
                  .replace('msgstr "任何头都不能看到后面的位置"', 'msgstr ""'))
    assert broken.count("\n") == text.count("\n") and broken != text
    (catalogs / "07-multihead.po").write_text(broken, encoding="utf-8")
    monkeypatch.setattr("autograder.catalogs.CATALOGS", catalogs)
    found = "\n".join(translate.problems("07-multihead"))
    assert "does not keep the placeholders of 'merge must undo split (h = {h})'" in found
    assert "breaks the string's quotes" in found and "not valid Python" in found
    assert "half-width punctuation" in found and "untranslated: message 'no head may look ahead'" in found
    with pytest.raises(RuntimeError, match="not complete"):
        translate.release_zh("07-multihead", tmp_path / "out")


def test_translate_update_follows_the_english_code(tmp_path, monkeypatch):
    """`translate update` leaves a catalog's file alone when nothing changed; when a test message of the English
    release changes, it keeps the old translation as a fuzzy hint, and check asks for a translator."""
    import shutil

    from autograder.authoring import translate

    catalogs, exercises = tmp_path / "catalogs", tmp_path / "exercises"
    catalogs.mkdir()
    shutil.copy(translate.catalog_path("03-qkv"), catalogs / "03-qkv.po")
    shutil.copytree(REPO / "exercises" / "03-qkv", exercises / "03-qkv")
    monkeypatch.setattr("autograder.catalogs.CATALOGS", catalogs)
    monkeypatch.setattr(translate, "EXERCISES", exercises)
    before = (catalogs / "03-qkv.po").read_bytes()
    translate.update("03-qkv")
    assert (catalogs / "03-qkv.po").read_bytes() == before
    nb_path = exercises / "03-qkv" / "qkv.ipynb"
    nb = nb_path.read_text(encoding="utf-8")
    assert "a fully masked row must be all zeros (no nan)" in nb
    nb_path.write_text(nb.replace("a fully masked row must be all zeros (no nan)",
                                  "a fully masked row must be all zeros (not nan)"), encoding="utf-8")
    translate.update("03-qkv")
    catalog = translate._read(catalogs / "03-qkv.po")
    message = catalog.get("a fully masked row must be all zeros (not nan)", context="message")
    assert message.fuzzy and message.string == "整行都被遮住时必须全为零（不能有 nan）"
    assert catalog.get("a fully masked row must be all zeros (no nan)", context="message") is None
    assert translate.problems("03-qkv") == [
        "03-qkv: fuzzy (the English changed): message 'a fully masked row must be all zeros (not nan)' "
        "(qkv.ipynb:masked-softmax-tests)"]


def test_the_issues_example_is_chinese_in_the_chinese_release():
    """The visible test's message a solver of the Chinese assignment 03 met in English (issue 25)."""
    en = (REPO / "exercises" / "03-qkv" / "qkv.ipynb").read_text(encoding="utf-8")
    zh = (REPO / "exercises" / "zh" / "03-qkv" / "qkv.ipynb").read_text(encoding="utf-8")
    assert "a fully masked row must be all zeros (no nan)" in en
    assert "a fully masked row must be all zeros (no nan)" not in zh
    assert "整行都被遮住时必须全为零（不能有 nan）" in zh and "沿 ``scores`` 的最后一个轴做 softmax" in zh


def test_feedback_language_follows_the_submission():
    from autograder.reasons import R, render
    from autograder.catalogs import notebook_language

    assert notebook_language({"metadata": {"attention_course": {"language": "zh_CN"}}, "cells": []}) == "zh_CN"
    assert notebook_language({"metadata": {}, "cells": [{"cell_type": "markdown", "source": "Softmax " * 20}]}) == "en"
    stripped = {"metadata": {}, "cells": [{"cell_type": "markdown", "source": "计算注意力权重并返回加权求和的结果。" * 5}]}
    assert notebook_language(stripped) == "zh_CN"
    reason = R("on_case", name="softmax", label="a single element", call="softmax(array(3,) float64)",
               problem=R("wrong_shape", what=R("result"), shape="(3, 1)", expected="(3,)"))
    assert render(reason) == ("softmax: on the hidden case 'a single element' (softmax(array(3,) float64)): "
                              "the result has shape (3, 1), expected shape (3,)")
    said = render(reason, "zh_CN")
    assert said.startswith("softmax：在隐藏用例 “单个元素”") and "结果的形状是 (3, 1)，应为 (3,)" in said, said
    assert render("something stored before reasons were data", "zh_CN") == "something stored before reasons were data"


@pytest.mark.xdist_group("hostile")
def test_chinese_and_english_submissions_grade_alike_with_feedback_in_their_language(tmp_path):
    """The same answers in the English and the Chinese notebook get the same (hand-derived) scores; each
    student's feedback page is in the language of the notebook the student worked in."""
    from autograder.term import grade
    from autograder.grading.sandbox import Limits
    from autograder.authoring.translate import ZH_EXERCISES
    from tests.samples import build, modules

    assignment = "03-qkv"
    mod = modules()[assignment]
    folder = tmp_path / "submissions"
    folder.mkdir()
    chosen = dict(list(mod.SAMPLES.items())[:3])
    expected = {}
    for name, sample in chosen.items():
        for lang, release in (("en", None), ("zh", ZH_EXERCISES)):
            (folder / f"{lang}-{name}.ipynb").write_text(json.dumps(build(assignment, sample, release)), encoding="utf-8")
            expected[f"{lang}-{name}"] = float(sample.score)
    limits = Limits(function_timeout=15, cell_timeout=8, notebook_timeout=300)
    rows = grade(assignment, folder, tmp_path / "out", limits=limits, progress=False)
    assert {r["student_id"]: float(r["score"]) for r in rows} == expected
    from autograder.catalogs import code_translations
    from autograder.grading.prepare import load_assignment

    tests = "\n".join(c.shown for c in load_assignment(assignment).cells if c.role == "test")
    test_messages = [(en, zh) for (kind, en), zh in code_translations(assignment).items()
                     if kind == "message" and en in tests and len(en) > 20]
    assert len(test_messages) >= 3, test_messages
    for student in expected:
        (page,) = (tmp_path / "out" / "feedback" / student / assignment).glob("*.html")
        text = page.read_text(encoding="utf-8")
        if student.startswith("zh-"):
            assert "<html lang='zh-CN'>" in text and "失分原因" in text and "作业" in text, student
            # The instructor's test cells go back into a Chinese notebook as its release has them: their messages
            # and comments in Chinese on the page (the grader's own copy of each cell, not the student's).
            for english, chinese in test_messages:
                assert html.escape(chinese) in text and html.escape(english) not in text, (student, english)
        else:
            assert "<html lang='en'>" in text and "why points were lost" in text and "失分原因" not in text


@pytest.mark.xdist_group("hostile")
def test_a_chinese_notebook_with_stripped_metadata_grades_like_an_english_one(tmp_path):
    """A tool that strips every cell's nbgrader metadata: the grader matches answer cells by the functions they
    define and puts the instructor's tests back, so the Chinese notebook (whose test cells' first lines are
    translated) gets the same scores as the English one."""
    from autograder.term import grade
    from autograder.grading.sandbox import Limits
    from autograder.authoring.translate import ZH_EXERCISES
    from tests.samples import build, modules

    mod = modules()["03-qkv"]
    folder = tmp_path / "submissions"
    folder.mkdir()
    expected = {}
    for name in ("correct", "wrong-cosine", "broken-masked-softmax-raises"):
        for lang, release in (("en", None), ("zh", ZH_EXERCISES)):
            nb = build("03-qkv", mod.SAMPLES[name], release)
            for cell in nb["cells"]:
                cell["metadata"] = {}
            (folder / f"{lang}-{name}.ipynb").write_text(json.dumps(nb), encoding="utf-8")
            expected[f"{lang}-{name}"] = float(mod.SAMPLES[name].score)
    rows = grade("03-qkv", folder, tmp_path / "out", limits=Limits(function_timeout=15, cell_timeout=8,
                                                                  notebook_timeout=300), progress=False)
    assert {r["student_id"]: float(r["score"]) for r in rows} == expected
    # And the same cells were matched: each test cell by its first line, translated in the Chinese notebook, so
    # the Chinese one gets the English one's notes (metadata lost), not "test restored from the source".
    notes = {p.stem: json.loads(p.read_text())["notes"] for p in (tmp_path / "out" / "work" / "results").glob("*.json")}
    for name in ("correct", "wrong-cosine", "broken-masked-softmax-raises"):
        assert notes[f"zh-{name}"] == notes[f"en-{name}"], name
        assert "test_restored" not in json.dumps(notes[f"zh-{name}"]), notes[f"zh-{name}"]


@pytest.mark.slow
@pytest.mark.xdist_group("book")
def test_chinese_pages_give_the_chinese_exercise_notebook(built_book):
    """The Chinese chapter's download link gives the Chinese release of its assignment; the English one the English."""
    page = "book/03-three-stages/index.html"
    for edition, language in ((built_book, "en"), (built_book / "zh", "zh_CN")):
        text = (edition / page).read_text(encoding="utf-8")
        hrefs = re.findall(r'href="([^"]*_downloads/[^"]*qkv\.ipynb)"', text)
        assert hrefs, f"{edition / page}: no download link to qkv.ipynb"
        nb = json.loads(((edition / page).parent / hrefs[0]).resolve().read_text(encoding="utf-8"))
        got = nb["metadata"].get("attention_course", {}).get("language", "en")
        assert got == language, f"{edition / page} links a notebook in {got}"


@pytest.mark.slow
@pytest.mark.xdist_group("book")
def test_every_glossary_term_links_to_where_it_is_taught_in_both_editions(built_book):
    def first_uses(path: Path) -> dict[str, int]:
        text = path.read_text(encoding="utf-8")
        return {m.group(1): len(re.findall(r'class="glossary-uses"', m.group(2)))
                for m in re.finditer(r'<dt id="(term-[^"]+)"(.*?)(?=<dt id=|</dl>)', text, re.S)}

    english = first_uses(built_book / "book" / "glossary.html")
    chinese = first_uses(built_book / "zh" / "book" / "glossary.html")
    assert len(english) == len(glossary_terms(REPO)) and set(chinese) == set(english)
    assert not [t for t, n in english.items() if not n], "terms with no 'First used in' link (English)"
    assert not [t for t, n in chinese.items() if not n], "terms with no '首次出现于' link (Chinese)"


@pytest.mark.slow
@pytest.mark.xdist_group("book")
def test_chinese_navigation_and_title_are_translated(built_book):
    """The sidebar's part captions (from _toc.yml) and the book's title are Chinese in the Chinese edition."""
    import yaml
    from babel.messages.pofile import read_po

    with open(translations.CATALOGS / "book" / "intro.po", "rb") as f:
        catalog = read_po(f)
    toc = yaml.safe_load((REPO / "_toc.yml").read_text(encoding="utf-8"))
    captions = [part["caption"] for part in toc.get("parts", [])]
    assert captions
    page = (built_book / "zh" / "book" / "03-three-stages" / "index.html").read_text(encoding="utf-8")
    nav = page.split('<nav class="bd-docs-nav', 1)[-1].split("</nav>", 1)[0]
    for caption in captions:
        chinese = catalog.get(caption).string
        assert chinese and chinese in nav and caption not in nav, caption
    title = re.search(r"<title>(.*?)</title>", page).group(1)
    assert re.search(r"[\u4e00-\u9fff]", title.split("&#8212;")[-1]), f"untranslated book title in {title!r}"


def _diagram_texts(page: Path) -> set[str]:
    """Every line of text drawn in the ``{graphviz}`` diagrams of a built page (whitespace normalised)."""
    found = set()
    for src in re.findall(r'(?:src|data)="([^"]*graphviz-[0-9a-f]+\.svg)"', page.read_text(encoding="utf-8")):
        svg = (page.parent / src).read_text(encoding="utf-8")
        found |= {" ".join(html.unescape(t).split()) for t in re.findall(r"<text[^>]*>([^<]*)</text>", svg)}
    return found


@pytest.mark.slow
@pytest.mark.xdist_group("book")
def test_diagrams_are_labelled_in_chinese_in_the_chinese_edition(built_book):
    """Every label of a diagram that holds words (``bookbuild.i18n.dot_labels``) is drawn in Chinese in the Chinese
    edition: each line of its translation is in the page's diagrams, and no line of the English that the translation
    changed is (the English edition draws the English)."""
    from babel.messages.pofile import read_po

    from bookbuild.i18n import dot_labels

    def lines(label):
        return {" ".join(line.split()) for line in label.split("\\n")} - {""}

    checked = 0
    for md in sorted((REPO / "book").rglob("*.md")):
        labels = [label for block in re.findall(r"```\{graphviz\}(.*?)```", md.read_text(encoding="utf-8"), re.S)
                  for label in dot_labels(block)]
        if not labels:
            continue
        page = md.relative_to(REPO).with_suffix("")
        with open(translations.CATALOGS / page.with_suffix(".po"), "rb") as fh:
            table = {m.id: m.string for m in read_po(fh) if m.id}
        en, zh = _diagram_texts(built_book / page.with_suffix(".html")), _diagram_texts(built_book / "zh" / page.with_suffix(".html"))
        for label in labels:
            assert lines(label) <= en, (str(page), label)
            assert lines(table[label]) <= zh, (str(page), label, table[label])
            assert not (lines(label) - lines(table[label])) & zh, (str(page), label)
            checked += 1
    assert checked >= 80, checked
