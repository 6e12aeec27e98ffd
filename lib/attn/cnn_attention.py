"""Channel and spatial attention inside a small CNN (chapter 5, section "Attention inside a CNN").

Squeeze-and-excitation (Hu et al. 2018) weighs the channels of a feature map, the spatial attention of CBAM
(Woo et al. 2018) its positions, each with a sigmoid gate. ``AttentionCNN`` is the small CNN of
``attn.vit.SmallCNN`` with either or both inserted after its second convolution, so that it can be measured
against the same CNN without them.
"""
from __future__ import annotations

import torch
from torch import nn


class SqueezeExcitation(nn.Module):
    """Channel attention (Hu et al. 2018; eq-se): squeeze each channel to its mean over the positions, excite with a
    two-layer network and a sigmoid, and scale each channel by its weight."""

    def __init__(self, channels: int, reduction: int = 4):
        super().__init__()
        self.down = nn.Linear(channels, channels // reduction)  # W_1: C -> C / r
        self.up = nn.Linear(channels // reduction, channels)    # W_2: C / r -> C
        self.weights = None  # the channel weights s of the last forward pass, (B, C)

    def forward(self, u):
        z = u.mean(dim=(2, 3))                                # (B, C, H, W) -> (B, C): squeeze
        s = torch.sigmoid(self.up(torch.relu(self.down(z))))  # (B, C): excitation, each weight in (0, 1) on its own
        self.weights = s.detach()
        return u * s[:, :, None, None]                        # (B, C, H, W): every position of channel c times s_c


class SpatialAttention(nn.Module):
    """CBAM's spatial attention (Woo et al. 2018; eq-spatial): the mean and the maximum over the channels at each
    position, a k x k convolution of the two maps and a sigmoid give one weight per position."""

    def __init__(self, kernel: int = 7):
        super().__init__()
        self.conv = nn.Conv2d(2, 1, kernel, padding=kernel // 2)  # same size out as in
        self.map = None  # the spatial weights M of the last forward pass, (B, H, W)

    def forward(self, u):
        pooled = torch.cat([u.mean(dim=1, keepdim=True), u.amax(dim=1, keepdim=True)], dim=1)  # (B, 2, H, W)
        m = torch.sigmoid(self.conv(pooled))                   # (B, 1, H, W): each weight in (0, 1) on its own
        self.map = m[:, 0].detach()
        return u * m                                           # (B, C, H, W): every channel at (i, j) times M_ij


class AttentionCNN(nn.Module):
    """``SmallCNN`` of ``attn.vit`` with channel attention, spatial attention or both (in that order, as in CBAM)
    after its second convolution; with neither it is ``SmallCNN``."""

    def __init__(self, channel: bool = True, spatial: bool = False, channels=(16, 32), hidden=24, n_classes=10,
                 reduction: int = 4, kernel: int = 7):
        super().__init__()
        c1, c2 = channels
        self.conv = nn.Sequential(nn.Conv2d(1, c1, 3, padding=1), nn.ReLU(), nn.Conv2d(c1, c2, 3, padding=1), nn.ReLU())
        self.classifier = nn.Sequential(nn.MaxPool2d(2), nn.Flatten(), nn.Linear(c2 * 16, hidden), nn.ReLU(),
                                        nn.Linear(hidden, n_classes))
        # Made after the CNN's own layers: after one seed, those start from the same weights as SmallCNN's, so a run
        # with attention and a run without differ only by the attention (and what it changes in training).
        self.channel_attention = SqueezeExcitation(c2, reduction) if channel else nn.Identity()
        self.spatial_attention = SpatialAttention(kernel) if spatial else nn.Identity()

    def forward(self, images):
        u = self.conv(images[:, None])                          # (B, 8, 8) -> (B, c2, 8, 8)
        u = self.spatial_attention(self.channel_attention(u))   # (B, c2, 8, 8), rescaled
        return self.classifier(u)                               # 2x2 max-pooling, then (B, n_classes)
