"""Chinese wording of the feedback page, for submissions of the Chinese release (``autograder.translate``).

The page's fixed text comes from ``LABELS``; the grader's reasons and notes are built from a small set of
sentence patterns (``autograder/stages/judge.py``, ``autograder/checking.py``), each of which has a Chinese
pattern in ``PATTERNS``. A reason that matches none (a new pattern, or the text of a student's own exception)
is shown as it is.
"""
from __future__ import annotations

import re

LABELS = {
    "title": "{assignment} 反馈：{student}",
    "heading": "{assignment}：{student} 的反馈",
    "score": "得分：{total} / {max}",
    "question": "题目",
    "points": "分值",
    "score_col": "得分",
    "why": "失分原因",
    "notes": "评分程序的说明：",
    "not_run": "你的 notebook 无法运行，因此没有更多内容可以显示。",
    "answer": "你的答案",
    "extra": "你添加的单元",
    "test": "测试",
    "locked": "给定代码",
    "did_not_run": "这个单元没有运行。",
    "passed": "通过",
    "points_line": "得分（扣分前）：{raw} / {max}",
    "late": "提交时间晚于截止时间 {late}{ext}：迟交扣 {penalty} 分。",
    "with_extension": "（已计入你的延期）",
    "comment_col": "评分老师的评语",
    "set_by_grader": "此分数由评分老师给定（自动评分：{auto}）。",
    "set_by_grader_cell": "评分老师给定的分数：{got} / {points}",
    "comment": "评分老师的评语：",
    "day": "{n} 天", "days": "{n} 天", "hours": "{n} 小时", "minutes": "{n} 分钟",
}

# (English pattern, Chinese template); groups are carried over. Order matters: specific before general.
_P = [
    (r"not answered yet \(the function raised NotImplementedError\)", "尚未作答（函数抛出了 NotImplementedError）"),
    (r"this test did not run: (?P<a>.+)", "这个测试没有运行：{a}"),
    (r"this test did not finish: (?P<a>.+)", "这个测试没有运行完：{a}"),
    (r"the notebook stopped before it", "notebook 在它之前就停止了"),
    (r"the notebook stopped in it", "notebook 在它运行时停止了"),
    (r"the test ran longer than its time limit \((?P<a>[^)]*) for the cell\)", "测试超过了时间限制（每个单元 {a}）"),
    (r"the test failed before its hidden tests ran: (?P<a>.+)", "测试在隐藏测试运行之前就失败了：{a}"),
    (r"the hidden tests of (?P<a>\S+) did not run", "{a} 的隐藏测试没有运行"),
    (r"the test cell raised (?P<a>.+)", "测试单元抛出了 {a}"),
    (r"(?P<a>\S+): on the hidden case '(?P<b>[^']*)' \((?P<c>.*)\): (?P<d>.+)", "{a}：在隐藏用例 “{b}”（{c}）上：{d}"),
    (r"did not finish within (?P<a>\S+) s \(the time limit of a function's hidden cases\)",
     "没有在 {a} 秒内完成（函数隐藏用例的时间限制）"),
    (r"the function stopped the process \((?P<a>.*)\)", "函数终止了进程（{a}）"),
    (r"no result came back", "没有返回结果"),
    (r"the result has shape (?P<a>\(.*?\)), expected shape (?P<b>\(.*?\))", "结果的形状是 {a}，应为 {b}"),
    (r"the result should be a numeric numpy array, got (?P<a>\S+)", "结果应为数值型 numpy 数组，实际得到 {a}"),
    (r"the result should be a tuple of (?P<a>\d+) values, got (?P<b>\S+)", "结果应为 {a} 个值的元组，实际得到 {b}"),
    (r"the result has NaN in (?P<a>\d+) place\(s\) where it should not \(or misses one\)",
     "结果有 {a} 处不该出现的 NaN（或缺少应有的 NaN）"),
    (r"the result has infinite values in the wrong places", "结果在错误的位置出现了无穷大"),
    (r"the result should be boolean", "结果应为布尔数组"),
    (r"the result has (?P<a>\d+) wrong entries", "结果有 {a} 个元素错误"),
    (r"raised (?P<a>\w+): (?P<b>.*)", "抛出了 {a}：{b}"),
    (r"the notebook ran out of time \((?P<a>\S+) s in all\)", "notebook 超时（总计 {a} 秒）"),
    (r"the notebook used more memory than allowed \((?P<a>\d+) MB in all\) and was killed",
     "notebook 使用的内存超过上限（总计 {a} MB），已被终止"),
    (r"the notebook's process ended \(exit status (?P<a>-?\d+), e\.g\. os\._exit or exit\(\)\)",
     "notebook 的进程退出了（退出码 {a}，例如调用了 os._exit 或 exit()）"),
    (r"cell (?P<a>\d+) ran longer than its time limit \((?P<b>\S+) s\) and was interrupted",
     "第 {a} 个单元超过了时间限制（{b} 秒），已被中断"),
    (r"answer cell '(?P<a>[^']*)' is missing from the notebook", "答案单元 “{a}” 不在 notebook 中"),
    (r"test cell '(?P<a>[^']*)' was missing; the original was put back", "测试单元 “{a}” 缺失；已放回原始版本"),
]
PATTERNS = [(re.compile(rf"^{en}$", re.S), zh) for en, zh in _P]


def translate(text: str) -> str:
    """The Chinese wording of one reason or note (nested patterns are translated too)."""
    for pattern, template in PATTERNS:
        m = pattern.match(text)
        if m:
            return template.format(**{k: translate(v) for k, v in m.groupdict().items()})
    for pattern, template in PATTERNS:  # a known pattern inside a longer sentence
        m = pattern.pattern.strip("^$")
        found = re.search(m, text, re.S)
        if found and found.group(0) != text:
            return text[:found.start()] + translate(found.group(0)) + text[found.end():]
    return text
