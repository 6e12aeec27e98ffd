"""Sample submissions of assignment 06 and their exact expected scores.

Points (from the test cells of solutions/06-self-attention/self_attention.ipynb): causal_mask 2,
padding_mask 2, self_attention 4; total 8. The visible test of self_attention writes its masks out
instead of calling the student's, so a wrong mask costs only that mask's points.
"""
from tests.samples import Sample

ASSIGNMENT = "06-self-attention"
MAX_SCORE = 8

# Correct, but written differently from the reference and the instructor's solution: Python loops,
# float arithmetic turned into booleans, torch and float32 inside self_attention.
DIFFERENT = {
    "causal-answer": '''
def causal_mask(n):
    m = []
    for i in range(n):
        m.append([j <= i for j in range(n)])
    return np.array(m, dtype=bool).reshape(n, n)
''',
    "padding-answer": '''
def padding_mask(lengths, n):
    lengths = np.asarray(lengths, dtype=np.float32)
    keep = np.arange(n, dtype=np.float32)[None, :] - lengths[:, None]  # negative for real tokens
    return (keep < 0)[:, None, :]
''',
    "self-attention-answer": '''
import torch

def self_attention(X, W_q, W_k, W_v, mask=None):
    X = torch.as_tensor(np.asarray(X), dtype=torch.float32)
    Q, K, V = (X @ torch.as_tensor(np.asarray(W), dtype=torch.float32) for W in (W_q, W_k, W_v))
    out, w = attention(Q.numpy(), K.numpy(), V.numpy(), mask=mask)
    return out.astype(np.float32), w.astype(np.float32)
''',
}

# padding_mask lets every sequence see one padding token too (j <= length): only its 2 points are lost.
WRONG_PADDING = {
    "padding-answer": DIFFERENT["padding-answer"].replace("return (keep < 0)", "return (keep <= 0)"),
}

SAMPLES = {
    "correct": Sample(score=8),
    "blank": Sample(score=0, solution=False),
    "wrong-padding_mask": Sample(score=8 - 2, override=WRONG_PADDING),
    "different": Sample(score=8, override=DIFFERENT),
}
