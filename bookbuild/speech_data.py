"""Make ``lib/attn/data/speech/digits.npz``: spoken digit strings, synthesised by eSpeak NG, as log-mel features.

The book does not need eSpeak NG: ``attn`` ships the features this script writes (and the waveform of one
utterance). To make them again (Debian: ``apt-get install espeak-ng``, version 1.51 made the shipped file)::

    python -m bookbuild.speech_data            # writes lib/attn/data/speech/digits.npz, prints its SHA-256

Recipe, all seeded: each utterance is a random string of 3 to 5 digits, spoken as words ("three five five
nine") by one of eSpeak NG's American English voice variants, at a random speed (140-200 words per minute) and
pitch (30-70 on eSpeak's 0-99 scale). eSpeak NG writes 16-bit audio at 22,050 Hz; the script resamples it to
8 kHz (band-limited, through the FFT) and 16 bits, cuts the silence before and after the words (keeping 50 ms),
and computes ``attn.speech.log_mel`` (16 mel bands, 25 ms windows every 10 ms). The features are stored as 8-bit
integers, whole steps of 2 dB above -70 dB (``db_scale``; anything quieter is stored as -70 dB, silence).
The strings of the three parts are disjoint: no digit string of "valid" or "test" occurs in "train".

The file is a plain zip of ``.npy`` arrays (``numpy.load`` reads it without pickles), written with a fixed
timestamp so that the same eSpeak NG and numpy write the same bytes.
"""
from __future__ import annotations

import argparse
import hashlib
import io
import subprocess
import sys
import tempfile
import wave
import zipfile
from pathlib import Path

import numpy as np

from bookbuild.paths import REPO

sys.path.insert(0, str(REPO / "lib"))

from attn.speech import DIGIT_WORDS, N_MELS, SAMPLE_RATE, SPEECH, log_mel  # noqa: E402

#: eSpeak NG voices (American English with a voice variant). The test voices are never heard in training.
TRAIN_VOICES = ["en-us+m1", "en-us+m2", "en-us+m3", "en-us+m5", "en-us+f1", "en-us+f2", "en-us+f4", "en-us+klatt2"]
TEST_VOICES = ["en-us+m7", "en-us+f5"]
PARTS = {"train": (TRAIN_VOICES, 600), "valid": (TRAIN_VOICES, 64), "test": (TEST_VOICES, 160)}
DB_SCALE = (-70.0, 2.0)  # dB: the features are stored as whole steps of 2 dB above -70 dB (quieter is silence)
SEED = 2015  # the year of Chorowski et al.


def synthesise(text: str, voice: str, speed: int, pitch: int) -> np.ndarray:
    """eSpeak NG's waveform of ``text`` (22,050 Hz) in [-1, 1]."""
    with tempfile.NamedTemporaryFile(suffix=".wav") as f:
        subprocess.run(["espeak-ng", "-v", voice, "-s", str(speed), "-p", str(pitch), "-w", f.name, text], check=True)
        with wave.open(f.name) as w:
            assert w.getsampwidth() == 2 and w.getnchannels() == 1, (w.getsampwidth(), w.getnchannels())
            rate, raw = w.getframerate(), w.readframes(w.getnframes())
    x = np.frombuffer(raw, dtype="<i2").astype(np.float64) / 32768
    return resample(x, rate, SAMPLE_RATE)


def resample(x: np.ndarray, rate: int, new_rate: int) -> np.ndarray:
    """Band-limited resampling through the FFT: keep the frequencies below the new Nyquist frequency."""
    n_new = round(len(x) * new_rate / rate)
    spectrum = np.fft.rfft(x)[: n_new // 2 + 1]
    return np.fft.irfft(spectrum, n_new) * (n_new / len(x))


def trim(x: np.ndarray, rate: int = SAMPLE_RATE, margin_s: float = 0.05, threshold: float = 0.02) -> np.ndarray:
    """Cut the silence before the first and after the last sample above ``threshold`` of the peak, keeping a margin."""
    loud = np.flatnonzero(np.abs(x) > threshold * np.abs(x).max())
    m = round(margin_s * rate)
    return x[max(0, loud[0] - m): loud[-1] + m + 1]


def to_16_bit(x: np.ndarray) -> np.ndarray:
    """Round a waveform in [-1, 1] to the 65,536 levels of 16-bit audio (still as floats in [-1, 1])."""
    return np.round(np.clip(x, -1, 32767 / 32768) * 32768) / 32768


def draw_strings(rng: np.random.Generator, n: int, taken: set[str]) -> list[str]:
    """``n`` distinct random digit strings of 3 to 5 digits, none of them in ``taken`` (which grows)."""
    out = []
    while len(out) < n:
        s = "".join(str(d) for d in rng.integers(0, 10, size=int(rng.integers(3, 6))))
        if s not in taken:
            taken.add(s)
            out.append(s)
    return out


def make(path: Path = SPEECH) -> str:
    rng = np.random.default_rng(SEED)
    taken: set[str] = set()
    rows = []  # (split, text, voice, speed, pitch, waveform)
    for split, (voices, n) in PARTS.items():
        for i, digits in enumerate(draw_strings(rng, n, taken)):
            text = " ".join(DIGIT_WORDS[int(d)] for d in digits)
            voice = voices[i % len(voices)]  # every voice equally often
            speed, pitch = int(rng.integers(140, 201)), int(rng.integers(30, 71))
            wave = to_16_bit(trim(synthesise(text, voice, speed, pitch)))  # 8 kHz, 16-bit: what an audio file holds
            rows.append((split, text, voice, speed, pitch, wave))
    feats = [log_mel(w) for *_, w in rows]
    lo, step = DB_SCALE
    allf = np.concatenate(feats)
    print(f"{len(rows)} utterances, {len(allf)} frames; dB from {allf.min():.1f} to {allf.max():.1f}")
    quantised = np.clip(np.round((allf - lo) / step), 0, 255).astype(np.uint8)
    example = next(i for i, r in enumerate(rows) if r[0] == "test")  # the first test utterance keeps its audio
    arrays = {
        "features": quantised,
        "lengths": np.array([len(f) for f in feats], dtype=np.int32),
        "texts": np.array([r[1] for r in rows]),
        "voices": np.array([r[2] for r in rows]),
        "speeds": np.array([r[3] for r in rows], dtype=np.int16),
        "pitches": np.array([r[4] for r in rows], dtype=np.int16),
        "split": np.array([r[0] for r in rows]),
        "db_scale": np.array(DB_SCALE, dtype=np.float32),
        "example_wave": np.round(rows[example][5] * 32768).astype(np.int16),
        "example_index": np.array(example, dtype=np.int32),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w") as zf:
        for name, a in arrays.items():
            buf = io.BytesIO()
            np.lib.format.write_array(buf, a, allow_pickle=False)
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type, info.external_attr = zipfile.ZIP_DEFLATED, 0o644 << 16
            zf.writestr(info, buf.getvalue(), compresslevel=9)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    print(f"wrote {path} ({path.stat().st_size:,} bytes), SHA-256 {digest}")
    return digest


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=SPEECH)
    make(parser.parse_args(argv).out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
