"""Reasons for lost points and notes on a run are data (``autograder.reasons``), worded once per language.

Every code has an English and a Chinese template with the same parameters; every hidden case's label has a
Chinese name; the Chinese feedback page of a graded sample has no English sentence; nothing in the grader words
a reason itself any more.
"""
from __future__ import annotations

import ast
import html
import json
import re
import string
from dataclasses import asdict

import pytest

from autograder import labels_zh
from autograder.grading.cases import rng_for
from autograder.reasons import EN, R, ZH, Reason, html_of, load, render
from autograder.grading.specs import all_specs

from tests import REPO


def _fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}


def test_every_code_has_both_templates_with_the_same_parameters():
    assert set(EN) == set(ZH), f"only English: {sorted(set(EN) - set(ZH))}; only Chinese: {sorted(set(ZH) - set(EN))}"
    for code in EN:
        assert _fields(EN[code]) == _fields(ZH[code]), code
        words = ZH[code].format(**{f: "" for f in _fields(ZH[code])})
        assert re.search(r"[\u4e00-\u9fff]", words) or not re.search(r"[A-Za-z]{3,}", words), code


def _codes_used() -> dict[str, str]:
    """Every ``R("code", ...)`` and ``R(f"role_...")`` in the package and the probe's wire dicts: code -> file."""
    used = {}
    for path in sorted((REPO / "autograder").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "R" and node.args:
                arg = node.args[0]
                if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                    used[arg.value] = path.name
                elif isinstance(arg, ast.IfExp):
                    for side in (arg.body, arg.orelse):
                        if isinstance(side, ast.Constant):
                            used[side.value] = path.name
            if isinstance(node, ast.Dict):  # the probe's {"code": ..., "params": ...}
                keys = [k.value for k in node.keys if isinstance(k, ast.Constant)]
                if keys[:1] == ["code"] and isinstance(node.values[0], ast.Constant):
                    used[node.values[0].value] = path.name
    return used


def test_every_code_the_grader_uses_has_templates():
    used = _codes_used()
    assert len(used) > 40
    missing = {c: f for c, f in used.items() if c not in EN}
    assert not missing, missing
    roles = {"answer", "extra", "test", "locked"}
    assert {f"role_{r}" for r in roles} <= set(EN)


def test_nothing_words_a_reason_in_english_by_hand():
    """The grader's stages hand reasons on as data: no f-string sentence is appended to notes or returned as a
    problem (the old way, which the Chinese page had to back-parse)."""
    offenders = []
    for path in sorted((REPO / "autograder" / "grading").rglob("*.py")):  # the grading room, every stage
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "append"
                    and getattr(node.func.value, "id", getattr(node.func.value, "attr", "")) == "notes"
                    and node.args and isinstance(node.args[0], (ast.JoinedStr, ast.Constant))):
                offenders.append(f"{path.name}:{node.lineno}")
            if isinstance(node, ast.FunctionDef) and node.name.startswith("compare"):
                for ret in ast.walk(node):
                    if isinstance(ret, ast.Return) and isinstance(ret.value, (ast.JoinedStr, ast.Constant)) \
                            and ret.value is not None and getattr(ret.value, "value", 0) is not None:
                        offenders.append(f"{path.name}:{ret.lineno}")
    assert not offenders, offenders


def test_a_reason_is_stored_as_data_and_a_stored_string_renders_as_itself():
    from autograder.grading.judge import StudentResult

    reason = R("on_case", name="f", label="random 2", call="f(array(2,) float64)",
               problem=R("wrong_values", what=R("element", i=1, of=R("result")), n=3, size=8, error="0.5"))
    result = StudentResult("s", {"q": 0.0}, {"q": reason, "old": "an old sentence"}, [R("canvas_late"), "old note"],
                           False, [], 0.0, "k")
    back = StudentResult(**asdict(result))
    assert back.reasons == {"q": reason, "old": "an old sentence"}
    assert back.notes == [R("canvas_late"), "old note"]
    assert render(back.reasons["old"], "zh") == "an old sentence"
    assert str(reason) == ("f: on the hidden case 'random 2' (f(array(2,) float64)): element 1 of the result is wrong "
                           "in 3 of 8 entries (largest error 0.5)")
    assert render(reason, "zh") == ("f：在隐藏用例 “随机用例 2”（f(array(2,) float64)）上：结果的第 1 个元素在 8 个元素中"
                                    "有 3 个错误（最大误差 0.5）")
    assert "<code>f</code>" in html_of(reason, "zh") and "<script>" not in html_of(R("raised", type="E", message="<script>"))
    assert load({"code": "canvas_late", "params": {}}) == Reason("canvas_late", {})


