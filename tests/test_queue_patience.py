"""Patience that depends on the queue a caller finds (``patience_per_waiting``): the stage
scales each new contact's patience by exp(-value x contacts waiting), and only then."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest

from sim import ScenarioError, Simulation, scenario_from_dict
from sim.stages.queue_patience import QueuePatience


def _four_calls(tmp_path: Path, per_waiting: float | None) -> dict[str, Any]:
    """One agent; calls at 0 s (answered at once, talk 1,000 s), 10, 20 and 30 s, which find
    0, 1 and 2 callers waiting; constant patience 100 s."""
    trace = tmp_path / "arrivals.csv"
    trace.write_text("arrival_s,type\n0,call\n10,call\n20,call\n30,call\n")
    kind: dict[str, Any] = {"arrivals": {"trace": str(trace), "type": "call"},
                            "handle_time": {"dist": "constant", "value": "1000s"},
                            "patience": {"dist": "constant", "value": "100s"}}
    if per_waiting is not None:
        kind["patience_per_waiting"] = per_waiting
    return {"name": "four-calls", "run": {"duration": "2h", "seed": 1, "replications": 1},
            "contact_types": {"call": kind}, "agents": {"desk": {"skills": ["call"], "count": 1}},
            "routing": {"policy": "fcfs"}}


def test_each_caller_waiting_ahead_scales_patience(tmp_path: Path) -> None:
    # exp(-ln 2 x waiting): patience 100, 50 and 25 s, so the waits are 100 + 50 + 25 s.
    halving = Simulation(scenario_from_dict(_four_calls(tmp_path, math.log(2))), "fcfs", 0)
    assert [type(stage) for stage in halving.stages] == [QueuePatience]
    result = halving.run()
    assert result.overall["abandoned"] == 3
    assert result.overall["mean_wait_s"] == pytest.approx((0 + 100 + 50 + 25) / 4)
    steady = Simulation(scenario_from_dict(_four_calls(tmp_path, None)), "fcfs", 0)
    assert steady.stages == []  # without the key the scenario pays nothing
    assert steady.run().overall["mean_wait_s"] == pytest.approx((0 + 3 * 100) / 4)
    zero = Simulation(scenario_from_dict(_four_calls(tmp_path, 0.0)), "fcfs", 0)
    assert zero.stages == [] and zero.run().overall["mean_wait_s"] == pytest.approx(75)


def test_patience_per_waiting_needs_a_patience_and_a_sane_value(tmp_path: Path) -> None:
    data = _four_calls(tmp_path, 0.2)
    del data["contact_types"]["call"]["patience"]
    with pytest.raises(ScenarioError, match="patience_per_waiting.*no patience"):
        scenario_from_dict(data)
    for bad in (-0.1, 6, "fast"):
        with pytest.raises(ScenarioError, match="patience_per_waiting"):
            scenario_from_dict(_four_calls(tmp_path, bad))  # type: ignore[arg-type]
