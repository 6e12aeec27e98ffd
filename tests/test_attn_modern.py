"""The public code of chapter 10 and of the crossing-alignment section (attn.modern, attn.decoding, attn.translate)."""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from attn.decoding import beam_search, length_penalty, luong_adapter, transformer_adapter
from attn.modern import (CausalSelfAttention, RecentTask, TinyDecoder, alibi_bias, generate, grouped_query_attention,
                         kv_cache_bytes, online_softmax_stats, rope, sliding_window_mask, tiled_attention)
from attn.translate import TranslationTask, sentence_pair


@pytest.mark.parametrize("seed", range(6))
def test_tiled_attention_matches_sdpa(seed):
    g = torch.Generator().manual_seed(seed)
    n_q, n_k = (int(v) for v in torch.randint(1, 70, (2,), generator=g))
    n_q = min(n_q, n_k)
    q = torch.randn(2, 3, n_q, 8, generator=g, dtype=torch.float64)
    k, v = (torch.randn(2, 3, n_k, 8, generator=g, dtype=torch.float64) for _ in range(2))
    block = int(torch.randint(1, 20, (1,), generator=g))
    np.testing.assert_allclose(tiled_attention(q, k, v, block), F.scaled_dot_product_attention(q, k, v), atol=1e-12)
    mask = torch.ones(n_q, n_k, dtype=torch.bool).tril(diagonal=n_k - n_q)  # bottom-right causal
    np.testing.assert_allclose(tiled_attention(q, k, v, block, causal=True),
                               F.scaled_dot_product_attention(q, k, v, attn_mask=mask), atol=1e-12)


def test_online_softmax_stats():
    x = torch.randn(4, 37, dtype=torch.float64) * 30
    m, l = online_softmax_stats(x, 5)
    assert torch.equal(m, x.amax(-1))
    np.testing.assert_allclose(l, torch.exp(x - m[:, None]).sum(-1), rtol=1e-12)


def test_gqa_matches_sdpa_enable_gqa():
    q, k, v = torch.randn(2, 6, 5, 4), torch.randn(2, 3, 5, 4), torch.randn(2, 3, 5, 4)
    np.testing.assert_allclose(grouped_query_attention(q, k, v),
                               F.scaled_dot_product_attention(q, k, v, enable_gqa=True), atol=1e-6)


@pytest.mark.parametrize("h_kv", [4, 2, 1])
def test_kv_cache_gives_the_logits_of_a_full_pass(h_kv):
    torch.manual_seed(0)
    model = TinyDecoder(vocab=20, d_model=16, h=4, h_kv=h_kv, max_len=32).eval()
    tokens = torch.randint(0, 20, (2, 12))
    with torch.no_grad():
        full, _ = model(tokens)
        prefix, caches = model(tokens[:, :5])  # a prompt of 5 at once, then one at a time
        steps = [prefix] + [None] * 7
        for t in range(5, 12):
            steps[t - 4], caches = model(tokens[:, t:t + 1], caches)
    np.testing.assert_allclose(torch.cat(steps, 1), full, atol=1e-5)
    assert caches[0][0].shape == (2, h_kv, 12, 4)
    a, _ = generate(model, tokens[:, :3], 6, use_cache=True)
    b, _ = generate(model, tokens[:, :3], 6, use_cache=False)
    assert torch.equal(a, b)


def test_cache_size_formula():
    assert kv_cache_bytes(12, 12, 64, 1024, 2) == 2 * 12 * 12 * 64 * 1024 * 2


def test_rope_relative_and_alibi_and_window():
    q, k = torch.randn(1, 8, dtype=torch.float64), torch.randn(1, 8, dtype=torch.float64)
    s1 = rope(q, torch.tensor([9])) @ rope(k, torch.tensor([4])).T
    s2 = rope(q, torch.tensor([509])) @ rope(k, torch.tensor([504])).T
    assert torch.allclose(s1, s2)
    b = alibi_bias(4, 6)
    assert b.shape == (4, 6, 6) and b[0, 5, 5] == 0 and b[0, 5, 0] < b[0, 5, 4] < 0
    m = sliding_window_mask(6, 2)
    assert m.sum() == 6 + 5 and m[5, 4] and not m[5, 3] and not m[2, 3]


def test_recent_task_targets():
    x, y = RecentTask().batch(torch.Generator().manual_seed(0), 50, 20)
    for row_x, row_y in zip(x.tolist(), y.tolist()):
        last = None
        for tok, target in zip(row_x, row_y):
            if tok < 8:
                last = tok
                assert target == -100
            else:
                assert target == (-100 if last is None else last)


def test_sentence_pair_alignment_crosses():
    zh, en, align = sentence_pair(0, 0, 0, 0, 0, time_first=False)
    assert "".join(zh) == "我昨天在北京见到了他" and " ".join(en) == "I saw him in Beijing yesterday"
    assert [zh[a] for a in align] == ["我", "见到了", "他", "在", "北京", "昨天"]
    task = TranslationTask()
    assert task.index("我昨天在北京见到了他") in set(task.test_ids)
    assert not set(task.test_ids) & set(task.train_ids)


def test_beam_of_one_is_greedy_and_length_penalty():
    from attn.seq2seq import LuongSeq2Seq, ReverseTask, greedy_batch
    from attn.transformer import Seq2SeqTransformer, greedy_decode, with_eos

    assert length_penalty(7, 0.0) == 1.0 and length_penalty(7, 1.0) == 2.0
    torch.manual_seed(0)
    luong = LuongSeq2Seq(13).eval()
    src, src_len, _ = ReverseTask(n_symbols=10, max_len=6).batch(np.random.default_rng(0), 5, length=6)
    greedy, _ = greedy_batch(luong, src, src_len, max_len=8)
    for i in range(5):
        seq, _ = beam_search(luong_adapter(luong), src[i:i + 1], 1, 8)
        want = greedy[i].tolist()
        want = want[: want.index(2) + 1] if 2 in want else want
        assert seq.tolist() == want
    tfm = Seq2SeqTransformer(13).eval()
    src, src_len, _ = ReverseTask(n_symbols=10, min_len=3, max_len=8).batch(np.random.default_rng(1), 4)
    src = with_eos(src, src_len)
    greedy = greedy_decode(tfm, src, 9)
    for i in range(4):
        seq, _ = beam_search(transformer_adapter(tfm), src[i:i + 1], 1, 9)
        want = greedy[i, 1:].tolist()
        want = want[: want.index(2) + 1] if 2 in want else want
        assert seq.tolist() == want
        wide, _ = beam_search(transformer_adapter(tfm), src[i:i + 1], 3, 9)
        assert len(wide) >= 1
