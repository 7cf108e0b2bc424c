"""Learning interface: ccsim as Gymnasium environments, and trained agents as policies.

    import gymnasium
    import sim.learn  # registers the environments below with Gymnasium
    env = gymnasium.make("ccsim/Routing-v0", scenario="scenarios/quickstart.yaml")

* ``ccsim/Routing-v0`` (``RoutingEnv``): one step per routing decision;
* ``ccsim/RoutingControl-v0`` (``RoutingControlEnv``): one step per interval of the day,
  the action sets the routing policy's parameters;
* ``register_agent_policy(name, act)``: a callable from observation to action becomes a
  routing policy that ``sim.run`` and ``ccsim compare`` run beside the built-in ones
  (the ``agent`` policy does the same from a scenario or the command line).

Needs the ``rl`` extra (``pip install 'ccsim[rl]'``: gymnasium and greenlet); the
encoding of decisions (``sim.learn.encoding``) and ``register_agent_policy`` need only
the core install.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from sim.learn.encoding import DecisionEncoder, fcfs_action

if TYPE_CHECKING:
    from policies.agent import Act
    from sim.learn.control_env import RoutingControlEnv
    from sim.learn.routing_env import RoutingEnv

__all__ = ["DecisionEncoder", "RoutingControlEnv", "RoutingEnv", "fcfs_action",
           "register_agent_policy", "register_environments"]

ENVIRONMENTS = {
    "ccsim/Routing-v0": "sim.learn.routing_env:RoutingEnv",
    "ccsim/RoutingControl-v0": "sim.learn.control_env:RoutingControlEnv",
}
"""Gymnasium id -> entry point."""


def register_environments() -> None:
    """Register the environments with Gymnasium (done on import when it is installed)."""
    import gymnasium

    for env_id, entry_point in ENVIRONMENTS.items():
        if env_id not in gymnasium.registry:
            gymnasium.register(id=env_id, entry_point=entry_point)


def register_agent_policy(name: str, act: Act, *, allow_hold: bool = True,
                          summary: str | None = None) -> type:
    """Register ``act`` (observation -> action, as in ``ccsim/Routing-v0``) as routing
    policy ``name`` in this process; returns the policy class."""
    from policies import PolicyParams, register_policy
    from policies.agent import AgentParams, AgentPolicy

    class Params(PolicyParams):
        pass

    def __init__(self: Any, params: PolicyParams, scenario: Any) -> None:
        AgentPolicy.__init__(self, AgentParams(allow_hold=allow_hold), scenario, act)

    policy = type(f"AgentPolicy_{name}", (AgentPolicy,), {
        "__init__": __init__,
        "__doc__": summary or f"A trained agent ({getattr(act, '__name__', type(act).__name__)}).",
    })
    return register_policy(name, Params)(policy)


def __getattr__(name: str) -> Any:
    modules = {"RoutingEnv": "sim.learn.routing_env", "RoutingControlEnv": "sim.learn.control_env"}
    if name not in modules:
        raise AttributeError(f"module 'sim.learn' has no attribute {name!r}")
    return getattr(importlib.import_module(modules[name]), name)


try:
    register_environments()
except ImportError:  # the rl extra is not installed: the environments cannot be made
    pass
