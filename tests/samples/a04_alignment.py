"""Sample submissions of assignment 04 and their exact expected scores.

Points (from the test cells of solutions/04-alignment/alignment.ipynb): additive_scores 3,
general_scores 2, attention_context 2, bahdanau_context 2, attention_decoder_step 3; total 12.
"""
from tests.samples import Sample

ASSIGNMENT = "04-alignment"
MAX_SCORE = 12

# Correct, but written differently: loops over query-key pairs in float32, einsum, torch inside the
# context (with its own handling of fully masked rows), and the steps built on attention_context.
DIFFERENT = {
    "additive-answer": '''
def additive_scores(Q, K, W_q, W_k, v):
    Q = np.asarray(Q, dtype=np.float32)
    K = np.asarray(K, dtype=np.float32)
    Q, K = np.broadcast_arrays(Q[..., :, None, :1] * 0 + 0, K[..., None, :, :1] * 0)[0][..., 0] * 0 + 0, None  # shape helper
    return None
''',
    "general-answer": '''
def general_scores(Q, K, W):
    return np.einsum("...qa,ab,...kb->...qk", np.asarray(Q, dtype=float), np.asarray(W, dtype=float), np.asarray(K, dtype=float))
''',
    "context-answer": '''
import torch

def attention_context(scores, H, mask=None):
    s = torch.as_tensor(np.asarray(scores, dtype=np.float64))
    if mask is not None:
        m = torch.as_tensor(np.broadcast_to(np.asarray(mask, dtype=bool), s.shape).copy())
        s = s.masked_fill(~m, float("-inf"))
    w = torch.softmax(s, dim=-1)
    w = torch.nan_to_num(w, nan=0.0)  # a fully masked row: softmax of all -inf is nan -> 0
    c = w @ torch.as_tensor(np.asarray(H, dtype=np.float64))
    return c.numpy(), w.numpy()
''',
    "bahdanau-answer": '''
def bahdanau_context(s_prev, H, W_q, W_k, v, mask=None):
    q = np.asarray(s_prev, dtype=float)[..., None, :]
    m = None if mask is None else np.asarray(mask, dtype=bool)[..., None, :]
    c, a = attention_context(additive_scores(q, H, W_q, W_k, v), H, m)
    return c[..., 0, :], a[..., 0, :]
''',
    "step-answer": '''
def attention_decoder_step(s_t, H, W_a, W_c, mask=None):
    s_t = np.asarray(s_t, dtype=np.float32)
    m = None if mask is None else np.asarray(mask, dtype=bool)[..., None, :]
    c, a = attention_context(general_scores(s_t[..., None, :], H, W_a), H, m)
    c, a = c[..., 0, :].astype(np.float32), a[..., 0, :]
    lead = np.broadcast_shapes(c.shape[:-1], s_t.shape[:-1])
    cat = np.concatenate([np.broadcast_to(c, lead + c.shape[-1:]), np.broadcast_to(s_t, lead + s_t.shape[-1:])], axis=-1)
    return np.tanh(cat @ np.asarray(W_c, dtype=np.float32)), c, a
''',
}
DIFFERENT["additive-answer"] = '''
def additive_scores(Q, K, W_q, W_k, v):
    """Explicit loops over the (query, key) pairs of every batch entry, in float32."""
    Q, K = np.asarray(Q, dtype=np.float32), np.asarray(K, dtype=np.float32)
    W_q, W_k, v = (np.asarray(a, dtype=np.float32) for a in (W_q, W_k, v))
    lead = np.broadcast_shapes(Q.shape[:-2], K.shape[:-2])
    Q = np.broadcast_to(Q, lead + Q.shape[-2:])
    K = np.broadcast_to(K, lead + K.shape[-2:])
    out = np.zeros(lead + (Q.shape[-2], K.shape[-2]), dtype=np.float32)
    for idx in np.ndindex(*lead):
        for i in range(Q.shape[-2]):
            for j in range(K.shape[-2]):
                out[idx + (i, j)] = v @ np.tanh(Q[idx + (i,)] @ W_q + K[idx + (j,)] @ W_k)
    return out
'''

# attention_context ignores the mask (plain softmax): only its 2-point cell fails, because the
# instructor's bahdanau_context and attention_decoder_step do not call it.
WRONG_CONTEXT = {
    "context-answer": '''
def attention_context(scores, H, mask=None):
    w = masked_softmax(scores)
    return w @ np.asarray(H, dtype=float), w
''',
}

SAMPLES = {
    "correct": Sample(score=12),
    "blank": Sample(score=0, solution=False),
    "wrong-context": Sample(score=12 - 2, override=WRONG_CONTEXT),
    "different": Sample(score=12, override=DIFFERENT),
}
