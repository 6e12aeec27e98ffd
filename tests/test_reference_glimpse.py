"""The chapter-1 reference agrees with PyTorch (padding, pooling, convolution, softmax, argmax),
with brute-force loops written independently, and with properties a reader can check by hand."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from autograder.grading.checking import check
from autograder.grading.reference import glimpse as G
from autograder.grading.reference.qkv import attention
from autograder.grading.specs import all_specs
from attn.vision import TARGET, colour_match_map, make_scene


def random_image(rng, channels):
    H, W = (int(v) for v in rng.integers(1, 14, size=2))
    shape = (H, W) if channels is None else (H, W, channels)
    return rng.random(shape)


def as_chw(image):
    """numpy (H, W) or (H, W, C) -> torch (1, C, H, W)."""
    t = torch.from_numpy(np.asarray(image, dtype=np.float64))
    t = t[None] if t.ndim == 2 else t.permute(2, 0, 1)
    return t[None]


def from_chw(t, like):
    """torch (1, C, h, w) -> numpy with the layout of ``like`` ((h, w) or (h, w, C))."""
    t = t[0]
    return (t[0] if np.ndim(like) == 2 else t.permute(1, 2, 0)).numpy()


def torch_glimpse(image, center, size):
    """Zero-pad with F.pad far enough for any window, then take the patch with F.unfold."""
    x = as_chw(image)
    P = size + abs(center[0]) + abs(center[1]) + max(image.shape[:2])
    xp = F.pad(x, (P, P, P, P))  # zeros around the image
    top, left = center[0] - size // 2 + P, center[1] - size // 2 + P
    patches = F.unfold(xp, kernel_size=size)  # (1, C * size * size, n_patches)
    n_cols = xp.shape[-1] - size + 1
    patch = patches[0, :, top * n_cols + left].reshape(x.shape[1], size, size)
    return from_chw(patch[None], image)


def brute_force_glimpse(image, center, size):
    """Pixel by pixel: copy the pixel if it is inside the image, else leave 0."""
    out = np.zeros((size, size) + image.shape[2:])
    for i in range(size):
        for j in range(size):
            r, c = center[0] - size // 2 + i, center[1] - size // 2 + j
            if 0 <= r < image.shape[0] and 0 <= c < image.shape[1]:
                out[i, j] = image[r, c]
    return out


@pytest.mark.parametrize("seed", range(30))
@pytest.mark.parametrize("channels", [None, 1, 3])
def test_extract_glimpse_matches_torch_unfold_and_brute_force(seed, channels):
    rng = np.random.default_rng(seed)
    image = random_image(rng, channels)
    size = int(rng.integers(1, 9))
    center = (int(rng.integers(-4, image.shape[0] + 4)), int(rng.integers(-4, image.shape[1] + 4)))
    got = G.extract_glimpse(image, center, size)
    np.testing.assert_array_equal(got, brute_force_glimpse(image, center, size))
    np.testing.assert_allclose(got, torch_glimpse(image, center, size), rtol=0, atol=1e-15)


def test_extract_glimpse_by_hand():
    image = np.arange(25.0).reshape(5, 5)
    np.testing.assert_array_equal(G.extract_glimpse(image, (2, 2), 3), [[6, 7, 8], [11, 12, 13], [16, 17, 18]])
    # Even size: the centre is the pixel just below-right of the middle (rows 1..4 for centre row 3).
    np.testing.assert_array_equal(G.extract_glimpse(image, (3, 3), 4), image[1:5, 1:5])
    np.testing.assert_array_equal(G.extract_glimpse(image, (0, 0), 3), [[0, 0, 0], [0, 0, 1], [0, 5, 6]])
    np.testing.assert_array_equal(G.extract_glimpse(image, (2, 3), 1), [[13]])
    np.testing.assert_array_equal(G.extract_glimpse(image, (-9, 20), 3), np.zeros((3, 3)))
    assert G.extract_glimpse(image.astype(np.float32), (1, 1), 2).dtype == np.float32


@pytest.mark.parametrize("seed", range(20))
@pytest.mark.parametrize("channels", [None, 3])
def test_multiscale_glimpse_matches_torch_pooling(seed, channels):
    rng = np.random.default_rng(100 + seed)
    image = random_image(rng, channels)
    size, n_scales = int(rng.integers(1, 6)), int(rng.integers(1, 4))
    center = (int(rng.integers(-2, image.shape[0] + 2)), int(rng.integers(-2, image.shape[1] + 2)))
    got = G.multiscale_glimpse(image, center, size, n_scales)
    assert got.shape == (n_scales, size, size) + image.shape[2:]
    for k in range(n_scales):
        wide = as_chw(torch_glimpse(image, center, size * 2**k))
        by_pool = from_chw(F.avg_pool2d(wide, kernel_size=2**k), image)
        by_area = from_chw(F.interpolate(wide, size=(size, size), mode="area"), image)
        np.testing.assert_allclose(got[k], by_pool, atol=1e-12)
        np.testing.assert_allclose(got[k], by_area, atol=1e-12)


def test_multiscale_glimpse_properties():
    rng = np.random.default_rng(0)
    image = rng.random((20, 20))
    g = G.multiscale_glimpse(image, (10, 10), 4, 3)
    np.testing.assert_array_equal(g[0], G.extract_glimpse(image, (10, 10), 4))
    # Each scale averages the same 8x8 / 16x16 window: its mean is the window's mean.
    assert math.isclose(g[1].mean(), image[6:14, 6:14].mean())
    assert math.isclose(g[2].mean(), image[2:18, 2:18].mean())
    # A constant image gives constant glimpses where the windows stay inside it.
    np.testing.assert_allclose(G.multiscale_glimpse(np.full((16, 16), 0.5), (8, 8), 2, 4), 0.5)


def torch_blur(image, sigma):
    """Gaussian blur with a 2-d kernel (outer product of the taps) and torch's replicate padding."""
    R = math.ceil(3 * sigma)
    k = torch.arange(-R, R + 1, dtype=torch.float64)
    g = torch.exp(-(k**2) / (2 * sigma**2))
    kernel2d = torch.outer(g, g) / g.sum() ** 2
    x = as_chw(image)
    C = x.shape[1]
    xp = F.pad(x, (R, R, R, R), mode="replicate")
    out = F.conv2d(xp, kernel2d.expand(C, 1, -1, -1).contiguous(), groups=C)
    return from_chw(out, image)


