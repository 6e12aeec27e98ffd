"""attn.vision's real photographs (chapter 1): the shipped files, their boxes, and the saliency scan."""
from __future__ import annotations

import fnmatch
import hashlib
import json
import tomllib

import numpy as np
import pytest

from attn.vision import PHOTOS, fixations, label_at, load_photo
from bookbuild.build import REPO

SHA256 = {  # bookbuild/make_photos.py's output from the scikit-image 0.26.0 wheel
    "astronaut": "bf244a3cff8a353339327d2ab54770314d6da17af87eefdc0fd8ee8d03ef18b7",
    "coffee": "6705353a4cca1c0c1ae00c44e4728a585b26dc7a6ce6d9855db528d8c3b01127",
    "chelsea": "a1f340407330dd749dbf0de955f3d7d82fe345eccaea962eb079acbd032d514e",
}
SHAPES = {"astronaut": (128, 128, 3), "coffee": (85, 128, 3), "chelsea": (85, 128, 3)}


@pytest.mark.parametrize("name", sorted(SHA256))
def test_the_shipped_photo_is_the_one_the_readme_describes(name):
    path = PHOTOS / f"{name}.png"
    assert hashlib.sha256(path.read_bytes()).hexdigest() == SHA256[name]
    assert path.stat().st_size < 100_000  # small: well under the 2 MB a data set may take
    readme = (PHOTOS / "README.md").read_text(encoding="utf-8")
    assert SHA256[name] in readme and f"`{name}.png`" in readme and f"{path.stat().st_size:,}" in readme


@pytest.mark.parametrize("name", sorted(SHA256))
def test_load_photo_gives_rgb_in_the_unit_range_and_boxes_inside_it(name):
    photo = load_photo(name)
    assert photo.image.shape == SHAPES[name] and photo.image.dtype == np.float64
    assert 0.0 <= photo.image.min() and photo.image.max() <= 1.0 and photo.image.std() > 0.05
    assert photo.subject and set(photo.subject) <= set(photo.boxes)
    h, w = photo.image.shape[:2]
    for top, left, bh, bw in photo.boxes.values():
        assert 0 <= top and 0 <= left and bh > 0 and bw > 0 and top + bh <= h and left + bw <= w
    meta = json.loads((PHOTOS / "photos.json").read_text(encoding="utf-8"))[name]
    assert meta["licence"].startswith(("public domain", "CC0")) and meta["licence"] in photo.credit


def test_the_photos_are_in_the_wheel_with_their_readme_and_boxes():
    globs = tomllib.loads((REPO / "lib" / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]["attn"]
    package = REPO / "lib" / "attn"
    for path in [PHOTOS / f"{n}.png" for n in SHA256] + [PHOTOS / "README.md", PHOTOS / "photos.json"]:
        rel = path.relative_to(package).as_posix()
        assert any(fnmatch.fnmatch(rel, g) and rel.count("/") == g.count("/") for g in globs), (rel, globs)


def test_label_at_prefers_the_smallest_box_and_says_none_outside():
    boxes = {"cup": (0, 0, 10, 10), "spoon": (5, 5, 3, 3), "far": (20, 20, 2, 2)}
    assert label_at(boxes, (1, 1)) == "cup"
    assert label_at(boxes, (6, 6)) == "spoon"  # inside both: the one in front
    assert label_at(boxes, (8, 8)) == "cup"  # the box is [top, top + height): row 8 is outside the spoon
    assert label_at(boxes, (15, 15)) is None


def test_fixations_visit_peaks_in_order_and_never_return():
    s = np.zeros((20, 30))
    s[3, 4], s[15, 25], s[4, 5] = 5.0, 3.0, 4.0  # (4, 5) is a lesser peak next to the strongest one
    assert fixations(s, 2, radius=3) == [(3, 4), (15, 25)]  # inhibition of return hides (4, 5)
    assert fixations(s, 3, radius=0.5)[:3] == [(3, 4), (4, 5), (15, 25)]  # a tiny radius: every peak in turn
    assert s[3, 4] == 5.0  # the caller's map is not changed
    path = fixations(np.random.default_rng(0).random((16, 16)), 8, radius=2)
    assert all(np.hypot(a[0] - b[0], a[1] - b[1]) > 2 for i, a in enumerate(path) for b in path[:i])
