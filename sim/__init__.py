"""ccsim: a discrete-event contact-center simulator and routing-policy benchmark.

Public API::

    from sim import load_scenario, scenario_from_dict, run, Simulation

The names are imported on first use (PEP 562): importing any ``sim`` submodule runs
this file first, and ``ccsim policies`` or ``ccsim --help`` must not pay for the
engine, pydantic or scipy.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from sim.errors import FewReplicationsWarning, PolicyError, ScenarioError

if TYPE_CHECKING:
    from sim.kernel.cells import ReplicationResult
    from sim.kernel.kernel import Simulation
    from sim.model.scenario import Scenario, load_scenario, parse_scenario, scenario_from_dict
    from sim.runner import Estimate, RunResults, estimate, run

# Public name -> the module that defines it, imported by name so that a moved module
# needs one edit here.
_LAZY: dict[str, str] = {
    "ReplicationResult": "sim.kernel.cells",
    "Simulation": "sim.kernel.kernel",
    "Estimate": "sim.runner",
    "RunResults": "sim.runner",
    "estimate": "sim.runner",
    "run": "sim.runner",
    "Scenario": "sim.model.scenario",
    "load_scenario": "sim.model.scenario",
    "parse_scenario": "sim.model.scenario",
    "scenario_from_dict": "sim.model.scenario",
}

__all__ = [
    "Estimate",
    "FewReplicationsWarning",
    "PolicyError",
    "ReplicationResult",
    "RunResults",
    "Scenario",
    "ScenarioError",
    "Simulation",
    "estimate",
    "load_scenario",
    "parse_scenario",
    "run",
    "scenario_from_dict",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        # AttributeError also lets ``from sim import kernel`` fall back to the submodule.
        raise AttributeError(f"module 'sim' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later lookups skip __getattr__
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})
