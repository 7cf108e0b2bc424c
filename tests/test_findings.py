"""Findings of the report (``reports.findings``): the effect size that ranks them, clock
labels from ``run.day_start``, and the ranking on the quickstart comparison, where the
point of priority routing (what VIPs gain) must come before the overall figures."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import yaml

from reports.findings import (
    FINDING_SCOPES,
    clock_time,
    findings,
    relative_effect,
    scope_comparisons,
    scope_title,
)
from sim import run, scenario_from_dict

QUICKSTART = Path(__file__).resolve().parents[1] / "scenarios" / "quickstart.yaml"


def test_relative_effect_is_unit_free_and_bounded() -> None:
    assert relative_effect(20.0, -15.0) == pytest.approx(0.75)  # 20 s -> 5 s
    assert relative_effect(5.0, 15.0) == pytest.approx(0.75)  # symmetric: 5 s -> 20 s
    assert relative_effect(0.8, 0.1) == pytest.approx(0.1 / 0.9)
    assert relative_effect(0.0, 3.0) == 1.0  # from nothing: at most 100%, not infinite
    assert relative_effect(0.0, 0.0) == 0.0
    assert math.isnan(relative_effect(math.nan, 1.0))


def test_clock_time_shifts_interval_keys_by_the_day_start() -> None:
    assert clock_time("00:30", 8 * 3600) == "08:30"
    assert clock_time("22:00", 4 * 3600) == "02:00"  # past midnight wraps
    assert clock_time("00:00:30", 60) == "00:01:30"
    assert scope_title("by_interval", "07:30", 8 * 3600) == "Interval 15:30"
    assert scope_title("by_type", "vip") == "Type vip" and scope_title("overall", "") == "Overall"


@pytest.fixture(scope="module")
def quickstart_results():  # type: ignore[no-untyped-def]
    # The whole 8-hour day, as the report test runs it: on a shorter day VIPs rarely
    # wait under fcfs either, and their gain is not significant on 3 replications.
    data = yaml.safe_load(QUICKSTART.read_text())
    return run(scenario_from_dict(data), ["fcfs", "priority"], replications=3, progress=False)


def test_findings_rank_the_vip_gain_first(quickstart_results) -> None:  # type: ignore[no-untyped-def]
    ranked = findings(quickstart_results)
    assert ranked, "priority routing changes something significantly"
    first = ranked[0]
    assert (first.scope, first.key, first.verdict, first.label) == (
        "by_type", "vip", "better", "priority")
    assert first.text(8 * 3600).startswith("Type vip: ")
    effects = [f.effect for f in ranked]
    assert effects == sorted(effects, reverse=True)
    for finding in ranked:  # every finding is significant, with its paired interval
        difference = finding.difference
        assert difference.low > 0 or difference.high < 0
        assert finding.verdict in ("better", "worse")
    assert {f.scope for f in ranked} <= set(FINDING_SCOPES)
    # Deterministic: the same results give the same list.
    assert [f.text() for f in findings(quickstart_results)] == [f.text() for f in ranked]


def test_scope_comparisons_cover_types_and_intervals(quickstart_results) -> None:  # type: ignore[no-untyped-def]
    comparisons = scope_comparisons(quickstart_results, ["asa_s"])
    scopes = [(c.scope, c.key) for c in comparisons]
    assert scopes[0] == ("overall", "")
    assert ("by_type", "vip") in scopes and ("by_type", "general") in scopes
    assert sum(scope == "by_interval" for scope, _ in scopes) == 15  # 00:30-07:30
    assert not any(scope == "by_tier" for scope, _ in scopes)  # no customers: no tiers


def test_interactive_page_is_deterministic(quickstart_results) -> None:  # type: ignore[no-untyped-def]
    from reports.html import report_data
    from reports.interactive import interactive_page

    data = report_data(quickstart_results)
    page = interactive_page(data, "ccsim compare ...")
    assert page == interactive_page(data, "ccsim compare ...")
    assert page.count('class="js-plotly-plot"') == 0  # drawn by plotly.js in the browser
    for div in ("plot-forest", "plot-differences-by-interval", "plot-by-interval",
                "plot-staffing", "plot-wait-cdf"):
        assert f'id="{div}"' in page
