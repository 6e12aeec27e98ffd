"""attn.speech (chapter 5, the speech page): the shipped features, log-mel, the models' shapes, error rates."""
from __future__ import annotations

import fnmatch
import hashlib
import tomllib

import numpy as np
import torch

from attn.seq2seq import EOS, PAD
from attn.speech import (
    ALPHABET, DIGIT_WORDS, N_MELS, SPEECH, VOCAB_SIZE, AttendAndSpell, Listener, batch_of, decode_text, edit_distance,
    encode_text, error_rates, load_speech, log_mel, mel, mel_filterbank,
)
from bookbuild.build import REPO

SHA256 = "ec2ec1d0edf4f448f1be7109983b640325b9c3d98ee41f40f3accfa812965557"  # made by bookbuild/speech_data.py


def test_the_shipped_file_is_the_one_the_readme_describes():
    assert hashlib.sha256(SPEECH.read_bytes()).hexdigest() == SHA256
    assert SPEECH.stat().st_size == 949_212 < 2 * 1024 * 1024
    readme = (SPEECH.parent / "README.md").read_text(encoding="utf-8")
    for needed in (SHA256, "949,212 bytes", "eSpeak NG", "GPL", "MIT", "formant synthesis", "bookbuild/speech_data.py"):
        assert needed in readme, needed


def test_corpus_shapes_parts_and_voices():
    c = load_speech()
    assert len(c.texts) == len(c.features) == len(c.voices) == 824
    assert all(f.ndim == 2 and f.shape[1] == N_MELS and f.dtype == np.float32 for f in c.features)
    assert sum(len(f) for f in c.features) == 109_489
    assert {p: len(c.part(p)) for p in ("train", "valid", "test")} == {"train": 600, "valid": 64, "test": 160}
    train, test = {c.voices[i] for i in c.part("train")}, {c.voices[i] for i in c.part("test")}
    assert len(train) == 8 and len(test) == 2 and not train & test
    texts = {p: {c.texts[i] for i in c.part(p)} for p in ("train", "valid", "test")}
    assert not (texts["train"] & texts["valid"]) and not (texts["train"] & texts["test"])
    assert all(3 <= len(t.split()) <= 5 and set(t.split()) <= set(DIGIT_WORDS) for t in c.texts)
    values = np.concatenate(c.features)
    assert values.min() == -70 and values.max() <= 30 and np.allclose(values % 2, 0)  # whole 2 dB steps above -70
    assert c.example_index == c.part("test")[0] and c.example_wave.dtype == np.float32


def test_log_mel_of_the_shipped_waveform_gives_its_features():
    c = load_speech()
    X, stored = log_mel(c.example_wave), c.features[c.example_index]
    assert X.shape == stored.shape
    loud = X >= -70
    assert np.abs(X - stored)[loud].max() <= 1.0 + 1e-3  # half a 2 dB step
    assert (stored[~loud] == -70).all()


def test_mel_filterbank_is_triangles_equally_spaced_in_mel():
    assert abs(float(mel(1000.0)) - 1000.0) < 0.1  # the scale is built so that 1 kHz is about 1000 mel
    bank = mel_filterbank(16, 256, 8000)
    assert bank.shape == (16, 129) and (bank >= 0).all() and bank.max() <= 1
    assert (np.diff(bank.argmax(1)) > 0).all()  # each filter peaks above the one before
    assert (np.diff(bank.sum(1)) > 0).all()  # equal steps in mel are ever wider steps in Hz


def test_log_mel_of_a_tone_is_loudest_in_the_band_of_its_frequency():
    t = np.arange(8000) / 8000
    X = log_mel(0.5 * np.sin(2 * np.pi * 1000 * t))
    assert X.shape == (1 + (8000 - 200) // 80, N_MELS)
    bank = mel_filterbank(N_MELS, 256, 8000)
    assert (X.argmax(1) == bank[:, 32].argmax()).all()  # bin 32 of a 256-point FFT at 8 kHz is 1000 Hz


def test_text_ids_round_trip_and_batches_pad():
    assert decode_text(encode_text("five nine")) == "five nine" and encode_text("one")[-1] == EOS
    assert set("".join(DIGIT_WORDS)) | {" "} == set(ALPHABET) and VOCAB_SIZE == 3 + len(ALPHABET)
    c = load_speech()
    idx = c.part("valid")[:3]
    x, lengths, y = batch_of(c, idx)
    assert x.shape == (3, max(len(c.features[i]) for i in idx), N_MELS) and lengths.tolist() == [len(c.features[i]) for i in idx]
    for row, i in zip(y, idx):
        assert decode_text(row) == c.texts[i] and (row[len(c.texts[i]) + 1:] == PAD).all()


def test_models_shapes_masks_and_the_location_term():
    torch.manual_seed(0)
    x = torch.randn(2, 100, N_MELS)
    lengths = torch.tensor([100, 60])
    H, s0, mask = Listener()(x, lengths)
    assert H.shape == (2, 12, 128) and s0.shape == (2, 64) and mask[:, 0].sum(-1).tolist() == [12, 7]
    y = torch.randint(3, VOCAB_SIZE, (2, 6))
    for location in (False, True):
        logits, a = AttendAndSpell(location=location)(x, lengths, y)
        assert logits.shape == (2, 6, VOCAB_SIZE) and a.shape == (2, 6, 12)
        assert torch.allclose(a.sum(-1), torch.ones(2, 6)) and (a[1, :, 7:] == 0).all()  # no weight on padding
    plain, aware = (sum(p.numel() for p in AttendAndSpell(location=loc).parameters()) for loc in (False, True))
    assert aware - plain == 8 * 5 + 8 * 64  # the filters F (8 of width 5) and U


def test_the_location_term_makes_the_score_depend_on_the_previous_weights():
    torch.manual_seed(0)
    model = AttendAndSpell(location=True)
    x, lengths, y = torch.randn(1, 80, N_MELS), torch.tensor([80]), torch.tensor([[3]])
    first = model.decode(model.encode(x, lengths), y)[1]
    memory = model.encode(x, lengths)
    memory["a"] = torch.zeros_like(memory["a"])
    memory["a"][0, -1] = 1.0  # as if the previous character had looked at the last step
    assert not torch.allclose(first, model.decode(memory, y)[1])
    content = AttendAndSpell(location=False)
    memory = content.encode(x, lengths)
    before = content.decode(dict(memory), y)[1]
    memory["a"] = torch.flip(memory["a"], [1])
    assert torch.allclose(before, content.decode(memory, y)[1])  # the content-based score ignores them


def test_edit_distance_and_error_rates():
    assert edit_distance("five", "five") == 0 and edit_distance("", "abc") == 3 and edit_distance("abc", "") == 3
    assert edit_distance("kitten", "sitting") == 3
    assert edit_distance("one two".split(), "one one two".split()) == 1
    r = error_rates(["one two", "three"], ["one two", "tree"])
    assert r["right"] == 0.5 and abs(r["cer"] - 1 / 12) < 1e-9 and abs(r["wer"] - 1 / 3) < 1e-9


def test_the_data_is_in_the_wheel_with_its_readme():
    globs = tomllib.loads((REPO / "lib" / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]["attn"]
    package = REPO / "lib" / "attn"
    for path in (SPEECH, SPEECH.parent / "README.md"):
        rel = path.relative_to(package).as_posix()
        assert any(fnmatch.fnmatch(rel, g) and rel.count("/") == g.count("/") for g in globs), (rel, globs)
