"""The kernel and its stages: what a plain scenario assembles, the clock's order of
events, runs that cannot advance, and the per-contact trace of every contact kind."""

from __future__ import annotations

import csv
from itertools import product
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from sim import Simulation, load_scenario, run, scenario_from_dict
from sim.errors import ScenarioError
from sim.kernel.arrivals import ArrivalClock
from sim.kernel.clock import Clock
from sim.stages.followups import INSTANT_FOLLOW_UPS
from sim.stages.identity import IdentityStage

ROOT = Path(__file__).resolve().parents[1]


def _plain(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": "plain",
        "run": {"duration": "10h", "replications": 1, "seed": 3},
        "contact_types": {"calls": {
            "arrivals": {"rate": "60/h"},
            "handle_time": {"dist": "exponential", "mean": "5min"},
            "patience": {"dist": "exponential", "mean": "3min"},
        }},
        "agents": {"pool": {"count": 5, "skills": ["calls"]}},
        "routing": {"policy": "fcfs"},
    }
    data.update(changes)
    return data


# ------------------------------------------------------------------ assembly
def test_a_plain_scenario_runs_the_kernels_own_steps() -> None:
    sim = Simulation(scenario_from_dict(_plain()), "fcfs")
    assert sim.stages == []
    for step in ("admit", "route", "hold", "enqueue", "start_service", "assign", "answered",
                 "service_time", "completed", "release", "on_free", "pick_contact", "rest"):
        assert getattr(sim, step).__func__ is getattr(Simulation, f"_{step}"
                                                      if step != "hold" else "_enqueue"), step


def test_stages_are_built_only_for_the_features_a_scenario_uses() -> None:
    names = {type(stage).__name__ for stage in Simulation(
        load_scenario(ROOT / "scenarios" / "omnichannel_bank.yaml"), "fcfs").stages}
    assert {"IdentityStage", "Profiles", "Capacity", "Blending", "Callbacks",
            "FollowUps"} <= names
    assert "MobileRings" not in names and "WaitingRoom" not in names
    vip = Simulation(load_scenario(ROOT / "scenarios" / "bank_vip.yaml"), "fcfs")
    assert vip.stage(IdentityStage) is not None and vip.stage(type(None)) is None


# ------------------------------------------------------------------ the clock
def test_equal_times_run_in_scheduling_order_and_urgent_events_first() -> None:
    clock, log = Clock(), []
    clock.schedule(5.0, log.append, "a")
    clock.schedule(5.0, log.append, "b")
    clock.schedule(1.0, lambda _: clock.schedule(4.0, log.append, "c"))
    clock.schedule(5.0, lambda _: clock.schedule_urgent(log.append, "urgent"))
    clock.schedule(5.0, log.append, "d")
    clock.run()
    # Ties run in scheduling order: "c", scheduled at t=1, comes after "d", scheduled at
    # t=0; the urgent event scheduled while time 5 runs comes before "d", due then.
    assert log == ["a", "b", "urgent", "d", "c"]
    assert clock.now == 5.0


def test_run_until_leaves_events_due_then_and_a_process_resumes_after_its_delays() -> None:
    clock, log = Clock(), []

    def steps() -> Any:
        log.append(("start", clock.now))
        yield 2.0
        log.append(("later", clock.now))
        yield 3.0
        log.append(("never", clock.now))

    clock.process(steps())
    clock.run(until=5.0)
    assert log == [("start", 0.0), ("later", 2.0)]  # the step due at 5.0 stays pending


def test_an_index_error_inside_a_callback_is_not_taken_for_the_end_of_the_events() -> None:
    clock = Clock()
    clock.schedule(1.0, lambda _: [][0])
    with pytest.raises(IndexError):
        clock.run(until=10.0)


@pytest.mark.parametrize("days", [((0.0, 0.02, 0.5, 0.0, 0.003, 0.1),),
                                  ((0.0, 0.02, 0.5, 0.0, 0.003, 0.1), (0.0,) * 6,
                                   (0.01, 0.0, 0.2, 0.3, 0.0, 0.0))],
                         ids=["one day", "a cycle of days"])
