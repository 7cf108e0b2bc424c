"""Handle time per hour of day in the reality check (issue 17, item 2): the per-hour fits,
their fallback to the band, the test of one mean per band against one per hour, the split into
hour types (``--by-band patience,handle-hour``) and its option, on synthetic calls and on the
three-day excerpt of the bank's October log."""

from __future__ import annotations

import math
import statistics
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from sim.analysis.calibrate import MIN_FIT, Calibration, calibrate
from sim.analysis.calllog import DAY, SERVED, Call, CallLog, read_log
from sim.analysis.reality import reality_check
from sim.analysis.reality_inputs import base_type
from sim.analysis.reality_model import (
    BandFits,
    band_index,
    banded_type_of,
    fit_bands,
    hour_type,
    patience_dict,
    split_by_band,
)
from sim.cli import main

EXCERPT = Path(__file__).parent / "data" / "anonymous_bank_excerpt.txt"
HOURLY = ["patience", "handle-hour"]


def _served(talks: dict[int, list[float]]) -> list[Call]:
    """PS calls answered at once, ``talks[hour]`` their talk times, spread over 20 days."""
    calls = []
    for hour, values in talks.items():
        for index, talk in enumerate(values):
            arrival = (index % 20) * DAY + hour * 3600.0 + index % 3600
            calls.append(Call(arrival, "PS", 1, SERVED, 0.0, float(talk), "A", None, 0))
    return calls


def _fits(talks: dict[int, list[float]]) -> tuple[Calibration, BandFits]:
    calls = _served(talks)
    fitted = calibrate(CallLog(calls, read_log(EXCERPT).report, None), "all")
    return fitted, fit_bands(fitted, calls)


def _lognormal(rng: np.random.Generator, mean: float, cv: float, size: int) -> list[float]:
    sigma = math.sqrt(math.log1p(cv**2))
    return list(rng.lognormal(math.log(mean) - sigma**2 / 2, sigma, size))


def test_hour_fit_recovers_each_hours_mean_and_falls_back_to_the_band() -> None:
    """07:00 and 08:00 have 2,000 lognormal talks each (means 150 s and 190 s, cv 0.8): each
    hour's fit is the lognormal by moments of its own talks (mean and cv exactly theirs) and
    the true mean lies in the sample mean's 99% interval. 09:00 has MIN_FIT - 1 talks: no fit of
    its own, it gets the 07-10 band's (the mean of all its talks); 03:00 has too few for its
    band too and keeps the type's whole-day fit."""
    rng = np.random.default_rng(7)
    talks = {7: _lognormal(rng, 150.0, 0.8, 2000), 8: _lognormal(rng, 190.0, 0.8, 2000),
             9: _lognormal(rng, 300.0, 0.8, MIN_FIT - 1), 3: _lognormal(rng, 100.0, 0.8, 5)}
    _, fits = _fits(talks)
    for hour, true_mean in ((7, 150.0), (8, 190.0)):
        fit = fits.hour_handle["PS", hour]
        assert fit.n == 2000
        assert fit.mean == pytest.approx(statistics.fmean(talks[hour]), rel=1e-12)
        assert fit.cv == pytest.approx(statistics.pstdev(talks[hour]) / fit.mean, rel=1e-9)
        half = stats.norm.ppf(0.995) * 0.8 * true_mean / math.sqrt(2000)
        assert abs(fit.mean - true_mean) < half, (hour, fit.mean)
        assert fits.handle_in_hour("PS", hour) is fit
    assert ("PS", 9) not in fits.hour_handle
    band = fits.handle_in_hour("PS", 9)
    assert band is fits.handle["PS", band_index(9)]
    assert band.mean == pytest.approx(statistics.fmean(talks[7] + talks[8] + talks[9]), rel=1e-12)
    assert fits.handle_in_hour("PS", 3) is None


def test_hour_test_is_the_one_way_anova_inside_a_band_and_nested_across_bands() -> None:
    """Inside one band the test of one mean per band against one per hour is the one-way ANOVA
    of the hours' log talks (scipy's f_oneway, exactly). Across bands it is nested: hours that
    differ only by band (07-10 at 150 s, 10-13 at 250 s) do not reject it, while a 20%
    difference between hours of one band does."""
    rng = np.random.default_rng(11)
    inside = {10: _lognormal(rng, 200.0, 0.9, 800), 11: _lognormal(rng, 240.0, 0.9, 1000),
              12: _lognormal(rng, 200.0, 0.9, 600)}
    test = _fits(inside)[1].hour_test["PS"]
    expected = stats.f_oneway(*(np.log(inside[h]) for h in (10, 11, 12)))
    assert test.freedom == (2, 2397)
    assert test.statistic == pytest.approx(expected.statistic, rel=1e-9)
    assert test.p_value == pytest.approx(expected.pvalue, rel=1e-6)
    assert test.p_value < 1e-3  # a 20% difference is about 5 standard errors here
    band_mean = statistics.fmean(inside[10] + inside[11] + inside[12])
    assert test.largest == pytest.approx(
        max(abs(statistics.fmean(values) / band_mean - 1) for values in inside.values()))

    by_band = {hour: _lognormal(rng, 150.0 if hour < 10 else 250.0, 0.9, 400)
               for hour in (7, 8, 9, 10, 11, 12)}
    nested = _fits(by_band)[1].hour_test["PS"]
    assert nested.freedom == (4, 2394)
    assert nested.p_value > 0.01
    one_way = stats.f_oneway(*(np.log(by_band[h]) for h in sorted(by_band)))
    assert one_way.pvalue < 1e-6  # the bands differ; the test must not count that


