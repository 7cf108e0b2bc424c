"""Transfers and escalation (issue 16, item 1): ``contact_types.T.transfer``.

* Theory, with ample agents (no waits): a contact of type A, transferred with chance p after
  a share a of its talk S1 to type B (talk S2), takes agent time E[S1] (1 - p) +
  p (a E[S1] + E[S2]) cold, plus 2c for a warm conference c; it has 1 + p legs, and the
  transfers are Binomial(n, p);
* a warm transfer keeps the first agent until the second answers (both busy through the
  conference), a cold one frees it after its wrap-up; the caller's hold between legs is
  the second queue's wait;
* every leg is accounted for (answered, abandoned or in progress at the end), no agent
  holds more than it may, chains end at max_legs;
* common random numbers: a contact's transfers are drawn when it arrives, so two policies
  see the same ones; transfer probability 0 changes no figure of the run;
* bad transfer blocks fail with the file, the field and what is allowed.
"""

from __future__ import annotations

import copy
import math
import statistics
from pathlib import Path
from typing import Any

import pytest
from invariant_checks import CapacityWatch, check_accounting

from sim import ScenarioError, Simulation, scenario_from_dict
from sim.cli import main
from sim.stages.transfers import Transfers

ROOT = Path(__file__).resolve().parents[1]
Z = 3.29
"""Two-sided 99.9% normal quantile: the tolerance of the statistical checks, in standard
errors (seeds are fixed, so each check passes or fails the same way every run)."""

TRANSFER_FIGURES = {"transfers", "transfer_rate", "legs_per_contact", "agent_time_per_contact_s",
                    "chain_fcr", "lost_between_legs", "hold_between_legs_s"}


def _scenario(transfer: dict[str, Any] | None, *, rate: str = "120/h", tier1: int = 60,
              tier2: int = 60, patience: str | None = None,
              run: dict[str, Any] | None = None) -> dict[str, Any]:
    """Type ``first`` (exponential 4 min talk) may transfer to ``second`` (6 min), which
    also has a few arrivals of its own; each has its own group."""
    types: dict[str, Any] = {
        "first": {"arrivals": {"rate": rate},
                  "handle_time": {"dist": "exponential", "mean": "4min"}},
        "second": {"arrivals": {"rate": "6/h"},
                   "handle_time": {"dist": "exponential", "mean": "6min"}},
    }
    if patience is not None:
        for spec in types.values():
            spec["patience"] = {"dist": "exponential", "mean": patience}
    if transfer is not None:
        types["first"]["transfer"] = transfer
    return {
        "name": "transfers", "run": run or {"duration": "8h", "seed": 16, "replications": 1},
        "contact_types": types,
        "agents": {"tier1": {"skills": ["first"], "count": tier1},
                   "tier2": {"skills": ["second"], "count": tier2}},
        "routing": {"policy": "fcfs"},
    }


def _runs(data: dict[str, Any], policy: str = "fcfs", replications: int = 1) -> list[Any]:
    scenario = scenario_from_dict(data)
    return [Simulation(scenario, policy, r).run() for r in range(replications)]


def _within(values: list[float], expected: float) -> None:
    """The mean of per-replication ``values`` is ``expected`` within Z standard errors."""
    mean = statistics.fmean(values)
    error = statistics.stdev(values) / math.sqrt(len(values))
    assert abs(mean - expected) <= Z * error, (mean, expected, error)