@pytest.mark.parametrize("seed", range(30))
@pytest.mark.parametrize("channels", [None, 3])
def test_gaussian_blur_matches_torch_conv2d(seed, channels):
    rng = np.random.default_rng(200 + seed)
    image = random_image(rng, channels)
    sigma = float(rng.uniform(0.3, 4.0))  # often wider than the image: padding repeats the edge
    np.testing.assert_allclose(G.gaussian_blur(image, sigma), torch_blur(image, sigma), atol=1e-12)


def test_gaussian_blur_properties():
    g = G.gaussian_kernel1d(1.0)
    assert len(g) == 7 and math.isclose(g.sum(), 1.0) and np.allclose(g, g[::-1])
    assert len(G.gaussian_kernel1d(0.7)) == 2 * 3 + 1  # R = ceil(2.1) = 3
    np.testing.assert_allclose(G.gaussian_blur(np.full((4, 6), 0.3), 2.0), 0.3)
    spot = np.zeros((15, 15))
    spot[7, 7] = 1.0
    blurred = G.gaussian_blur(spot, 1.5)
    # A single bright pixel spreads into the 2-d kernel, the outer product of the 1-d taps (R = 5).
    np.testing.assert_allclose(blurred[7 - 5:7 + 6, 7 - 5:7 + 6], np.outer(G.gaussian_kernel1d(1.5), G.gaussian_kernel1d(1.5)))
    assert math.isclose(blurred.sum(), 1.0)


@pytest.mark.parametrize("seed", range(10))
def test_saliency_matches_torch(seed):
    rng = np.random.default_rng(300 + seed)
    image = random_image(rng, 3 if seed % 2 else None)
    got = G.centre_surround_saliency(image, 1.0, 3.0)
    diff = np.abs(torch_blur(image, 1.0) - torch_blur(image, 3.0))
    np.testing.assert_allclose(got, diff if diff.ndim == 2 else diff.sum(-1), atol=1e-12)


