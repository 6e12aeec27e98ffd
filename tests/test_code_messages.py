"""The words of code cells as messages (autograder/code_messages.py): which strings and comments are messages,
that a translation replaces only them (everything else byte for byte), and that the check catches a translation
that breaks Python, a placeholder, a comment after code, or the code itself."""
from __future__ import annotations

import json

import pytest

from autograder import code_messages as cm
from autograder.course import EXERCISES
from autograder.authoring.translate import style_problems
from tests.conftest import ASSIGNMENTS

CELL = '''import numpy as np


def masked_softmax(scores, mask=None):
    """Softmax over the last axis (``None``: every position);
    a row with no allowed position is all zeros.

    Computed by ``torch.softmax``.
    """
    # YOUR CODE HERE
    return scores  # a row with nothing allowed: 0/0 -> 0


# Two lines of comment
# that make one sentence.
x = np.zeros(3)  # (5, 5, 3)
assert x.sum() == 0, "a fully masked row must be all zeros (no nan)"
for h in (1, 2):
    assert h > 0, f"merge must undo split (h = {h})"
print("most salient pixel:", x, b"bytes stay")
assert x.shape, "{} of {n}".format(1, n=2)
assert x.ndim, "%d dims of %s" % (1, "x")
ax_title = "scene"
'''


def zh(kind: str, text: str) -> str:
    """A stand-in translation that keeps every placeholder and line structure."""
    return "【中】" + text.replace("\n", "\n【中】")


def test_what_is_a_message():
    found = cm.messages(CELL)
    assert found == [
        ("docstring", "Softmax over the last axis (``None``: every position);\na row with no allowed position is all zeros."),
        ("docstring", "Computed by ``torch.softmax``."),
        ("comment", "YOUR CODE HERE"),
        ("comment", "a row with nothing allowed: 0/0 -> 0"),
        ("comment", "Two lines of comment\nthat make one sentence."),
        ("message", "a fully masked row must be all zeros (no nan)"),
        ("message", "merge must undo split (h = {h})"),
        ("message", "most salient pixel:"),
        ("message", "{} of {n}"),
        ("message", "%d dims of %s"),
    ]
    # Not messages: a shape comment, a bytes literal, strings used as data (a plot title), code.
    texts = [t for _, t in found]
    assert "(5, 5, 3)" not in texts and "scene" not in texts and "bytes stay" not in texts


def test_translation_changes_only_the_words():
    assert cm.translate(CELL, lambda kind, text: None) == CELL
    out = cm.translate(CELL, zh)
    assert '''    """【中】Softmax over the last axis (``None``: every position);
    【中】a row with no allowed position is all zeros.

    【中】Computed by ``torch.softmax``.
    """
    # 【中】YOUR CODE HERE
    return scores  # 【中】a row with nothing allowed: 0/0 -> 0


# 【中】Two lines of comment
# 【中】that make one sentence.
x = np.zeros(3)  # (5, 5, 3)
''' in out
    assert 'f"【中】merge must undo split (h = {h})"' in out and 'print("【中】most salient pixel:", x, b"bytes stay")' in out
    assert cm.skeleton(out) == cm.skeleton(CELL)
    assert cm.problems(CELL, zh) == []
    # The translated cell runs: the f-string still formats its placeholder.
    namespace = {}
    with pytest.raises(AssertionError, match=r"【中】merge must undo split \(h = 1\)"):
        exec(compile(out.replace("assert h > 0", "assert h > 1"), "cell", "exec"), namespace)


def test_a_docstring_or_comment_block_may_change_its_number_of_lines():
    one_line = cm.translate(CELL, lambda k, t: "两行注释，一句话。" if t.startswith("Two lines") else None)
    assert "\n# 两行注释，一句话。\nx = np.zeros(3)" in one_line and cm.problems(CELL, lambda k, t: "两行注释，一句话。"
                                                                          if t.startswith("Two lines") else None) == []
    three = cm.translate(CELL, lambda k, t: "第一行\n第二行\n第三行" if t.startswith("Computed") else None)
    assert '    第一行\n    第二行\n    第三行\n    """' in three and cm.skeleton(three) == cm.skeleton(CELL)