# ------------------------------------------------------------------- theory
@pytest.mark.parametrize("mode", ["cold", "warm"])
def test_agent_time_legs_and_transfers_match_theory_with_ample_agents(mode: str) -> None:
    """p = 0.25, a = 0.5, E[S1] = 240 s, E[S2] = 360 s, warm conference 20 s: agent time
    per contact of type first = 0.75 x 240 + 0.25 x (120 + 360) (+ 0.25 x 40 warm); the
    second tier's transfers are Binomial(first contacts, p). Runs by arrivals end empty, so
    every chain is counted."""
    p, share, conference = 0.25, 0.5, 20.0
    transfer: dict[str, Any] = {"probability": p, "to": "second", "after": share, "mode": mode}
    if mode == "warm":
        transfer["conference"] = {"dist": "constant", "value": f"{conference:g}s"}
    runs = _runs(_scenario(transfer, run={"arrivals": 2000, "seed": 16, "replications": 1}),
                 replications=12)
    expected = (1 - p) * 240 + p * (share * 240 + 360) + (p * 2 * conference if mode == "warm"
                                                           else 0.0)
    _within([r.by_type["first"]["agent_time_per_contact_s"] for r in runs], expected)
    _within([r.by_type["first"]["legs_per_contact"] for r in runs], 1 + p)
    for result in runs:
        first = result.by_type["first"]
        chains = first["arrivals"]  # every first contact is answered and ends
        assert result.by_type["second"]["transfers"] == pytest.approx(first["transfer_rate"] * chains)
        assert abs(first["transfer_rate"] - p) <= Z * math.sqrt(p * (1 - p) / chains)
        assert first["hold_between_legs_s"] == 0.0  # ample agents: answered at once
        assert first["chain_fcr"] == 1.0 and first["lost_between_legs"] == 0.0
        # Legs by transfer arrive as contacts of their type: the second type's arrivals
        # are its own plus the transfers, all handled.
        second = result.by_type["second"]
        assert second["handled"] == second["arrivals"]
        assert result.overall["transfers"] == second["transfers"]


def test_second_tier_offered_load_is_lambda_p_es2() -> None:
    """Offered load of the second tier from transfers: lambda p E[S2] = 120/h x 0.3 x 6 min
    = 3.6 Erlangs; with ample agents its busy time per hour is that plus its own 6/h x 6 min
    = 0.6 Erlangs, within the sampling error of 10 replications."""
    data = _scenario({"probability": 0.3, "to": "second", "after": 0.5},
                     run={"duration": "8h", "warmup": "1h", "seed": 16, "replications": 1})
    runs = _runs(data, replications=10)
    busy = [r.by_group["tier2"]["utilisation"] * r.by_group["tier2"]["agents_logged_in"]
            for r in runs]
    _within(busy, 120 * 0.3 * 6 / 60 + 6 * 6 / 60)


# -------------------------------------------------------------- warm and cold
def _one_call(mode: str, tmp_path: Path) -> Any:
    """One call of type first at 100 s (talk 100 s, wrap-up 10 s), transferred after half
    its talk to second (talk 200 s), whose only agent comes on duty at 1 h; a second-type
    call at 5,000 s keeps the trace of that type non-empty."""
    trace = tmp_path / "arrivals.csv"
    trace.write_text("arrival_s,type\n100,first\n5000,second\n")
    transfer: dict[str, Any] = {"probability": 1.0, "to": "second", "after": 0.5, "mode": mode}
    if mode == "warm":
        transfer["conference"] = {"dist": "constant", "value": "30s"}
    types = {
        "first": {"arrivals": {"trace": str(trace), "type": "first"},
                  "handle_time": {"dist": "constant", "value": "100s"},
                  "wrap_up": {"dist": "constant", "value": "10s"}, "transfer": transfer},
        "second": {"arrivals": {"trace": str(trace), "type": "second"},
                   "handle_time": {"dist": "constant", "value": "200s"}},
    }
    data = {"name": "one-call", "run": {"duration": "2h", "seed": 1, "replications": 1,
                                        "interval": "1h"},
            "contact_types": types,
            "agents": {"tier1": {"skills": ["first"], "count": 1},
                       "tier2": {"skills": ["second"],
                                 "shifts": [{"start": "1h", "end": "2h", "count": 1}]}},
            "routing": {"policy": "fcfs"}}
    return _runs(data)[0]


def test_warm_keeps_the_first_agent_until_the_second_answers(tmp_path: Path) -> None:
    """Transfer at 150 s; the second agent answers at 3,600 s; both stay for the 30 s
    conference, then the first wraps up (10 s): the first agent's work is 3,640 - 100 s,
    the second's 30 + 200 s; the caller held 3,450 s."""
    result = _one_call("warm", tmp_path)
    assert result.by_group["tier1"]["aht_s"] == pytest.approx(3640 - 100, abs=1e-9)
    assert result.by_group["tier2"]["handled"] == 2
    assert result.by_type["second"]["aht_s"] == pytest.approx((230 + 200) / 2, abs=1e-9)
    assert result.by_type["first"]["hold_between_legs_s"] == pytest.approx(3450, abs=1e-9)
    assert result.by_type["first"]["agent_time_per_contact_s"] == pytest.approx(3540 + 230)


