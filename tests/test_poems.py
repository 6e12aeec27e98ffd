"""attn.poems (chapter 9, the page on real text): the shipped Tang poems, the n-gram baselines, and the unigram
start of ``train_lm``."""
from __future__ import annotations

import fnmatch
import hashlib
import re
import tomllib
from collections import Counter

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from attn.char_lm import CharVocab, train_lm
from attn.poems import POEMS, BigramLM, Poem, load_poems
from bookbuild.build import REPO
from bookbuild.tang_poems import COUPLET, in_common_characters

SHA256 = "6d7efaff280dc2c7a2a4dea883c3f0ff0ab6b4857e6b9c8897f90a8a1fb2f61c"  # made by bookbuild/tang_poems.py
LINES = {2: 139, 4: 1599, 6: 207, 8: 3062, 10: 80, 12: 159, 14: 26, 16: 40, 18: 6, 20: 4, 22: 2, 24: 2}


@pytest.fixture(scope="module")
def poems():
    return load_poems()


def test_the_shipped_file_is_what_the_script_made():
    assert hashlib.sha256(POEMS.read_bytes()).hexdigest() == SHA256
    assert POEMS.stat().st_size == 408_867 < 2_000_000
    readme = (POEMS.parent / "README.md").read_text(encoding="utf-8")
    for needed in ("chinese-poetry", "2.0.1", "MIT", "JackeyGao", "public domain", SHA256, "408,867 bytes",
                   "bookbuild/tang_poems.py"):
        assert needed in readme, needed
    notice = (POEMS.parent / "LICENSE.txt").read_text(encoding="utf-8")
    assert "The MIT License" in notice and "Copyright (c) 2016 JackeyGao" in notice


def test_poems_have_the_form_the_page_describes(poems):
    assert len(poems) == 5326 and all(isinstance(p, Poem) for p in poems)
    assert all(re.fullmatch(f"(?:{COUPLET.pattern})+", p.text) for p in poems)
    assert dict(sorted(Counter(len(p.lines) for p in poems).items())) == LINES
    assert all(len(line) == 5 and "，" not in line and "。" not in line for p in poems[:50] for line in p.lines)
    assert len({p.text for p in poems}) == len(poems)  # no repeated text
    assert all(p.author and p.title and "\t" not in p.title for p in poems)
    chars = Counter(ch for p in poems for ch in p.text if ch not in "，。")
    assert len(chars) <= 2000 and len(chars) == 1997
    assert (poems[0].author, poems[0].text[:12]) == ("太宗皇帝", "翠野駐戎軒，盧龍轉征斾。")
    # The rule's step 3 keeps exactly the poems it is given when they already use at most 2,000 characters.
    triples = [(p.author, p.title, p.text) for p in poems]
    assert in_common_characters(triples) == triples


def test_the_data_is_in_the_wheel_with_its_readme_and_license():
    pyproject = tomllib.loads((REPO / "lib" / "pyproject.toml").read_text())
    globs = pyproject["tool"]["setuptools"]["package-data"]["attn"]
    package = REPO / "lib" / "attn"
    for path in (POEMS, POEMS.parent / "README.md", POEMS.parent / "LICENSE.txt"):
        rel = path.relative_to(package).as_posix()
        assert any(fnmatch.fnmatch(rel, g) and rel.count("/") == g.count("/") for g in globs), (rel, globs)
    assert "attn/data/tang_poems/LICENSE.txt" in pyproject["project"]["license-files"]


def test_bigram_probabilities_sum_to_one_and_fall_back_to_the_unigram():
    rng = np.random.default_rng(0)
    V = 7
    data = rng.integers(0, V - 1, 500)  # symbol V - 1 never occurs
    model = BigramLM(data, V, lam=0.3)
    for a in range(V):
        p = np.exp(-np.array([model.losses(np.array([a, b]))[0] for b in range(V)]))
        assert p.sum() == pytest.approx(1.0, abs=1e-6) and (p > 0).all()
    # an unseen context (V - 1) predicts with the unigram alone
    unseen = np.exp(-np.array([model.losses(np.array([V - 1, b]))[0] for b in range(V)]))
    assert np.allclose(unseen, model.unigram)
    # lam = 0 is the unigram model, whatever the context
    uni = BigramLM(data, V, lam=0.0)
    assert np.allclose(uni.losses(data), -np.log(uni.unigram[data[1:]]))
    # the counts: pairs[a, b] is how often b follows a
    assert model.pairs.sum() == len(data) - 1 and model.pairs[data[0], data[1]] >= 1


def test_bigram_fit_chooses_lambda_on_the_training_text_only():
    rng = np.random.default_rng(1)
    V = 5
    # A text where the next symbol depends strongly on the previous one: a large lambda wins.
    data = [0]
    for _ in range(3000):
        data.append((data[-1] + 1) % V if rng.random() < 0.9 else int(rng.integers(V)))
    model = BigramLM.fit(np.array(data), V)
    assert model.lam >= 0.8
    # A text of independent symbols: context does not help, and a small lambda wins.
    noise = BigramLM.fit(rng.integers(0, V, 3000), V)
    assert noise.lam <= 0.3
    assert model.pairs.sum() == len(data) - 1  # refitted on all of the training text


def test_unigram_init_starts_the_gpt_at_the_unigram_model():
    rng = np.random.default_rng(2)
    vocab = CharVocab(list("abcdefgh"))
    data = rng.choice(8, size=2000, p=[0.5, 0.2, 0.1, 0.1, 0.04, 0.03, 0.02, 0.01])
    start = train_lm(data, vocab, causal=True, steps=1, lr=0.0, block=16, batch=4, unigram_init=True, progress=False).model
    plain = train_lm(data, vocab, causal=True, steps=1, lr=0.0, block=16, batch=4, progress=False).model
    counts = np.bincount(data, minlength=vocab.size) + 0.5
    assert np.allclose(start.head.bias.detach().numpy(), np.log(counts / counts.sum()), atol=1e-6)
    x = torch.from_numpy(data[:17])
    loss = {name: F.cross_entropy(m(x[None, :-1])[0], x[1:]).item() for name, m in (("start", start), ("plain", plain))}
    unigram = -np.mean(np.log(counts[data[1:17]] / counts.sum()))
    assert abs(loss["start"] - unigram) < 0.1 and loss["plain"] > loss["start"] + 0.3, (loss, unigram)