def test_saliency_finds_the_odd_one_out():
    np.testing.assert_allclose(G.centre_surround_saliency(np.full((8, 8, 3), 0.4), 1.0, 4.0), 0.0, atol=1e-12)
    for seed in range(5):
        scene = make_scene(seed)
        sal = G.centre_surround_saliency(scene.image, 1.0, 4.0)
        peak = np.unravel_index(np.argmax(sal), sal.shape)
        assert np.hypot(peak[0] - scene.singleton[0], peak[1] - scene.singleton[1]) <= scene.radius
        # The target is not the most salient item; a top-down search for its colour finds it.
        top_down = colour_match_map(scene.image, TARGET)
        tpeak = np.unravel_index(np.argmax(G.gaussian_blur(top_down, 1.0)), sal.shape)
        assert np.hypot(tpeak[0] - scene.target[0], tpeak[1] - scene.target[1]) <= scene.radius


@pytest.mark.parametrize("seed", range(20))
def test_gaussian_mask_matches_torch_softmax(seed):
    rng = np.random.default_rng(400 + seed)
    H, W = (int(v) for v in rng.integers(1, 15, size=2))
    centre = (float(rng.uniform(-20, H + 20)), float(rng.uniform(-20, W + 20)))
    sigma = float(rng.uniform(0.2, 5.0))
    rows, cols = torch.meshgrid(torch.arange(H, dtype=torch.float64), torch.arange(W, dtype=torch.float64), indexing="ij")
    d2 = (rows - centre[0]) ** 2 + (cols - centre[1]) ** 2
    expected = torch.softmax(-d2.reshape(-1) / (2 * sigma**2), dim=0).reshape(H, W).numpy()
    got = G.gaussian_attention_mask((H, W), centre, sigma)
    np.testing.assert_allclose(got, expected, atol=1e-12)
    assert math.isclose(got.sum(), 1.0) and np.all(np.isfinite(got))


def test_gaussian_mask_by_hand():
    m = G.gaussian_attention_mask((5, 5), (2, 2), 1.0)
    raw = np.exp(-np.add.outer((np.arange(5) - 2.0) ** 2, (np.arange(5) - 2.0) ** 2) / 2)
    np.testing.assert_allclose(m, raw / raw.sum())
    assert np.unravel_index(np.argmax(m), m.shape) == (2, 2) and np.allclose(m, m.T)
    far = G.gaussian_attention_mask((4, 6), (-100.0, 200.0), 0.5)  # every exp underflows if done naively
    assert math.isclose(far.sum(), 1.0) and far[0, 5] > 0.999
    np.testing.assert_allclose(G.gaussian_attention_mask((3, 4), (1, 1), 1e6), 1 / 12)


@pytest.mark.parametrize("seed", range(20))
def test_soft_read_matches_torch_and_is_attention_with_one_query(seed):
    rng = np.random.default_rng(500 + seed)
    H, W, D = (int(v) for v in rng.integers(1, 8, size=3))
    features = rng.standard_normal((H, W, D))
    centre, sigma = (float(rng.uniform(0, H)), float(rng.uniform(0, W))), float(rng.uniform(0.5, 3.0))
    weights = G.gaussian_attention_mask((H, W), centre, sigma)
    got = G.soft_read(features, weights)
    np.testing.assert_allclose(got, torch.einsum("hw,hwd->d", torch.from_numpy(weights), torch.from_numpy(features)).numpy())
    # The same read-out as chapter 3's scaled dot-product attention with one query: keys are positions
    # (r, c, r^2 + c^2) and the query (r0, c0, -1/2) / sigma^2 * sqrt(3), so q.k / sqrt(3) equals
    # -|x - centre|^2 / (2 sigma^2) up to a constant that softmax ignores.
    r, c = np.meshgrid(np.arange(H, dtype=float), np.arange(W, dtype=float), indexing="ij")
    K = np.stack([r.ravel(), c.ravel(), r.ravel() ** 2 + c.ravel() ** 2], axis=-1)  # (H*W, 3)
    q = np.array([[centre[0], centre[1], -0.5]]) / sigma**2 * math.sqrt(3)  # (1, 3)
    out, w = attention(q, K, features.reshape(-1, D))
    np.testing.assert_allclose(w[0], weights.ravel(), atol=1e-10)
    np.testing.assert_allclose(out[0], got, atol=1e-10)


@pytest.mark.parametrize("seed", range(20))
def test_hard_read_matches_torch_argmax(seed):
    rng = np.random.default_rng(600 + seed)
    N, D = int(rng.integers(1, 30)), int(rng.integers(1, 5))
    features = rng.standard_normal((N, D))
    weights = rng.integers(0, 4, size=N).astype(float)  # many ties: torch.argmax returns the first maximum
    i = int(torch.argmax(torch.from_numpy(weights)))
    np.testing.assert_array_equal(G.hard_read(features, weights), features[i])