@pytest.mark.parametrize("english, bad, why", [
    ("merge must undo split (h = {h})", "合并必须还原拆分", "placeholders"),             # a placeholder dropped
    ("merge must undo split (h = {h})", "合并必须还原拆分（h = {h}，{x}）", "placeholders"),  # one added
    ("merge must undo split (h = {h})", "合并必须还原拆分（h = {h!r}）", "placeholders"),     # its conversion changed
    ("{} of {n}", "{n} 中的 {}", "placeholders"),                                      # automatic fields reordered
    ("%d dims of %s", "%s 的 %d 维", "placeholders"),
    ("a fully masked row must be all zeros (no nan)", '整行"全为零', "quotes"),
    ("a fully masked row must be all zeros (no nan)", '整行" if x else "全为零', "quotes"),
    ("a fully masked row must be all zeros (no nan)", "整行全为零\\", "quotes"),
    ("a row with nothing allowed: 0/0 -> 0", "没有允许的位置：\n0/0 -> 0", "one line"),
    ("Computed by ``torch.softmax``.", 'Computed by """torch.softmax', "quotes"),
])
def test_check_catches_a_broken_translation(english, bad, why):
    found = cm.problems(CELL, lambda kind, text: bad if text == english else None)
    assert any(why in p for p in found), found


def test_named_fields_of_a_format_string_may_move():
    assert cm.problems(CELL, lambda k, t: "{n} 中的 {}" if t == "{} of {n}" else None)  # automatic: order matters
    cell = 'assert x, "{a} of {b}".format(a=1, b=2)\n'
    assert cm.problems(cell, lambda k, t: "{b} 中的 {a}") == []


def test_a_translation_cannot_change_the_code():
    """Whatever a translation holds, the rewritten cell either runs the same code or the check says it does not."""
    sneaky = 'x" if print("hi") else "y'
    found = cm.problems(CELL, lambda k, t: sneaky if t.startswith("a fully") else None)
    assert any("runs different code" in p or "not valid Python" in p for p in found), found
    # A line of a comment's translation is a comment too: no code gets in that way.
    injected = cm.translate(CELL, lambda k, t: "注释\nimport os" if t.startswith("Two lines") else None)
    assert "\n# 注释\n# import os\n" in injected and cm.skeleton(injected) == cm.skeleton(CELL)


def test_style_of_the_chinese():
    assert style_problems("整行都被遮住时必须全为零（不能有 nan）") == []
    assert style_problems("每个（查询，键）对一个得分：(..., n_q, n_k)。") == []
    assert style_problems("整行都被遮住时必须全为零(不能有 nan)")          # half-width parentheses in Chinese
    assert style_problems("得分相等,输出是平均值")                         # a half-width comma
    assert style_problems("整行都被遮住时必须全为零（不能有nan）")          # no space between Chinese and Latin
    assert style_problems("第0个位置") and style_problems("沿``axis``的 softmax")


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_every_released_code_cell_survives_a_translation(assignment):
    """On every code cell of the English release: no translation gives the cell back byte for byte, and a
    translation of every message runs the same code (the release's cells are all understood)."""
    for path in sorted((EXERCISES / assignment).glob("*.ipynb")):
        for cell in json.loads(path.read_text(encoding="utf-8"))["cells"]:
            if cell["cell_type"] != "code":
                continue
            source = "".join(cell["source"])
            assert cm.translate(source, lambda k, t: None) == source
            assert cm.translate(source, lambda k, t: t) == source
            assert cm.problems(source, zh) == [], source
            assert cm.skeleton(cm.translate(source, zh)) == cm.skeleton(source)