def test_the_arrival_clock_gives_the_same_times_as_walking_the_rates_afresh(
        days: tuple[tuple[float, ...], ...]) -> None:
    # The clock keeps the interval of the last arrival; a fresh clock per call does not.
    interval = 4 * 3600.0
    busyness = {0: 1.0, 1: 0.7, 2: 1.6}

    def factor(day: int) -> float:
        return busyness.get(day, 1.2)

    kept, rng, t = ArrivalClock(days, interval, factor), np.random.default_rng(5), 0.0
    for exp1 in rng.exponential(size=20_000):
        expected = ArrivalClock(days, interval, factor).next_after(t, exp1)
        t = kept.next_after(t, exp1)
        assert t == expected


@pytest.mark.filterwarnings("ignore::sim.FewReplicationsWarning")
def test_per_type_histograms_and_per_group_intervals_add_up() -> None:
    result = run(load_scenario(ROOT / "scenarios" / "quickstart.yaml"), ["fcfs"],
                 replications=1, progress=False).runs["fcfs"][0]
    by_type = result.wait_histogram_by_type
    assert set(by_type) == {"general", "vip"}
    assert [sum(column) for column in zip(*by_type.values())] == result.wait_histogram
    for name, histogram in by_type.items():
        assert sum(histogram) == result.by_type[name]["answered"]
    # Busy time per group and interval adds up to each interval's busy time.
    for key, figures in result.by_interval.items():
        per_group = {g: cells[key] for g, cells in result.by_group_interval.items()}
        busy = sum(f["occupancy"] * f["agents_logged_in"] for f in per_group.values())
        logged_in = sum(f["agents_logged_in"] for f in per_group.values())
        assert busy / logged_in == pytest.approx(figures["occupancy"], rel=1e-9)


# ------------------------------------------------------------------ endless instants
def test_retrials_at_one_instant_stop_with_the_field_named() -> None:
    data = _plain()
    data["contact_types"]["calls"]["patience"] = {"dist": "constant", "value": "0s"}
    data["contact_types"]["calls"]["handle_time"] = {"dist": "constant", "value": "100h"}
    data["contact_types"]["calls"]["retrial"] = {
        "probability": 1.0, "delay": {"dist": "constant", "value": "0s"}}
    data["agents"]["pool"]["count"] = 1
    with pytest.raises(ScenarioError, match=r"contact_types\.calls\.retrial: more than "
                       f"{INSTANT_FOLLOW_UPS} retrials of one contact"):
        Simulation(scenario_from_dict(data), "fcfs").run()


def test_repeats_at_one_instant_stop_with_the_field_named() -> None:
    data = _plain(outcomes={"resolution_at_lowest": 0.0, "resolution_at_highest": 0.0,
                            "repeat_after": {"dist": "constant", "value": "0s"}})
    data["contact_types"]["calls"]["handle_time"] = {"dist": "constant", "value": "0s"}
    with pytest.raises(ScenarioError, match=r"outcomes\.repeat_after: more than "):
        Simulation(scenario_from_dict(data), "fcfs").run()


def test_retrials_that_take_time_are_not_stopped() -> None:
    data = _plain()
    data["contact_types"]["calls"]["retrial"] = {
        "probability": 1.0, "delay": {"dist": "constant", "value": "1s"}}
    result = Simulation(scenario_from_dict(data), "fcfs").run()
    assert result.overall["arrivals"] > 600


# ------------------------------------------------------------------ the trace
def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as file:
        return list(csv.DictReader(file))


