"""The fit of patience by the queue met (``sim.analysis.queue_patience``) and its use in the
reality check (``--patience-queue``)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from sim.analysis.calibrate import calibrate
from sim.analysis.calllog import ABANDONED, SERVED, Call, read_log
from sim.analysis.queue_patience import fit_by_type, fit_queue_patience, queue_met
from sim.analysis.reality import reality_check
from sim.model.scenario import load_scenario

EXCERPT = Path(__file__).parent / "data" / "anonymous_bank_excerpt.txt"


def _synthetic(seed: int, per_waiting: float, n: int = 20_000) -> tuple[np.ndarray, ...]:
    """Weibull patience (mean 600 s with nobody waiting, shape 0.9) scaled by
    exp(-per_waiting x q), q ~ Poisson(3); answers after an exponential 200 s censor it."""
    rng = np.random.default_rng(seed)
    queue = rng.poisson(3, n)
    scale = 600 / math.gamma(1 + 1 / 0.9) * np.exp(-per_waiting * queue)
    patience = scale * rng.weibull(0.9, n)
    answer = rng.exponential(200, n)
    return np.minimum(patience, answer), patience < answer, queue


def test_the_fit_recovers_a_known_queue_effect() -> None:
    # Over 12 seeds of this design the estimates' standard deviations were 14.6 s (mean),
    # 0.0056 (per_waiting) and 0.0068 (shape): the bounds are four of them.
    fit = fit_queue_patience(*_synthetic(3, 0.15))
    assert abs(fit.mean_empty_s - 600) <= 4 * 14.6
    assert abs(fit.per_waiting - 0.15) <= 4 * 0.0056
    assert abs(fit.shape - 0.9) <= 4 * 0.0068
    assert fit.shown and fit.p_value < 1e-10
    assert fit.patience_dict()["patience_per_waiting"] == round(fit.per_waiting, 4)


def test_no_queue_effect_is_not_shown() -> None:
    fit = fit_queue_patience(*_synthetic(4, 0.0))
    assert abs(fit.per_waiting) <= 4 * 0.0056 and not fit.shown


def _call(arrival: float, wait: float, abandoned: bool = False) -> Call:
    return Call(arrival, "PS", 1, ABANDONED if abandoned else SERVED, wait,
                None if abandoned else 60.0, None if abandoned else "A", None, 0)


def test_queue_met_counts_the_callers_waiting_on_arrival() -> None:
    # waiting: 0-50 s, 10-20 s (abandons), 30-40 s; arrivals at 0, 10, 30, 45 and 60 s
    calls = [_call(0, 50), _call(10, 10, abandoned=True), _call(30, 10), _call(45, 0),
             _call(60, 5)]
    assert queue_met(calls) == [0, 1, 1, 1, 0]


def test_the_reality_check_uses_the_fits_where_the_data_show_them() -> None:
    check = reality_check(EXCERPT, replications=1, patience_queue=True)
    log = read_log(EXCERPT)
    assert check.queue_patience == fit_by_type(log.calls, calibrate(log, "all").type_of)
    assert set(check.to_json()["patience_queue"]) == set(check.queue_patience)
    shown = [kind for kind, fit in check.queue_patience.items() if fit.shown]
    assert shown == ["PS"]  # the three days show it for PS only
    assert "patience by the queue met for PS (x exp(-" in check.mode()
    assert "patience_queue" not in reality_check(EXCERPT, replications=1).to_json()


def test_calibrate_writes_patience_by_the_queue_where_the_log_shows_it(tmp_path: Path) -> None:
    log = read_log(EXCERPT)
    fitted = calibrate(log, "all", patience_queue=True)
    fit = fitted.queue_patience["PS"]
    assert fit.shown and fitted.queue_patience == fit_by_type(log.calls, fitted.type_of)
    types = fitted.scenario_dict()["contact_types"]
    assert types["PS"]["patience_per_waiting"] == round(fit.per_waiting, 4)
    assert [k for k, spec in types.items() if "patience_per_waiting" in spec] == ["PS"]
    written = fitted.write(tmp_path / "bank.yaml")[0]
    scenario = load_scenario(written)
    assert scenario.contact_types["PS"].patience_per_waiting == round(fit.per_waiting, 4)
    assert "likelihood ratio p =" in written.read_text(encoding="utf-8")
    plain = calibrate(log, "all").scenario_dict()["contact_types"]
    assert not any("patience_per_waiting" in spec for spec in plain.values())
