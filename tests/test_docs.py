# Authors: The sparseclf developers
# SPDX-License-Identifier: BSD-3-Clause
"""The documentation builds offline with warnings as errors, and has its pages.

The build runs on a copy of ``docs/``, ``examples/`` and ``benchmarks/results/``
(it writes generated pages and figures into its source folder), without running
the gallery (``tests/test_examples.py`` runs the examples) and without
intersphinx (its inventories are downloaded).
"""

import html as html_module
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
RESULTS = ROOT / "benchmarks" / "results"

pytestmark = pytest.mark.skipif(
    not (DOCS / "conf.py").is_file(),
    reason="no docs/conf.py beside the tests: not a source checkout",
)

PAGES = [
    "index",
    "install",
    "getting_started",
    "user_guide/index",
    "user_guide/sampled_output_layer",
    "user_guide/autotuning",
    "user_guide/partial_fit",
    "user_guide/threads",
    "user_guide/text",
    "user_guide/persistence",
    "user_guide/onnx",
    "api",
    "cli",
    "benchmarks",
    "whats_new",
    "auto_examples/index",
    "generated/sparseclf.SparseMLPClassifier",
    "generated/sparseclf.TextClassifier",
    "generated/sparseclf.save",
    "generated/sparseclf.load",
    "generated/sparseclf.onnx.to_onnx",
]
# Drawn by docs/_ext/sparseclf_figures.py at each build.
FIGURES = [
    "active_sets.png",
    "active_size.png",
    "bench_xmc_synthetic.png",
    "bench_xmc_mulan.png",
    "bench_text.png",
]


@pytest.fixture(scope="module")
def built_docs(tmp_path_factory):
    """Build the site once; returns ``(html folder, sphinx's output)``."""
    tmp = tmp_path_factory.mktemp("docs")
    generated = shutil.ignore_patterns("_build", "generated", "auto_examples")
    shutil.copytree(DOCS, tmp / "docs", ignore=generated)
    shutil.copytree(ROOT / "examples", tmp / "examples")
    if RESULTS.is_dir():  # else the page says so, and the tests below fail
        shutil.copytree(RESULTS, tmp / "benchmarks" / "results")
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("SPARSECLF_DOCS_GALLERY", "SPARSECLF_DOCS_INTERSPHINX")
    }
    html = tmp / "html"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "sphinx",
            "-W",
            "--keep-going",
            "-q",
            "-b",
            "html",
            "-D",
            "plot_gallery=0",
            str(tmp / "docs"),
            str(html),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert proc.returncode == 0, (
        f"sphinx-build failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n"
        f"{proc.stderr[-6000:]}"
    )
    return html, proc.stdout + proc.stderr


def test_build_has_no_warnings(built_docs):
    _, output = built_docs
    assert "WARNING" not in output and "ERROR" not in output


@pytest.mark.parametrize("page", PAGES)
def test_page_exists(built_docs, page):
    html, _ = built_docs
    assert (html / f"{page}.html").is_file(), f"{page}.html was not built"


def test_figures_are_drawn(built_docs):
    html, _ = built_docs
    images = {p.name for p in (html / "_images").iterdir()}
    missing = [f for f in FIGURES if f not in images]
    assert not missing, f"figures not in the site: {missing}"
    for name in FIGURES:
        assert (html / "_images" / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_gallery_is_not_run(built_docs):
    html, _ = built_docs
    # An executed example embeds its figures as sphx_glr_plot_*_001.png.
    ran = sorted(p.name for p in html.rglob("sphx_glr_plot_*_00*.png"))
    assert not ran, f"the gallery ran: {ran}"
    page = (html / "auto_examples" / "plot_grid_search.html").read_text("utf-8")
    assert "GridSearchCV" in page


def _text(path):
    """The text of an HTML page: tags removed, entities decoded, spaces joined."""
    text = html_module.unescape(re.sub(r"<[^>]+>", "", path.read_text("utf-8")))
    return " ".join(text.split())


def test_benchmark_page_names_its_sources(built_docs):
    html, _ = built_docs
    page = _text(html / "benchmarks.html")
    files = sorted(RESULTS.glob("*.json"))
    assert files, "no benchmark results in benchmarks/results"
    for path in files:
        record = json.loads(path.read_text("utf-8"))
        assert path.name in page
        assert record["command"] in page
        assert record["date"] in page


def test_api_page_links_the_public_api(built_docs):
    html, _ = built_docs
    page = (html / "api.html").read_text("utf-8")
    pages = [p.removeprefix("generated/") for p in PAGES if p.startswith("generated/")]
    for name in pages:
        assert f'href="generated/{name}.html' in page, f"api.html lacks {name}"
