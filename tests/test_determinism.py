"""Reproducibility and common random numbers.

Same scenario and seed give the same results bit for bit, whether the
replications run in one process or several; policies compared on one seed
face the same contacts; and one purpose's random stream does not depend on
which other purposes exist.
"""

from __future__ import annotations

import copy
import csv
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from sim import Simulation, run, scenario_from_dict
from sim.kernel.streams import (
    BLOCK, RandomStreams, Stream, generator, stream_id, uniform_pairs, unit_exponential)
from sim.kernel.trace import TraceWriter

ROOT = Path(__file__).resolve().parents[1]
QUICKSTART = ROOT / "scenarios" / "quickstart.yaml"


def _data() -> dict[str, Any]:
    data = yaml.safe_load(QUICKSTART.read_text())
    data["run"]["duration"] = "3h"  # shorter than shipped: these tests compare, not estimate
    return data


def _json(results: Any) -> str:
    return json.dumps(results.to_json(), sort_keys=True)


def _trace(data: dict[str, Any], policy: str, path: Path, replication: int = 0
           ) -> dict[int, dict[str, str]]:
    with TraceWriter(path) as trace:
        Simulation(scenario_from_dict(data), policy, replication, trace=trace).run()
    with path.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    by_id = {int(r["contact_id"]): r for r in rows}
    assert len(by_id) == len(rows)
    return by_id


# ---------------------------------------------------------------------- same seed, same run
def test_same_seed_gives_identical_json() -> None:
    scenario = scenario_from_dict(_data())
    first = run(scenario, ["fcfs", "priority"], replications=3, progress=False)
    second = run(scenario, ["fcfs", "priority"], replications=3, progress=False)
    assert _json(first) == _json(second)
    # Per-replication rows too (NaN spelled the same way in both).
    assert json.dumps(first.records()) == json.dumps(second.records())


def test_parallel_replications_match_sequential() -> None:
    scenario = scenario_from_dict(_data())
    sequential = run(scenario, ["fcfs", "priority"], replications=3, jobs=1, progress=False)
    parallel = run(scenario, ["fcfs", "priority"], replications=3, jobs=2, progress=False)
    assert _json(sequential) == _json(parallel)
    # Replications come back in order under each policy.
    for policy, reps in parallel.runs.items():
        assert [r.replication for r in reps] == [0, 1, 2]
        assert all(r.policy == policy for r in reps)


def test_different_seed_gives_different_results() -> None:
    scenario = scenario_from_dict(_data())
    one = run(scenario, replications=2, seed=1, progress=False)
    two = run(scenario, replications=2, seed=2, progress=False)
    assert one.seed == 1 and two.seed == 2
    assert _json(one) != _json(two)
    assert one.summary()["fcfs"]["offered"].mean != two.summary()["fcfs"]["offered"].mean


def test_replications_differ_from_each_other() -> None:
    scenario = scenario_from_dict(_data())
    reps = run(scenario, replications=3, progress=False).runs["fcfs"]
    offered = [r.overall["offered"] for r in reps]
    waits = [r.overall["mean_wait_s"] for r in reps]
    assert len(set(zip(offered, waits))) == 3


def test_seed_override_equals_seed_in_scenario() -> None:
    data = _data()
    data["run"]["seed"] = 7
    in_file = run(scenario_from_dict(data), replications=2, progress=False)
    overridden = run(scenario_from_dict(_data()), replications=2, seed=7, progress=False)
    assert _json(in_file) == _json(overridden)


# ------------------------------------------------------------------ common random numbers
def test_policies_see_the_same_contacts(tmp_path: Path) -> None:
    """fcfs and priority on one seed: same arrivals, types, work, wrap-up and patience."""
    data = _data()
    fcfs = _trace(data, "fcfs", tmp_path / "fcfs.csv")
    priority = _trace(data, "priority", tmp_path / "priority.csv")
    assert fcfs.keys() == priority.keys()
    # Ids are consecutive from 1: every arrival has a row (no warm-up contact left waiting).
    assert sorted(fcfs) == list(range(1, len(fcfs) + 1))
    both_answered = both_abandoned = 0
    outcomes_differ = False
    for contact_id, a in fcfs.items():
        b = priority[contact_id]
        assert (a["type"], a["arrival_s"], a["in_warmup"]) == (b["type"], b["arrival_s"],
                                                               b["in_warmup"]), contact_id
        if a["outcome"] == b["outcome"] == "answered":
            both_answered += 1
            # Every group has speed 1, so the handle time is the contact's work.
            assert a["handle_s"] == b["handle_s"], contact_id
            assert a["wrap_up_s"] == b["wrap_up_s"], contact_id
        elif a["outcome"] == b["outcome"] == "abandoned":
            both_abandoned += 1
            # An abandoned contact waited exactly its patience.
            assert a["wait_s"] == b["wait_s"], contact_id
        outcomes_differ |= a["outcome"] != b["outcome"] or a["event_s"] != b["event_s"]
    assert both_answered > 1000 and both_abandoned > 10
    assert outcomes_differ, "the two policies should route differently on quickstart"


