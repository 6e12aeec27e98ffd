"""Per-student feedback page: score table with a reason for every lost point, then the notebook.

The page is one self-contained HTML file (inline CSS, images embedded). Math is typeset by the
course's own MathJax 3 when ``autograder.reports.offline`` and its npm copy are present (embedded in the
page, so it works offline), or by a MathJax at a given URL or path; otherwise it stays readable TeX.
No CDN is ever used. It shows the instructor's text and test cells without their hidden
part, the student's own code and (truncated) outputs, and never the reference or hidden cases.
"""
from __future__ import annotations

import functools
import html

from autograder.grading.judge import png
from autograder.reports.offline import mathjax3_block
from autograder.reasons import html_of, is_code
from autograder.catalogs import translate_markdown, translations

CSS = """
body{font:15px/1.5 system-ui,-apple-system,Segoe UI,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222}
h1{font-size:1.5rem} table{border-collapse:collapse;margin:1rem 0;width:100%}
td,th{border:1px solid #ccc;padding:.35rem .6rem;text-align:left;vertical-align:top}
th{background:#f3f3f3} .full{color:#1a7f37} .lost{color:#b3261e}
.cell{margin:1rem 0} pre{background:#f7f7f7;border:1px solid #e3e3e3;padding:.6rem;overflow-x:auto;white-space:pre-wrap;margin:.2rem 0}
pre.out{background:#fff;border-color:#eee} pre.err{background:#fff5f5;border-color:#f3caca}
.tag{font-size:.8rem;color:#666} .result{padding:.4rem .6rem;border-radius:4px;margin:.2rem 0}
.result.ok{background:#eaf6ec} .result.bad{background:#fdecea} .notes{background:#fff8e1;padding:.5rem 1rem;border-radius:4px} .late{color:#b3261e}
img{max-width:100%} .anchor-link{display:none}
"""


@functools.lru_cache(maxsize=4096)  # the instructor's text is the same on every student's page
def _md(text: str) -> str:
    try:
        from nbconvert.filters.markdown_mistune import markdown2html_mistune
        return markdown2html_mistune(text)
    except Exception:  # noqa: BLE001 - fall back to plain text
        return f"<pre>{html.escape(text)}</pre>"


def _img(data) -> str | None:
    found = png(data)
    return f'<img alt="figure output of this cell" src="data:image/png;base64,{found}">' if found else None


def mathjax_block(mathjax: str | None) -> str:
    """Script tags that typeset the page's math: ``None``/"auto" = the course's MathJax if installed,
    "none" = no script, anything else = the URL or path of MathJax 3's ``tex-*.js``."""
    if mathjax == "none":
        return ""
    if mathjax in (None, "auto"):
        try:
            return mathjax3_block()
        except OSError:
            return ""
    return mathjax3_block(src=html.escape(mathjax))


_EN = {
    "title": "{assignment} feedback: {student}", "heading": "{assignment}: feedback for {student}",
    "score": "Score: {total} / {max}", "points_line": "Points: {raw} / {max}",
    "late": "Submitted {late} after the due date{ext}: late penalty &minus;{penalty} points.",
    "with_extension": " (with your extension)", "question": "question", "points": "points", "score_col": "score",
    "why": "why points were lost", "comment_col": "comment from the grader",
    "set_by_grader": "Score set by a grader (automatic score: {auto}).",
    "set_by_grader_cell": "Score set by a grader: {got} / {points}", "comment": "Comment from the grader: ",
    "notes": "Notes from the grader:",
    "not_run": "Your notebook could not be run, so there is nothing more to show.", "answer": "your answer",
    "extra": "your cell", "test": "test", "locked": "given code", "did_not_run": "This cell did not run.",
    "passed": "passed", "day": "{n} day", "days": "{n} days", "hours": "{n} h", "minutes": "{n} min",
    "seconds": "{n} s",
}

#: The page's own words in Chinese, for a submission of the Chinese release (``autograder.authoring.translate``). Reasons and
#: notes have their own two tables (``autograder.reasons``).
_ZH = {
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
    "seconds": "{n} 秒",
}


