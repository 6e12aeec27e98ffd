"""The chapter-2 reference agrees with PyTorch's GRUCell / GRU, and with properties checkable by hand."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from autograder.grading.checking import check
from autograder.grading.reference import seq2seq
from autograder.grading.specs import all_specs


def params_of(cell_or_gru, embedding=None, suffix=""):
    get = lambda n: getattr(cell_or_gru, n + suffix).detach().numpy()  # noqa: E731
    p = {"W_ih": get("weight_ih"), "W_hh": get("weight_hh"), "b_ih": get("bias_ih"), "b_hh": get("bias_hh")}
    if embedding is not None:
        p["embedding"] = embedding.weight.detach().numpy()
    return p


@pytest.mark.parametrize("seed", range(30))
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_gru_cell_matches_torch_grucell(seed, dtype):
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    D, H, B = (int(v) for v in rng.integers(1, 10, size=3))
    cell = torch.nn.GRUCell(D, H, dtype=dtype)
    x, h = torch.randn(B, D, dtype=dtype) * 3, torch.randn(B, H, dtype=dtype)
    expected = cell(x, h).detach().numpy()
    got = seq2seq.gru_cell(x.numpy(), h.numpy(), params_of(cell))
    tol = 1e-5 if dtype == torch.float32 else 1e-12
    np.testing.assert_allclose(got, expected, rtol=tol, atol=tol)


@pytest.mark.parametrize("seed", range(15))
def test_encode_matches_torch_gru(seed):
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    V, D, H, B, T = (int(v) for v in rng.integers(1, 9, size=5))
    emb = torch.nn.Embedding(V, D, dtype=torch.float64)
    gru = torch.nn.GRU(D, H, batch_first=True, dtype=torch.float64)
    tokens = rng.integers(0, V, size=(B, T))
    states, context = seq2seq.encode(tokens, params_of(gru, emb, suffix="_l0"))
    out, h_n = gru(emb(torch.from_numpy(tokens)))
    np.testing.assert_allclose(states, out.detach().numpy(), atol=1e-12)
    np.testing.assert_allclose(context, h_n[0].detach().numpy(), atol=1e-12)
    # one sequence without a batch axis gives the first row
    s0, c0 = seq2seq.encode(tokens[0], params_of(gru, emb, suffix="_l0"))
    np.testing.assert_allclose(s0, states[0], atol=1e-12)
    np.testing.assert_allclose(c0, context[0], atol=1e-12)


def test_gru_cell_interpolates_between_old_state_and_candidate():
    """With z forced to 1 (huge z bias) the state is copied; with z forced to 0 it is the candidate n."""
    D, H = 2, 3
    p = {"W_ih": np.zeros((3 * H, D)), "W_hh": np.zeros((3 * H, H)), "b_ih": np.zeros(3 * H), "b_hh": np.zeros(3 * H)}
    h = np.array([0.5, -0.2, 0.9])
    p["b_ih"][H:2 * H] = 50.0
    np.testing.assert_allclose(seq2seq.gru_cell(np.ones(D), h, p), h, atol=1e-12)
    p["b_ih"][H:2 * H] = -50.0
    p["b_ih"][2 * H:] = 0.3  # candidate n = tanh(0.3) whatever the state
    np.testing.assert_allclose(seq2seq.gru_cell(np.ones(D), h, p), np.tanh(0.3), atol=1e-12)


def test_teacher_forcing_and_accuracies_by_hand():
    np.testing.assert_array_equal(seq2seq.teacher_forcing_inputs(np.array([[5, 6, 2]]), 1), [[1, 5, 6]])
    target = np.array([[5, 6, 2, 0], [7, 2, 0, 0]])
    pred = np.array([[5, 6, 2, 9], [7, 3, 0, 0]])
    assert seq2seq.sequence_accuracy(pred, target, 0) == 0.5  # junk after EOS does not count
    assert seq2seq.token_accuracy(pred, target, 0) == 4 / 5
    assert seq2seq.sequence_accuracy(pred[:, :1], target, 0) == 0.0  # a truncated prediction is wrong


def test_teacher_forcing_matches_the_model_code():
    from attn.seq2seq import BOS, teacher_forcing

    tgt = np.random.default_rng(0).integers(3, 10, size=(4, 7))
    np.testing.assert_array_equal(teacher_forcing(torch.from_numpy(tgt)).numpy(), seq2seq.teacher_forcing_inputs(tgt, BOS))


def test_greedy_decode_matches_batched_torch_decoding():
    """The one-sequence reference, driven through a model's step, gives what the batched decoder gives."""
    from attn.seq2seq import BOS, EOS, ReverseTask, Seq2Seq, greedy_batch

    torch.manual_seed(0)
    task = ReverseTask(n_symbols=6, max_len=8)
    model = Seq2Seq(task.vocab_size, emb=8, hidden=16).eval()
    src, src_len, _ = task.batch(np.random.default_rng(0), 5, length=6)
    batched, _ = greedy_batch(model, src, src_len, max_len=9)
    for b in range(5):
        memory = model.encode(src[b:b + 1], src_len[b:b + 1])

        def step(token, mem):
            with torch.no_grad():
                logits, _ = model.decode(mem, torch.tensor([[token]]))
            return logits[0, -1].numpy(), mem

        out = seq2seq.greedy_decode(step, memory, BOS, EOS, 9)
        row = batched[b].numpy()
        np.testing.assert_array_equal(out, row[: len(out)])
        assert (out[-1] == EOS) or len(out) == 9
        assert np.all(row[len(out):] == 0)


@pytest.mark.parametrize("name", sorted(all_specs("02-seq2seq")))
def test_reference_passes_its_own_hidden_cases_and_a_wrong_answer_fails(name):
    ref = getattr(seq2seq, name)
    check("02-seq2seq", name, ref, seed=123)

    def off(*args, **kwargs):
        out = ref(*args, **kwargs)
        if isinstance(out, tuple):
            return (out[0] * 1.01 + 0.01, out[1])
        return np.asarray(out) * 1.01 + 0.01

    with pytest.raises(AssertionError):
        check("02-seq2seq", name, off, seed=123)
