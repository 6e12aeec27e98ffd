"""attn.vit (chapter 8, the Vision Transformer page): the shipped digits, patches, the models' shapes."""
from __future__ import annotations

import fnmatch
import hashlib
import tomllib

import numpy as np
import torch

from attn.vit import DIGITS, SmallCNN, TinyViT, load_digits, patchify
from bookbuild.build import REPO

SHA256 = "09f66e6debdee2cd2b5ae59e0d6abbb73fc2b0e0185d2e1957e9ebb51e23aa22"  # scikit-learn 1.9.1's digits.csv.gz
COUNTS = [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]  # digits 0-9, as UCI lists for its test set


def test_the_shipped_file_is_scikit_learns_copy():
    assert hashlib.sha256(DIGITS.read_bytes()).hexdigest() == SHA256
    readme = (DIGITS.parent / "README.md").read_text(encoding="utf-8")
    for needed in ("CC BY 4.0", "Alpaydin", "Kaynak", "archive.ics.uci.edu/dataset/80", SHA256, "57,523 bytes"):
        assert needed in readme, needed
    assert DIGITS.stat().st_size == 57_523


def test_images_labels_and_pixel_range():
    images, labels = load_digits()
    assert images.shape == (1797, 8, 8) and labels.shape == (1797,)
    assert images.dtype == np.int64 and labels.dtype == np.int64
    assert images.min() == 0 and images.max() == 16
    assert np.bincount(labels).tolist() == COUNTS
    # The first image is a 0 (scikit-learn's digits.images[0]): a ring of ink with a blank centre.
    assert labels[0] == 0 and images[0, 0].tolist() == [0, 0, 5, 13, 9, 1, 0, 0] and images[0, 4, 3:5].sum() == 0


def test_the_data_is_in_the_wheel_with_its_readme():
    globs = tomllib.loads((REPO / "lib" / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]["attn"]
    package = REPO / "lib" / "attn"
    for path in (DIGITS, DIGITS.parent / "README.md"):
        rel = path.relative_to(package).as_posix()
        assert any(fnmatch.fnmatch(rel, g) and rel.count("/") == g.count("/") for g in globs), (rel, globs)


def test_patchify_cuts_row_by_row():
    images = torch.arange(2 * 8 * 8, dtype=torch.float32).reshape(2, 8, 8)
    for p in (2, 4):
        patches = patchify(images, p)
        n = 8 // p
        assert patches.shape == (2, n * n, p * p)
        for r in range(n):
            for c in range(n):
                assert torch.equal(patches[1, r * n + c], images[1, r * p:(r + 1) * p, c * p:(c + 1) * p].flatten())


def test_models_shapes_and_sizes():
    x = torch.rand(5, 8, 8)
    vit, cnn = TinyViT(), SmallCNN()
    assert vit(x).shape == (5, 10) and cnn(x).shape == (5, 10)
    att = vit.cls_attention()
    assert att.shape == (5, 2, 2, 16)  # (B, layers, heads, patches)
    assert torch.all(att.sum(-1) <= 1 + 1e-6)  # the rest of each row is the class token's weight on itself
    assert TinyViT(patch=4)(x).shape == (5, 10) and TinyViT(patch=4).cls_attention is not None
    sizes = [sum(p.numel() for p in m.parameters()) for m in (vit, cnn, TinyViT(patch=4))]
    assert max(sizes) < 1.1 * min(sizes), sizes  # the comparison is between models of about the same size
