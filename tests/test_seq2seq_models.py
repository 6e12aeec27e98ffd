"""The toy task and the torch encoder-decoders of chapters 2 and 4: data, shapes, masks, and that they learn."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from attn.seq2seq import (
    EOS, FIRST_SYMBOL, MODELS, PAD, ReverseTask, ShapesTask, accuracy_by_length, greedy_batch, teacher_forcing,
    train, train_captioner,
)

TASK = ReverseTask(n_symbols=6, min_len=1, max_len=7)


def test_reverse_task_batches():
    src, src_len, tgt = TASK.batch(np.random.default_rng(0), 50)
    assert src.shape[0] == tgt.shape[0] == 50 and tgt.shape[1] == src.shape[1] + 1
    for b in range(50):
        n = int(src_len[b])
        s = src[b, :n].numpy()
        assert np.all(s >= FIRST_SYMBOL) and np.all(src[b, n:].numpy() == PAD)
        np.testing.assert_array_equal(tgt[b, :n].numpy(), s[::-1])
        assert tgt[b, n] == EOS and np.all(tgt[b, n + 1:].numpy() == PAD)
    assert set(src_len.tolist()) <= set(range(1, 8))


def test_symbols_are_named_by_the_alphabet():
    digits = ReverseTask(n_symbols=10, alphabet="0123456789")
    ids = [FIRST_SYMBOL + 2, FIRST_SYMBOL + 7, PAD, EOS, FIRST_SYMBOL]
    assert TASK.symbols(ids) == "ch_" and digits.symbols(ids) == "27_"  # stops at EOS


def test_the_transformer_reads_the_same_task_followed_by_eos():
    from attn.transformer import with_eos

    src, src_len, tgt = TASK.batch(np.random.default_rng(3), 20)
    s = with_eos(src, src_len)
    assert s.shape == (20, src.shape[1] + 1)
    for b in range(20):
        n = int(src_len[b])
        assert torch.equal(s[b, :n], src[b, :n]) and s[b, n] == EOS and bool((s[b, n + 1:] == PAD).all())


def test_one_reversal_task_and_one_attention_layer():
    """Every chapter uses one ``ReverseTask`` (attn.seq2seq) and one ``MultiHeadAttention`` (attn.mha)."""
    import ast
    from pathlib import Path

    from attn import mha, transformer

    defined = {}
    for path in sorted(Path(mha.__file__).parent.glob("*.py")):
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.ClassDef) and node.name in ("ReverseTask", "MultiHeadAttention"):
                defined.setdefault(node.name, []).append(path.name)
    assert defined == {"ReverseTask": ["seq2seq.py"], "MultiHeadAttention": ["mha.py"]}
    layer = transformer.DecoderLayer(8, 2, 16)
    assert type(layer.self_attn) is type(layer.cross_attn) is mha.MultiHeadAttention


@pytest.mark.parametrize("name", sorted(MODELS))
def test_shapes_and_attention_weights(name):
    torch.manual_seed(0)
    model = MODELS[name](TASK.vocab_size, emb=8, hidden=12).eval()
    src, src_len, tgt = TASK.batch(np.random.default_rng(1), 5)
    logits, a = model(src, src_len, teacher_forcing(tgt))
    assert logits.shape == (5, tgt.shape[1], TASK.vocab_size)
    if model.has_attention:
        assert a.shape == (5, tgt.shape[1], src.shape[1])
        np.testing.assert_allclose(a.sum(-1).detach().numpy(), 1.0, atol=1e-6)
        pad = (src == PAD).unsqueeze(1).expand_as(a)
        assert torch.all(a[pad] == 0), "padding positions must get no attention"
    else:
        assert a is None


@pytest.mark.parametrize("name", sorted(MODELS))
def test_padding_does_not_change_the_result(name):
    """A sequence decodes the same alone and in a batch padded to a longer length."""
    torch.manual_seed(0)
    model = MODELS[name](TASK.vocab_size, emb=8, hidden=12).eval()
    src, src_len, tgt = TASK.batch(np.random.default_rng(2), 6)
    b = int(src_len.argmin())
    n = int(src_len[b])
    with torch.no_grad():
        full, _ = model(src, src_len, teacher_forcing(tgt))
        alone, _ = model(src[b:b + 1, :n], src_len[b:b + 1], teacher_forcing(tgt[b:b + 1, :n + 1]))
    torch.testing.assert_close(full[b, :n + 1], alone[0], atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("name", ["seq2seq", "luong"])
def test_training_reduces_the_loss(name):
    torch.manual_seed(0)
    model = MODELS[name](TASK.vocab_size, emb=8, hidden=16)
    losses = train(model, TASK, steps=60, batch=32, lr=1e-2, seed=0, progress=False)
    assert losses[-10:].mean() < 0.8 * losses[:10].mean()


def test_training_is_seeded():
    runs = []
    for _ in range(2):
        torch.manual_seed(3)
        model = MODELS["luong"](TASK.vocab_size, emb=8, hidden=8)
        runs.append(train(model, TASK, steps=5, batch=8, seed=3, progress=False))
    np.testing.assert_array_equal(runs[0], runs[1])


def test_greedy_batch_and_accuracy_by_length():
    torch.manual_seed(0)
    model = MODELS["luong"](TASK.vocab_size, emb=8, hidden=8).eval()
    src, src_len, tgt = TASK.batch(np.random.default_rng(4), 3, length=5)
    pred, a = greedy_batch(model, src, src_len, max_len=8)
    assert pred.shape[0] == 3 and pred.shape[1] <= 8 and a.shape == (3, pred.shape[1], 5)
    for row in pred.tolist():  # everything after the first EOS is padding
        if EOS in row:
            assert all(t == PAD for t in row[row.index(EOS) + 1:])
    seq, tok = accuracy_by_length(model, TASK, [2, 4], n_per_length=10)
    assert seq.shape == tok.shape == (2,) and np.all((0 <= seq) & (seq <= tok) & (tok <= 1))


def test_shapes_task_and_captioner():
    task = ShapesTask()
    images, captions, cells = task.batch(np.random.default_rng(0), 8)
    assert images.shape == (8, 1, 24, 24)
    for b in range(8):
        k = int((captions[b] >= FIRST_SYMBOL).sum())
        assert captions[b, k] == EOS and 2 <= k <= 3
        assert list(cells[b, :k]) == sorted(cells[b, :k].tolist())  # reading order
    model, losses = train_captioner(task, steps=30, batch=16, progress=False)
    assert losses[-5:].mean() < losses[:5].mean()
    pred, a = greedy_batch(model, images, None, max_len=4)
    assert a.shape == (8, pred.shape[1], 9)
    np.testing.assert_allclose(a.sum(-1).numpy(), 1.0, atol=1e-6)


def test_a_callback_does_not_change_training():
    """Chapter 2 measures its model during training; chapter 4 re-trains the same model without a callback."""
    seen, runs = [], []
    for callback in (None, lambda step, m: seen.append((step, accuracy_by_length(m, TASK, [2, 3], n_per_length=4)))):
        torch.manual_seed(3)
        model = MODELS["seq2seq"](TASK.vocab_size, emb=8, hidden=8)
        runs.append(train(model, TASK, steps=6, batch=8, seed=3, progress=False, callback=callback))
    np.testing.assert_array_equal(runs[0], runs[1])
    assert [s for s, _ in seen] == list(range(1, 7))
