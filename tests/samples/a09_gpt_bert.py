"""Sample submissions of assignment 09 and their exact expected scores.

Points (from the test cells of solutions/09-gpt-bert/gpt_bert.ipynb): mlm_mask 4, sample_next 4; total 8.
"""
from tests.samples import Sample

ASSIGNMENT = "09-gpt-bert"
MAX_SCORE = 8

# Correct, written differently: a loop over positions for the masking rule; torch's softmax in float32 and a
# loop over rows (after the single documented draw) for sampling.
DIFFERENT = {
    "mlm-answer": '''
def mlm_mask(tokens, p, rng, mask_id, vocab_size):
    tokens = np.asarray(tokens)
    select = rng.random(tokens.shape) < p
    u = rng.random(tokens.shape)
    rand = rng.integers(0, vocab_size, size=tokens.shape)
    out = tokens.copy()
    for idx in np.ndindex(*tokens.shape):
        if select[idx]:
            if u[idx] < 0.8:
                out[idx] = mask_id
            elif u[idx] < 0.9:
                out[idx] = rand[idx]
    return out, select
''',
    "sample-answer": '''
import torch

def sample_next(logits, temperature, top_k, rng):
    x = np.asarray(logits, dtype=np.float64)
    if temperature == 0:
        return int(np.argmax(x)) if x.ndim == 1 else np.argmax(x, axis=-1)
    u = np.atleast_1d(rng.random(x.shape[:-1]))
    rows = x.reshape(-1, x.shape[-1])
    picks = []
    for row, r in zip(rows, u.reshape(-1)):
        t = torch.tensor(row / temperature, dtype=torch.float32)
        if top_k is not None and top_k < len(row):
            kth = torch.topk(t, top_k).values[-1]
            t = torch.where(t < kth, torch.tensor(-float("inf")), t)
        cdf = torch.cumsum(torch.softmax(t, 0), 0).double().numpy()
        cdf = cdf / cdf[-1]
        picks.append(int(np.sum(cdf <= r)))
    return picks[0] if x.ndim == 1 else np.array(picks).reshape(x.shape[:-1])
''',
}

# Every selected position becomes [MASK] (the 10 % random and 10 % kept forgotten): the mlm cell fails (4 points).
WRONG_MLM = {
    "mlm-answer": '''
def mlm_mask(tokens, p, rng, mask_id, vocab_size):
    tokens = np.asarray(tokens)
    select = rng.random(tokens.shape) < p
    rng.random(tokens.shape)
    rng.integers(0, vocab_size, size=tokens.shape)
    return np.where(select, mask_id, tokens).astype(tokens.dtype), select
''',
}

# Temperature multiplies the logits instead of dividing them: the sampling cell fails (4 points).
WRONG_SAMPLE = {
    "sample-answer": '''
def sample_next(logits, temperature, top_k, rng):
    logits = np.asarray(logits, dtype=float)
    if temperature == 0:
        best = logits.argmax(axis=-1)
        return int(best) if logits.ndim == 1 else best
    z = logits * temperature
    V = z.shape[-1]
    if top_k is not None and top_k < V:
        z = np.where(z >= np.sort(z, axis=-1)[..., V - top_k : V - top_k + 1], z, -np.inf)
    w = np.exp(z - z.max(axis=-1, keepdims=True))
    cdf = np.cumsum(w, axis=-1)
    cdf = cdf / cdf[..., -1:]
    u = rng.random(logits.shape[:-1])
    choice = (cdf <= np.expand_dims(u, -1)).sum(axis=-1)
    return int(choice) if logits.ndim == 1 else choice
''',
}

SAMPLES = {
    "correct": Sample(score=8),
    "blank": Sample(score=0, solution=False),
    "wrong-mlm": Sample(score=8 - 4, override=WRONG_MLM),
    "wrong-sample": Sample(score=8 - 4, override=WRONG_SAMPLE),
    "different": Sample(score=8, override=DIFFERENT),
}