def test_trace_rows_are_the_same_for_two_identical_runs(tmp_path: Path) -> None:
    scenario = load_scenario(ROOT / "scenarios" / "omnichannel_bank.yaml").with_overrides(
        replications=1)
    scenario = scenario.model_copy(update={"run": scenario.run.model_copy(
        update={"duration": 10 * 3600.0})})
    first, second = tmp_path / "a.csv", tmp_path / "b.csv"
    run(scenario, ["fcfs"], trace=first, progress=False)
    run(scenario, ["fcfs"], trace=second, progress=False)
    assert first.read_bytes() == second.read_bytes()
    assert {"in_ivr_at_end", "waiting_at_end"} & {r["outcome"] for r in _rows(first)}


def test_trace_verification_times_belong_to_the_contact_that_spent_them(
        tmp_path: Path) -> None:
    """Repeats skip the IVR and verification; retrials skip the IVR; agent checks count
    only on the contact that reached the agent; handle time is the agent's time."""
    scenario = load_scenario(ROOT / "scenarios" / "bank_vip.yaml").with_overrides(
        replications=1)
    path = tmp_path / "trace.csv"
    run(scenario, ["fcfs"], trace=path, progress=False)
    rows = _rows(path)
    repeats = [r for r in rows if int(r["contact_id"]) > 10**9]
    assert len(repeats) > 100
    for row in repeats:
        assert float(row["verify_ivr_s"]) == 0.0 and float(row["verify_agent_s"]) == 0.0
        assert row["verified"] == ""
    firsts = [r for r in rows if int(r["contact_id"]) <= 10**9 and r["verified"] != ""]
    assert any(float(r["verify_agent_s"]) > 0 for r in firsts if r["outcome"] == "answered")
    assert all(float(r["verify_agent_s"]) == 0 for r in firsts if r["outcome"] != "answered")
    assert all(float(r["handle_s"]) >= 0 for r in rows if r["outcome"] == "answered")


