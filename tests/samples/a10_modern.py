"""Sample submissions of assignment 10 and their exact expected scores.

Points (from the test cells of solutions/10-modern/modern.ipynb): blockwise_attention 4, kv_cache_step 3,
apply_rope 3; total 10. The instructor's kv_cache_step does not call blockwise_attention, and no test cell calls
another graded function, so a wrong function costs only its own points.
"""
from tests.samples import Sample

ASSIGNMENT = "10-modern"
MAX_SCORE = 10

# Correct, written differently: one query at a time with Python loops over blocks (float32), torch inside
# kv_cache_step, and RoPE with an explicit rotation matrix per position.
DIFFERENT = {
    "blockwise-answer": '''
def blockwise_attention(Q, K, V, block_size, causal=False, key_mask=None):
    Q, K, V = np.asarray(Q, np.float32), np.asarray(K, np.float32), np.asarray(V, np.float32)
    lead = np.broadcast_shapes(Q.shape[:-3], K.shape[:-3])
    h, n_q, d = Q.shape[-3:]
    h_kv, n_k = K.shape[-3], K.shape[-2]
    Q = np.broadcast_to(Q, lead + Q.shape[-3:])
    K = np.broadcast_to(K, lead + K.shape[-3:])
    V = np.broadcast_to(V, lead + V.shape[-3:])
    km = np.ones(lead + (h, n_k), bool) if key_mask is None else np.broadcast_to(np.asarray(key_mask, bool), lead + (h, n_k))
    out = np.zeros(lead + (h, n_q, V.shape[-1]), np.float32)
    for idx in np.ndindex(*lead):
        for j in range(h):
            kv = j // (h // h_kv)
            for i in range(n_q):
                m, l, acc = -np.inf, 0.0, np.zeros(V.shape[-1], np.float32)
                for lo in range(0, n_k, block_size):
                    for t in range(lo, min(lo + block_size, n_k)):
                        if not km[idx + (j, t)] or (causal and t > n_k - n_q + i):
                            continue
                        s = float(Q[idx + (j, i)] @ K[idx + (kv, t)]) / np.sqrt(d)
                        m_new = max(m, s)
                        l = l * np.exp(m - m_new) + np.exp(s - m_new)
                        acc = acc * np.exp(m - m_new) + np.exp(s - m_new) * V[idx + (kv, t)]
                        m = m_new
                if l > 0:
                    out[idx + (j, i)] = acc / l
    return out
''',
    "kvstep-answer": '''
import torch

def kv_cache_step(q, k_new, v_new, cache_k, cache_v):
    K = np.concatenate([cache_k, k_new], axis=-2)
    V = np.concatenate([cache_v, v_new], axis=-2)
    group = np.shape(q)[-3] // K.shape[-3]
    Kt = torch.as_tensor(K).repeat_interleave(group, dim=-3)
    Vt = torch.as_tensor(V).repeat_interleave(group, dim=-3)
    w = torch.softmax(torch.as_tensor(np.asarray(q)) @ Kt.transpose(-1, -2) / np.sqrt(np.shape(q)[-1]), dim=-1)
    return (w @ Vt).numpy(), K, V
''',
    "rope-answer": '''
def apply_rope(x, positions, base=10000.0):
    x = np.asarray(x, dtype=np.float64)
    n, d = x.shape[-2], x.shape[-1]
    out = np.empty_like(x)
    for t, p in enumerate(positions):
        R = np.zeros((d, d))
        for i in range(d // 2):
            a = p * base ** (-2 * i / d)
            R[2 * i:2 * i + 2, 2 * i:2 * i + 2] = [[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]]
        out[..., t, :] = x[..., t, :] @ R.T
    return out
''',
}

# The running sum is not rescaled when the maximum grows (a classic online-softmax bug): the visible test of
# equal results for every block size fails, so only blockwise_attention's 4 points are lost.
WRONG_BLOCKWISE = {
    "blockwise-answer": DIFFERENT["blockwise-answer"].replace(
        "l = l * np.exp(m - m_new) + np.exp(s - m_new)", "l = l + np.exp(s - m_new)"),
}

# Rotates the halves (x_i, x_{i + d/2}) instead of neighbouring pairs: a RoPE convention, but not the one asked for.
WRONG_ROPE = {
    "rope-answer": '''
def apply_rope(x, positions, base=10000.0):
    x = np.asarray(x, dtype=float)
    d = x.shape[-1]
    a = np.outer(positions, base ** (-np.arange(0, d, 2) / d))
    x1, x2 = x[..., : d // 2], x[..., d // 2:]
    return np.concatenate([x1 * np.cos(a) - x2 * np.sin(a), x1 * np.sin(a) + x2 * np.cos(a)], axis=-1)
''',
}

SAMPLES = {
    "correct": Sample(score=10),
    "blank": Sample(score=0, solution=False),
    "wrong-blockwise": Sample(score=10 - 4, override=WRONG_BLOCKWISE),
    "wrong-rope": Sample(score=10 - 3, override=WRONG_ROPE),
    "different": Sample(score=10, override=DIFFERENT),
}