def test_cold_frees_the_first_agent_after_its_wrap_up(tmp_path: Path) -> None:
    """Transfer at 150 s: the first agent wraps up (10 s) and is free at 160 s, however
    long the caller waits for the second tier (3,450 s)."""
    result = _one_call("cold", tmp_path)
    assert result.by_group["tier1"]["aht_s"] == pytest.approx(60, abs=1e-9)
    assert result.by_type["second"]["aht_s"] == pytest.approx(200, abs=1e-9)
    assert result.by_type["first"]["hold_between_legs_s"] == pytest.approx(3450, abs=1e-9)
    assert result.by_type["first"]["agent_time_per_contact_s"] == pytest.approx(260)


# ------------------------------------------------------- conservation and limits
@pytest.mark.parametrize("mode", ["cold", "warm"])
def test_every_leg_is_accounted_for_and_no_agent_holds_too_much(mode: str) -> None:
    """A loaded center with impatient callers, transfers both ways (a loop ended by
    max_legs): every leg ends answered, abandoned or in progress at the end (per type and
    overall), every start fits its agent, and the first contacts are those of the same
    scenario without transfers (arrivals - transfers)."""
    data = _scenario({"probability": 0.4, "to": "second", "after": [0.2, 0.9], "mode": mode},
                     tier1=9, tier2=4, patience="3min")
    data["contact_types"]["second"]["transfer"] = {"probability": 0.3, "to": "first",
                                                   "after": 0.5, "max_legs": 3, "mode": mode}
    plain = copy.deepcopy(data)
    for spec in plain["contact_types"].values():
        del spec["transfer"]
    scenario = scenario_from_dict(data)
    for replication in range(3):
        sim = Simulation(scenario, "fcfs", replication)
        watch = CapacityWatch(sim)
        result = sim.run()
        assert watch.starts > 0
        check_accounting(result, scenario)
        without = Simulation(scenario_from_dict(plain), "fcfs", replication).run()
        for name in ("first", "second"):
            figures = result.by_type[name]
            assert figures["arrivals"] - figures["transfers"] == without.by_type[name]["arrivals"]
        assert result.overall["transfers"] > 0 and result.overall["lost_between_legs"] > 0


@pytest.mark.parametrize("limit", [2, 3, 5])
def test_chains_end_at_max_legs(limit: int) -> None:
    """Every leg transfers (probability 1, first -> second -> first ...): with ample agents
    and no impatience every contact has exactly max_legs legs."""
    data = _scenario({"probability": 1.0, "to": "second", "after": 0.5, "max_legs": limit},
                     run={"arrivals": 300, "seed": 3, "replications": 1})
    data["contact_types"]["second"]["transfer"] = {"probability": 1.0, "to": "first",
                                                   "after": 0.5, "max_legs": limit}
    result = _runs(data)[0]
    assert result.overall["legs_per_contact"] == limit
    assert result.overall["transfer_rate"] == 1.0


# ------------------------------------------------------- common random numbers
def _fates(data: dict[str, Any], policy: str) -> tuple[dict[int, tuple[Any, ...]], Any]:
    """Each first contact's drawn transfers (target, share, next leg's work), and the run."""
    sim = Simulation(scenario_from_dict(data), policy, 0)
    fates: dict[int, tuple[Any, ...]] = {}
    admit = sim.admit

    def record(contact: Any, now: float) -> None:
        admit(contact, now)
        legs = [contact.transfer, *contact.chain.legs] if contact.transfer else []
        fates[contact.id] = tuple((leg.target, leg.share, leg.work) for leg in legs)

    sim.admit = record  # type: ignore[method-assign]
    return fates, sim.run()


