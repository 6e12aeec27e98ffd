"""Why points were lost, and anything unusual about a submission, as data: a code and its parameters.

The grader (the judge, the comparison of values, the probe, collecting and running) says *what* happened with a
:class:`Reason`; only the edge (feedback page, log, summary) turns it into words, through one template per code
and language (``EN``, ``ZH``). Nothing re-parses a sentence. A parameter is one of:

* a number, shown as it is (``{n:g}``-style formatting is the template's choice);
* a string, shown verbatim: a name, a shape, a file name, a student's own exception message (code, not prose;
  the feedback page sets it as ``<code>``);
* the key ``label``: a hidden case's label (``autograder.grading.cases.Case.label``), shown in the page's language
  (``autograder.labels_zh``);
* a nested :class:`Reason` (e.g. the problem found on a case, or what "the result" refers to).

A result stored before reasons were data holds plain strings: a string renders as itself.
"""
from __future__ import annotations

import html
import string
from dataclasses import dataclass, field
from typing import Any, Callable

from autograder.labels_zh import label_zh


@dataclass(frozen=True)
class Reason:
    code: str
    params: dict = field(default_factory=dict)

    def __str__(self) -> str:  # the English wording (logs, summary, nbgrader's notebooks, exception messages)
        return render(self)


def R(code: str, **params) -> Reason:
    """``R("wrong_shape", what=R("result"), shape="(3,)", expected="(3, 1)")``."""
    if code not in EN:
        raise KeyError(f"no reason code {code!r} (autograder/reasons.py)")
    return Reason(code, params)


# ---------------------------------------------------------------------------------------- the two tables

