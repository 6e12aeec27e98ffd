"""Sample submissions of assignment 07 and their exact expected scores.

Points (from the test cells of solutions/07-multihead/multihead.ipynb): split_heads 2, merge_heads 2,
multi_head_attention 4; total 8. The instructor's multi_head_attention slices columns itself (it calls
neither split_heads nor merge_heads) and the visible test of merge_heads writes its split out, so a wrong
split_heads or merge_heads costs only its own points.
"""
from tests.samples import Sample

ASSIGNMENT = "07-multihead"
MAX_SCORE = 8

# Correct, written differently: einsum and reshape/transpose, torch's softmax in float32, and a
# multi_head_attention that calls the student's split_heads / merge_heads and masks with -1e9.
DIFFERENT = {
    "split-answer": '''
def split_heads(X, h):
    X = np.asarray(X)
    d_head = X.shape[-1] // h
    Y = X.reshape(X.shape[:-1] + (h, d_head))
    return np.einsum("...nhd->...hnd", Y)
''',
    "merge-answer": '''
def merge_heads(X):
    X = np.asarray(X)
    Y = np.moveaxis(X, -3, -2)  # (..., n, h, d_head)
    return Y.reshape(Y.shape[:-2] + (-1,))
''',
    "mha-answer": '''
import torch

def multi_head_attention(X_q, X_kv, params, h, mask=None):
    f32 = lambda a: np.asarray(a, dtype=np.float32)
    Q = split_heads(f32(X_q) @ f32(params["W_q"]) + f32(params.get("b_q", 0.0)), h)
    K = split_heads(f32(X_kv) @ f32(params["W_k"]) + f32(params.get("b_k", 0.0)), h)
    V = split_heads(f32(X_kv) @ f32(params["W_v"]) + f32(params.get("b_v", 0.0)), h)
    s = torch.from_numpy(np.einsum("...qd,...kd->...qk", Q, K) / np.float32(np.sqrt(Q.shape[-1])))
    if mask is not None:
        m = np.asarray(mask, dtype=bool)
        if m.ndim >= 2:
            m = m[..., None, :, :]
        m = torch.from_numpy(np.broadcast_to(m, s.shape).copy())
        s = s.masked_fill(~m, -1e9)
        w = torch.softmax(s, dim=-1) * m.any(-1, keepdim=True)
    else:
        w = torch.softmax(s, dim=-1)
    w = w.numpy()
    out = merge_heads(w @ V) @ f32(params["W_o"]) + f32(params.get("b_o", 0.0))
    return out, w
''',
}

# merge_heads reshapes without moving the head axis: only its 2 points are lost.
WRONG_MERGE = {
    "merge-answer": '''
def merge_heads(X):
    X = np.asarray(X)
    return X.reshape(X.shape[:-3] + (X.shape[-2], X.shape[-3] * X.shape[-1]))
''',
}

# split_heads reshapes straight to (..., h, n, d_head), mixing tokens and heads: only its 2 points are lost.
WRONG_SPLIT = {
    "split-answer": '''
def split_heads(X, h):
    X = np.asarray(X)
    return X.reshape(X.shape[:-2] + (h, X.shape[-2], X.shape[-1] // h))
''',
}

# multi_head_attention ignores the biases: only its 4 points are lost.
WRONG_MHA = {
    "mha-answer": DIFFERENT["mha-answer"].replace('params.get("b_q", 0.0)', "0.0").replace(
        'params.get("b_k", 0.0)', "0.0").replace('params.get("b_v", 0.0)', "0.0").replace('params.get("b_o", 0.0)', "0.0"),
}

SAMPLES = {
    "correct": Sample(score=8),
    "blank": Sample(score=0, solution=False),
    "wrong-split_heads": Sample(score=8 - 2, override=WRONG_SPLIT),
    "wrong-merge_heads": Sample(score=8 - 2, override=WRONG_MERGE),
    "wrong-multi_head_attention": Sample(score=8 - 4, override=WRONG_MHA),
    "different": Sample(score=8, override=DIFFERENT),
}
