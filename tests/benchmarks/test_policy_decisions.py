"""Speed of every registered policy's decisions, without SimPy (pytest-benchmark).

Each policy decides on synthetic centers of 100, 1,000 and 10,000 agents with 10 and 50
skills (``synthetic_center`` in tests/test_policy_contract.py); a benchmark times a
batch of ``BATCH`` decisions (divide by ``BATCH`` for one decision). In the normal test
run (``--benchmark-disable``) each batch runs once and its decisions are checked. With
``make bench`` the growth test also asserts, for policies declaring
``decision_cost = "indexed"`` (the default), that the 10,000-agent time stays below 2x
the 100-agent time, both timed in one interleaved run. ``policy_guard.py`` times the
same cases for CI against a reference workload and a committed baseline.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import pytest
from policy_guard import (
    AGENTS,
    BATCH,
    KINDS,
    MAX_GROWTH,
    SKILLS,
    Case,
    decisions,
    time_cases,
)
from test_policy_contract import (
    ALL_POLICIES,
    SyntheticCenter,
    build_policy,
    check_agent_choice,
    check_contact_choice,
    decision_cost,
    synthetic_center,
)

INDEXED = [name for name in ALL_POLICIES if decision_cost(name) == "indexed"]


@cache
def center(agents: int, skills: int) -> SyntheticCenter:
    """One synthetic center per size for the whole module (policies never change it)."""
    return synthetic_center(agents, skills)


@pytest.mark.benchmark(max_time=0.25)
@pytest.mark.parametrize("skills", SKILLS)
@pytest.mark.parametrize("agents", AGENTS)
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("name", ALL_POLICIES)
def test_decision_speed(benchmark: Any, name: str, kind: str, agents: int, skills: int) -> None:
    loaded = center(agents, skills)
    decide, batch = decisions(build_policy(name, loaded.scenario), kind, loaded)
    state = loaded.fresh_state()
    benchmark.group = f"{kind}, {agents} agents x {skills} skills, batch of {BATCH}"
    chosen = benchmark(lambda: [decide(item, state) for item in batch])
    check = check_agent_choice if kind == "select_agent" else check_contact_choice
    for offered, choice in zip(batch, chosen, strict=True):
        check(name, offered, choice, state)  # type: ignore[operator]


@pytest.mark.benchmark(group="growth")
@pytest.mark.parametrize("skills", SKILLS)
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("name", INDEXED)
def test_indexed_decision_time_grows_less_than_2x(benchmark: Any, name: str, kind: str,
                                                   skills: int) -> None:
    """Indexed policies keep idle agents and waiting contacts indexed: 100x more agents
    may not make a decision 2x slower (it would be scanning them)."""
    if benchmark.disabled:
        pytest.skip("a timing assertion: runs with --benchmark-enable (make bench)")
    cases = [Case(name, kind, agents, skills) for agents in (AGENTS[0], AGENTS[-1])]
    timings = benchmark.pedantic(time_cases, args=(cases, 15, center), rounds=1, iterations=1)
    ratio = timings.growth(name, kind, skills)
    assert ratio < MAX_GROWTH, (
        f"{name}.{kind} with {skills} skills: {min(timings.samples[cases[1]]) * 1e6:.2f} us "
        f"at {AGENTS[-1]:,} agents (best round), {ratio:.1f}x the "
        f"{min(timings.samples[cases[0]]) * 1e6:.2f} us at {AGENTS[0]} agents")