def test_the_command_names_the_file_of_a_run_that_cannot_advance(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import yaml

    from sim.cli import main

    data = _plain()
    data["contact_types"]["calls"]["patience"] = {"dist": "constant", "value": "0s"}
    data["contact_types"]["calls"]["retrial"] = {
        "probability": 1.0, "delay": {"dist": "constant", "value": "0s"}}
    data["agents"]["pool"]["count"] = 1
    data["contact_types"]["calls"]["handle_time"] = {"dist": "constant", "value": "100h"}
    path = tmp_path / "loop.yaml"
    path.write_text(yaml.safe_dump(data))
    assert main(["run", str(path)]) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith(f"{path}: contact_types.calls.retrial: more than")


def test_trace_has_a_true_row_for_outbound_attempts_and_unreached_call_backs(
        tmp_path: Path) -> None:
    scenario = load_scenario(ROOT / "scenarios" / "outbound_best_time.yaml").with_overrides(
        replications=1)
    scenario = scenario.model_copy(update={"run": scenario.run.model_copy(
        update={"duration": 86400.0})})
    path = tmp_path / "trace.csv"
    result = run(scenario, ["fcfs"], outbounds=["fixed_time"], trace=path, progress=False)
    rows = _rows(path)
    attempts = [r for r in rows if r["outcome"].startswith("outbound_")]
    (figures,) = [r.overall for r in result.runs["fcfs"]]
    counted = [r for r in attempts if r["in_warmup"] == "0"]
    assert len(counted) == figures["outbound_attempts"] > 0
    assert sum(r["outcome"] == "outbound_reached" for r in counted) == figures["outbound_reached"]
    assert all(r["agent_id"] and float(r["handle_s"]) > 0 and float(r["wait_s"]) >= 0
               for r in attempts)

    omni = load_scenario(ROOT / "scenarios" / "omnichannel_bank.yaml").with_overrides(
        replications=1)
    path = tmp_path / "omni.csv"
    (result,) = run(omni, ["fcfs"], trace=path, progress=False).runs["fcfs"]
    rows = [r for r in _rows(path) if r["in_warmup"] == "0"]
    unreached = [r for r in rows if r["outcome"] == "callback_unreached"]
    assert len(unreached) == sum(f["callbacks_unreached"] for f in result.by_type.values()) > 0
    assert all(r["agent_id"] and r["wrap_up_s"] == "0.000" for r in unreached)
    assert sum(r["outcome"] == "answered" for r in rows) == result.overall["answered"]


def test_cells_added_at_once_give_the_numbers_of_adding_them_one_by_one() -> None:
    # add_all sums each counter over many cells in one pass; the floats must come out
    # bit for bit as the sequential sums (the golden files depend on their order).
    from sim.kernel.metrics import (
        _CONTACT_COUNTERS, HISTOGRAM_BINS, IDENTITY_COUNTERS, ContactCell, IdentityCell)

    rng = np.random.default_rng(7)
    cells = []
    for index in range(60):
        cell = ContactCell(identity=index % 3 != 0)
        if index % 4 == 0:
            cells.append(cell)  # empty: skipped by both
            continue
        for name in _CONTACT_COUNTERS:
            setattr(cell, name, float(rng.lognormal(3.0, 2.0)) if name.endswith("sum")
                    else int(rng.integers(0, 50)))
        cell.answered = int(rng.integers(0, 3))
        if cell.answered:
            cell.histogram = rng.integers(0, 5, HISTOGRAM_BINS).tolist()
        if cell.identity is not None:
            for name in IDENTITY_COUNTERS:
                setattr(cell.identity, name, float(rng.random() * 1e3))
        cells.append(cell)

    def one_by_one(start: ContactCell, cells: list[ContactCell]) -> ContactCell:
        for other in cells:
            if any(getattr(other, name) for name in _CONTACT_COUNTERS):
                for name in _CONTACT_COUNTERS:
                    setattr(start, name, getattr(start, name) + getattr(other, name))
            if other.answered:
                start.histogram = ([a + b for a, b in zip(start.histogram, other.histogram)]
                                   if start.histogram else list(other.histogram))
            if other.identity is not None:
                start.identity = start.identity or IdentityCell()
                for name in IDENTITY_COUNTERS:
                    setattr(start.identity, name, getattr(start.identity, name)
                            + getattr(other.identity, name))
        return start

    def seeded() -> ContactCell:  # a cell with counts of its own before the others
        cell = ContactCell()
        cell.handle_sum, cell.answered, cell.histogram = 0.1, 1, [1] * HISTOGRAM_BINS
        return cell

    answered = [cell for cell in cells if cell.answered]
    # One, two and many histograms take different paths; so do fresh and seeded cells.
    for start, some in product((ContactCell, seeded),
                               (answered[:1], answered[:2], answered[:3], cells)):
        at_once, expected = start(), one_by_one(start(), some)
        at_once.add_all(some)
        for name in _CONTACT_COUNTERS:
            assert repr(getattr(at_once, name)) == repr(getattr(expected, name)), name
        assert at_once.histogram == expected.histogram
        assert (at_once.identity is None) == (expected.identity is None)
        for name in IDENTITY_COUNTERS if expected.identity is not None else ():
            assert repr(getattr(at_once.identity, name)) == repr(getattr(expected.identity, name))


def test_a_contact_is_made_alike_by_its_class_and_by_new_contact_and_copies_and_pickles(
) -> None:
    import copy
    import pickle

    from sim.state import NEW, Contact, new_contact

    made = [Contact(7, "calls", 1.5, 60.0, 180.0, 10.0, None, True),
            new_contact(Contact, 7, "calls", 1.5, 60.0, 180.0, 10.0, None, True)]
    for contact in made:
        assert type(contact) is Contact
        assert (contact.id, contact.type, contact.arrival, contact.patience, contact.work,
                contact.wrap_up, contact.cell, contact.counted, contact.status,
                contact.answered_at, contact.agent) == (
            7, "calls", 1.5, 60.0, 180.0, 10.0, None, True, NEW, -1.0, None)
    original = made[0]
    original.status, original.repeat = 3, True  # a slot the kernel changed, a stage's attribute
    for twin in (copy.copy(original), pickle.loads(pickle.dumps(original))):
        assert (twin.id, twin.status, twin.repeat, twin.patience) == (7, 3, True, 60.0)
