"""Chapter 5's benchmark (`attn.lookup`): local attention weights and hard attention trained with REINFORCE."""
from __future__ import annotations

import math

import pytest
import torch

from attn.lookup import LookupModel, evaluate, local_weights, make_batch, train_variant


def test_local_weights_window_and_gaussian():
    scores = torch.zeros(3, 9)  # equal scores: the weights show the window and the Gaussian alone
    p = torch.tensor([[0.0], [4.0], [6.5]])
    w = local_weights(scores, p, D=2)
    pos = torch.arange(9)
    assert bool((w[(pos - p).abs() > 2] == 0).all()), "weights outside the window must be exactly zero"
    plain = local_weights(scores, p, D=2, gaussian=False)
    torch.testing.assert_close(plain.sum(-1), torch.ones(3))  # local-m: a softmax over the window
    # row 1: window 2..6 (5 positions), Gaussian of sigma = D/2 = 1 around 4: exp(-2) at the edges
    torch.testing.assert_close(w[1, [2, 4, 6]] * 5, torch.tensor([math.exp(-2), 1.0, math.exp(-2)]))
    assert int((w[0] > 0).sum()) == 3  # clipped at the start of the sequence


def test_hard_variant_reads_one_position_and_evaluates_its_argmax():
    torch.manual_seed(0)
    model = LookupModel("hard", n_pairs=5)
    keys, values, query, _, _ = make_batch(4, 5, torch.Generator().manual_seed(0))
    model.train()
    _, policy = model(keys, values, query)
    assert model.log_pi.shape == (4,) and model.log_pi.requires_grad
    torch.testing.assert_close(policy.sum(-1), torch.ones(4))
    model.eval()
    logits, _ = model(keys, values, query)
    h = torch.cat([model.key_emb(keys), model.value_emb(values)], dim=-1)
    torch.testing.assert_close(logits, model.out(h[torch.arange(4), policy.argmax(-1)]))


@pytest.mark.parametrize("reinforce", [True, False])
def test_reinforce_is_what_teaches_hard_attention(reinforce):
    torch.set_num_threads(1)
    model, losses, _ = train_variant("hard", steps=100, reinforce=reinforce)
    acc = evaluate(model, n=500)["accuracy"]
    assert (acc > 0.9) if reinforce else (acc < 0.5), acc
