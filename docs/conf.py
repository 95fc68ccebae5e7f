# Authors: The sparseclf developers
# SPDX-License-Identifier: BSD-3-Clause
"""Sphinx configuration.

Build with `pip install ".[docs]"` then `sphinx-build docs docs/_build`.
"""

import sparseclf

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
]
autosummary_generate = True
numpydoc_show_class_members = False
intersphinx_mapping = {
    "python": ("https://docs.python.org/3", None),
    "numpy": ("https://numpy.org/doc/stable", None),
    "scipy": ("https://docs.scipy.org/doc/scipy", None),
    "sklearn": ("https://scikit-learn.org/stable", None),
}
sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": "/plot_",
}
templates_path = ["_templates"]
exclude_patterns = ["_build"]
html_theme = "alabaster"
