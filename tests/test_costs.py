"""Money in every report (issue 14, item 3): the ``costs`` block.

* agent cost is on-duty hours x rate exactly: the kernel's logged-in time per group, also
  when shrinkage (breaks, absence) or shifts change who is on duty;
* total cost is the sum of its parts in every replication and every scope; per type and
  tier agent cost is shared by handling time and adds up to the whole;
* telephony charges the queue and talk minutes the kernel measures (waits, handling less
  wrap-up), and a channel not billed pays nothing;
* outbound revenue is right-party contacts x conversion x sale value; net value is revenue
  less costs, fraud loss and value lost;
* bad keys give errors naming the field and what is allowed; a scenario without the block
  reports no money figure (the golden files hold the shipped scenarios' results).
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from sim import ScenarioError, Simulation, scenario_from_dict
from sim.kernel.cells import ReplicationResult
from sim.stages.costs import COST_METRICS

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"
PARTS = ("agent_cost", "telecom_cost", "dial_cost", "verification_fees")


def _plain(costs: dict[str, Any] | None = None, **agents: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": "costs", "run": {"duration": "4h", "warmup": "30min", "seed": 11,
                                 "replications": 1},
        "contact_types": {"calls": {"arrivals": {"rate": "100/h"},
                                    "handle_time": {"dist": "exponential", "mean": "4min"},
                                    "patience": {"dist": "exponential", "mean": "3min"}}},
        "agents": agents or {"team": {"count": 7, "skills": ["calls"]}},
        "routing": {"policy": "fcfs"},
    }
    if costs is not None:
        data["costs"] = costs
    return data


def _shipped(name: str, **blocks: Any) -> dict[str, Any]:
    data = yaml.safe_load((SCENARIOS / name).read_text())
    data.update(copy.deepcopy(blocks))
    return data


def _run(data: dict[str, Any], replication: int = 0, policy: str = "fcfs",
         verification: str | None = None) -> tuple[Simulation, ReplicationResult]:
    simulation = Simulation(scenario_from_dict(data), policy, replication,
                            verification=verification)
    return simulation, simulation.run()


def _on_duty_seconds(simulation: Simulation) -> list[float]:
    return [sum(cell.logged_in for cell in cells) for cells in simulation.cells.group]


# -------------------------------------------------------------------- agent cost
def test_agent_cost_is_on_duty_hours_times_rate_exactly() -> None:
    """7 agents on duty for the 3.5 h measured window at $30/h cost 7 x 3.5 x 30 = $735."""
    simulation, result = _run(_plain({"agent_per_hour": 30}))
    assert _on_duty_seconds(simulation) == [7 * 3.5 * 3600]
    assert result.overall["agent_cost"] == pytest.approx(735.0, rel=1e-12)
    assert result.by_group["team"]["agent_cost"] == result.overall["agent_cost"]


@pytest.mark.parametrize("team", [
    {"count": 12, "absenteeism": 0.2,
     "breaks": [{"duration": "15min", "window": ["1h", "2h"]}]},
    {"shifts": [{"start": "0h", "end": "2h", "count": 9},
                {"start": "2h", "end": "4h", "count": 6}]},
], ids=["shrinkage", "shifts"])
def test_agent_cost_follows_on_duty_time_with_shrinkage_and_shifts(team: dict[str, Any]) -> None:
    """Breaks, absence and shifts change who is on duty; the cost follows the kernel's
    logged-in time exactly (per group and per interval) and the mean agents on duty."""
    data = _plain({"agent_per_hour": {"team": 24.0, "backup": 40.0}},
                  team={"skills": ["calls"], **team},
                  backup={"count": 2, "skills": ["calls"]})
    for replication in range(3):
        simulation, result = _run(data, replication)
        seconds = _on_duty_seconds(simulation)
        assert result.by_group["team"]["agent_cost"] == seconds[0] * (24.0 / 3600.0)
        assert result.by_group["backup"]["agent_cost"] == seconds[1] * (40.0 / 3600.0)
        assert result.overall["agent_cost"] == sum(
            result.by_group[g]["agent_cost"] for g in ("team", "backup"))
        hours = result.overall["measured_hours"]
        assert result.by_group["team"]["agent_cost"] == pytest.approx(
            result.by_group["team"]["agents_logged_in"] * hours * 24.0, rel=1e-12)
        assert sum(f["agent_cost"] for f in result.by_interval.values()) == pytest.approx(
            result.overall["agent_cost"], rel=1e-12)


# ---------------------------------------------------------------- sum of the parts
def _check_parts(figures: dict[str, float]) -> None:
    assert figures["total_cost"] == pytest.approx(sum(figures[p] for p in PARTS), rel=1e-12)
    assert figures["net_value"] == pytest.approx(
        figures["revenue"] - figures["total_cost"] - figures.get("fraud_loss", 0.0)
        - figures["value_lost"], rel=1e-12, abs=1e-9)


def test_total_cost_is_the_sum_of_its_parts_in_every_scope() -> None:
    """The identity bank (IVR, fees, fraud) with telephony, per-group pay and churn: total
    cost = agent + telephony + dial + fees and net value = revenue - cost - fraud loss -
    value lost in each replication, overall and per type, tier and interval; per type and
    per tier the agent cost adds up to the whole."""
    data = _shipped("identity_bank.yaml", costs={
        "agent_per_hour": 32, "telephony": {"ivr": 0.01, "queue": 0.015, "talk": 0.02}},
        churn={"long_wait": "1min"})
    data["run"]["duration"] = "12h"  # calls start at 08:00
    for replication in range(2):
        # passive_stepup: one-time passcodes in the IVR carry a fee
        _, result = _run(data, replication, verification="passive_stepup")
        overall = result.overall
        assert all(overall[p] > 0 for p in ("agent_cost", "telecom_cost", "verification_fees"))
        assert overall["fraud_loss"] > 0 and overall["churned"] > 0
        for figures in (overall, *result.by_type.values(), *result.by_tier.values(),
                        *result.by_interval.values()):
            _check_parts(figures)
        for scope in (result.by_type, result.by_tier):
            assert sum(f["agent_cost"] for f in scope.values()) == pytest.approx(
                overall["agent_cost"], rel=1e-9)
            assert sum(f["telecom_cost"] for f in scope.values()) == pytest.approx(
                overall["telecom_cost"], rel=1e-9)
        assert overall["cost_per_contact"] == pytest.approx(
            overall["total_cost"] / overall["arrivals"], rel=1e-12)


def test_outbound_and_callbacks_pay_per_dial_and_sales_earn_revenue() -> None:
    """The omnichannel bank (call backs) and the outbound scenario: dial cost = call backs
    dialled x callback cost + attempts x dial cost; revenue = right-party contacts x
    conversion x sale value, overall and per campaign."""
    costs = {"agent_per_hour": 30, "callback_dial": 0.05,
             "outbound": {"dial": 0.1, "conversion": 0.04, "sale_value": 250}}
    _, result = _run(_shipped("outbound_best_time.yaml", costs=costs))
    overall = result.overall
    assert overall["outbound_attempts"] > 0
    assert overall["revenue"] == pytest.approx(overall["outbound_reached"] * 0.04 * 250,
                                               rel=1e-12)
    assert sum(c["revenue"] for c in result.by_campaign.values()) == pytest.approx(
        overall["revenue"], rel=1e-12)
    callbacks = overall.get("callbacks_completed", 0.0) + overall.get("callbacks_unreached", 0.0)
    assert overall["dial_cost"] == pytest.approx(
        callbacks * 0.05 + overall["outbound_attempts"] * 0.1, rel=1e-12)
    assert overall["cost_per_contact"] == pytest.approx(
        overall["total_cost"] / (overall["arrivals"] + overall["outbound_attempts"]), rel=1e-12)
    _check_parts(overall)

    _, result = _run(_shipped("omnichannel_bank.yaml", costs=costs))
    overall = result.overall
    dialled = overall["callbacks_completed"] + overall["callbacks_unreached"]
    assert dialled > 0
    assert overall["dial_cost"] == pytest.approx(dialled * 0.05, rel=1e-12)
    _check_parts(overall)


# --------------------------------------------------------------------- telephony
def test_telephony_charges_the_queue_and_talk_minutes_the_kernel_measures() -> None:
    """Without wrap-up or IVR, telephony = (waits of answered and abandoned) x queue rate +
    handling time x talk rate; with wrap-up the talk excludes it; an unbilled channel
    pays nothing."""
    costs = {"agent_per_hour": 30, "telephony": {"queue": 0.6, "talk": 1.2}}
    _, result = _run(_plain(costs, team={"count": 6, "skills": ["calls"]}))
    f = result.overall
    waits = f["mean_wait_s"] * (f["answered"] + f["abandoned"])
    assert f["abandoned"] > 0 and waits > 0
    expected = waits / 60 * 0.6 + f["aht_s"] * f["handled"] / 60 * 1.2
    assert f["telecom_cost"] == pytest.approx(expected, rel=1e-9)

    data = _plain(costs, team={"count": 6, "skills": ["calls"]})
    data["contact_types"]["calls"]["wrap_up"] = {"dist": "constant", "value": "30s"}
    _, wrapped = _run(data)
    g = wrapped.overall
    talk = (g["aht_s"] - 30.0) * g["handled"]
    waits = g["mean_wait_s"] * (g["answered"] + g["abandoned"])
    assert g["telecom_cost"] == pytest.approx(waits / 60 * 0.6 + talk / 60 * 1.2, rel=1e-9)

    data["contact_types"]["calls"]["channel"] = "chat"
    _, chat = _run(data)
    assert chat.overall["telecom_cost"] == 0.0


def test_the_ivr_menu_is_priced_by_its_minutes() -> None:
    """With an IVR menu, the IVR rate charges its prompts: every caller's, those who hang
    up or are self-served there too (a run by arrivals: nobody is left in the menu, whose
    minutes count only up to the end)."""
    costs = {"agent_per_hour": 0, "telephony": {"ivr": 0.6, "queue": 0, "talk": 0}}
    _, result = _run(_shipped("ivr_bank.yaml", costs=costs,
                              run={"arrivals": 3000, "seed": 5, "replications": 1}))
    f = result.overall
    assert f["ivr_hang_ups"] > 0 and f["ivr_self_served"] > 0
    assert f["telecom_cost"] == pytest.approx(f["ivr_minutes"] * 0.6, rel=1e-9)


# ------------------------------------------------------------ opt-in and bad input
def test_a_scenario_without_costs_reports_no_money_and_the_same_figures() -> None:
    """No costs block: no money figure; with one, every other figure is unchanged (the
    stage only counts)."""
    _, plain = _run(_plain())
    _, priced = _run(_plain({"agent_per_hour": 30, "telephony": {"talk": 0.02}}))
    assert not set(COST_METRICS) & set(plain.overall)
    assert set(COST_METRICS) <= set(priced.overall)
    assert {k: v for k, v in priced.overall.items() if k not in COST_METRICS} == plain.overall


@pytest.mark.parametrize("costs, where, allowed", [
    ({"agent_per_hour": {"team": 30, "nobody": 20}}, "costs.agent_per_hour.nobody",
     "allowed: team"),
    ({"agent_per_hour": {}}, "costs.agent_per_hour", "a rate for every agent group"),
    ({"agent_per_hour": -5}, "costs.agent_per_hour", "money per hour >= 0"),
    ({"agent_per_hour": 30, "telephony": {"channels": ["fax"]}},
     "costs.telephony.channels.0", "allowed: voice"),
    ({"agent_per_hour": 30, "telephony": {"talk": -1}}, "costs.telephony.talk", "0"),
    ({"agent_per_hour": 30, "outbound": {"conversion": 1.5}}, "costs.outbound.conversion",
     ""),
    ({"telephony": {"talk": 1}}, "costs.agent_per_hour", ""),
], ids=["unknown-group", "missing-group", "negative-rate", "unknown-channel",
        "negative-telephony", "conversion-above-1", "no-agent-rate"])
def test_bad_costs_name_the_field_and_what_is_allowed(costs: dict[str, Any], where: str,
                                                      allowed: str) -> None:
    with pytest.raises(ScenarioError) as caught:
        scenario_from_dict(_plain(costs))
    message = str(caught.value)
    assert where in message and allowed in message, message


# ------------------------------------------------------------------------ staffing
def _two_pools(costs: bool = True) -> dict[str, Any]:
    data = _plain({"agent_per_hour": {"dear": 60, "cheap": 20}} if costs else None,
                  dear={"count": 8, "skills": ["calls"]},
                  cheap={"count": 8, "skills": ["calls"]})
    data["contact_types"]["calls"]["arrivals"]["rate"] = "240/h"
    data["contact_types"]["calls"]["handle_time"]["mean"] = "3min"
    data["run"].update(duration="8h", replications=6, seed=3)
    return data


def test_staff_with_a_cost_objective_finds_cheaper_staffing_meeting_the_target() -> None:
    """Two pools that do the same work, at $60/h and $20/h: the fewest agents (7 + 8) keep
    dear agents; the cost objective moves them to the cheap pool while SL(20 s) >= 80% still
    holds over its whole CI, and its agent cost is the on-duty hours x rates."""
    from sim.analysis.staffing import MET, Target, optimise_staffing

    scenario = scenario_from_dict(_two_pools())
    target = Target("service_level", ">=", 0.8)
    fewest = optimise_staffing(scenario, [target])
    cheapest = optimise_staffing(scenario, [target], objective="cost")
    assert cheapest.cost is not None and fewest.cost is None
    assert target.judge(cheapest.achieved["all"]["service_level"]) == MET

    def paid(schedule: dict[str, tuple[int, ...]]) -> float:
        return (schedule["dear"][0] * 60 + schedule["cheap"][0] * 20) * 7.5  # hours measured

    assert cheapest.cost["agent_cost"].mean == pytest.approx(paid(cheapest.schedule))
    assert paid(cheapest.schedule) < paid(fewest.schedule)
    assert cheapest.schedule["dear"][0] < fewest.schedule["dear"][0]


def test_staff_cost_objective_needs_a_costs_block() -> None:
    from sim.analysis.staffing import StaffingError, Target, optimise_staffing

    with pytest.raises(StaffingError, match="allowed: add costs"):
        optimise_staffing(scenario_from_dict(_two_pools(costs=False)),
                          [Target("service_level", ">=", 0.8)], objective="cost")


def test_ccsim_staff_objective_cost_prints_the_cost_of_the_answer(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from sim.cli import main

    path = tmp_path / "two_pools.yaml"
    path.write_text(yaml.safe_dump(_two_pools(), sort_keys=False))
    code = main(["staff", str(path), "--target", "service_level>=0.8", "--objective", "cost"])
    out, err = capsys.readouterr()
    assert code == 0, err
    row = next(line for line in out.splitlines() if line.startswith("Agents"))
    assert row.split()[1:3] == ["0", "15"], out
    assert "Cost of the answer per replication: agent 2250" in out, out