def test_two_policies_see_the_same_transfers() -> None:
    """transfers_bank under fcfs and priority: the same contacts arrive with the same drawn
    transfers (target, share, next leg's work), though the runs differ."""
    import yaml

    data = yaml.safe_load((ROOT / "scenarios" / "transfers_bank.yaml").read_text())
    data["run"]["replications"] = 1
    fcfs, fcfs_run = _fates(data, "fcfs")
    priority, priority_run = _fates(data, "priority")
    assert fcfs == priority
    assert sum(1 for legs in fcfs.values() if legs) > 100
    assert fcfs_run.overall["asa_s"] != priority_run.overall["asa_s"]


def test_probability_zero_changes_no_figure_and_a_plain_scenario_has_no_stage() -> None:
    """The transfer streams are new streams: with probability 0 every figure of the run is
    the one without the block, and only the transfer figures are added."""
    plain = _scenario(None, tier1=9, tier2=4, patience="3min")
    zero = _scenario({"probability": 0.0, "to": "second", "after": 0.5}, tier1=9, tier2=4,
                     patience="3min")
    sim = Simulation(scenario_from_dict(plain), "fcfs", 0)
    assert sim.stage(Transfers) is None
    without, with_zero = sim.run(), _runs(zero)[0]
    assert set(with_zero.overall) - set(without.overall) == TRANSFER_FIGURES
    assert {m: with_zero.overall[m] for m in without.overall} == pytest.approx(
        without.overall, nan_ok=True, rel=0, abs=0)
    assert with_zero.overall["transfers"] == 0 and with_zero.overall["transfer_rate"] == 0


# ------------------------------------------------------------------- validation
@pytest.mark.parametrize(("transfer", "field", "allowed"), [
    ({"probability": 0.2, "to": "nowhere", "after": 0.5},
     "contact_types.first.transfer.to.nowhere", "allowed: first, second"),
    ({"probability": 1.5, "to": "second", "after": 0.5},
     "contact_types.first.transfer.probability", "1"),
    ({"probability": 0.2, "to": "second", "after": [0.8, 0.2]},
     "contact_types.first.transfer.after.1", "lowest <= highest"),
    ({"probability": 0.2, "to": "second", "after": [0.1, 0.2, 0.3]},
     "contact_types.first.transfer.after", "[lowest, highest]"),
    ({"probability": 0.2, "to": "second", "after": 0.5,
      "conference": {"dist": "constant", "value": "30s"}},
     "contact_types.first.transfer.conference", "mode: warm"),
    ({"probability": 0.2, "to": {"second": 0.5, "first": 0.3}, "after": 0.5, "max_legs": 3},
     "contact_types.first.transfer.to", "sum to 1"),
    ({"probability": 0.2, "to": "second", "after": 0.5, "max_legs": 1},
     "contact_types.first.transfer.max_legs", "2"),
    ({"probability": 0.2, "to": "first", "after": 0.5},
     "contact_types.first.transfer.max_legs", "first -> first"),
    ({"probability": 0.2, "to": "second", "after": 0.5, "mode": "hot"},
     "contact_types.first.transfer.mode", "cold"),
], ids=["unknown-target", "probability", "after-order", "after-triple", "conference-cold",
        "shares", "max-legs", "loop", "mode"])
def test_bad_transfer_blocks_name_the_field(transfer: dict[str, Any], field: str,
                                            allowed: str) -> None:
    with pytest.raises(ScenarioError) as caught:
        scenario_from_dict(_scenario(transfer))
    message = str(caught.value)
    assert f"{field}:" in message and allowed in message, message


def test_a_loop_through_two_types_needs_max_legs_and_validate_says_where(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """ccsim validate: first -> second -> first without max_legs is one message with the
    file, the line and what is allowed; with max_legs on one type of the loop it is ok."""
    import yaml

    data = _scenario({"probability": 0.2, "to": "second", "after": 0.5})
    data["contact_types"]["second"]["transfer"] = {"probability": 0.1, "to": "first",
                                                   "after": 0.5}
    path = tmp_path / "loop.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    line = next(n for n, text in enumerate(path.read_text().splitlines(), 1)
                if "transfer:" in text)
    assert err.startswith(f"{path}:{line}: contact_types.first.transfer.max_legs: "), err
    assert "first -> second -> first" in err and "allowed: max_legs" in err, err
    data["contact_types"]["second"]["transfer"]["max_legs"] = 3
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    assert main(["validate", str(path)]) == 0


