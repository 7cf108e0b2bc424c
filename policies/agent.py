"""A trained agent as a routing policy: any callable from observation to action.

The observation and the actions are those of the ``ccsim/Routing-v0`` learning
environment (``sim.learn.encoding``), so an agent trained there runs here unchanged,
beside the built-in policies on the same contacts::

    routing:
      params:
        agent: {act: "docs/learning/two_costs.py:trained_agent"}

``ccsim compare SCENARIO --policy fcfs --policy agent``. ``act`` names the callable as
``module:attribute`` (an importable module) or ``path/file.py:attribute`` (a file,
relative to the working directory); without ``act`` the agent is ``fcfs`` read from the
observation (``sim.learn.encoding.fcfs_action``), a check of the pipe. In Python,
``sim.learn.register_agent_policy(name, callable)`` registers a callable directly.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
from pydantic import Field, field_validator

from .base import PolicyConfigError, PolicyParams, register_policy

if TYPE_CHECKING:
    from sim.learn.encoding import Decision
    from sim.model.scenario import Scenario
    from sim.state import AgentView, ContactView, RoutingState

Act = Callable[[np.ndarray], Any]
"""An agent: the observation of a decision -> an action (an int)."""


class AgentParams(PolicyParams):
    """Parameters of the ``agent`` policy."""

    act: str | None = Field(
        default=None, description="The agent: 'module:attribute' or 'path/file.py:attribute', "
        "a callable from observation to action; absent: fcfs read from the observation.")
    allow_hold: bool = Field(
        default=True, description="Whether action 0 (hold) is allowed, as in the environment "
        "the agent was trained in.")

    @field_validator("act")
    @classmethod
    def _loads(cls, act: str | None) -> str | None:
        # Checked with the scenario, so a wrong name fails before any run starts.
        if act is not None:
            load_callable(act, where=())
        return act


@register_policy("agent", AgentParams)
class AgentPolicy:
    """Routes by a trained agent's actions on the learning environment's observations."""

    work_conserving = False  # an agent may hold a contact next to an idle agent
    decision_cost = "observation"  # encodes every agent group and queue class per decision
    name: ClassVar[str]

    def __init__(self, params: AgentParams, scenario: Scenario, act: Act | None = None) -> None:
        from sim.learn.encoding import DecisionEncoder, fcfs_action

        self.params = params
        self._encoder = encoder = DecisionEncoder(scenario, params.allow_hold)
        if act is None and params.act is not None:
            act = load_callable(params.act)
        self._act: Act = act if act is not None else (
            lambda observation: fcfs_action(observation, encoder))

    def select_agent(self, contact: ContactView, state: RoutingState) -> AgentView | None:
        decision = self._encoder.arrival(contact, state)
        return None if decision is None else self._decide(decision, contact, state)

    def select_contact(self, agent: AgentView, state: RoutingState) -> ContactView | None:
        decision = self._encoder.freed_agent(agent, state)
        return None if decision is None else self._decide(decision, None, state)

    def _decide(self, decision: Decision, arriving: ContactView | None,
                state: RoutingState) -> Any:
        """The agent's choice for ``decision``; an answer counts in the recent service level."""
        choice = decision.choose(self.action(decision))
        if choice is not None:
            self._encoder.answered(arriving if arriving is not None else choice, state.now)
        return choice

    def action(self, decision: Decision) -> int:
        """The agent's action for ``decision`` (the learning environment overrides this to
        ask its agent)."""
        return int(self._act(decision.observation))


def load_callable(reference: str, where: tuple[str, ...] = ("act",)) -> Act:
    """The callable named ``module:attribute`` or ``path/file.py:attribute``; errors name
    the field at ``where`` and say what is allowed."""
    module_name, sep, attribute = reference.rpartition(":")
    if not sep or not module_name or not attribute:
        raise PolicyConfigError(where, f"{reference!r} is not 'module:attribute'; allowed: e.g. "
                                "'mypackage.agents:trained' or 'agents/trained.py:act'")
    try:
        if module_name.endswith(".py"):
            path = Path(module_name)
            if not path.is_file():
                raise PolicyConfigError(where, f"file {module_name!r} not found (paths are "
                                        f"relative to the working directory, {Path.cwd()})")
            spec = importlib.util.spec_from_file_location(path.stem, path)
            assert spec is not None and spec.loader is not None
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
        else:
            module = importlib.import_module(module_name)
    except ImportError as exc:
        raise PolicyConfigError(where, f"cannot import {module_name!r}: {exc}") from None
    act = getattr(module, attribute, None)
    if not callable(act):
        raise PolicyConfigError(where, f"{module_name!r} has no callable {attribute!r}; allowed: a "
                                "function or object taking an observation, returning an action")
    return act  # type: ignore[no-any-return]