def test_split_by_hour_keeps_rates_skills_and_classes() -> None:
    """As ``test_split_by_band_keeps_rates_skills_and_classes`` (tests/test_reality_holdout.py),
    one type per hour: every rate goes to exactly one child, each child has its band's
    patience and its hour's handle time (else the band's, else the type's), skills and
    priority classes follow, and every call of the log maps to a child that exists."""
    fitted = calibrate(read_log(EXCERPT), "all")
    scenario = fitted.scenario_dict()
    fits = fit_bands(fitted, fitted.log.calls)
    assert fits.hour_handle  # the excerpt has hours with 30 talks of a type
    split = split_by_band(scenario, fits, HOURLY)
    children: dict[str, list[str]] = {}
    for name in split["contact_types"]:
        children.setdefault(base_type(name), []).append(name)
    assert set(children) == set(scenario["contact_types"])
    for kind, spec in scenario["contact_types"].items():
        for index, rate in enumerate(spec["arrivals"]["rates"]):
            given = [split["contact_types"][c]["arrivals"]["rates"][index] for c in children[kind]]
            assert [g for g in given if g != "0/h"] == ([] if rate == "0/h" else [rate]), index
        for hour in range(24):
            name = hour_type(kind, hour)
            if name not in split["contact_types"]:
                rates = spec["arrivals"]["rates"]
                per_hour = len(rates) // 24
                assert set(rates[hour * per_hour:(hour + 1) * per_hour]) == {"0/h"}
                continue
            child = split["contact_types"][name]
            patience = fits.patience.get((kind, band_index(hour)))
            assert child.get("patience") == (spec.get("patience") if patience is None or
                                             "patience" not in spec else patience_dict(patience))
            handle = fits.handle_in_hour(kind, hour)
            assert child["handle_time"] == (spec["handle_time"] if handle is None else {
                "dist": "lognormal", "mean": f"{handle.mean:.1f}s", "cv": round(handle.cv, 3)})
    for group, spec in split["agents"].items():
        parents = scenario["agents"][group]["skills"]
        assert spec["skills"] == [c for kind in parents for c in children[kind]]
    classes = scenario["routing"].get("priority", {}).get("classes", {})
    assert split["routing"].get("priority", {}).get("classes", {}) == {
        child: rank for kind, rank in classes.items() for child in children[kind]}
    type_of = banded_type_of(fitted, HOURLY)
    assert {type_of(c) for c in fitted.log.calls if c.offered} <= set(split["contact_types"])
    assert {banded_type_of(fitted)(c) for c in fitted.log.calls if c.offered} <= set(
        split_by_band(scenario, fits, ["patience", "handle"])["contact_types"])


def test_check_with_handle_per_hour_assumes_each_hours_fit(tmp_path: Path) -> None:
    """End to end on the excerpt: the scenario side of the inputs shows, per type and hour with
    an hour fit, that hour's mean; the JSON carries the tests and the page shows them."""
    check = reality_check(EXCERPT, replications=1, by_band=HOURLY)
    fits = check.band_fits
    assert fits is not None and check.inputs is not None
    compared = 0
    for row in check.inputs.rows():
        fit = fits.hour_handle.get((row["type"], row["hour"]))
        if fit is not None:
            assert row["scenario"]["handle_s"] == pytest.approx(round(fit.mean, 1), abs=1e-9)
            compared += 1
    assert compared == len(fits.hour_handle)
    document = check.to_json()
    assert document["by_band"] == HOURLY
    for kind, test in fits.hour_test.items():
        entry = document["fit_tests"][kind]["handle_one_per_band"]
        assert entry["p_value"] == test.p_value and entry["df"] == list(test.freedom)
    page = check.write_page(tmp_path).read_text()
    assert "p, one handle time per band" in page and "handle-hour" in page


@pytest.mark.parametrize(("parts", "message"), [
    ("patience,hourly", "--by-band hourly: allowed: patience, handle or none; handle-hour "
                        "(handle time per hour of day) in place of handle"),
    ("handle,handle-hour", "--by-band handle,handle-hour: handle (per band) and handle-hour "
                           "(per hour) exclude each other"),
])
def test_bad_parts_are_refused_with_what_is_allowed(parts: str, message: str,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["reality", str(EXCERPT), "--replications", "1", "--by-band", parts]) == 2
    assert message in capsys.readouterr().err