def _late(seconds: float, T: dict = _EN) -> str:
    days, rest = divmod(int(round(seconds)), 86400)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    if not days and not hours and not minutes:  # under a minute: to the second, never "0 min"
        return T["seconds"].format(n=seconds)
    parts = [T["day" if days == 1 else "days"].format(n=days)] if days else []
    parts += [T["hours"].format(n=hours)] if hours else []
    parts += [T["minutes"].format(n=minutes)] if minutes or not parts else []
    return " ".join(parts)


def render(assignment, result, mathjax: str | None = None, standing=None) -> str:
    """The page of one student, in the language of the release the student worked in (``result.language``).
    ``standing`` (``autograder.gradebook.standing.Standing``, from the gradebook) gives the final scores: a grader's
    score replaces the automatic one, a grader's comment and a late penalty are shown."""
    page = _Page(assignment, result, standing)
    parts = page.head(mathjax) + page.score() + page.table() + page.notes()
    if not result.cells:
        parts.append(f"<p>{page.T['not_run']}</p>")
    for cell in result.cells:
        parts += page.cell(cell)
    parts.append("</body></html>")
    return "\n".join(parts)


class _Page:
    """One student's page: the words of its language, the scores of the record, and the parts in order."""

    def __init__(self, assignment, result, standing=None):
        self.assignment, self.result, self.st = assignment, result, standing
        self.zh = str(getattr(result, "language", "en") or "en").startswith("zh")
        self.T, self.table_zh = (_ZH, translations(assignment.name)) if self.zh else (_EN, {})
        self.scores = standing.scores if standing is not None else result.scores
        self.manual = standing.manual if standing is not None else {}
        self.comments = standing.comments if standing is not None else {}
        self.answer_comments = standing.answer_comments if standing is not None else {}

    def say(self, reason) -> str:
        """A reason in HTML: the template's words escaped, names and messages as <code>."""
        return html_of(reason, "zh" if self.zh else "en")

    def head(self, mathjax: str | None) -> list[str]:
        e, T, a = html.escape, self.T, self.assignment
        return [f"<!DOCTYPE html><html lang='{'zh-CN' if self.zh else 'en'}'><head><meta charset='utf-8'><title>"
                f"{e(T['title'].format(assignment=a.name, student=self.result.student))}</title><style>{CSS}</style>",
                mathjax_block(mathjax), "</head><body>",
                f"<h1>{e(T['heading'].format(assignment=a.name, student=self.result.student))}</h1>"]

    def score(self) -> list[str]:
        """The final score, after the raw points and the late penalty when there is one."""
        e, T, a = html.escape, self.T, self.assignment
        raw = float(sum(self.scores.get(c.grade_id, 0.0) for c in a.tests))
        penalty = self.st.penalty if self.st is not None else 0.0
        parts = []
        if penalty:
            parts.append(f"<p>{e(T['points_line'].format(raw=f'{raw:g}', max=f'{a.max_score:g}'))}</p>")
            parts.append("<p class='late'>" + T["late"].format(
                late=e(_late(self.st.seconds_late, T)), ext=T["with_extension"] if self.st.extended else "",
                penalty=f"{penalty:g}") + "</p>")
        total = max(0.0, raw - penalty) if penalty else raw
        parts.append(f"<p><strong>{e(T['score'].format(total=f'{total:g}', max=f'{a.max_score:g}'))}</strong></p>")
        return parts

    def table(self) -> list[str]:
        """One row per question: its points, the score, why points were lost, and a grader's comment if any."""
        e, T = html.escape, self.T
        with_comments = bool(self.comments)
        parts = [f"<table><tr><th>{T['question']}</th><th>{T['points']}</th><th>{T['score_col']}</th>"
                 f"<th>{T['why']}</th>" + (f"<th>{T['comment_col']}</th>" if with_comments else "") + "</tr>"]
        for cell in self.assignment.tests:
            gid = cell.grade_id
            got = self.scores.get(gid, 0.0)
            why = self.say(self.result.reasons.get(gid, ""))
            if gid in self.manual:
                auto = self.st.auto.get(gid, 0.0)
                why = (f"{why}<br>" if why else "") + e(T["set_by_grader"].format(auto=f"{auto:g}"))
            parts.append(f"<tr><td>{e(gid)}</td><td>{cell.points:g}</td>"
                         f"<td class='{'full' if got >= cell.points else 'lost'}'>{got:g}</td><td>{why}</td>"
                         + (f"<td>{e(self.comments.get(gid, ''))}</td>" if with_comments else "") + "</tr>")
        parts.append("</table>")
        return parts

    def notes(self) -> list[str]:
        """The grader's notes a student should see (not the sandbox's own stderr)."""
        shown = [n for n in self.result.notes if not is_code(n, "sandbox_stderr")
                 and not (isinstance(n, str) and n.startswith("sandbox stderr"))]
        if not shown:
            return []
        return [f"<div class='notes'><p>{self.T['notes']}</p><ul>", *[f"<li>{self.say(n)}</li>" for n in shown],
                "</ul></div>"]

    def cell(self, cell: dict) -> list[str]:
        """A cell of the notebook as it ran: the instructions (in the page's language), or the code with its outputs
        and, under a test cell, its result."""
        e, T = html.escape, self.T
        if cell["kind"] == "markdown":
            if cell["origin"] != "source":
                return ["<div class='cell'>", f"<pre>{e(cell['shown'])}</pre>", "</div>"]
            text = translate_markdown(cell["shown"], self.table_zh) if self.zh else cell["shown"]
            return ["<div class='cell'>", _md(text), "</div>"]
        parts = ["<div class='cell'>",
                 f"<div class='tag'>{T[cell['role']]}{' ' + e(cell['grade_id']) if cell.get('grade_id') else ''}</div>",
                 f"<pre>{e(cell['shown'])}</pre>"]
        parts += _outputs(cell)
        if not cell.get("ran", True):
            parts.append(f"<div class='result bad'>{T['did_not_run']}</div>")
        if cell["role"] == "answer" and self.answer_comments.get(cell.get("grade_id")):
            # A comment nbgrader's formgrader saved on this answer cell.
            parts.append(f"<div class='notes'>{e(T['comment'])}{e(self.answer_comments[cell['grade_id']])}</div>")
        if cell["role"] == "test":
            parts += self.test_result(cell)
        parts.append("</div>")
        return parts

    def test_result(self, cell: dict) -> list[str]:
        e, T, gid = html.escape, self.T, cell["grade_id"]
        got = self.scores.get(gid, 0.0)
        if gid in self.result.reasons:
            parts = [f"<div class='result bad'>{got:g} / {cell['points']:g}: {self.say(self.result.reasons[gid])}</div>"]
        else:
            parts = [f"<div class='result ok'>{got:g} / {cell['points']:g}: {T['passed']}</div>"]
        if gid in self.manual:
            shown = T["set_by_grader_cell"].format(got=f"{got:g}", points=f"{cell['points']:g}")
            parts.append(f"<div class='result'>{e(shown)}</div>")
        if self.comments.get(gid):
            parts.append(f"<div class='notes'>{e(T['comment'])}{e(self.comments[gid])}</div>")
        return parts


def _outputs(cell: dict) -> list[str]:
    """What a code cell printed and displayed (figures only as real PNGs), and the error of a cell that is not a test."""
    e = html.escape
    parts = []
    if cell.get("stdout"):
        parts.append(f"<pre class='out'>{e(cell['stdout'])}</pre>")
    if cell.get("stderr"):
        parts.append(f"<pre class='out err'>{e(cell['stderr'])}</pre>")
    for disp in cell.get("displays") or []:
        if not isinstance(disp, dict):
            continue
        img = _img(disp.get("image/png"))
        if img:
            parts.append(img)
        elif isinstance(disp.get("text/plain"), str):
            parts.append(f"<pre class='out'>{e(disp['text/plain'])}</pre>")
    if cell.get("error") and cell["role"] != "test":
        parts.append(f"<pre class='out err'>{e(str(cell['error']))}</pre>")
    return parts
