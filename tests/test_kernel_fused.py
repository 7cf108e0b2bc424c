"""The fused hot path (``sim.kernel.fused``) runs exactly what the stepwise kernel runs.

Every plain shipped scenario (no stage changes a fused step) is run twice per policy:
fused, and stepwise (one step wrapped by a pass-through, which is what a stage does);
every figure must be identical. The golden files check the fused path against 0.3.0;
this checks that the stepwise path, which every feature scenario runs, still agrees with
it on the plain ones.
"""

from __future__ import annotations

import json
import sys
from dataclasses import asdict
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from golden.cases import CASES, ROOT  # noqa: E402
from sim import Simulation, load_scenario  # noqa: E402
from sim.kernel.fused import STEPS, plain  # noqa: E402
from sim.state import Contact  # noqa: E402

PLAIN_CASES = ("quickstart", "bank-day", "blocking", "erlang-a-check", "bank_week")


def _figures(name: str, policy: str, stepwise: bool) -> tuple[bool, str]:
    file, _, _ = CASES[name]
    simulation = Simulation(load_scenario(ROOT / "scenarios" / file), policy, replication=1)
    if stepwise:
        admit = simulation.admit

        def admit_as_a_stage_would(contact: Contact, now: float) -> None:
            admit(contact, now)

        simulation.admit = admit_as_a_stage_would  # type: ignore[method-assign]
    fused = plain(simulation)
    # As JSON text: NaN figures (no denominator) compare equal that way.
    return fused, json.dumps(asdict(simulation.run()), sort_keys=True)


@pytest.mark.parametrize("name", PLAIN_CASES)
def test_fused_and_stepwise_paths_give_identical_figures(name: str) -> None:
    for policy in CASES[name][1]:
        fused, fused_figures = _figures(name, policy, stepwise=False)
        stepwise, stepwise_figures = _figures(name, policy, stepwise=True)
        assert fused and not stepwise, "the plain case must fuse, the wrapped one must not"
        assert fused_figures == stepwise_figures, (name, policy)


def test_a_stage_keeps_the_stepwise_path() -> None:
    simulation = Simulation(load_scenario(ROOT / "scenarios" / "identity_bank.yaml"), "fcfs")
    assert not plain(simulation)
    assert simulation.admit.__func__ is not Simulation._admit  # type: ignore[attr-defined]


def test_every_fused_step_is_a_kernel_step() -> None:
    simulation = Simulation(load_scenario(ROOT / "scenarios" / "quickstart.yaml"), "fcfs")
    for attribute, own in STEPS.items():
        assert getattr(simulation, attribute).__func__ is getattr(Simulation, own), attribute


@pytest.mark.parametrize(("file", "policy", "by_weekday"), [
    ("blocking.yaml", "fcfs", False),           # warm-up, fused path
    ("ivr_bank.yaml", "fcfs", False),           # warm-up of 30 min, stages: stepwise path
    ("bank_week.yaml", "fcfs", True),           # a week of cells, boundaries at midnight
    ("omnichannel_bank.yaml", "fcfs", False),   # agents holding several chats at once
])
def test_busy_periods_split_at_a_boundary_as_add_time_splits_them(
        file: str, policy: str, by_weekday: bool) -> None:
    """``end_busy``'s two-piece split of a busy period across the latest interval boundary
    gives exactly the floats of ``MetricCells.add_time``, which it replaces there."""
    figures = []
    for split in (True, False):
        simulation = Simulation(load_scenario(ROOT / "scenarios" / file), policy,
                                replication=1, by_weekday=by_weekday)
        simulation._whole_seconds = split
        figures.append(json.dumps(asdict(simulation.run()), sort_keys=True))
    assert figures[0] == figures[1]
