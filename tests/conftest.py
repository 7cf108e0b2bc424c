"""Shared fixtures: the contract scenario every registered routing policy must run on."""

from __future__ import annotations

import copy
import signal
from pathlib import Path
from typing import Any

import pytest
import yaml

from sim.model.scenario import Scenario, scenario_from_dict

ROOT = Path(__file__).resolve().parents[1]


def _draw_no_constants_of_loaded_modules() -> None:
    """Hypothesis also draws constants it finds in the project modules loaded so far; under
    pytest-xdist which those are depends on the tests a worker ran before, so a derandomized
    example (tests/test_fuzz.py) would change from run to run. Without them the examples
    depend on the seed alone. (A private hook: on a Hypothesis without it, nothing to do.)"""
    try:
        from hypothesis.internal.conjecture import providers
    except ImportError:  # pragma: no cover
        return
    constants = getattr(providers, "_local_constants", None)
    if constants is not None and hasattr(providers, "_get_local_constants"):
        empty = type(constants)()
        providers._get_local_constants = lambda: empty


_draw_no_constants_of_loaded_modules()


def _take_ctrl_c_as_a_terminal_gives_it() -> None:
    """A test run started in the background of a non-interactive shell (``make test &``)
    inherits SIGINT ignored; Python then raises no KeyboardInterrupt, nor does a ccsim it
    starts, and the tests of Ctrl-C would fail for the way the run was started. Python's
    own handler, as at a terminal (a child process gets the default again at exec)."""
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


_take_ctrl_c_as_a_terminal_gives_it()


def contract_scenario_data() -> dict[str, Any]:
    """Quickstart plus customers and the parameters of policies that route on identity,
    so that every registered policy can be built and run on one scenario."""
    data = yaml.safe_load((ROOT / "scenarios" / "quickstart.yaml").read_text())
    data["customers"] = {"population": 2000, "tiers": {"standard": 0.9, "vip": 0.1},
                         "languages": {"en": 1.0}, "value": {"mean": 5000}}
    data["routing"]["fraud_desk"] = {"desk": "vip_desk"}
    # VIP customers have an owner at the VIP desk (mobile_advisers reaches them first).
    data["agents"]["vip_desk"]["owns"] = {"tiers": ["vip"]}
    # First-contact resolution for predictive to learn from.
    data["outcomes"] = {"resolution_at_lowest": 0.5, "resolution_at_highest": 0.9}
    # The indexed policy library: a minimum level, a white-glove team with overflow, and
    # rings that widen from one group to everyone (rechecks in the engine).
    data["routing"]["skills"] = {"pick": "best_skill", "min_level": {"vip": 5}}
    data["routing"]["vip"] = {"team": "vip_desk", "overflow_after": "30s"}
    data["routing"]["bullseye"] = {"rings": [{"after": "0s", "groups": ["generalists"]},
                                             {"after": "20s"}]}
    # The same rings as a workflow (the policy guard holds it to bullseye's speed).
    data["routing"]["workflow"] = {"filters": [{"steps": [
        {"targets": "group == 'generalists'", "timeout": "20s"}, {}]}]}
    return data


@pytest.fixture
def contract_scenario() -> Scenario:
    """The contract scenario, validated."""
    return scenario_from_dict(copy.deepcopy(contract_scenario_data()))