def test_a_warm_transfer_to_a_type_with_call_backs_is_refused() -> None:
    """The caller stays on the line with the first agent: no call back can be taken."""
    data = _scenario({"probability": 0.2, "to": "second", "after": 0.5, "mode": "warm"})
    data["contact_types"]["second"]["callback"] = {"threshold": "60s", "accept": 0.5}
    with pytest.raises(ScenarioError) as caught:
        scenario_from_dict(data)
    message = str(caught.value)
    assert "contact_types.first.transfer.mode:" in message, message
    assert "allowed: mode: cold, or no callback on second" in message, message
    data["contact_types"]["first"]["transfer"]["mode"] = "cold"
    assert scenario_from_dict(data).contact_types["first"].transfer is not None


# --------------------------------------------------------------------- per caller intent
def _bank_with_a_second_tier(transfer: dict[str, Any]) -> dict[str, Any]:
    """identity_bank's weekday with a specialist type the calls may go to."""
    import yaml

    data = yaml.safe_load((ROOT / "scenarios" / "identity_bank.yaml").read_text())
    data["run"] = {**data["run"], "duration": "12h", "replications": 1}
    data["contact_types"]["specialist"] = {
        "arrivals": {"rate": "2/h"}, "handle_time": {"dist": "exponential", "mean": "8min"}}
    data["contact_types"]["calls"]["transfer"] = transfer
    data["agents"]["specialists"] = {"skills": ["specialist"], "count": 30}
    return data


def _first_legs(data: dict[str, Any], policy: str = "fcfs") -> tuple[dict[int, str], Any]:
    """The intent of every first leg that was answered and verified, and the results."""
    simulation = Simulation(scenario_from_dict(data), policy)
    answered, seen = simulation.answered, {}

    def record(contact: Any, now: float) -> None:
        answered(contact, now)
        caller = contact.identity
        if contact.type == "calls" and caller is not None and caller.verified is not False:
            seen[contact.id] = caller.intent
    simulation.answered = record
    return seen, simulation.run()


def test_a_transfer_chance_per_intent_decides_by_the_callers_intent() -> None:
    """Wire transfers always go to the specialists, nothing else does: the transfers are
    exactly the answered, verified wire-transfer calls whose service ended by the end."""
    data = _bank_with_a_second_tier({"probability": 0.0, "intents": {"wire_transfer": 1.0},
                                     "to": "specialist", "after": 0.5})
    seen, result = _first_legs(data)
    wires = sum(intent == "wire_transfer" for intent in seen.values())
    figures = result.by_type["specialist"]
    transfers = figures["transfers"]
    assert wires > 100 and 0.95 * wires <= transfers <= wires  # a few still talking at 12 h
    # The same draws with a 30% chance for everyone else: the wire transfers stay, and
    # about 30% of the others join them; fcfs and priority see the same transfers.
    data["contact_types"]["calls"]["transfer"]["probability"] = 0.3
    seen, more = _first_legs(data)
    others = len(seen) - wires
    extra = more.by_type["specialist"]["transfers"] - transfers
    assert abs(extra - 0.3 * others) < Z * math.sqrt(0.3 * 0.7 * others) + 0.05 * wires
    assert _first_legs(data, "priority")[1].by_type["specialist"]["transfers"] == pytest.approx(
        more.by_type["specialist"]["transfers"], abs=0.02 * extra)


@pytest.mark.parametrize(("intents", "words"), [
    ({"mortage": 0.5}, "unknown intent 'mortage'"),
])
def test_transfer_intents_must_be_the_identity_blocks(intents: dict[str, float],
                                                      words: str) -> None:
    with pytest.raises(ScenarioError, match=words):
        scenario_from_dict(_bank_with_a_second_tier(
            {"probability": 0.1, "intents": intents, "to": "specialist", "after": 0.5}))
    with pytest.raises(ScenarioError, match="identity block"):
        scenario_from_dict(_scenario({"probability": 0.1, "intents": {"x": 0.5},
                                      "to": "second", "after": 0.5}))
