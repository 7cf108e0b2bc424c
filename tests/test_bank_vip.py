"""Scenario-level checks of the policy library on scenarios/bank_vip.yaml (S1).

Policies run on common random numbers, so each check is a paired comparison: the
95% t interval of the per-replication differences must lie wholly on one side of 0.
Measured with the scenario's 5 replications (seed 1010): VIP mean wait vip - fcfs
-3.8 s [-6.4, -1.2]; match hit rate contextual - fcfs +0.157 [+0.145, +0.169]; FCR
skills - fcfs +0.030 [+0.022, +0.038], contextual - fcfs +0.036 [+0.030, +0.043].
"""

from __future__ import annotations

from pathlib import Path

import pytest

from sim import estimate, load_scenario, run

SCENARIO = Path(__file__).resolve().parents[1] / "scenarios" / "bank_vip.yaml"


@pytest.fixture(scope="module")
def results():  # type: ignore[no-untyped-def]
    return run(load_scenario(SCENARIO), ["fcfs", "vip", "contextual", "skills"], progress=False)


def _paired(results, scope: str, key: str | None, metric: str, policy: str):  # type: ignore[no-untyped-def]
    """Estimate of (policy - fcfs) over replications for ``metric`` (in ``scope[key]``)."""
    def value(rep):  # type: ignore[no-untyped-def]
        return rep.overall[metric] if key is None else getattr(rep, scope)[key][metric]

    return estimate(value(a) - value(b)
                    for a, b in zip(results.runs[policy], results.runs["fcfs"]))


def test_vip_gives_vips_a_lower_mean_wait_than_fcfs(results) -> None:  # type: ignore[no-untyped-def]
    difference = _paired(results, "by_tier", "vip", "mean_wait_s", "vip")
    assert difference.high < 0, difference


def test_contextual_hits_the_match_criterion_more_often_than_fcfs(results) -> None:  # type: ignore[no-untyped-def]
    difference = _paired(results, "overall", None, "match_hit_rate", "contextual")
    assert difference.low > 0, difference


def test_matching_on_skill_raises_first_contact_resolution(results) -> None:  # type: ignore[no-untyped-def]
    for policy in ("skills", "contextual"):
        difference = _paired(results, "overall", None, "fcr", policy)
        assert difference.low > 0, (policy, difference)
