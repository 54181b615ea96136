"""Sphinx configuration of the empathy_cause documentation.

Build with ``sphinx-build -W --keep-going -b html docs docs/_build/html``
(``pip install -e ".[docs]"`` first). ``tests/test_docs.py`` runs that build
and the pages' Python examples as part of the test suite.
"""

import sys
from pathlib import Path

# Document the working tree even when the package is not installed.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import empathy_cause  # noqa: E402

project = "empathy_cause"
author = "empathy_cause developers"
copyright = "empathy_cause developers"
version = release = empathy_cause.__version__

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "numpydoc",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store"]

# MyST: ```{directive} fences, $...$ is not needed; anchors for ## and ###
# headings so pages can link to sections (page.md#section-title).
myst_enable_extensions = ["colon_fence"]
myst_heading_anchors = 3

# autodoc / autosummary: the API page lists every object explicitly, so no
# stub pages are generated into the source folder.
autosummary_generate = False
autodoc_member_order = "bysource"
autodoc_typehints = "none"  # the numpydoc "Parameters" sections carry the types

# numpydoc: the classifiers subclass skorch's NeuralNetClassifier and inherit
# dozens of methods; the API page lists the members that matter explicitly
# instead of numpydoc's automatic (and huge) member tables.
numpydoc_show_class_members = False
numpydoc_show_inherited_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False

html_theme = "alabaster"
html_title = f"empathy_cause {release}"
html_static_path = []
