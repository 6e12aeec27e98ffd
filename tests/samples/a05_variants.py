"""Sample submissions of assignment 05 and their exact expected scores.

Points (from the test cells of solutions/05-variants/variants.ipynb): location_scores 1, local_window 2,
local_p_attention 3, hard_attention 3, monotonic_mask 2, key_value_split 1, attention_entropy 2; total 14.
"""
from tests.samples import Sample

ASSIGNMENT = "05-variants"
MAX_SCORE = 14

# Correct, but written differently from the reference and the instructor's solution:
# Python loops, torch inside, float32 arithmetic (entropy), reshaping instead of ndindex.
DIFFERENT = {
    "location-answer": '''
import torch

def location_scores(S, W):
    return (torch.as_tensor(np.asarray(S, dtype=float)) @ torch.as_tensor(np.asarray(W, dtype=float))).numpy()
''',
    "window-answer": '''
def local_window(p, n, D):
    p = np.asarray(p, dtype=float)
    out = np.zeros(p.shape + (n,), dtype=bool)
    for idx in np.ndindex(*p.shape):
        for s in range(n):
            out[idx + (s,)] = abs(s - p[idx]) <= D
    return out
''',
    "local-p-answer": '''
import torch

def local_p_attention(h_t, H, W_p, v_p, D):
    h = torch.as_tensor(np.asarray(h_t, dtype=float))
    Hs = torch.as_tensor(np.asarray(H, dtype=float))
    n = Hs.shape[-2]
    p = (n - 1) * torch.sigmoid(torch.tanh(h @ torch.as_tensor(np.asarray(W_p, dtype=float))) @ torch.as_tensor(np.asarray(v_p, dtype=float)))
    scores = (Hs @ h.unsqueeze(-1)).squeeze(-1)
    s = torch.arange(n, dtype=torch.float64)
    inside = (s - p.unsqueeze(-1)).abs() <= D
    w = torch.softmax(scores.masked_fill(~inside, float("-inf")), dim=-1)
    w = torch.nan_to_num(w) * torch.exp(-((s - p.unsqueeze(-1)) ** 2) / (2 * (D / 2) ** 2))
    return w.numpy()
''',
    "hard-answer": '''
def hard_attention(weights, values, sample=False, rng=None):
    w = np.asarray(weights, dtype=np.float64)
    n_k = w.shape[-1]
    rows = w.reshape(-1, n_k)  # row-major order, as asked
    picks = []
    for row in rows:
        if np.all(row == 0):
            picks.append(-1)
        elif sample:
            picks.append(int(rng.choice(n_k, p=row / row.sum())))
        else:
            picks.append(int(np.argmax(row)))
    picks = np.array(picks).reshape(w.shape[:-1])
    one_hot = np.stack([(picks == j) for j in range(n_k)], axis=-1).astype(float)
    return np.einsum("...qk,...kv->...qv", one_hot, np.asarray(values, dtype=float)), one_hot
''',
    "monotonic-answer": '''
def monotonic_mask(prev, n_k, max_step=None):
    prev = np.asarray(prev)
    out = np.zeros(prev.shape + (n_k,), dtype=bool)
    for idx in np.ndindex(*prev.shape):
        stop = n_k if max_step is None else min(n_k, prev[idx] + max_step + 1)
        out[idx + (slice(prev[idx], stop),)] = True
    return out
''',
    "kv-answer": '''
def key_value_split(H, d_k):
    H = np.asarray(H)
    return np.take(H, range(d_k), axis=-1), np.take(H, range(d_k, H.shape[-1]), axis=-1)
''',
    "entropy-answer": '''
def attention_entropy(weights):
    w = np.asarray(weights, dtype=np.float32)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(w > 0, w * np.log(w), np.float32(0))
    return -terms.sum(axis=-1)
''',
}

# Samples with a generator of its own instead of the `rng` it is given: the draws still follow the
# weights (the visible tests pass) but are not the ones the grader reproduces from the seeded `rng`.
WRONG_SAMPLING = {
    "hard-answer": '''
def hard_attention(weights, values, sample=False, rng=None):
    w = np.asarray(weights, dtype=float)
    n_k = w.shape[-1]
    one_hot = np.zeros(w.shape)
    for pos in np.ndindex(*w.shape[:-1]):
        row = w[pos]
        if not row.any():
            continue
        if sample:
            j = int(np.random.default_rng().choice(n_k, p=row / row.sum()))
        else:
            j = int(np.argmax(row))
        one_hot[pos + (j,)] = 1.0
    return one_hot @ np.asarray(values, dtype=float), one_hot
''',
}

SAMPLES = {
    "correct": Sample(score=14),
    "blank": Sample(score=0, solution=False),
    "wrong-hard-sampling": Sample(score=14 - 3, override=WRONG_SAMPLING),
    "different": Sample(score=14, override=DIFFERENT),
}
