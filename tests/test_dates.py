"""attn.dates (chapter 4, the dates page): the shipped CLDR data, dates written by its patterns, their alignment."""
from __future__ import annotations

import datetime as dt
import fnmatch
import hashlib
import tomllib

import numpy as np
import pytest
import torch

from attn.dates import (CLDR_DATES, ZH_CHARACTERS, DateTask, load_cldr_dates, read_alignments, true_alignment,
                        write_date)
from attn.seq2seq import LuongSeq2Seq
from bookbuild.build import REPO
from bookbuild.cjk_font import CJK

SHA256 = "f380ce194b76d02431097affd35963ff8da519c46b1105f8c0ed226ffb4f5348"  # CLDR 49 as babel 2.19.0 ships it
LICENSE = CLDR_DATES.parent / "LICENSE.unicode"
README = CLDR_DATES.parent / "README.md"
WIDTHS = ("full", "long", "medium")


def crossings(a):
    return sum(a[t] > a[u] for t in range(len(a)) for u in range(t + 1, len(a)))


def test_the_shipped_file_its_readme_and_license():
    assert hashlib.sha256(CLDR_DATES.read_bytes()).hexdigest() == SHA256
    assert CLDR_DATES.stat().st_size == 1023
    readme = README.read_text(encoding="utf-8")
    for needed in (SHA256, "1,023 bytes", "Unicode License v3", "CLDR), version 49", "babel", "bookbuild.cldr_dates"):
        assert needed in readme, needed
    notice = LICENSE.read_text(encoding="utf-8")
    assert "UNICODE LICENSE V3" in notice and "SPDX-License-Identifier: Unicode-3.0" in notice
    data = load_cldr_dates()
    assert data["cldr_version"] == "49"
    assert data["en"]["date_patterns"] == {"full": "EEEE, MMMM d, y", "long": "MMMM d, y", "medium": "MMM d, y"}
    assert data["zh"]["date_patterns"] == {"full": "y年M月d日EEEE", "long": "y年M月d日", "medium": "y年M月d日"}
    assert len(data["en"]["months_wide"]) == len(data["en"]["months_abbreviated"]) == 12
    assert data["en"]["weekdays_wide"][0] == "Monday" and data["zh"]["weekdays_wide"][6] == "星期日"


def test_the_data_is_in_the_wheel_with_its_readme_and_license():
    project = tomllib.loads((REPO / "lib" / "pyproject.toml").read_text())
    globs = project["tool"]["setuptools"]["package-data"]["attn"]
    package = REPO / "lib" / "attn"
    for path in (CLDR_DATES, README, LICENSE):
        rel = path.relative_to(package).as_posix()
        assert any(fnmatch.fnmatch(rel, g) and rel.count("/") == g.count("/") for g in globs), (rel, globs)
    assert "Unicode-3.0" in project["project"]["license"]
    assert "attn/data/cldr_dates/LICENSE.unicode" in project["project"]["license-files"]


def test_the_font_can_draw_every_chinese_character_of_the_data():
    """The CJK font attn ships holds the characters of attn's modules; ZH_CHARACTERS puts the data's there."""
    zh = load_cldr_dates()["zh"]
    written = set(CJK.findall("".join(zh["date_patterns"].values()) + "".join(zh["weekdays_wide"])))
    assert written == set(ZH_CHARACTERS)


def test_write_date_tokens_and_fields():
    names = load_cldr_dates()["en"]
    text, tokens, fields = write_date(dt.date(2026, 12, 6), "EEEE, MMMM d, y", names)
    assert text == "Sunday, December 6, 2026"
    assert tokens == ["Sunday", ",", "December", "6", ",", "2", "0", "2", "6"]
    assert fields == ["E", "", "M", "d", "", "y", "y", "y", "y"]
    text, tokens, fields = write_date(dt.date(1905, 3, 9), "'on' EEEE dd.MM.y", names)  # quoted literal, padding
    assert text == "on Thursday 09.03.1905"
    assert tokens[:3] == ["o", "n", "Thursday"] and tokens[3:6] == ["0", "9", "."] and fields[:2] == ["", ""]
    zh = load_cldr_dates()["zh"]
    assert write_date(dt.date(2026, 12, 6), "y年M月d日EEEE", zh)[1] == list("2026年12月6日") + ["星期日"]
    with pytest.raises(ValueError):
        write_date(dt.date(2026, 12, 6), "EEE, MMMM d", names)  # abbreviated weekdays are not shipped


def test_write_date_writes_what_babel_writes():
    """The shipped patterns, written by attn, give babel's own output (when babel has the same CLDR version)."""
    babel_dates = pytest.importorskip("babel.dates")
    from babel.core import get_cldr_version

    data = load_cldr_dates()
    if str(get_cldr_version()) != data["cldr_version"]:
        pytest.skip(f"babel has CLDR {get_cldr_version()}, the shipped data CLDR {data['cldr_version']}")
    rng = np.random.default_rng(7)
    for n in rng.integers(0, (dt.date(2099, 12, 31) - dt.date(1900, 1, 1)).days + 1, size=200):
        day = dt.date(1900, 1, 1) + dt.timedelta(days=int(n))
        for locale in ("en", "zh"):
            for width in WIDTHS:
                ours = write_date(day, data[locale]["date_patterns"][width], data[locale])[0]
                assert ours == babel_dates.format_date(day, width, locale=locale), (day, locale, width)


