# Authors: The sparseclf developers
# SPDX-License-Identifier: BSD-3-Clause
"""Sphinx configuration.

Build the site (offline; warnings are errors) with::

    pip install ".[docs]"
    sphinx-build -W --keep-going -b html docs docs/_build/html

Two things are off unless asked for, one slow and one online:

- ``SPARSECLF_DOCS_GALLERY=1`` (or ``-D plot_gallery=1``) runs the gallery's
  examples and embeds their figures (about 2 minutes on 2 cores; the 20
  Newsgroups example reads ``../shared/data``). Off, the gallery pages show
  the code without output: the test suite runs the examples
  (``tests/test_examples.py``).
- ``SPARSECLF_DOCS_INTERSPHINX=1`` links to the Python, NumPy, SciPy and
  scikit-learn documentation, whose inventories are downloaded.

The figures of the user guide and the benchmark page are drawn at every build
by ``_ext/sparseclf_figures.py``, from the code and from the benchmarks' saved
results (``benchmarks/results/*.json``).
"""

import os
import sys
from pathlib import Path

import sparseclf

DOCS = Path(__file__).resolve().parent
sys.path.insert(0, str(DOCS / "_ext"))

project = "sparseclf"
author = "The sparseclf developers"
copyright = "2026, The sparseclf developers"
release = sparseclf.__version__
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.intersphinx",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
    "sparseclf_figures",
]

autosummary_generate = True
# Class pages document their methods; numpydoc's own member tables would repeat
# them.
autodoc_default_options = {"members": True}
numpydoc_show_class_members = False

# Inventories are fetched from the web: only on request, so that the default
# build works offline (an unreachable inventory is a warning, hence an error).
if os.environ.get("SPARSECLF_DOCS_INTERSPHINX") == "1":
    intersphinx_mapping = {
        "python": ("https://docs.python.org/3", None),
        "numpy": ("https://numpy.org/doc/stable", None),
        "scipy": ("https://docs.scipy.org/doc/scipy", None),
        "sklearn": ("https://scikit-learn.org/stable", None),
    }
else:
    intersphinx_mapping = {}

# sphinx-gallery's own switch (a string it evaluates); ``-D plot_gallery=1``
# overrides it too.
plot_gallery = "True" if os.environ.get("SPARSECLF_DOCS_GALLERY") == "1" else "False"
sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": "/plot_",
    "download_all_examples": False,
    "remove_config_comments": True,
    # Else it writes sg_execution_times.rst into docs/ itself.
    "write_computation_times": False,
}

exclude_patterns = ["_build", "**/*.inc"]
html_theme = "pydata_sphinx_theme"
html_title = f"sparseclf {release}"
html_theme_options = {
    "navigation_depth": 2,
    "show_toc_level": 2,
    "secondary_sidebar_items": ["page-toc"],
    "footer_start": ["copyright"],
    "footer_end": ["sphinx-version"],
}
html_sidebars = {"index": [], "install": [], "getting_started": []}


def _skip_metadata_requests(app, what, name, obj, skip, options):
    """Leave out scikit-learn's ``set_*_request`` methods (metadata routing):
    scikit-learn documents them, and their docstrings link into its glossary."""
    if name.startswith("set_") and name.endswith("_request"):
        return True
    return None


def setup(app):
    app.connect("autodoc-skip-member", _skip_metadata_requests)