EN = {
    # what a comparison is about
    "result": "the result",
    "element": "element {i} of {of}",
    "output": "output",
    # a returned value compared with the reference (autograder.grading.cases.compare, the specs' own comparisons)
    "not_tuple": "{what} should be a tuple of {n} values, got {got}",
    "not_numeric": "{what} should be a numeric numpy array, got {got}",
    "wrong_shape": "{what} has shape {shape}, expected shape {expected}",
    "not_boolean": "{what} should be boolean",
    "wrong_bool_entries": "{what} has {n} wrong entries",
    "wrong_nan": "{what} has NaN in {n} place(s) where it should not (or misses one)",
    "wrong_inf": "{what} has infinite values in the wrong places",
    "wrong_values": "{what} is wrong in {n} of {size} entries (largest error {error})",
    "bool_dtype": "the result should be a boolean array (True = may attend), got dtype {dtype}",
    "hard_not_tuple": "the result should be a tuple (output, one_hot), got {got}",
    "hard_not_numeric": "output and one_hot should be numeric numpy arrays",
    "hard_shapes": "shapes {out} and {hot}, expected {exp_out} and {exp_hot}",
    "hard_one_hot": "one_hot should hold at most one 1 per row and 0 elsewhere",
    "hard_zero_weight": "a position with weight 0 was selected",
    "hard_masked_rows": "exactly the rows whose weights are all zero should select nothing",
    "hard_output": "the output is not the value at the selected position (zeros for a masked row)",
    "hard_sampled": "the sampled positions differ from one call {call} per row, rows in order, skipping all-zero rows",
    # one hidden case of one function
    "on_case": "{name}: on the hidden case '{label}' ({call}): {problem}",
    "not_function": "{name} should be a function, got {got}",
    "case_not_implemented": "is not implemented yet (it raised NotImplementedError)",
    "raised": "raised {type}: {message}",
    "case_timeout": "did not finish within {seconds} s (the time limit of a function's hidden cases)",
    "case_crashed": "the function stopped the process ({detail})",
    "no_result": "no result came back",
    "unreadable_value": "returned a value the grader could not read ({type})",
    "modified_input": "modified its input arrays in place (it must leave them unchanged)",
    "not_comparable": "returned a value that could not be compared ({type}: {message})",
    # a test cell
    "not_answered": "not answered yet (the function raised NotImplementedError)",
    "test_not_run": "this test did not run: {why}",
    "test_not_finished": "this test did not finish: {why}",
    "stopped_before": "the notebook stopped before it",
    "stopped_in": "the notebook stopped in it",
    "test_time_limit": "the test ran longer than its time limit ({seconds} s for the cell)",
    "failed_before_hidden": "the test failed before its hidden tests ran: {error}",
    "hidden_not_run": "the hidden tests of {function} did not run",
    "test_raised": "the test cell raised {error}",
    "guard": ("not graded automatically: a correct implementation of {names} was within reach of the test "
              "({detail}); a grader must look at this cell"),
    "test_note": "test {grade_id}: {reason}",
    # how a test cell's own process ended, when it sent no result (the supervisor's record)
    "process_ended": "{kind}: {why}",
    "test_process_timeout": "the test ran longer than its time limit ({seconds} s) and was stopped",
    "test_process_signal": "the test's process was killed by signal {signal}",
    "test_process_fork": "could not start a process for this test ({detail}; too many processes?)",
    "test_process_exit": "the test's process ended (exit status {status}) before the test finished",
    # how the notebook as a whole ended
    "out_of_memory": "the notebook used more memory than allowed ({mb} MB in all) and was killed",
    "notebook_timeout": "the notebook ran out of time ({seconds} s in all)",
    "cell_hung": "the notebook ran out of time: a cell went on past its time limit ({seconds} s) and was stopped",
    "corrupted_results": "the notebook corrupted its results (everything after that point was ignored)",
    "not_started": "the notebook could not be started",
    "killed_signal": "the notebook's process was killed (signal {signal})",
    "killed_resources": "the notebook's process was killed (signal {signal}; memory, CPU time or a crash)",
    "process_exit": "the notebook's process ended (exit status {status}, e.g. os._exit or exit())",
    "stopped_at": "{stop} while running code cell {cell} ({role})",
    "role_answer": "your answer",
    "role_extra": "a cell you added",
    "role_test": "test",
    "role_locked": "given code",
    "role_named": "{role} {grade_id}",
    # notes on a run
    "hidden_cases_timeout": "{function}: its hidden cases ran out of time",
    "function_crashed": "{function}: the function stopped its process ({detail})",
    "channel_corrupted": "the results channel was corrupted ({detail}); later results were ignored",
    "channel_overflow": "the notebook sent more than {mb} MiB of results; it was stopped",
    "cell_timeout": "cell {cell} ({role}) ran longer than its time limit ({seconds} s) and was interrupted",
    "output_cut": "cell {cell} wrote {total} characters to {stream}; the first {limit} were kept",
    "sandbox_memory": "the sandbox reached its memory limit ({mb} MB in all); the kernel killed a process",
    "sandbox_output": "the notebook wrote more than 1 MiB to its stdout/stderr ({bytes} bytes); kept 1 MiB",
    "sandbox_stderr": "sandbox stderr: {text}",
    # reading the notebook and matching its cells
    "nbformat": "the notebook declares nbformat {version}; its cells were read as format 4",
    "metadata_lost": "cell {grade_id} had lost its nbgrader metadata; matched by its content",
    "answer_missing": "answer cell '{grade_id}' is missing from the notebook",
    "test_restored": "test cell '{grade_id}' was missing; the original was put back",
    "too_large": "the notebook is larger than 100 MB",
    "not_json": "the file is not valid notebook JSON ({detail})",
    "nbformat3": "the notebook uses the old format 3; save it again with Jupyter",
    "not_notebook": "the file is JSON but not a Jupyter notebook (no list of cells)",
    # collecting the submission
    "several_in_archive": "several notebooks in the archive; graded {chosen}, ignored {others}",
    "several_submitted": "several notebooks submitted; graded {chosen}, ignored {others}",
    "bad_timestamp": "timestamp.txt holds no date nbgrader can read ({text}); treated as on time",
    "canvas_late": "Canvas marked this submission LATE",
    "same_id": "two submissions map to the id {student}; this one is {renamed}",
    "resubmitted": "re-submitted: graded the newest, {chosen}; earlier {older} not graded",
    "other_assignment": "another assignment's work ({folders}), not {assignment}'s: not graded",
    "no_lms_id": "{student}: no {lms} id (none in the roster, the gradebook or a {lms} download); left out, not exported under a made-up id",
    # one person, one id (autograder.gradebook.identity)
    "not_on_roster": "not on the roster (matched against the roster's {claims}); not graded: add the student to the roster, or `link` an id",
    "same_person": "another submission of {student} ({graded} is graded, the newer one)",
    "link_same": "{student} cannot be linked to itself",
    "link_unknown": "{student} is not in the gradebook (not on the roster, nothing graded)",
    "link_conflict": "{source} and {target} both have a submission of {assignments}: nothing linked (exclude one of them from it first)",
    "linked": "{source} is now {target}: {assignments} moved with every score, comment, extension and penalty",
    "export_written": "{n} student(s) written to {path}",
    "symlink": "{name} is a symbolic link; it was not followed (grading reads nothing outside the submissions folder)",
    "zip_empty": "the zip archive holds no notebook",
    "zip_too_large": "the notebook in the zip archive is larger than 100 MB",
    "zip_unreadable": "the zip archive cannot be read ({type})",
    "no_notebook": "no notebook was found in the submission ({folder}/)",
    "no_notebook_link": "no notebook was found in the submission ({folder}/); its only notebook is a symbolic link, "
                        "which is not followed",
    "graded_elsewhere": "graded in another output folder: no notebook to show",
    "not_graded": "the submission could not be graded",
    # an entry of the submissions folder that was not graded (summary.md, "Not graded")
    "skip_outside_submitted": "outside submitted/ in an nbgrader course folder (only submitted/ is graded)",
    "skip_hidden": "a hidden file or folder (its name starts with a dot)",
    "skip_symlink": "a symbolic link: not followed, so nothing outside the folder is read",
    "skip_moodle_text": "a Moodle '{plugin}' submission, not a file upload",
    "skip_not_regular": "not a regular file",
    "skip_not_notebook": "not a notebook or a zip archive ({suffix})",
    "skip_no_extension": "not a notebook or a zip archive (no extension)",
    "skip_export_unreadable": "the export cannot be read as a zip archive ({type})",
    "export_too_many": "the export has more than {n} entries; the rest were not read",
    "export_unsafe_path": "an unsafe path in the archive (absolute or with '..'); not unpacked",
    "export_unsafe_target": "an unsafe path in the archive; not unpacked",
    "export_symlink": "a symbolic link in the archive; not followed",
    "export_encrypted": "an encrypted entry; it cannot be read",
    "export_duplicate": "a second entry with the same name in the archive; the first was kept",
    "export_too_large": "its uncompressed size passes {mb} MB",
    "export_bomb": "the export expands to more than allowed (a zip bomb?); it was not read further",
    "export_unpack_failed": "it cannot be unpacked ({type})",
    "excluded": "excluded from {assignment}",
    "excluded_why": "excluded from {assignment} ({why})",
    # the log's record of the submission time and the late penalty
    "log_submitted": "submitted: {time} UTC",
    "log_submitted_late": "submitted: {time} UTC, {seconds} s after the due date {duedate} UTC",
    "log_late_penalty": "late penalty: {points}",
    "term_config_bad": "{path}: {problem}",
    "term_config": "term total configured in {path}:",
    "term_weights": "weights: {weights}",
    "term_drop_lowest": "each student's {k} lowest assignment(s) dropped",
    "term_excluded_not_counted": "an assignment a student is excluded from is not counted",
    "term_excluded_zero": "an assignment a student is excluded from counts as 0",
    "term_letters": "letters: {letters}",
    "term_not_graded": "{assignment}: weighted in the configuration, not graded yet: left out of every total",
    "term_dropped": "dropped: {assignments}",
    "term_written": "term totals of {n} student(s) written to {path}",
}