def test_adding_wrap_up_leaves_arrivals_work_and_patience_unchanged(tmp_path: Path) -> None:
    base = _data()
    del base["contact_types"]["vip"]["wrap_up"]
    changed = copy.deepcopy(base)
    changed["contact_types"]["vip"]["wrap_up"] = {"dist": "exponential", "mean": "2min"}
    before = _trace(base, "fcfs", tmp_path / "before.csv")
    after = _trace(changed, "fcfs", tmp_path / "after.csv")
    assert before.keys() == after.keys()
    vip_wrap = []
    same_answered = 0
    for contact_id, a in before.items():
        b = after[contact_id]
        assert (a["type"], a["arrival_s"]) == (b["type"], b["arrival_s"]), contact_id
        if a["outcome"] == b["outcome"] == "answered":
            same_answered += 1
            assert a["handle_s"] == b["handle_s"], contact_id
            if a["type"] == "general":
                assert a["wrap_up_s"] == b["wrap_up_s"] == "30.000", contact_id
            else:
                assert a["wrap_up_s"] == "0.000"
                vip_wrap.append(float(b["wrap_up_s"]))
        if a["outcome"] == b["outcome"] == "abandoned":
            assert a["wait_s"] == b["wait_s"], contact_id
    assert same_answered > 1000
    assert len(set(vip_wrap)) > 10  # the new wrap-up really is random


def test_adding_patience_leaves_arrivals_and_work_unchanged(tmp_path: Path) -> None:
    base = _data()
    del base["contact_types"]["vip"]["patience"]
    with_patience = _data()
    before = _trace(base, "fcfs", tmp_path / "before.csv")
    after = _trace(with_patience, "fcfs", tmp_path / "after.csv")
    assert before.keys() == after.keys()
    assert all((before[i]["type"], before[i]["arrival_s"]) == (after[i]["type"],
                                                               after[i]["arrival_s"])
               for i in before)
    assert not any(r["type"] == "vip" and r["outcome"] == "abandoned" for r in before.values())


def test_adding_a_contact_type_leaves_existing_arrivals_unchanged(tmp_path: Path) -> None:
    base = _data()
    extra = copy.deepcopy(base)
    extra["contact_types"]["chat"] = {"arrivals": {"rate": "30/h"},
                                      "handle_time": {"dist": "exponential", "mean": "200s"}}
    extra["agents"]["generalists"]["skills"].append("chat")
    before = _trace(base, "fcfs", tmp_path / "before.csv")
    after = _trace(extra, "fcfs", tmp_path / "after.csv")
    arrivals_before = sorted((r["type"], r["arrival_s"]) for r in before.values())
    arrivals_after = sorted((r["type"], r["arrival_s"]) for r in after.values()
                            if r["type"] != "chat")
    assert arrivals_before == arrivals_after
    assert any(r["type"] == "chat" for r in after.values())


# --------------------------------------------------------------------------- sim.streams
def _draw_normal(rng: np.random.Generator, size: int) -> np.ndarray:
    return rng.normal(size=size)


def test_stream_values_do_not_depend_on_other_purposes() -> None:
    alone = RandomStreams(11, 2).stream("service/a", _draw_normal)
    alone_values = [alone.next_value() for _ in range(10)]

    crowded = RandomStreams(11, 2)
    others = [crowded.stream(p, unit_exponential) for p in ("arrivals/a", "patience/a", "x")]
    for other in others:
        other.next_block()
    target = crowded.stream("service/a", _draw_normal)
    for other in others:
        other.next_value()
    assert [target.next_value() for _ in range(10)] == alone_values


def test_stream_depends_on_seed_replication_and_purpose() -> None:
    def first(seed: int, replication: int, purpose: str) -> list[float]:
        return RandomStreams(seed, replication).stream(purpose, unit_exponential).next_block()[:5]

    reference = first(1, 0, "arrivals/a")
    assert first(1, 0, "arrivals/a") == reference
    assert first(2, 0, "arrivals/a") != reference
    assert first(1, 1, "arrivals/a") != reference
    assert first(1, 0, "arrivals/b") != reference


def test_generator_is_a_pure_function_of_seed_replication_purpose() -> None:
    a = generator(5, 3, "patience/vip").standard_normal(8)
    b = RandomStreams(5, 3).generator("patience/vip").standard_normal(8)
    assert np.array_equal(a, b)
    assert stream_id("patience/vip") == stream_id("patience/vip")
    assert stream_id("patience/vip") != stream_id("patience/general")
    assert 0 <= stream_id("x") < 2**32


def test_stream_values_continue_in_drawn_order_across_next_value_and_next_block() -> None:
    reference = generator(3, 0, "p").standard_exponential(2 * BLOCK).tolist()
    stream = Stream(generator(3, 0, "p"), unit_exponential)
    head = [stream.next_value() for _ in range(3)]
    rest_of_block = stream.next_block()
    next_block = stream.next_block()
    assert head + rest_of_block == reference[:BLOCK]
    assert next_block == reference[BLOCK:2 * BLOCK]
    assert stream.next_value() == pytest.approx(
        generator(3, 0, "p").standard_exponential(2 * BLOCK + 1)[-1])


def test_rows_continue_in_drawn_order_across_next_value_and_next_block() -> None:
    # A sampler that draws rows: next_value takes one row at a time, next_block the rest
    # of the block; the rows are those of the blocks drawn, in order, as tuples.
    reference = generator(3, 0, "r")
    blocks = [tuple(map(tuple, reference.random((BLOCK, 2)).tolist())) for _ in range(3)]
    stream = Stream(generator(3, 0, "r"), uniform_pairs)
    head = [stream.next_value() for _ in range(3)]
    assert tuple(head) + tuple(stream.next_block()) == blocks[0]
    assert tuple(stream.next_block()) == blocks[1]
    whole = [stream.next_value() for _ in range(BLOCK)]  # a block taken row by row
    assert tuple(whole) == blocks[2]
    assert all(type(row) is tuple for row in head + whole)
    # A block taken to its end by next_value: next_block starts the next one.
    assert list(stream.next_block())[0] == tuple(
        generator(3, 0, "r").random((4 * BLOCK, 2))[3 * BLOCK].tolist())
