"""Same numbers: every shipped scenario's results are identical to its golden file.

The golden files (``tests/golden/*.json``) were recorded from 0.3.0 before the engine was
rebuilt as a kernel with stages; a refactoring that changes the order of events or of
random draws changes some figure here. ``tests/golden/cases.py`` says how to re-record.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from golden.cases import CASES, golden_path, results_of  # noqa: E402


def _differences(expected: object, actual: object, path: str = "") -> list[str]:
    """Paths where two JSON trees differ (the first few are enough to see what moved)."""
    if isinstance(expected, dict) and isinstance(actual, dict):
        found = [f"{path}.{key}: missing or extra" for key in expected.keys() ^ actual.keys()]
        for key in expected.keys() & actual.keys():
            found += _differences(expected[key], actual[key], f"{path}.{key}")
        return found
    if isinstance(expected, list) and isinstance(actual, list) and len(expected) == len(actual):
        return [d for i, (e, a) in enumerate(zip(expected, actual))
                for d in _differences(e, a, f"{path}[{i}]")]
    return [] if expected == actual else [f"{path}: {expected!r} -> {actual!r}"]


@pytest.mark.parametrize("name", sorted(CASES))
def test_shipped_scenario_matches_its_golden_file(name: str) -> None:
    expected = json.loads(golden_path(name).read_text())
    differences = _differences(expected, results_of(name))
    assert not differences, f"{len(differences)} figures moved, e.g. " + "; ".join(
        sorted(differences)[:8])