ZH = {
    "result": "结果",
    "element": "{of}的第 {i} 个元素",
    "output": "输出",
    "not_tuple": "{what}应为 {n} 个值的元组，实际得到 {got}",
    "not_numeric": "{what}应为数值型 numpy 数组，实际得到 {got}",
    "wrong_shape": "{what}的形状是 {shape}，应为 {expected}",
    "not_boolean": "{what}应为布尔数组",
    "wrong_bool_entries": "{what}有 {n} 个元素错误",
    "wrong_nan": "{what}有 {n} 处不该出现的 NaN（或缺少应有的 NaN）",
    "wrong_inf": "{what}在错误的位置出现了无穷大",
    "wrong_values": "{what}在 {size} 个元素中有 {n} 个错误（最大误差 {error}）",
    "bool_dtype": "结果应为布尔数组（True 表示可以关注），实际的 dtype 是 {dtype}",
    "hard_not_tuple": "结果应为元组 (output, one_hot)，实际得到 {got}",
    "hard_not_numeric": "output 和 one_hot 应为数值型 numpy 数组",
    "hard_shapes": "形状是 {out} 和 {hot}，应为 {exp_out} 和 {exp_hot}",
    "hard_one_hot": "one_hot 每行最多只能有一个 1，其余为 0",
    "hard_zero_weight": "选中了一个权重为 0 的位置",
    "hard_masked_rows": "应当恰好是权重全为零的行什么也不选",
    "hard_output": "输出不是所选位置上的值（被遮住的行应为零）",
    "hard_sampled": "抽样得到的位置与逐行调用一次 {call}（按行的顺序，跳过全零行）的结果不同",
    "on_case": "{name}：在隐藏用例 “{label}”（{call}）上：{problem}",
    "not_function": "{name} 应为函数，实际得到 {got}",
    "case_not_implemented": "尚未实现（抛出了 NotImplementedError）",
    "raised": "抛出了 {type}：{message}",
    "case_timeout": "没有在 {seconds} 秒内完成（函数隐藏用例的时间限制）",
    "case_crashed": "函数终止了进程（{detail}）",
    "no_result": "没有返回结果",
    "unreadable_value": "返回了评分程序无法读取的值（{type}）",
    "modified_input": "原地修改了输入数组（不得改动输入）",
    "not_comparable": "返回了无法比较的值（{type}：{message}）",
    "not_answered": "尚未作答（函数抛出了 NotImplementedError）",
    "test_not_run": "这个测试没有运行：{why}",
    "test_not_finished": "这个测试没有运行完：{why}",
    "stopped_before": "notebook 在它之前就停止了",
    "stopped_in": "notebook 在它运行时停止了",
    "test_time_limit": "测试超过了时间限制（每个单元 {seconds} 秒）",
    "failed_before_hidden": "测试在隐藏测试运行之前就失败了：{error}",
    "hidden_not_run": "{function} 的隐藏测试没有运行",
    "test_raised": "测试单元抛出了 {error}",
    "guard": "未能自动评分：测试可以接触到 {names} 的正确实现（{detail}）；需要评分老师查看这个单元",
    "test_note": "测试 {grade_id}：{reason}",
    "process_ended": "{kind}：{why}",
    "test_process_timeout": "测试超过了时间限制（{seconds} 秒），已被终止",
    "test_process_signal": "测试的进程被信号 {signal} 终止",
    "test_process_fork": "无法为这个测试启动进程（{detail}；进程过多？）",
    "test_process_exit": "测试的进程在测试完成之前退出了（退出码 {status}）",
    "out_of_memory": "notebook 使用的内存超过上限（总计 {mb} MB），已被终止",
    "notebook_timeout": "notebook 超时（总计 {seconds} 秒）",
    "cell_hung": "notebook 超时：有一个单元超过了时间限制（{seconds} 秒），已被终止",
    "corrupted_results": "notebook 破坏了它的结果（之后的一切都被忽略）",
    "not_started": "notebook 无法启动",
    "killed_signal": "notebook 的进程被终止（信号 {signal}）",
    "killed_resources": "notebook 的进程被终止（信号 {signal}；内存、CPU 时间或崩溃）",
    "process_exit": "notebook 的进程退出了（退出码 {status}，例如调用了 os._exit 或 exit()）",
    "stopped_at": "{stop}，当时正在运行第 {cell} 个代码单元（{role}）",
    "role_answer": "你的答案",
    "role_extra": "你添加的单元",
    "role_test": "测试",
    "role_locked": "给定代码",
    "role_named": "{role} {grade_id}",
    "hidden_cases_timeout": "{function}：隐藏用例超时",
    "function_crashed": "{function}：函数终止了它的进程（{detail}）",
    "channel_corrupted": "结果通道已损坏（{detail}）；之后的结果被忽略",
    "channel_overflow": "notebook 发送的结果超过 {mb} MiB，已被终止",
    "cell_timeout": "第 {cell} 个单元（{role}）超过了时间限制（{seconds} 秒），已被中断",
    "output_cut": "第 {cell} 个单元向 {stream} 写了 {total} 个字符；只保留了前 {limit} 个",
    "sandbox_memory": "沙箱达到了内存上限（总计 {mb} MB）；内核终止了一个进程",
    "sandbox_output": "notebook 向 stdout/stderr 写了超过 1 MiB（{bytes} 字节）；只保留了 1 MiB",
    "sandbox_stderr": "沙箱的 stderr：{text}",
    "nbformat": "notebook 声明的格式是 nbformat {version}；其单元按格式 4 读取",
    "metadata_lost": "单元 {grade_id} 丢失了 nbgrader 元数据；已按内容匹配",
    "answer_missing": "答案单元 “{grade_id}” 不在 notebook 中",
    "test_restored": "测试单元 “{grade_id}” 缺失；已放回原始版本",
    "too_large": "notebook 大于 100 MB",
    "not_json": "文件不是有效的 notebook JSON（{detail}）",
    "nbformat3": "notebook 使用的是旧的格式 3；请用 Jupyter 重新保存",
    "not_notebook": "文件是 JSON，但不是 Jupyter notebook（没有单元列表）",
    "several_in_archive": "压缩包中有多个 notebook；评分的是 {chosen}，忽略了 {others}",
    "several_submitted": "提交了多个 notebook；评分的是 {chosen}，忽略了 {others}",
    "bad_timestamp": "timestamp.txt 中没有 nbgrader 能读取的日期（{text}）；按按时提交处理",
    "canvas_late": "Canvas 将这次提交标记为迟交（LATE）",
    "same_id": "两份提交对应同一个 ID {student}；这一份记为 {renamed}",
    "resubmitted": "重新提交过：评分的是最新的 {chosen}；较早的 {older} 未评分",
    "other_assignment": "其他作业的内容（{folders}），不属于 {assignment}：未评分",
    "no_lms_id": "{student}：没有 {lms} ID（名册、成绩册和 {lms} 下载中都没有）；未导出，不会使用编造的 ID",
    "not_on_roster": "不在名册上（已与名册的 {claims} 比对）；未评分：请把该学生加入名册，或用 `link` 关联 ID",
    "same_person": "{student} 的另一份提交（评分的是较新的 {graded}）",
    "link_same": "{student} 不能与自身关联",
    "link_unknown": "{student} 不在成绩册中（不在名册上，也没有评分记录）",
    "link_conflict": "{source} 和 {target} 都提交了 {assignments}：未关联（请先将其中一人从该作业中排除）",
    "linked": "{source} 现在是 {target}：{assignments} 连同全部分数、评语、延期和扣分一并转移",
    "export_written": "已将 {n} 名学生写入 {path}",
    "symlink": "{name} 是符号链接，未被跟随（评分程序不读取提交文件夹之外的任何内容）",
    "zip_empty": "zip 压缩包中没有 notebook",
    "zip_too_large": "zip 压缩包中的 notebook 大于 100 MB",
    "zip_unreadable": "无法读取 zip 压缩包（{type}）",
    "no_notebook": "提交中没有找到 notebook（{folder}/）",
    "no_notebook_link": "提交中没有找到 notebook（{folder}/）；唯一的 notebook 是符号链接，未被跟随",
    "graded_elsewhere": "在另一个输出文件夹中评分：没有可显示的 notebook",
    "not_graded": "这份提交无法评分",
    "skip_outside_submitted": "位于 nbgrader 课程文件夹的 submitted/ 之外（只评 submitted/ 中的提交）",
    "skip_hidden": "隐藏的文件或文件夹（名称以点开头）",
    "skip_symlink": "符号链接：未被跟随，因此不会读取文件夹之外的任何内容",
    "skip_moodle_text": "Moodle 的“{plugin}”类提交，不是上传的文件",
    "skip_not_regular": "不是普通文件",
    "skip_not_notebook": "既不是 notebook 也不是 zip 压缩包（{suffix}）",
    "skip_no_extension": "既不是 notebook 也不是 zip 压缩包（没有扩展名）",
    "skip_export_unreadable": "导出文件无法作为 zip 压缩包读取（{type}）",
    "export_too_many": "导出文件中的条目超过 {n} 个；其余的没有读取",
    "export_unsafe_path": "压缩包中的路径不安全（绝对路径或含有 ..）；未解压",
    "export_unsafe_target": "压缩包中的路径不安全；未解压",
    "export_symlink": "压缩包中的符号链接；未被跟随",
    "export_encrypted": "加密的条目；无法读取",
    "export_duplicate": "压缩包中有同名的第二个条目；保留了第一个",
    "export_too_large": "解压后的大小超过 {mb} MB",
    "export_bomb": "导出文件解压后超过允许的大小（zip 炸弹？）；没有继续读取",
    "export_unpack_failed": "无法解压（{type}）",
    "excluded": "已被排除在 {assignment} 之外",
    "excluded_why": "已被排除在 {assignment} 之外（{why}）",
    "log_submitted": "提交时间：{time} UTC",
    "log_submitted_late": "提交时间：{time} UTC，比截止时间 {duedate} UTC 晚 {seconds} 秒",
    "log_late_penalty": "迟交扣分：{points}",
    "term_config_bad": "{path}：{problem}",
    "term_config": "学期总评的配置文件：{path}：",
    "term_weights": "权重：{weights}",
    "term_drop_lowest": "每名学生去掉最低的 {k} 次作业",
    "term_excluded_not_counted": "学生被排除的作业不计入总评",
    "term_excluded_zero": "学生被排除的作业按 0 分计入总评",
    "term_letters": "等级：{letters}",
    "term_not_graded": "{assignment}：配置中有权重，但尚未评分：不计入任何人的总评",
    "term_dropped": "已去掉：{assignments}",
    "term_written": "已将 {n} 名学生的学期总评写入 {path}",
}

