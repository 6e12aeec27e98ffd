"""Hidden cases for assignment 01 ("glimpse"): random images and the edge cases of windows, blurs and masks."""
from __future__ import annotations

import numpy as np

from autograder.grading.cases import Case, FunctionSpec
from autograder.grading.specs.common import DTYPES
from autograder.grading.reference import glimpse as ref


def _image(rng, H, W, C=None, dtype=np.float64):
    """A random image: (H, W) if C is None, else (H, W, C)."""
    shape = (H, W) if C is None else (H, W, C)
    return rng.random(shape).astype(dtype)


def _random_image(rng, i, max_side=12):
    H, W = (int(v) for v in rng.integers(1, max_side + 1, size=2))
    C = (None, 3, None, 1)[i % 4]
    return _image(rng, H, W, C, DTYPES[i % 2])


def _centre(rng, image, beyond=3):
    """A centre anywhere from a few pixels outside the image to a few pixels past its far border."""
    H, W = image.shape[:2]
    return (int(rng.integers(-beyond, H + beyond)), int(rng.integers(-beyond, W + beyond)))


def extract_glimpse_cases(rng):
    for i in range(8):
        img = _random_image(rng, i)
        yield Case(f"random {i}", (img, _centre(rng, img), int(rng.integers(1, 8))))
    img = _image(rng, 9, 11)
    yield Case("odd size, centre inside", (img, (4, 5), 3))
    yield Case("even size, centre inside", (img, (4, 5), 4))
    yield Case("centre on the top-left corner pixel", (img, (0, 0), 5))
    yield Case("centre on the bottom-right corner pixel", (img, (8, 10), 4))
    yield Case("centre beyond the top border", (img, (-2, 6), 5))
    yield Case("centre beyond the right border", (img, (3, 12), 6))
    yield Case("window entirely outside the image", (img, (40, -30), 3))
    yield Case("size 1 (a single pixel)", (img, (2, 7), 1))
    yield Case("a 1x1 image", (np.array([[0.7]]), (0, 0), 3))
    yield Case("window larger than the image", (img, (4, 5), 16))
    yield Case("RGB image, even size, near a border", (_image(rng, 10, 8, 3), (9, 1), 4))
    yield Case("integer image", (rng.integers(0, 256, size=(7, 7)), (3, 3), 5))
    yield Case("centre given as a numpy array", (img, np.array([5, 2]), 3))


def multiscale_glimpse_cases(rng):
    for i in range(6):
        img = _random_image(rng, i, max_side=20)
        yield Case(f"random {i}", (img, _centre(rng, img), int(rng.integers(1, 6)), int(rng.integers(1, 4))))
    img = _image(rng, 16, 16)
    yield Case("one scale", (img, (8, 8), 4, 1))
    yield Case("three scales, odd size", (img, (7, 9), 3, 3))
    yield Case("three scales, even size", (img, (7, 9), 4, 3))
    yield Case("centre on the corner pixel", (img, (0, 0), 4, 3))
    yield Case("centre beyond the border", (img, (18, -1), 3, 2))
    yield Case("size 1 with four scales", (img, (5, 10), 1, 4))
    yield Case("RGB image", (_image(rng, 12, 14, 3), (6, 3), 4, 2))
    yield Case("float32 image", (_image(rng, 10, 10, None, np.float32), (5, 5), 2, 3))


def gaussian_attention_mask_cases(rng):
    for i in range(6):
        H, W = (int(v) for v in rng.integers(1, 15, size=2))
        centre = (float(rng.uniform(-2, H + 1)), float(rng.uniform(-2, W + 1)))
        yield Case(f"random {i}", ((H, W), centre, float(rng.uniform(0.5, 4.0))))
    yield Case("centre on a pixel", ((7, 9), (3, 4), 1.5))
    yield Case("centre between pixels", ((6, 6), (2.5, 2.5), 1.0))
    yield Case("centre on the border", ((8, 5), (0, 4), 2.0))
    yield Case("centre far outside the grid, small sigma", ((6, 8), (-60.0, 90.0), 0.7))
    yield Case("very small sigma", ((5, 5), (1.3, 3.0), 0.05))
    yield Case("very large sigma", ((4, 6), (2.0, 2.0), 1000.0))
    yield Case("a 1x1 grid", ((1, 1), (0.0, 0.0), 1.0))
    yield Case("a single row", ((1, 10), (0.0, 6.2), 2.0))
    yield Case("shape and centre given as numpy arrays", (np.array([5, 7]), np.array([2.0, 3.0]), 1.0))


def _read_problem(rng, i):
    spatial = ((int(rng.integers(1, 10)),), tuple(int(v) for v in rng.integers(1, 7, size=2)))[i % 2]
    D = int(rng.integers(1, 6))
    features = rng.standard_normal(spatial + (D,)).astype(DTYPES[i % 2])
    weights = rng.random(spatial)
    weights = (weights / weights.sum()).astype(DTYPES[i % 2])
    return features, weights