def test_the_shipped_data_is_what_the_script_extracts_from_babel():
    pytest.importorskip("babel")
    from babel.core import get_cldr_version

    from bookbuild.cldr_dates import extract, render

    if str(get_cldr_version()) != load_cldr_dates()["cldr_version"]:
        pytest.skip("another CLDR version installed")
    assert render(extract()) == CLDR_DATES.read_text(encoding="utf-8")


def test_true_alignment_of_the_full_pattern():
    data = load_cldr_dates()
    _, en, en_fields = write_date(dt.date(2026, 12, 6), data["en"]["date_patterns"]["full"], data["en"])
    _, zh, zh_fields = write_date(dt.date(2026, 12, 6), data["zh"]["date_patterns"]["full"], data["zh"])
    align = true_alignment(en_fields, zh_fields)
    # 2 0 2 6 年 1 2 月 6 日 星期日  <-  Sunday , December 6 , 2 0 2 6
    assert align == [5, 6, 7, 8, None, 2, 2, None, 3, None, 0]
    assert crossings([a for a in align if a is not None]) == 19
    for t, a in enumerate(align):  # every aligned target token comes from a source token of its own field
        assert (a is None) == (zh_fields[t] == "") and (a is None or en_fields[a] == zh_fields[t])
    with pytest.raises(ValueError):
        true_alignment(["y", "y"], ["y", "y", "y"])  # two source digits cannot be spread over three


def test_date_task_split_pairs_and_batches():
    task = DateTask(n_dates=400, seed=3)
    assert len(task.pairs) == len(set(task.dates)) == 400
    assert len(task.test_ids) == 80 and not set(task.test_ids) & set(task.train_ids)
    assert all(task.first <= d <= task.last for d in task.dates)
    assert set(task.widths_of) == set(WIDTHS)
    data = load_cldr_dates()
    for i in range(0, 400, 37):
        src, tgt, align = task.pairs[i]
        width = task.widths_of[i]
        assert src == write_date(task.dates[i], data["en"]["date_patterns"][width], data["en"])[1]
        assert "".join(tgt) == write_date(task.dates[i], data["zh"]["date_patterns"][width], data["zh"])[0]
        assert len(align) == len(tgt) and all(a is None or 0 <= a < len(src) for a in align)
    src, src_len, tgt = task.batch(np.random.default_rng(0), 16)
    assert src.shape[0] == tgt.shape[0] == 16 and int(src_len.max()) == src.shape[1]
    assert (tgt == 2).sum() == 16  # one EOS per target
    assert DateTask(n_dates=400, seed=3).dates == task.dates and DateTask(n_dates=400, seed=4).dates != task.dates


class Oracle(torch.nn.Module):
    """Writes each target exactly and puts all its weight on ``where(t, a_t)``: a stand-in for a trained model."""

    def __init__(self, task, ids, where):
        super().__init__()
        self.task, self.ids, self.where = task, list(ids), where

    def encode(self, src, src_len):
        return {"step": 0, "m": src.shape[1]}

    def decode(self, memory, y):
        t = memory["step"]
        memory["step"] += 1
        logits = torch.zeros(len(self.ids), 1, self.task.vocab_size)
        weights = torch.zeros(len(self.ids), 1, memory["m"])
        for b, i in enumerate(self.ids):
            _, tgt, align = self.task.pairs[i]
            logits[b, 0, self.task.stoi[tgt[t]] if t < len(tgt) else 2] = 1.0  # then EOS
            weights[b, 0, self.where(t, align[t] if t < len(align) else None)] = 1.0
        return logits, weights


def test_read_alignments_reads_the_argmax_of_the_weights():
    task = DateTask(n_dates=200, seed=1)
    ids = task.test_ids[:10]
    out = read_alignments(Oracle(task, ids, lambda t, a: 0 if a is None else a), task, ids)
    assert [r["id"] for r in out] == [int(i) for i in ids]
    for r in out:
        _, tgt, align = task.pairs[r["id"]]
        assert r["exact"] and r["output"] == tgt
        assert r["read"] == r["true"] == [a for a in align if a is not None]
        assert r["fields"] == [f for f, a in zip(task.fields[r["id"]][1], align) if a is not None]
    out = read_alignments(Oracle(task, ids, lambda t, a: 0), task, ids)  # every weight on the first token
    assert all(r["read"] == [0] * len(r["true"]) for r in out)


def test_read_alignments_of_a_model_that_gets_dates_wrong():
    task = DateTask(n_dates=200, seed=1)
    torch.manual_seed(0)
    model = LuongSeq2Seq(task.vocab_size, emb=8, hidden=16).eval()  # untrained
    out = read_alignments(model, task, task.test_ids[:10])
    for r in out:
        assert r["exact"] == (r["output"] == task.pairs[r["id"]][1])
        assert (r["read"] is None) == (not r["exact"])
