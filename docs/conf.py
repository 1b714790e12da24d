"""Sphinx configuration of plainnet's documentation site.

Build it from the repository's root with

    python -m sphinx -W --keep-going -b html docs docs/_build/html

after ``pip install --no-build-isolation ".[docs]"`` (see the README).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import plainnet

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "_ext"))

project = "plainnet"
author = "the plainnet authors"
copyright = "plainnet authors, MIT licence"
release = plainnet.__version__
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.doctest",
    "sphinx.ext.intersphinx",
    "sphinx.ext.mathjax",
    "numpydoc",
    "myst_parser",
    "sphinx_gallery.gen_gallery",
    "matplotlib.sphinxext.plot_directive",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build", "examples/**/README.rst", "**/*.ipynb", "Thumbs.db", ".DS_Store"]
templates_path = ["_templates"]
nitpicky = False

# Markdown pages: heading anchors so that pages can link to sections.
myst_enable_extensions = ["colon_fence", "deflist", "dollarmath"]
myst_heading_anchors = 3

# API reference: one page per public name, generated from the docstrings.
autosummary_generate = True
autosummary_imported_members = True
autodoc_default_options = {"members": False}
autodoc_typehints = "none"
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False
# numpydoc checks every documented public docstring when the site is built;
# with -W a failed check fails the build. Excluded, and why:
#   ES01  an extended summary is not required where the summary says it all;
#   SA01  a See Also section is not required;
#   EX01  Examples are required of the main API (a doctest runs each), not of
#         every attribute and small helper;
#   GL08  properties and dataclass fields documented by their class;
#   RT02  "Returns" entries name the value, as NumPy's own docstrings often do;
#   PR03  the estimators describe related parameters together (tol with
#         n_iter_no_change, beta_1 with beta_2 and epsilon), out of the
#         signature's order.
numpydoc_validation_checks = {"all", "ES01", "SA01", "EX01", "GL08", "RT02", "PR03"}
numpydoc_validation_exclude = {r"\.__init__$", r"\.__repr__$", r"\.__call__$"}

intersphinx_mapping = {
    "python": ("https://docs.python.org/3", None),
    "numpy": ("https://numpy.org/doc/stable/", None),
}
# The build must not need the network: intersphinx inventories are only
# fetched when PLAINNET_DOCS_INTERSPHINX=1.
if os.environ.get("PLAINNET_DOCS_INTERSPHINX") != "1":
    intersphinx_mapping = {}

# The tutorial and the examples: scripts that run when the site is built.
sphinx_gallery_conf = {
    "examples_dirs": ["examples/tutorial", "examples/gallery"],
    "gallery_dirs": ["tutorial", "auto_examples"],
    "filename_pattern": r"/plot_",          # run plot_*.py; show_*.py are shown only
    "ignore_pattern": r"__init__\.py",
    "download_all_examples": False,
    "remove_config_comments": True,
    "within_subsection_order": "FileNameSortKey",
    "plot_gallery": "True",
    "abort_on_example_error": True,
    "min_reported_time": 1,
    "show_memory": False,
    "matplotlib_animations": False,
    "image_scrapers": ("matplotlib",),
    "reset_modules": ("matplotlib",),
}

plot_include_source = False
plot_html_show_source_link = False
plot_html_show_formats = False
plot_formats = [("png", 100)]

html_theme = "pydata_sphinx_theme"
html_title = f"plainnet {release}"
html_static_path: list[str] = []
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "header_links_before_dropdown": 8,
}
html_show_sourcelink = False


def _skip_foreign_members(app, what, name, obj, skip, options):  # noqa: ANN001, ANN201
    """Leave out members that scikit-learn's base classes add (metadata routing):
    scikit-learn documents them, and their docstrings refer to its own site."""
    if (getattr(obj, "__module__", None) or "").startswith("sklearn."):
        return True
    return None


def setup(app):  # noqa: ANN001, ANN201
    app.connect("autodoc-skip-member", _skip_foreign_members)
