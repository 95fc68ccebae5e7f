# Authors: The sparseclf developers
# SPDX-License-Identifier: BSD-3-Clause
"""The gallery examples run to the end and draw their figures."""

import runpy
from pathlib import Path

import matplotlib
import pytest

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
SCRIPTS = sorted(EXAMPLES.glob("plot_*.py"))
SHARED_DATA = EXAMPLES.parents[1] / "shared" / "data"
# Data the examples read from ../shared/data (the others make their own).
NEEDS = {"plot_text_classification.py": "20newsgroups_bydate"}


def test_examples_are_found():
    assert len(SCRIPTS) >= 3, f"no plot_*.py examples in {EXAMPLES}"


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_example_runs_and_plots(script, monkeypatch):
    need = NEEDS.get(script.name)
    if need and not (SHARED_DATA / need).is_dir():
        pytest.skip(f"{script.name} reads ../shared/data/{need}, absent here")
    plt.close("all")
    monkeypatch.setattr(plt, "show", lambda *args, **kwargs: None)
    runpy.run_path(str(script), run_name="__main__")
    assert plt.get_fignums(), f"{script.name} drew no figure"
    plt.close("all")
