"""Hidden cases for assignment 02 ("seq2seq"): random GRU weights, token sequences and decoders, plus edge cases."""
from __future__ import annotations

import numpy as np

from autograder.grading.cases import Case, FunctionSpec
from autograder.grading.specs.common import DTYPES, lead_dims as _lead
from autograder.grading.reference import seq2seq as ref


def _gru_params(rng, D, H, dtype=np.float64, scale=0.5, vocab=None):
    p = {
        "W_ih": (scale * rng.standard_normal((3 * H, D))).astype(dtype),
        "W_hh": (scale * rng.standard_normal((3 * H, H))).astype(dtype),
        "b_ih": (scale * rng.standard_normal(3 * H)).astype(dtype),
        "b_hh": (scale * rng.standard_normal(3 * H)).astype(dtype),
    }
    if vocab is not None:
        p["embedding"] = rng.standard_normal((vocab, D)).astype(dtype)
    return p


def gru_cell_cases(rng):
    for i in range(6):
        dtype = DTYPES[i % 2]
        D, H = (int(v) for v in rng.integers(1, 9, size=2))
        lead = _lead(rng)
        x = rng.standard_normal(lead + (D,)).astype(dtype)
        h = rng.standard_normal(lead + (H,)).astype(dtype)
        yield Case(f"random {i}", (x, h, _gru_params(rng, D, H, dtype)))
    p = _gru_params(rng, 3, 4)
    yield Case("zero hidden state", (rng.standard_normal(3), np.zeros(4), p))
    yield Case("saturated gates (inputs of +-100)", (100 * rng.standard_normal((2, 3)), rng.standard_normal((2, 4)), p))
    yield Case("hidden size 1", (rng.standard_normal((5, 2)), rng.standard_normal((5, 1)), _gru_params(rng, 2, 1)))
    yield Case("input size 1", (rng.standard_normal((1,)), rng.standard_normal((6,)), _gru_params(rng, 1, 6)))
    big = _gru_params(rng, 3, 4, scale=20.0)
    yield Case("large weights", (rng.standard_normal((2, 3)), rng.standard_normal((2, 4)), big))


def encode_cases(rng):
    for i in range(5):
        dtype = DTYPES[i % 2]
        V, D, H, T = (int(v) for v in rng.integers(2, 9, size=4))
        shape = ((int(rng.integers(1, 4)),) if i % 3 else ()) + (T,)
        tokens = rng.integers(0, V, size=shape)
        yield Case(f"random {i}" + (" (a batch)" if len(shape) == 2 else " (one sequence)"),
                   (tokens, _gru_params(rng, D, H, dtype, vocab=V)))
    yield Case("a sequence of length 1", (np.array([3]), _gru_params(rng, 2, 3, vocab=5)))
    yield Case("the same token repeated", (np.full((2, 6), 1), _gru_params(rng, 3, 2, vocab=4)))
    yield Case("a batch of one", (rng.integers(0, 6, size=(1, 4)), _gru_params(rng, 4, 5, vocab=6)))


def teacher_forcing_cases(rng):
    for i in range(4):
        shape = _lead(rng) + (int(rng.integers(1, 8)),)
        yield Case(f"random {i}", (rng.integers(3, 20, size=shape),), {"bos": 1})
    yield Case("length 1", (np.array([7]),), {"bos": 1})
    yield Case("targets that end with EOS and padding", (np.array([[5, 6, 2, 0, 0], [4, 3, 8, 9, 2]]),), {"bos": 1})
    yield Case("another start token", (np.array([[3, 4, 5]]),), {"bos": 42})


class ToyDecoder:
    """A fixed random RNN decoder: state' = tanh(E[token] + U state), logits = state' O (+ bias)."""

    def __init__(self, rng, vocab, hidden, bias=None):
        self.E = rng.standard_normal((vocab, hidden))
        self.U = 0.8 * rng.standard_normal((hidden, hidden))
        self.O = 2.0 * rng.standard_normal((hidden, vocab))
        self.bias = np.zeros(vocab) if bias is None else np.asarray(bias, dtype=float)

    def __call__(self, token, state):
        state = np.tanh(self.E[int(token)] + state @ self.U)
        return state @ self.O + self.bias, state


