"""What a policy sees is what the center knows: never ground truth.

A routing policy receives contacts, agents and the routing state; the view protocols of
``sim.state`` (``ContactView``, ``AgentView``, ``CustomerView``, ``CallerView`` and the
public members of ``RoutingState``) list what it may read. Two checks make that a proof
for every registered policy:

1. No view names a ground-truth figure (``sim.state.GROUND_TRUTH``: true patience, handle
   time and outcome draws, who the caller really is).
2. Every registered policy runs on every shipped scenario it builds on with each object it
   is given wrapped in a strict proxy that lets it read only the members of that object's
   view (and wraps what they return the same way). A read outside the view fails the test
   with the policy, the scenario and the member it reached for.

And the center knows a caller's record only once it has matched it: in a scenario with
identity whose callers are verified by the agent, a caller not matched by number or in
the IVR reaches the policy with no customer (so no tier).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

# isort: off
from sim import Simulation, scenario_from_dict
from policies import make_policy, policy_spec, registered_policies
# isort: on
from conftest import contract_scenario_data
from policies.base import PolicyConfigError
from sim.errors import ScenarioError
from sim.model.customers import Customer
from sim.model.identity import Caller
from sim.state import (GROUND_TRUTH, Agent, AgentView, CallerView, Contact, ContactView,
                       CustomerView, RoutingState)

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = sorted(p.name for p in (ROOT / "scenarios").glob("*.yaml"))
POLICIES = sorted(registered_policies())


def _members(protocol: type) -> frozenset[str]:
    return frozenset(name for name in vars(protocol) if not name.startswith("_"))


VIEWS: dict[type, frozenset[str]] = {
    Contact: _members(ContactView),
    Agent: _members(AgentView),
    Customer: _members(CustomerView),
    Caller: _members(CallerView),
    RoutingState: frozenset(name for name in dir(RoutingState) if not name.startswith("_")
                            and name not in {"add_idle", "add_waiting", "return_waiting"}),
}
"""What a policy may read on each engine object (the state's index updates are the
engine's)."""


def test_no_view_names_ground_truth() -> None:
    for owner, members in VIEWS.items():
        assert not members & GROUND_TRUTH, f"{owner.__name__} view exposes {members & GROUND_TRUTH}"
    # The engine objects do hold the truth: the views leave it out, not the data model.
    assert {"patience", "work", "wrap_up"} <= set(Contact.__slots__)
    assert hasattr(Caller, "kind") and "kind" not in VIEWS[Caller]


class ViewViolation(AssertionError):
    """A policy read a member outside the view of the object it was given."""


class _Strict:
    """A read-only stand-in for one engine object: only its view's members are readable."""

    __slots__ = ("_target", "_members", "_proxies")

    def __init__(self, target: object, members: frozenset[str],
                 proxies: dict[int, _Strict]) -> None:
        object.__setattr__(self, "_target", target)
        object.__setattr__(self, "_members", members)
        object.__setattr__(self, "_proxies", proxies)

    def __getattr__(self, name: str) -> Any:
        target = object.__getattribute__(self, "_target")
        if name not in object.__getattribute__(self, "_members"):
            raise ViewViolation(f"read {type(target).__name__}.{name}, which is not in its view")
        proxies = object.__getattribute__(self, "_proxies")
        value = getattr(target, name)
        if callable(value) and isinstance(target, RoutingState):
            return _strict_method(value, proxies)
        return _wrap(value, proxies)

    def __setattr__(self, name: str, value: object) -> None:
        raise ViewViolation(f"wrote {type(self._target).__name__}.{name}: views are read-only")


def _wrap(value: Any, proxies: dict[int, _Strict]) -> Any:
    """``value`` as a policy may see it: engine objects behind their views, containers
    of them wrapped item by item; one proxy per object, so ``is`` and dict keys work."""
    members = VIEWS.get(type(value))
    if members is not None:
        proxy = proxies.get(id(value))
        if proxy is None:
            proxy = proxies[id(value)] = _Strict(value, members, proxies)
            proxies[id(proxy)] = proxy
        return proxy
    if isinstance(value, (list, tuple)):
        return type(value)(_wrap(item, proxies) for item in value)
    if isinstance(value, Iterator):
        return (_wrap(item, proxies) for item in value)
    if isinstance(value, dict):
        return {key: _wrap(item, proxies) for key, item in value.items()}
    return value


def _unwrap(value: Any) -> Any:
    if isinstance(value, _Strict):
        return object.__getattribute__(value, "_target")
    if isinstance(value, tuple):
        return tuple(_unwrap(item) for item in value)
    return value


def _strict_method(method: Callable[..., Any], proxies: dict[int, _Strict]) -> Callable[..., Any]:
    def call(*args: Any, **kwargs: Any) -> Any:
        result = method(*(_unwrap(a) for a in args), **{k: _unwrap(v) for k, v in kwargs.items()})
        return _wrap(result, proxies)
    return call


class _ViewOnlyPolicy:
    """Runs a policy with every engine object it is given behind its view."""

    name = "view-only"

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.work_conserving = inner.work_conserving
        self._proxies: dict[int, _Strict] = {}
        self.decisions = 0
        for hook in ("recheck_after", "observe"):
            if getattr(inner, hook, None) is not None:
                setattr(self, hook, self._strict(getattr(inner, hook)))

    def _strict(self, hook: Callable[..., Any]) -> Callable[..., Any]:
        def call(*args: Any) -> Any:
            self.decisions += 1
            # Engine objects live as long as the run: ids are not reused while proxied.
            return _unwrap(hook(*(_wrap(a, self._proxies) for a in args)))
        return call

    def select_agent(self, contact: Contact, state: RoutingState) -> Any:
        return self._strict(self.inner.select_agent)(contact, state)

    def select_contact(self, agent: Agent, state: RoutingState) -> Any:
        return self._strict(self.inner.select_contact)(agent, state)


def _short(name: str) -> dict[str, Any]:
    """A shipped scenario cut to its first nine hours (the busy day starts at 08:00), one
    replication."""
    data = yaml.safe_load((ROOT / "scenarios" / name).read_text())
    run = {k: v for k, v in data.get("run", {}).items() if k not in ("arrivals", "days")}
    data["run"] = {**run, "duration": "9h", "warmup": "0s", "replications": 1}
    return data


def _buildable(policy: str, scenario: Any) -> bool:
    try:
        make_policy(policy, scenario)
    except (PolicyConfigError, ScenarioError, ValueError):
        return False
    return True


def _scenarios() -> Iterator[tuple[str, Any]]:
    """Every shipped scenario cut short, and identity_bank with a fraud desk (no shipped
    scenario names one) and the test suite's contract scenario."""
    for name in SCENARIOS:
        yield name, scenario_from_dict(_short(name))
    desk = _short("identity_bank.yaml")
    desk["agents"]["desk"] = {**desk["agents"]["retail"], "staffing": [
        0, 0, 0, 0, 0, 0, 0, 0, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 0, 0, 0, 0]}
    desk["routing"]["fraud_desk"] = {"desk": "desk"}
    yield "identity_bank.yaml with a fraud desk", scenario_from_dict(desk)
    yield "the contract scenario", scenario_from_dict(contract_scenario_data())


@pytest.mark.parametrize("policy", POLICIES)
def test_policy_reads_only_what_the_center_knows(policy: str) -> None:
    ran = []
    for name, scenario in _scenarios():
        if not _buildable(policy, scenario):
            continue
        strict = _ViewOnlyPolicy(make_policy(policy, scenario))
        try:
            Simulation(scenario, strict).run()  # type: ignore[arg-type]
        except ViewViolation as violation:
            pytest.fail(f"{policy} on {name}: {violation}")
        ran.append((name, strict.decisions))
    assert ran, f"{policy} built on no shipped scenario"
    assert sum(decisions for _, decisions in ran) > 100, ran


def test_the_proxy_catches_a_policy_that_reads_true_handle_time() -> None:
    from policies.fcfs import FcfsPolicy

    class Peeking(FcfsPolicy):
        name = "peeking"

        def select_agent(self, contact: ContactView, state: RoutingState) -> AgentView | None:
            assert contact.work > 0  # type: ignore[attr-defined]
            return super().select_agent(contact, state)

    scenario = scenario_from_dict(_short("quickstart.yaml"))
    peeking = Peeking(policy_spec("fcfs").parse_params({}, scenario), scenario)
    with pytest.raises(ViewViolation, match=r"Contact\.work"):
        Simulation(scenario, _ViewOnlyPolicy(peeking)).run()  # type: ignore[arg-type]


def _agent_verified_bank() -> dict[str, Any]:
    """identity_bank with every check done by the agent: callers not matched by their
    number reach the queue unknown."""
    data = yaml.safe_load((ROOT / "scenarios" / "identity_bank.yaml").read_text())
    data["run"] = {**data["run"], "duration": "9h", "warmup": "0s", "replications": 1}
    for method in data["identity"]["methods"].values():
        if isinstance(method, dict):
            method["where"] = "agent"
    return data


def test_a_caller_not_yet_matched_has_no_record_and_no_tier() -> None:
    scenario = scenario_from_dict(_agent_verified_bank())
    seen: list[tuple[bool, bool]] = []

    class Recording(_ViewOnlyPolicy):
        def select_agent(self, contact: Contact, state: RoutingState) -> Any:
            caller = contact.identity
            if caller is not None and caller.customer is not None:
                seen.append((caller.matched, contact.customer is not None))
            return super().select_agent(contact, state)

    kernel = Simulation(scenario, Recording(make_policy("fcfs", scenario)))  # type: ignore[arg-type]
    kernel.run()
    assert seen and all(matched == known for matched, known in seen)
    unmatched = sum(not matched for matched, _ in seen)
    assert unmatched > 0.03 * len(seen)  # numbers not on file, or shared
