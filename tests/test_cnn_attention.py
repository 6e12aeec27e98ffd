"""attn.cnn_attention (chapter 5, attention inside a CNN): what the two gates compute, and the paired baseline."""
from __future__ import annotations

import torch

from attn.cnn_attention import AttentionCNN, SpatialAttention, SqueezeExcitation
from attn.vit import SmallCNN


def test_squeeze_excitation_scales_each_channel_by_one_weight_from_its_mean():
    torch.manual_seed(0)
    se = SqueezeExcitation(8, reduction=2)
    u = torch.rand(3, 8, 5, 5)
    out = se(u)
    assert out.shape == u.shape and se.weights.shape == (3, 8)
    assert torch.all((se.weights > 0) & (se.weights < 1))
    assert torch.allclose(out, u * se.weights[:, :, None, None])
    # Squeeze: only each channel's mean matters, not where in the map its activity is.
    assert torch.allclose(se(u.flip(-1).flip(-2)), out.flip(-1).flip(-2))
    expected = torch.sigmoid(se.up(torch.relu(se.down(u.mean(dim=(2, 3))))))
    assert torch.allclose(se.weights, expected)


def test_squeeze_excitation_weights_are_gates_not_a_softmax():
    torch.manual_seed(1)
    se = SqueezeExcitation(16)
    with torch.no_grad():
        se.up.bias.fill_(10.0)  # every gate open
    se(torch.rand(2, 16, 4, 4))
    assert torch.allclose(se.weights.sum(-1), torch.full((2,), 16.0), atol=1e-3)  # no competition: all near 1


def test_spatial_attention_weighs_positions_from_the_channel_mean_and_max():
    torch.manual_seed(0)
    sa = SpatialAttention(kernel=3)
    u = torch.rand(2, 6, 7, 7)
    out = sa(u)
    assert out.shape == u.shape and sa.map.shape == (2, 7, 7)
    assert torch.all((sa.map > 0) & (sa.map < 1))
    assert torch.allclose(out, u * sa.map[:, None])
    # Only the channel mean and maximum enter: permuting the channels changes nothing.
    before, perm = sa.map.clone(), torch.randperm(6)
    assert torch.allclose(sa(u[:, perm]), out[:, perm]) and torch.allclose(sa.map, before)


def test_without_attention_it_is_the_small_cnn_and_with_it_the_shared_layers_start_the_same():
    x = torch.rand(4, 8, 8)
    torch.manual_seed(5)
    plain = AttentionCNN(channel=False, spatial=False)
    torch.manual_seed(5)
    small = SmallCNN()
    assert sum(p.numel() for p in plain.parameters()) == sum(p.numel() for p in small.parameters())
    assert torch.allclose(plain(x), small(x))
    for channel, spatial in ((True, False), (False, True), (True, True)):
        torch.manual_seed(5)
        model = AttentionCNN(channel=channel, spatial=spatial)
        assert model(x).shape == (4, 10)
        assert torch.equal(model.conv[0].weight, plain.conv[0].weight)
        assert torch.equal(model.classifier[-1].weight, plain.classifier[-1].weight)
        extra = sum(p.numel() for p in model.parameters()) - sum(p.numel() for p in plain.parameters())
        assert 0 < extra < 0.05 * sum(p.numel() for p in plain.parameters())