class ScriptedDecoder:
    """Emits a fixed script of tokens (one-hot logits), whatever it is fed; then repeats the last one."""

    def __init__(self, script, vocab):
        self.script, self.vocab = list(script), vocab

    def __call__(self, token, state):
        logits = np.zeros(self.vocab)
        logits[self.script[min(state, len(self.script) - 1)]] = 1.0
        return logits, state + 1


def greedy_decode_cases(rng):
    for i in range(4):
        V, Hd = int(rng.integers(3, 8)), int(rng.integers(2, 6))
        dec = ToyDecoder(rng, V, Hd)
        yield Case(f"random decoder {i}", (dec, rng.standard_normal(Hd)), {"bos": 0, "eos": 1, "max_len": int(rng.integers(1, 12))})
    never = np.zeros(6)
    never[2] = -1e9  # token 2 (the EOS here) is never chosen
    yield Case("EOS never produced: stop at max_len", (ToyDecoder(rng, 6, 4, bias=never), np.zeros(4)), {"bos": 0, "eos": 2, "max_len": 7})
    yield Case("EOS in the middle of the output", (ScriptedDecoder([4, 3, 2, 5, 5], 6), 0), {"bos": 0, "eos": 2, "max_len": 10})
    yield Case("EOS as the very first token", (ScriptedDecoder([2, 3, 3], 5), 0), {"bos": 1, "eos": 2, "max_len": 10})
    yield Case("max_len = 0", (ScriptedDecoder([3], 5), 0), {"bos": 1, "eos": 2, "max_len": 0})
    yield Case("the output depends on the fed-back token", (ToyDecoder(rng, 5, 3), np.zeros(3)), {"bos": 4, "eos": 0, "max_len": 9})


def _accuracy_cases(rng):
    for i in range(4):
        B, T = int(rng.integers(1, 7)), int(rng.integers(1, 8))
        lens = rng.integers(1, T + 1, size=B)
        target = np.zeros((B, T), dtype=np.int64)
        for b, n in enumerate(lens):
            target[b, :n] = rng.integers(1, 4, size=n)
        pred = np.where(rng.random((B, T)) < 0.8, target, rng.integers(1, 4, size=(B, T)))
        pred = np.where(target == 0, rng.integers(0, 4, size=(B, T)), pred)  # anything after the end
        yield Case(f"random {i}", (pred, target), {"pad": 0})
    t = np.array([[5, 6, 2, 0], [7, 2, 0, 0], [3, 4, 5, 2]])
    yield Case("all correct", (t.copy(), t), {"pad": 0})
    yield Case("every token wrong", (t + 1, t), {"pad": 0})
    yield Case("junk after the end of the target", (np.array([[5, 6, 2, 9], [7, 2, 9, 9], [3, 4, 5, 2]]), t), {"pad": 0})
    yield Case("prediction shorter than the target", (np.array([[5, 6], [7, 2], [3, 4]]), t), {"pad": 0})
    yield Case("prediction longer than the target", (np.array([[5, 6, 2, 0, 8, 8], [7, 2, 0, 0, 1, 1], [3, 4, 5, 5, 2, 0]]), t), {"pad": 0})
    yield Case("padding id -1", (np.array([[1, 2, -1], [0, 0, 3]]), np.array([[1, 2, -1], [0, 1, -1]])), {"pad": -1})
    yield Case("one sequence of one token", (np.array([[4]]), np.array([[4]])), {"pad": 0})


FUNCTIONS = {
    "gru_cell": FunctionSpec("gru_cell", ref.gru_cell, gru_cell_cases),
    "encode": FunctionSpec("encode", ref.encode, encode_cases),
    "teacher_forcing_inputs": FunctionSpec("teacher_forcing_inputs", ref.teacher_forcing_inputs, teacher_forcing_cases),
    "greedy_decode": FunctionSpec("greedy_decode", ref.greedy_decode, greedy_decode_cases),
    "sequence_accuracy": FunctionSpec("sequence_accuracy", ref.sequence_accuracy, _accuracy_cases),
    "token_accuracy": FunctionSpec("token_accuracy", ref.token_accuracy, _accuracy_cases),
}