def soft_read_cases(rng):
    for i in range(6):
        yield Case(f"random {i}", _read_problem(rng, i))
    f = rng.standard_normal((4, 5, 3))
    yield Case("Gaussian weights over a 4x5 grid", (f, ref.gaussian_attention_mask((4, 5), (1.0, 3.0), 1.2)))
    one_hot = np.zeros((4, 5))
    one_hot[2, 1] = 1.0
    yield Case("one-hot weights", (f, one_hot))
    yield Case("uniform weights", (f, np.full((4, 5), 0.05)))
    yield Case("a single region", (rng.standard_normal((1, 4)), np.array([1.0])))
    yield Case("weights that do not sum to 1", (rng.standard_normal((6, 2)), rng.random(6) * 3))
    yield Case("feature size D = 1", (rng.standard_normal((3, 3, 1)), rng.random((3, 3))))


def hard_read_cases(rng):
    for i in range(6):
        yield Case(f"random {i}", _read_problem(rng, i))
    f = rng.standard_normal((4, 5, 3))
    w = rng.random((4, 5))
    w[1, 3] = w[3, 0] = 2.0
    yield Case("two equal largest weights", (f, w))
    yield Case("all weights equal", (f, np.full((4, 5), 0.05)))
    yield Case("negative weights", (rng.standard_normal((7, 2)), -rng.random(7)))
    yield Case("the largest weight in the last region", (rng.standard_normal((5, 3)), np.array([0.1, 0.2, 0.1, 0.2, 0.4])))
    yield Case("a single region", (rng.standard_normal((1, 4)), np.array([1.0])))
    yield Case("Gaussian weights over a 6x6 grid", (rng.standard_normal((6, 6, 2)), ref.gaussian_attention_mask((6, 6), (4.2, 1.7), 1.0)))


def gaussian_blur_cases(rng):
    for i in range(6):
        img = _random_image(rng, i)
        yield Case(f"random {i}", (img, float(rng.uniform(0.3, 3.0))))
    img = _image(rng, 9, 13)
    yield Case("sigma = 1 (radius 3)", (img, 1.0))
    yield Case("sigma whose 3 sigma is not an integer", (img, 0.7))
    yield Case("sigma larger than the image", (_image(rng, 4, 5), 4.0))
    spot = np.zeros((9, 9))
    spot[4, 4] = 1.0
    yield Case("a single bright pixel in the middle", (spot, 1.0))
    corner = np.zeros((6, 6))
    corner[0, 5] = 1.0
    yield Case("a single bright pixel in a corner", (corner, 1.5))
    yield Case("a constant image", (np.full((5, 7), 0.3), 2.0))
    yield Case("a 1x1 image", (np.array([[0.4]]), 1.0))
    yield Case("RGB image", (_image(rng, 8, 6, 3), 1.2))
    yield Case("float32 image", (_image(rng, 7, 7, None, np.float32), 0.8))


def saliency_cases(rng):
    for i in range(6):
        img = _random_image(rng, i)
        cs = float(rng.uniform(0.3, 1.5))
        yield Case(f"random {i}", (img, cs, cs + float(rng.uniform(0.5, 3.0))))
    spot = np.zeros((11, 11))
    spot[3, 7] = 1.0
    yield Case("a single bright pixel", (spot, 1.0, 3.0))
    yield Case("a uniform image", (np.full((6, 6), 0.5), 1.0, 3.0))
    yield Case("RGB image", (_image(rng, 10, 12, 3), 1.0, 4.0))
    yield Case("a 1x1 image", (np.array([[0.9]]), 0.5, 2.0))
    yield Case("float32 image", (_image(rng, 9, 9, None, np.float32), 0.7, 2.5))


FUNCTIONS = {
    "extract_glimpse": FunctionSpec("extract_glimpse", ref.extract_glimpse, extract_glimpse_cases),
    "multiscale_glimpse": FunctionSpec("multiscale_glimpse", ref.multiscale_glimpse, multiscale_glimpse_cases),
    "gaussian_attention_mask": FunctionSpec(
        "gaussian_attention_mask", ref.gaussian_attention_mask, gaussian_attention_mask_cases
    ),
    "soft_read": FunctionSpec("soft_read", ref.soft_read, soft_read_cases),
    "hard_read": FunctionSpec("hard_read", ref.hard_read, hard_read_cases),
    "gaussian_blur": FunctionSpec("gaussian_blur", ref.gaussian_blur, gaussian_blur_cases),
    "centre_surround_saliency": FunctionSpec(
        "centre_surround_saliency", ref.centre_surround_saliency, saliency_cases
    ),
}
