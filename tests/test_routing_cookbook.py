"""docs/routing_cookbook.md cannot rot: its first YAML block is a center, and every other
block, laid over it (top-level keys replaced), is a scenario that loads and runs."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

import sim

pytestmark = pytest.mark.filterwarnings("ignore::sim.errors.FewReplicationsWarning")

COOKBOOK = Path(__file__).resolve().parents[1] / "docs" / "routing_cookbook.md"
BLOCKS = re.findall(r"```yaml\n(.*?)```", COOKBOOK.read_text(), re.DOTALL)
BASE: dict[str, Any] = yaml.safe_load(BLOCKS[0])


def test_the_cookbook_has_its_sections() -> None:
    headings = re.findall(r"^## (.+)$", COOKBOOK.read_text(), re.MULTILINE)
    for name in ("Asterisk", "FreeSWITCH", "TaskRouter", "Connect", "Genesys", "Skills",
                 "Transfers", "IVR menus"):
        assert any(name in heading for heading in headings), name
    assert len(BLOCKS) >= 10


@pytest.mark.parametrize("block", BLOCKS[1:], ids=lambda b: b.split("\n", 2)[1].strip())
def test_every_fragment_runs_on_the_cookbook_center(block: str) -> None:
    fragment = yaml.safe_load(block)
    scenario = sim.scenario_from_dict({**BASE, **fragment})
    policy = scenario.routing.policy
    result = sim.run(scenario, [policy], replications=1, progress=False)
    answered = result.summary()[policy]["answered"].mean
    assert answered > 0.8 * result.summary()[policy]["offered"].mean
