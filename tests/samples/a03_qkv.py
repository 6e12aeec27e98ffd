"""Sample submissions of assignment 03 and their exact expected scores.

Points (from the test cells of solutions/03-qkv/qkv.ipynb): softmax 2, masked_softmax 3,
dot_product_scores 1, scaled_dot_product_scores 1, cosine_scores 2, attention 3; total 12.
"""
from tests.samples import Sample

ASSIGNMENT = "03-qkv"
MAX_SCORE = 12

# Correct, but written differently from both the reference and the instructor's solution:
# explicit Python loops over rows, float32 arithmetic, a print, and torch inside `attention`.
# (Warnings and stderr are a fairness case of the hardened grader: tests/test_hostile.py.)
DIFFERENT = {
    "softmax-answer": '''
def softmax(x, axis=-1):
    """Softmax via a loop over every 1-d slice along `axis`, in float32."""
    x = np.moveaxis(np.array(x, dtype=np.float32), axis, -1)
    out = np.empty_like(x)
    for idx in np.ndindex(*x.shape[:-1]):
        row = x[idx]
        e = np.exp(row - row.max())
        out[idx] = e / e.sum()
    print("softmax computed on", x.shape)
    return np.moveaxis(out, -1, axis)
''',
    "masked-softmax-answer": '''
def masked_softmax(scores, mask):
    scores = np.array(scores, dtype=float)
    mask = np.broadcast_to(np.array(mask, dtype=bool), scores.shape)
    out = np.zeros_like(scores)
    for idx in np.ndindex(*scores.shape[:-1]):
        allowed = mask[idx]
        if allowed.any():
            out[idx][allowed] = softmax(scores[idx][allowed])
    return out
''',
    "scores-answer": '''
import math

def dot_product_scores(Q, K):
    Q, K = np.asarray(Q, dtype=float), np.asarray(K, dtype=float)
    return np.matmul(Q, np.swapaxes(K, -1, -2))

def scaled_dot_product_scores(Q, K):
    return dot_product_scores(Q, K) * (1.0 / math.sqrt(np.shape(Q)[-1]))

def cosine_scores(Q, K):
    Q, K = np.asarray(Q, dtype=float), np.asarray(K, dtype=float)
    num = dot_product_scores(Q, K)
    den = np.linalg.norm(Q, axis=-1)[..., :, None] * np.linalg.norm(K, axis=-1)[..., None, :]
    with np.errstate(invalid="ignore", divide="ignore"):
        c = num / den
    return np.where(den == 0, 0.0, c)
''',
    "attention-answer": '''
import torch

def attention(Q, K, V, mask=None):
    s = scaled_dot_product_scores(Q, K)
    w = softmax(s) if mask is None else masked_softmax(s, mask)
    out = torch.einsum("...qk,...kv->...qv", torch.from_numpy(np.asarray(w, dtype=float)), torch.as_tensor(np.asarray(V, dtype=float)))
    return out.numpy(), w
''',
}

# cosine_scores forgets to normalise the keys: only the cosine test cell (2 points) fails.
WRONG_COSINE = {
    "scores-answer": DIFFERENT["scores-answer"].replace(
        "np.linalg.norm(Q, axis=-1)[..., :, None] * np.linalg.norm(K, axis=-1)[..., None, :]",
        "np.linalg.norm(Q, axis=-1)[..., :, None] * np.ones(np.shape(K)[:-1])[..., None, :]",
    ),
}

# One graded function broken at a time (it loops forever, raises, or returns wrong values): only that
# function's test cell loses its points. Later functions that call it (masked_softmax -> softmax in the
# visible test, attention -> masked_softmax, scaled and cosine -> dot_product_scores) keep theirs, because
# their tests run with public stand-ins for the other graded functions (autograder/grading/standins.py).
LOOPING_SOFTMAX = {"softmax-answer": "def softmax(x, axis=-1):\n    while True:\n        pass\n"}
RAISING_MASKED_SOFTMAX = {"masked-softmax-answer": "def masked_softmax(scores, mask):\n    raise ValueError('oops')\n"}
WRONG_DOT = {"scores-answer": DIFFERENT["scores-answer"].replace(
    "return np.matmul(Q, np.swapaxes(K, -1, -2))", "return np.matmul(Q, np.swapaxes(K, -1, -2)) + 1.0")}

SAMPLES = {
    "correct": Sample(score=12),
    "blank": Sample(score=0, solution=False),
    "wrong-cosine": Sample(score=12 - 2, override=WRONG_COSINE),
    "different": Sample(score=12, override=DIFFERENT),
    "broken-softmax-loops": Sample(score=12 - 2, override={**DIFFERENT, **LOOPING_SOFTMAX}),
    "broken-masked-softmax-raises": Sample(score=12 - 3, override={**DIFFERENT, **RAISING_MASKED_SOFTMAX}),
    "broken-dot-product-wrong": Sample(score=12 - 1, override={**DIFFERENT, **WRONG_DOT}),
}
