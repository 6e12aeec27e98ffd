"""Feedback HTML renders math with no internet: autograder.reports.offline swaps nbgrader's CDN MathJax 2.7 for ours."""
from __future__ import annotations

from pathlib import Path

import jinja2
from jupyter_core.paths import jupyter_path

from autograder.reports.offline import MARKER, localise_feedback, offline_html, remote_assets

BODY = r"<p>Scaled scores $QK^\top/\sqrt{d_k}$ and</p><p>$$\operatorname{softmax}(x)_i = e^{x_i}/\sum_j e^{x_j}$$</p>"


def nbconvert_mathjax_page() -> str:
    """A page whose <head> is nbconvert's own mathjax() macro, the one nbgrader's feedback template calls."""
    dirs = [d for d in (Path(p) / "base" for p in jupyter_path("nbconvert", "templates")) if (d / "mathjax.html.j2").exists()]
    assert dirs, "nbconvert's base/mathjax.html.j2 template not found"
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(dirs[0])))
    head = env.from_string("{% from 'mathjax.html.j2' import mathjax %}{{ mathjax() }}").render()
    return f"<!DOCTYPE html><html><head><meta charset='utf-8'>{head}</head><body>{BODY}</body></html>"


def test_feedback_template_loads_mathjax_from_a_cdn_until_rewritten():
    page = nbconvert_mathjax_page()
    assert any("mathjax" in url.lower() for url in remote_assets(page))
    fixed = offline_html(page)
    assert remote_assets(fixed) == []
    assert "text/x-mathjax-config" not in fixed and MARKER in fixed
    assert BODY in fixed
    assert offline_html(fixed) == fixed  # idempotent


def test_link_mode_points_at_the_given_copy():
    fixed = offline_html(nbconvert_mathjax_page(), src="../_static/mathjax/es5/tex-chtml.js")
    assert '<script defer src="../_static/mathjax/es5/tex-chtml.js"></script>' in fixed
    assert remote_assets(fixed) == []


def test_localise_feedback_rewrites_a_folder_in_place(tmp_path):
    page = nbconvert_mathjax_page()
    for student in ("ada", "bo"):
        (tmp_path / student / "03-qkv").mkdir(parents=True)
        (tmp_path / student / "03-qkv" / "qkv.html").write_text(page)
    (tmp_path / "notes.html").write_text("<html><body>no math</body></html>")
    changed = localise_feedback(tmp_path)
    assert sorted(p.parent.parent.name for p in changed) == ["ada", "bo"]
    assert all(remote_assets(p.read_text()) == [] for p in changed)
    assert localise_feedback(tmp_path) == []  # already done



def test_rewritten_feedback_names_no_course_internals():
    """tests/test_grading.py requires feedback to mention neither 'autograder' nor hidden tests."""
    fixed = offline_html(nbconvert_mathjax_page())
    assert "autograder" not in fixed.lower() and "HIDDEN TESTS" not in fixed
