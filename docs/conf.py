"""Sphinx configuration of the skhybrid documentation (``make -C docs html``)."""

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("MPLBACKEND", "Agg")

import skhybrid  # noqa: E402

project = "skhybrid"
author = "skhybrid developers"
copyright = "2026, skhybrid developers"
release = skhybrid.__version__
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx.ext.intersphinx",
    "sphinx.ext.viewcode",
    "numpydoc",
    "myst_parser",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store"]
templates_path = ["_templates"]

autosummary_generate = True
# scikit-learn's generated metadata-routing setters and mixin methods are documented upstream
autodoc_default_options = {
    "members": True,
    "inherited-members": False,
    "show-inheritance": False,  # the bases are private mixins (BaseFusion) or scikit-learn's
    "exclude-members": "set_fit_request, set_predict_request, set_score_request, set_transform_request, "
                       "set_output, get_metadata_routing, score",
}
autodoc_typehints = "none"  # numpydoc sections carry the types
numpydoc_show_class_members = False  # members are listed by autodoc, not twice
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False

myst_enable_extensions = ["dollarmath", "colon_fence"]
myst_heading_anchors = 3

# offline builds must not warn: the inventories are fetched only when SKHYBRID_DOCS_INTERSPHINX=1
intersphinx_mapping = {}
if os.environ.get("SKHYBRID_DOCS_INTERSPHINX") == "1":
    intersphinx_mapping = {
        "python": ("https://docs.python.org/3", None),
        "sklearn": ("https://scikit-learn.org/stable", None),
        "torch": ("https://pytorch.org/docs/stable", None),
        "pymatgen": ("https://pymatgen.org", None),
    }

html_theme = "pydata_sphinx_theme"
html_title = f"skhybrid {release}"
html_static_path = ["_static"]
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "secondary_sidebar_items": ["page-toc"],
}
html_sidebars = {"**": ["sidebar-nav-bs"]}
