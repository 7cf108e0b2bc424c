"""The API reference (``docs/api``, Sphinx autodoc) builds without network and without
warnings: a documented module, class or function that was renamed or removed, or a
docstring that no longer parses, fails the fast suite here rather than on a docs site.

Sphinx runs in a subprocess (``python -m sphinx -W``, warnings as errors) into a temporary
folder, with this tree first on ``PYTHONPATH`` so it documents these sources.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "docs" / "api"


def sphinx_build(source: Path, out: Path) -> subprocess.CompletedProcess[str]:
    """Build ``source`` as HTML into ``out`` with warnings as errors."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])}
    return subprocess.run(
        [sys.executable, "-m", "sphinx", "-b", "html", "-W", "--keep-going", "-q",
         "-c", str(SOURCE), str(source), str(out)],
        capture_output=True, text=True, env=env, timeout=300, check=False)


def test_api_reference_builds_without_warnings(tmp_path: Path) -> None:
    result = sphinx_build(SOURCE, tmp_path / "html")
    assert result.returncode == 0, result.stderr[-3000:]
    reports = (tmp_path / "html" / "reports.html").read_text(encoding="utf-8")
    for name in ("reports.compare.compare", "reports.findings.rank_findings",
                 "reports.html.write_report", "reports.interactive.write_interactive"):
        assert f'id="{name}"' in reports, name
    assert 'id="sim.runner.run"' in (tmp_path / "html" / "sim.html").read_text(encoding="utf-8")
    assert 'id="policies.base.register_policy"' in (
        tmp_path / "html" / "policies.html").read_text(encoding="utf-8")


def test_api_reference_fails_on_a_missing_object(tmp_path: Path) -> None:
    # The check must be able to fail: a page naming a module that does not exist.
    source = tmp_path / "src"
    source.mkdir()
    (source / "index.rst").write_text("Missing\n=======\n\n.. automodule:: reports.no_such\n")
    result = sphinx_build(source, tmp_path / "html")
    assert result.returncode != 0
    assert "reports.no_such" in result.stderr