TABLES = {"en": EN, "zh": ZH}


# ------------------------------------------------------------------------------------------------ rendering

def _language(lang: str) -> str:
    return "zh" if str(lang or "en").startswith("zh") else "en"


def _number(x) -> str:
    return f"{x:g}" if isinstance(x, float) else str(x)


def render(x: Any, lang: str = "en", *, code: Callable[[str], str] | None = None,
           text: Callable[[str], str] | None = None) -> str:
    """The wording of a reason (or of a stored plain string, which is its own wording) in ``lang``.

    ``text`` is applied to the template's words and ``code`` to verbatim parameters (the feedback page passes
    ``html.escape`` and a ``<code>`` wrapper); both default to leaving the string as it is.
    """
    text = text or (lambda s: s)
    code = code or text
    if isinstance(x, Reason):
        table = TABLES[_language(lang)]
        template = table.get(x.code)
        if template is None:  # a code from a newer grader, or forged: say what it is, in the grader's words
            return code(f"{x.code} {x.params}")
        out = []
        for literal, name, spec, _ in string.Formatter().parse(template):
            out.append(text(literal))
            if name is None:
                continue
            value = x.params.get(name, "")
            if isinstance(value, Reason):
                out.append(render(value, lang, code=code, text=text))
            elif name == "label" and isinstance(value, str):
                out.append(text(label_zh(value) if _language(lang) == "zh" else value))
            elif isinstance(value, (int, float)) and not isinstance(value, bool):
                out.append(text(_number(value)))
            else:
                out.append(code(str(value)))
        return "".join(out)
    if isinstance(x, dict) and "code" in x:
        return render(load(x), lang, code=code, text=text)
    return text(str(x))


