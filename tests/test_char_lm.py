"""attn.char_lm (chapter 9): BERT's 80/10/10 corruption and temperature / top-k sampling, in torch."""
from __future__ import annotations

import pytest
import torch

from attn.char_lm import CharVocab, TinyTransformerLM, generate, mask_tokens, sample_token


def test_mask_tokens_selection_rate_and_80_10_10_proportions():
    V, mask_id, p = 20, 20, 0.15
    g = torch.Generator().manual_seed(0)
    tokens = torch.randint(0, V, (400, 1000), generator=g)
    corrupted, selected = mask_tokens(tokens, p, mask_id, V, torch.Generator().manual_seed(1))
    assert corrupted.shape == tokens.shape and corrupted.dtype == tokens.dtype and selected.dtype == torch.bool
    assert torch.equal(corrupted[~selected], tokens[~selected])  # unselected positions are untouched
    assert abs(selected.float().mean().item() - p) < 0.003
    sel_in, sel_tok = corrupted[selected], tokens[selected]
    masked = (sel_in == mask_id).float().mean().item()
    changed = ((sel_in != mask_id) & (sel_in != sel_tok)).float().mean().item()  # 0.1 (1 - 1/V)
    kept = (sel_in == sel_tok).float().mean().item()  # 0.1 + 0.1 / V (random draws that hit the original)
    assert abs(masked - 0.8) < 0.005
    assert abs(changed - 0.1 * (1 - 1 / V)) < 0.004
    assert abs(kept - (0.1 + 0.1 / V)) < 0.004
    # Random replacements are uniform over the vocabulary and never the [MASK] id.
    repl = sel_in[(sel_in != mask_id) & (sel_in != sel_tok)]
    counts = torch.bincount(repl, minlength=V).float()
    assert len(counts) == V and counts.min() > 0.7 * counts.mean()


def test_mask_tokens_edge_rates_and_reproducibility():
    tokens = torch.arange(60).reshape(3, 20) % 7
    assert not mask_tokens(tokens, 0.0, 99, 7, torch.Generator().manual_seed(0))[1].any()
    assert mask_tokens(tokens, 1.0, 99, 7, torch.Generator().manual_seed(0))[1].all()
    a = mask_tokens(tokens, 0.5, 99, 7, torch.Generator().manual_seed(3))
    b = mask_tokens(tokens, 0.5, 99, 7, torch.Generator().manual_seed(3))
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    assert torch.equal(tokens, torch.arange(60).reshape(3, 20) % 7)  # the input is not changed in place


def test_sample_token_temperature_zero_is_greedy_and_draws_nothing():
    logits = torch.tensor([0.1, 3.0, -1.0, 2.9])
    g = torch.Generator().manual_seed(4)
    assert sample_token(logits, 0, None, g) == 1
    assert sample_token(logits, 0.0, 2, g) == 1
    assert torch.equal(g.get_state(), torch.Generator().manual_seed(4).get_state())  # the generator is untouched
    assert isinstance(sample_token(logits, 1.0, None, g), int)


@pytest.mark.parametrize("temperature,top_k", [(1.0, 1), (1.0, 3), (2.5, 3), (0.7, 5)])
def test_sample_token_never_leaves_the_top_k(temperature, top_k):
    logits = torch.randn(12, generator=torch.Generator().manual_seed(7)) * 2
    allowed = set(torch.topk(logits, top_k).indices.tolist())
    g = torch.Generator().manual_seed(11)
    draws = [sample_token(logits, temperature, top_k, g) for _ in range(3000)]
    assert set(draws) <= allowed
    if top_k > 1:
        assert len(set(draws)) == top_k  # every allowed token shows up


def test_sample_token_frequencies_follow_softmax_of_logits_over_temperature():
    logits = torch.tensor([2.0, 1.0, 0.5, 0.0, -1.0])
    g = torch.Generator().manual_seed(0)
    for temperature in (0.5, 1.0, 2.0):
        draws = torch.tensor([sample_token(logits, temperature, None, g) for _ in range(20000)])
        freq = torch.bincount(draws, minlength=5).float() / len(draws)
        assert torch.allclose(freq, torch.softmax(logits / temperature, -1), atol=0.015)


def test_generate_is_reproducible_and_never_emits_mask():
    vocab = CharVocab.from_text("abc ")
    torch.manual_seed(0)
    model = TinyTransformerLM(vocab.size, causal=True, d_model=16, h=2, d_ff=32, n_layers=1, block=8).eval()
    with torch.no_grad():
        model.head.bias[vocab.mask_id] = 10.0  # the untrained model would now prefer [MASK]
    a = generate(model, vocab, "ab", 30, temperature=1.0, seed=5)
    assert a == generate(model, vocab, "ab", 30, temperature=1.0, seed=5)
    assert len(a) == 32 and a.startswith("ab") and "_" not in a
