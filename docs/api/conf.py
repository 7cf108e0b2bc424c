"""Sphinx configuration of ccsim's API reference (``make docs``; built by
tests/test_api_docs.py with warnings as errors, so a module, class or cross-reference that
no longer exists fails the fast test suite). No extension here reaches the network."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))  # document this tree, not an installed copy

project = "ccsim"
author = "ccsim contributors"
extensions = ["sphinx.ext.autodoc", "sphinx.ext.napoleon"]
autodoc_default_options = {"members": True, "undoc-members": False, "show-inheritance": True}
autodoc_member_order = "bysource"
# Annotations stay as written: resolving every type across pydantic and numpy would ask
# for intersphinx inventories, which are on the network.
autodoc_typehints = "none"
html_theme = "alabaster"
html_static_path: list[str] = []
exclude_patterns = ["_build"]
suppress_warnings = ["ref.python"]  # ambiguous short names in signatures, not missing objects

# Import the documented modules before autodoc does: pydantic builds each model's schema
# when its class is created, and under autodoc's own import hooks (Sphinx 9) that fails
# for models with ``extra="forbid"``; a plain import first lets autodoc reuse the module.
import policies  # noqa: E402,F401
import reports.interactive  # noqa: E402,F401
import sim.runner  # noqa: E402,F401