def html_of(x: Any, lang: str = "en") -> str:
    """The wording as HTML: the template's words escaped, verbatim parameters as ``<code>``."""
    return render(x, lang, text=html.escape, code=lambda s: f"<code>{html.escape(s)}</code>")


# ---------------------------------------------------------------------------------------- stored as data

def load(x: Any) -> Any:
    """A reason as stored in a result (``dataclasses.asdict`` of a :class:`Reason`: ``{"code", "params"}``) back
    into a :class:`Reason`; a plain string (a result stored before reasons were data) stays a string."""
    if isinstance(x, Reason):
        return x
    if isinstance(x, dict) and isinstance(x.get("code"), str) and isinstance(x.get("params", {}), dict):
        return Reason(x["code"], {str(k): load(v) for k, v in x.get("params", {}).items()})
    if isinstance(x, (str, int, float)) and not isinstance(x, bool):
        return x
    return str(x)


def from_sandbox(x: Any) -> Reason | str:
    """A reason the sandbox sent (``autograder/grading/probe/checking.py``), trusted only as far as it is well formed: a known
    code with plain parameters (a string cut to 300 characters, a number); anything else becomes its text."""
    if isinstance(x, dict) and x.get("code") in EN and isinstance(x.get("params", {}), dict):
        params = x.get("params", {})
        if all(isinstance(k, str) and isinstance(v, (str, int, float)) for k, v in params.items()):
            return Reason(x["code"], {k: v[:300] if isinstance(v, str) else v for k, v in params.items()})
    return str(x)[:300]


def is_code(x: Any, *codes: str) -> bool:
    return isinstance(x, Reason) and x.code in codes