def test_hard_and_soft_read_by_hand():
    features = np.arange(12.0).reshape(2, 2, 3)
    np.testing.assert_array_equal(G.hard_read(features, np.array([[0.1, 0.4], [0.4, 0.1]])), [3.0, 4.0, 5.0])
    np.testing.assert_allclose(G.soft_read(features, np.full((2, 2), 0.25)), features.reshape(4, 3).mean(0))
    one_hot = np.array([[0.0, 0.0], [0.0, 1.0]])
    np.testing.assert_array_equal(G.soft_read(features, one_hot), G.hard_read(features, one_hot))


@pytest.mark.parametrize("name", sorted(all_specs("01-glimpse")))
def test_reference_passes_its_own_hidden_cases_and_a_wrong_answer_fails(name):
    """The checker accepts the reference on every case, and rejects an answer that is off by a little."""
    ref = getattr(G, name)
    check("01-glimpse", name, ref, seed=123)

    def off_by_a_bit(*args, **kwargs):
        return ref(*args, **kwargs) * 1.01 + 0.01

    with pytest.raises(AssertionError):
        check("01-glimpse", name, off_by_a_bit, seed=123)


def centred_the_other_way(image, center, size):
    """A plausible mistake: even windows extend further down-right instead of up-left."""
    shifted = (center[0] + (1 - size % 2), center[1] + (1 - size % 2))
    return G.extract_glimpse(image, shifted, size)


def subsampled_scales(image, center, size, n_scales):
    """A plausible mistake: keep every 2^k-th pixel instead of averaging blocks."""
    return np.stack([G.extract_glimpse(image, center, size * 2**k)[:: 2**k, :: 2**k] for k in range(n_scales)])


def zero_padded_blur(image, sigma):
    """A plausible mistake: zeros beyond the border instead of the repeated edge."""
    g = G.gaussian_kernel1d(sigma)
    R = len(g) // 2
    big = np.zeros((image.shape[0] + 2 * R, image.shape[1] + 2 * R) + image.shape[2:])
    big[R:-R or None, R:-R or None] = image
    return G.gaussian_blur(big, sigma)[R:-R or None, R:-R or None]


def last_maximum(features, weights):
    """A plausible mistake: ties broken towards the last maximum."""
    flat = np.asarray(weights).reshape(-1)
    return np.asarray(features).reshape(flat.size, -1)[flat.size - 1 - int(np.argmax(flat[::-1]))]


def naive_mask(shape, center, sigma):
    """A plausible mistake: exp / sum without the shift, which gives nan when every exp underflows."""
    r, c = np.meshgrid(np.arange(shape[0]), np.arange(shape[1]), indexing="ij")
    with np.errstate(invalid="ignore"):
        e = np.exp(-((r - center[0]) ** 2 + (c - center[1]) ** 2) / (2 * sigma**2))
        return e / e.sum()


@pytest.mark.parametrize(
    "name, wrong",
    [
        ("extract_glimpse", centred_the_other_way),
        ("multiscale_glimpse", subsampled_scales),
        ("gaussian_blur", zero_padded_blur),
        ("hard_read", last_maximum),
        ("gaussian_attention_mask", naive_mask),
    ],
)
def test_hidden_cases_catch_plausible_mistakes(name, wrong):
    for seed in (1, 2, 3):
        with pytest.raises(AssertionError):
            check("01-glimpse", name, wrong, seed=seed)


def test_scenes_are_reproducible_and_items_do_not_overlap():
    a, b = make_scene(3), make_scene(3)
    np.testing.assert_array_equal(a.image, b.image)
    assert not np.array_equal(a.image, make_scene(4).image)
    centres = [a.target, a.singleton] + a.clutter
    assert len(set(centres)) == len(centres)
    for i, p in enumerate(centres):
        for q in centres[i + 1:]:
            assert np.hypot(p[0] - q[0], p[1] - q[1]) >= 2 * a.radius + 1, "discs must not touch"
    assert a.image.min() >= 0.0 and a.image.max() <= 1.0
    # The top-down map (blurred over each disc) is clearly larger on the target than on any distractor.
    for seed in range(8):
        s = make_scene(seed)
        match = G.gaussian_blur(colour_match_map(s.image, TARGET), 1.0)
        assert match[s.target] > 1.5 * max(match[p] for p in s.clutter)