def test_every_case_label_has_a_chinese_name():
    missing = {}
    for folder in sorted((REPO / "solutions").iterdir()):
        if not folder.is_dir():
            continue
        for name, spec in all_specs(folder.name).items():
            for seed in range(6):
                for case in spec.cases(rng_for(f"{folder.name}/{name}", seed)):
                    key, _ = labels_zh.key(case.label)
                    if key not in labels_zh.LABELS:
                        missing.setdefault(key, f"{folder.name}/{name}")
    assert not missing, "labels without a Chinese name (add them to autograder/labels_zh.py):\n" + "\n".join(
        f"    {k!r}: '',  # {v}" for k, v in sorted(missing.items()))
    for zh in labels_zh.LABELS.values():
        assert re.search(r"[\u4e00-\u9fff]", zh) or not re.search(r"[a-z]{4,} [a-z]{4,}", zh), zh
    assert labels_zh.label_zh("axis=1 of a 3-d array") == "3 维数组的 axis=1"
    assert labels_zh.label_zh("random 12 (d_q=3, d_k=5)") == "随机用例 12（d_q=3，d_k=5）"


def _prose(page: str) -> str:
    """What a reader reads as sentences: the page without code, outputs, math, scripts and markup."""
    page = re.sub(r"<(script|style|pre|code)\b.*?</\1>", " ", page, flags=re.S)
    page = re.sub(r"\$\$.*?\$\$|\$[^$\n]+\$|\\\(.*?\\\)|\\\[.*?\\\]", " ", page, flags=re.S)
    page = re.sub(r"<[^>]+>", " ", page)
    return html.unescape(page)


ENGLISH_RUN = re.compile(r"\b[A-Za-z][A-Za-z'-]*(?:[ \t]+[A-Za-z][A-Za-z'-]*){3,}")  # 4+ ASCII words in a row


@pytest.mark.xdist_group("hostile")
def test_the_chinese_feedback_page_has_no_english_sentence(tmp_path):
    """Samples of 03 graded from the Chinese release (a wrong function, one that loops, one that raises, a blank
    notebook): every reason and note on their pages is in Chinese, hidden-case labels included."""
    from autograder.term import grade
    from autograder.grading.sandbox import Limits
    from autograder.authoring.translate import ZH_EXERCISES
    from tests.samples import build, modules

    mod = modules()["03-qkv"]
    names = ["wrong-cosine", "broken-softmax-loops", "broken-masked-softmax-raises", "broken-dot-product-wrong", "blank"]
    folder = tmp_path / "submissions"
    folder.mkdir()
    for name in names:
        (folder / f"{name}.ipynb").write_text(json.dumps(build("03-qkv", mod.SAMPLES[name], ZH_EXERCISES)),
                                              encoding="utf-8")
    rows = grade("03-qkv", folder, tmp_path / "out", limits=Limits(function_timeout=15, cell_timeout=8,
                                                                  notebook_timeout=300), progress=False)
    assert {r["student_id"]: float(r["score"]) for r in rows} == {n: float(mod.SAMPLES[n].score) for n in names}
    for name in names:
        page = (tmp_path / "out" / "feedback" / name / "03-qkv" / "qkv.html").read_text(encoding="utf-8")
        assert "<html lang='zh-CN'>" in page
        english = ENGLISH_RUN.findall(_prose(page))
        assert not english, f"{name}: English on the Chinese page: {english}"
    def page(name):
        return (tmp_path / "out" / "feedback" / name / "03-qkv" / "qkv.html").read_text(encoding="utf-8")

    assert "尚未作答（函数抛出了 NotImplementedError）" in page("blank")
    assert "测试超过了时间限制（每个单元 8 秒）" in page("broken-softmax-loops")
    assert "<code>ValueError: oops</code>" in page("broken-masked-softmax-raises")
    log = (tmp_path / "out" / "logs" / "wrong-cosine.log").read_text()
    assert "the test failed before its hidden tests ran: AssertionError" in log  # the instructor's log: English
