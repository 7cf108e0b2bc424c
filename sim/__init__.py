"""ccsim: a discrete-event contact-center simulator and routing-policy benchmark.

Public API::

    from sim import load_scenario, scenario_from_dict, run, Simulation
"""

from .engine import ReplicationResult, Simulation
from .errors import PolicyError, ScenarioError
from .runner import Estimate, RunResults, estimate, run
from .scenario import Scenario, load_scenario, parse_scenario, scenario_from_dict

__all__ = [
    "Estimate",
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
