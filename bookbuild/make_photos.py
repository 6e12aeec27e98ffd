"""Make ``lib/attn/data/photos/*.png``: three of scikit-image's sample photographs, downscaled for chapter 1.

    python -m bookbuild.make_photos [WHEEL]

WHEEL is a scikit-image wheel (default: ``pip download --no-deps scikit-image==0.26.0`` into a temporary folder;
the package registry is the only network access needed). The photos are taken from the wheel's
``skimage/data/`` folder, unchanged but for the size: each is shrunk with Pillow's box filter (the mean of
the source pixels each new pixel covers) so that its longer side is 128 pixels, and written as an 8-bit RGB PNG.
The hand-labelled boxes (``photos.json``) and the README beside the photos are written by hand, not by this
script; the README gives each photo's source, licence and SHA-256 (``tests/test_photos.py`` checks them).
scikit-image is not a dependency of the book: only this script reads its wheel.
"""
from __future__ import annotations

import hashlib
import subprocess
import sys
import tempfile
import zipfile
from io import BytesIO
from pathlib import Path

from bookbuild.paths import REPO

OUT = REPO / "lib" / "attn" / "data" / "photos"
VERSION = "0.26.0"
#: name in attn -> file in scikit-image's wheel. Only photos whose licence lets us ship them: public domain or CC0.
SOURCES = {"astronaut": "skimage/data/astronaut.png", "coffee": "skimage/data/coffee.png",
           "chelsea": "skimage/data/chelsea.png"}
LONG_SIDE = 128


def shrink(data: bytes, long_side: int = LONG_SIDE):
    """The photo in ``data`` (PNG bytes) as an RGB Pillow image whose longer side is ``long_side``, box-filtered."""
    from PIL import Image

    image = Image.open(BytesIO(data)).convert("RGB")
    w, h = image.size
    scale = long_side / max(w, h)
    return image.resize((round(w * scale), round(h * scale)), Image.BOX)


def make(wheel: Path, out: Path = OUT) -> dict[str, str]:
    """Write every photo of SOURCES from ``wheel`` into ``out``; returns name -> SHA-256 of the PNG written."""
    out.mkdir(parents=True, exist_ok=True)
    digests = {}
    with zipfile.ZipFile(wheel) as z:
        for name, member in SOURCES.items():
            path = out / f"{name}.png"
            shrink(z.read(member)).save(path, optimize=True)
            digests[name] = hashlib.sha256(path.read_bytes()).hexdigest()
    return digests


def main(argv: list[str]) -> int:
    if argv:
        wheel = Path(argv[0])
    else:
        tmp = Path(tempfile.mkdtemp())
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "-d", str(tmp),
                        f"scikit-image=={VERSION}"], check=True)
        (wheel,) = tmp.glob("scikit_image-*.whl")
    for name, digest in make(wheel).items():
        path = OUT / f"{name}.png"
        print(f"{path.relative_to(REPO)}: {path.stat().st_size} bytes, SHA-256 {digest}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
