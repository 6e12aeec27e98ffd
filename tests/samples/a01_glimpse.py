"""Sample submissions of assignment 01 and their exact expected scores.

Points (from the test cells of solutions/01-glimpse/glimpse.ipynb): extract_glimpse 3, multiscale_glimpse 3,
gaussian_blur 2, centre_surround_saliency 2, gaussian_attention_mask 2, soft_read 1, hard_read 1; total 14.
"""
from tests.samples import Sample

ASSIGNMENT = "01-glimpse"
MAX_SCORE = 14

# Correct, but written differently from both the reference and the instructor's solution:
# pixel loops, float32 arithmetic, a direct (non-separable) 2-d blur, torch pooling, einsum, log-sum-exp.
DIFFERENT = {
    "extract-glimpse-answer": '''
def extract_glimpse(image, center, size):
    """Pixel by pixel, in float32."""
    image = np.asarray(image)
    out = np.zeros((size, size) + image.shape[2:], dtype=np.float32)
    top, left = center[0] - size // 2, center[1] - size // 2
    for i in range(size):
        for j in range(size):
            r, c = top + i, left + j
            if 0 <= r < image.shape[0] and 0 <= c < image.shape[1]:
                out[i, j] = image[r, c]
    return out
''',
    "multiscale-glimpse-answer": '''
import torch
import torch.nn.functional as F

def multiscale_glimpse(image, center, size, n_scales):
    scales = []
    for k in range(n_scales):
        wide = torch.tensor(np.asarray(extract_glimpse(image, center, size * 2**k), dtype=np.float64))
        x = wide[None, None] if wide.ndim == 2 else wide.permute(2, 0, 1)[None]  # (1, C, h, w)
        pooled = F.avg_pool2d(x, kernel_size=2**k)[0]  # (C, size, size)
        scales.append(pooled[0] if wide.ndim == 2 else pooled.permute(1, 2, 0))
    print("retina with", n_scales, "scales")
    return torch.stack(scales).numpy()
''',
    "gaussian-blur-answer": '''
def gaussian_blur(image, sigma):
    """A direct 2-d convolution with the outer product of the taps (slower, same result), in float32."""
    image = np.asarray(image, dtype=np.float32)
    R = int(np.ceil(3 * sigma))
    h = np.exp(-np.arange(-R, R + 1) ** 2 / (2 * sigma**2))
    h2 = np.outer(h, h) / h.sum() ** 2
    p = np.pad(image, [(R, R), (R, R)] + [(0, 0)] * (image.ndim - 2), mode="edge")
    H, W = image.shape[:2]
    out = np.zeros_like(image)
    for i in range(2 * R + 1):
        for j in range(2 * R + 1):
            out += np.float32(h2[i, j]) * p[i:i + H, j:j + W]
    return out
''',
    "saliency-answer": '''
def centre_surround_saliency(image, center_sigma, surround_sigma):
    img = np.asarray(image, dtype=float)
    if img.ndim == 2:
        img = img[:, :, None]
    total = np.zeros(img.shape[:2])
    for ch in range(img.shape[2]):
        total += np.abs(gaussian_blur(img[:, :, ch], center_sigma) - gaussian_blur(img[:, :, ch], surround_sigma))
    return total
''',
    "mask-answer": '''
def gaussian_attention_mask(shape, center, sigma):
    rows = (np.arange(shape[0]) - center[0]) ** 2
    cols = (np.arange(shape[1]) - center[1]) ** 2
    logits = -np.add.outer(rows, cols) / (2 * sigma**2)
    log_z = logits.max() + np.log(np.exp(logits - logits.max()).sum())
    return np.exp(logits - log_z)
''',
    "soft-read-answer": '''
def soft_read(features, weights):
    w = np.asarray(weights, dtype=float).ravel()
    f = np.asarray(features, dtype=float).reshape(w.size, -1)
    return np.einsum("n,nd->d", w, f)
''',
    "hard-read-answer": '''
def hard_read(features, weights):
    w = list(np.asarray(weights, dtype=float).ravel())
    best = 0
    for i, v in enumerate(w):
        if v > w[best]:  # strictly larger: the first maximum wins ties
            best = i
    return np.asarray(features, dtype=float).reshape(len(w), -1)[best]
''',
}

# The mask computed literally, exp / sum: nan when every exponential underflows (centre far away,
# small sigma). Only the mask's test cell (2 points) fails.
WRONG_MASK = {
    "mask-answer": '''
def gaussian_attention_mask(shape, center, sigma):
    r, c = np.meshgrid(np.arange(shape[0]), np.arange(shape[1]), indexing="ij")
    e = np.exp(-((r - center[0]) ** 2 + (c - center[1]) ** 2) / (2 * sigma**2))
    return e / e.sum()
''',
}

# Even windows centred the other way (one more pixel below-right than above-left). extract_glimpse fails
# (3 points); multiscale_glimpse, which calls it, keeps its points (its test gets a stand-in); everything
# else passes.
WRONG_CENTRING = {
    "extract-glimpse-answer": DIFFERENT["extract-glimpse-answer"].replace(
        "top, left = center[0] - size // 2, center[1] - size // 2",
        "top, left = center[0] - (size - 1) // 2, center[1] - (size - 1) // 2",
    ),
}

SAMPLES = {
    "correct": Sample(score=14),
    "blank": Sample(score=0, solution=False),
    "wrong-mask": Sample(score=14 - 2, override=WRONG_MASK),
    # Only extract_glimpse's 3 points: multiscale_glimpse calls it, but its test runs with a stand-in for it
    # (before the stand-ins this sample lost multiscale_glimpse's 3 points too, scoring 14 - 3 - 3).
    "wrong-extract_glimpse": Sample(score=14 - 3, override=WRONG_CENTRING),
    "different": Sample(score=14, override=DIFFERENT),
}
