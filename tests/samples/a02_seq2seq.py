"""Sample submissions of assignment 02 and their exact expected scores.

Points (from the test cells of solutions/02-seq2seq/seq2seq.ipynb): gru_cell 3, encode 2,
teacher_forcing_inputs 1, greedy_decode 2, sequence_accuracy 1, token_accuracy 1; total 10.
"""
from tests.samples import Sample

ASSIGNMENT = "02-seq2seq"
MAX_SCORE = 10

# Correct, but written differently from the reference and the instructor's solution: the GRU cell is
# torch's own nn.GRUCell in float32, the encoder collects a list, decoding uses for/break, and the
# accuracies are vectorised with explicit padding.
DIFFERENT = {
    "gru-answer": '''
import torch

def gru_cell(x, h, params):
    x = torch.as_tensor(np.asarray(x, dtype=np.float32))
    h = torch.as_tensor(np.asarray(h, dtype=np.float32))
    D, H = x.shape[-1], h.shape[-1]
    cell = torch.nn.GRUCell(D, H)
    with torch.no_grad():
        for name in ("W_ih", "W_hh", "b_ih", "b_hh"):
            target = {"W_ih": cell.weight_ih, "W_hh": cell.weight_hh, "b_ih": cell.bias_ih, "b_hh": cell.bias_hh}[name]
            target.copy_(torch.as_tensor(np.asarray(params[name], dtype=np.float32)))
        lead = x.shape[:-1]
        out = cell(x.reshape(-1, D), h.reshape(-1, H)).reshape(*lead, H)
    return out.numpy()
''',
    "encode-answer": '''
def encode(tokens, params):
    tokens = np.asarray(tokens)
    H = len(params["b_hh"]) // 3
    h = np.zeros(tokens.shape[:-1] + (H,))
    states = []
    for t in range(tokens.shape[-1]):
        x = np.take(params["embedding"], tokens[..., t], axis=0)
        h = gru_cell(x, h, params)
        states.append(h)
    return np.stack(states, axis=-2), h
''',
    "tf-answer": '''
def teacher_forcing_inputs(targets, bos):
    targets = np.asarray(targets)
    return np.roll(np.where(np.arange(targets.shape[-1]) == targets.shape[-1] - 1, bos, targets), 1, axis=-1)
''',
    "greedy-answer": '''
def greedy_decode(step_fn, state, bos, eos, max_len):
    tokens = []
    prev = bos
    for _ in range(max_len):
        logits, state = step_fn(prev, state)
        logits = list(logits)
        prev = logits.index(max(logits))
        tokens.append(prev)
        if prev == eos:
            break
    return np.array(tokens, dtype=np.int32)
''',
    "acc-answer": '''
def _pad_to(pred, target, pad):
    pred, target = np.asarray(pred), np.asarray(target)
    T = target.shape[1]
    out = np.full(target.shape, pad, dtype=pred.dtype)
    n = min(T, pred.shape[1])
    out[:, :n] = pred[:, :n]
    # a missing prediction must never equal the target: use a value that is not in it
    if n < T:
        out[:, n:] = target.min() - 1
    return out, target

def sequence_accuracy(pred, target, pad):
    p, t = _pad_to(pred, target, pad)
    return float(np.mean(np.all((p == t) | (t == pad), axis=1)))

def token_accuracy(pred, target, pad):
    p, t = _pad_to(pred, target, pad)
    real = t != pad
    return float(((p == t) & real).sum() / real.sum())
''',
}

# greedy_decode forgets to stop at EOS (always produces max_len tokens): only its 2-point cell fails.
WRONG_GREEDY = {
    "greedy-answer": DIFFERENT["greedy-answer"].replace("        if prev == eos:\n            break\n", ""),
}

SAMPLES = {
    "correct": Sample(score=10),
    "blank": Sample(score=0, solution=False),
    "wrong-greedy": Sample(score=10 - 2, override=WRONG_GREEDY),
    "different": Sample(score=10, override=DIFFERENT),
}
