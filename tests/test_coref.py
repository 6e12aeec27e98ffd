"""The toy coreference task of chapters 6-7: the data follow their rule, and the one-layer model learns it."""
from __future__ import annotations

import torch

from attn.coref import PAD, PLURAL, SINGULAR, TASKS, VOCAB, OneLayerAttentionModel, evaluate, make_batch, train


def test_sentences_follow_the_number_agreement_rule():
    batch = make_batch(300, seed=1)
    assert batch.tokens.shape[0] == 300 and len(set(batch.lengths.tolist())) == 2  # with and without the clause
    for i in range(300):
        words = batch.words(i)
        pronoun, referent, other = (words[int(p)] for p in (batch.pronoun[i], batch.referent_pos[i], batch.other_pos[i]))
        assert pronoun in ("its", "their")
        assert (referent in PLURAL) == (pronoun == "their") and (referent in SINGULAR) == (pronoun == "its")
        assert (other in PLURAL) != (referent in PLURAL), "the other noun has the other number"
        assert VOCAB[int(batch.referent[i])] == referent and VOCAB[int(batch.other[i])] == other
        assert all(VOCAB[t] == PAD for t in batch.tokens[i, len(words):].tolist())
    assert torch.equal(make_batch(50, seed=3).tokens, make_batch(50, seed=3).tokens), "seeded"


def test_padding_does_not_change_the_model_output():
    """The padding mask works: appending padding to a sentence leaves its outputs and weights on real tokens unchanged."""
    torch.manual_seed(0)
    model = OneLayerAttentionModel(d_model=16, h=2, tasks=TASKS)
    batch = make_batch(20, seed=2)
    short = batch[torch.arange(20)]
    padded = torch.cat([short.tokens, torch.zeros(20, 3, dtype=torch.long)], dim=1)
    a, wa = model(short.tokens, short.lengths, short.pronoun)
    b, wb = model(padded, short.lengths, short.pronoun)
    for t in TASKS:
        torch.testing.assert_close(a[t], b[t])
    n = short.tokens.shape[1]
    torch.testing.assert_close(wa, wb[..., :n, :n])
    assert torch.all(wb[..., n:] == 0)


def test_one_head_learns_the_referent_by_attending_to_it():
    torch.manual_seed(0)
    model = OneLayerAttentionModel(d_model=32, h=1)
    losses = train(model, steps=150, seed=0, progress=False)
    result = evaluate(model, make_batch(500, seed=99))
    assert losses[-1] < 0.5 * losses[0]
    assert result["referent_accuracy"] > 0.95
    assert result["weight_on_referent"][0] > 0.6 > result["weight_on_other"][0]
