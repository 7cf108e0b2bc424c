"""Reality check: fit a log, simulate the same days, compare hour by hour.

``ccsim reality LOG`` calibrates from the log (``sim.calibrate``), then
simulates every day of it as its own 24-hour run: that day's hourly arrival
counts as the hourly rates (or, with ``--arrivals replay``, the exact
arrival times), that day's hourly staffing as inferred from agent activity,
and the month's handle-time, patience and routing fits. The simulated
contacts of all days are summed per hour of day and set against the log's
own figures: offered, abandonment rate, SL(20 s) and ASA, with the relative
error (simulated / actual − 1). ``--report DIR`` also writes the comparison as a page
(``DIR/index.html``, the style of ``ccsim compare --report``) and a PNG.

Both sides use ccsim's definitions (``docs/scenarios.md`` §12): offered =
answered + abandoned; abandonment rate = abandoned / offered; SL(T) =
answered within T / (answered + abandoned after T); ASA = mean wait of the
answered. Simulated figures come from the per-contact trace of each run, so
they are counted exactly as the log's are.
"""

from __future__ import annotations

import csv
import itertools
import json
import math
import statistics
import tempfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy import stats

from sim.analysis.calibrate import (
    AWAY_AFTER,
    HOURS,
    AgentActivity,
    AgentGroups,
    Calibration,
    add_away_after_option,
    agent_activity,
    calibrate,
    infer_groups,
    select_days,
    staffing_table,
)
from sim.analysis.calllog import ABANDONED, DAY, SERVED, CallLog, read_log, write_arrival_trace
from sim.analysis.queue_patience import QueuePatienceFit, fit_by_type
from sim.analysis.reality_erlang import ErlangTally
from sim.analysis.reality_forecast import CHOICES, LevelForecast
from sim.analysis.reality_inputs import (
    SURVIVAL_AT,
    WAIT_TAIL_AT,
    AssumedHour,
    AssumedTally,
    InputComparison,
    RealisedTally,
    assumed_hours,
    base_type,
)
from sim.analysis.reality_model import (
    BAND_PARTS,
    BandFits,
    Forecast,
    band_label,
    banded_type_of,
    check_parts,
    fit_bands,
    forecast,
    split_by_band,
)
from sim.cli.options import add_limit_options, at_least, parse_flag
from sim.files import atomic_path, check_output_file, check_output_folder, write_atomic
from sim.limits import limits_for
from sim.model.units import parse_duration
from sim.runner import estimate

if TYPE_CHECKING:
    from sim.analysis.reality_decompose import Decomposition

METRICS = ("offered", "abandon_rate", "service_level", "asa_s")
ARRIVALS = ("replay", "poisson", "forecast")
STAFFING = ("actual", "planned", "scaled")
STAFFING_INTERVAL = 900.0
"""Staffing of a simulated day changes every 15 minutes by default, following the log's
agents (``--staffing-interval``)."""
SCORED = ("abandon_rate", "service_level", "asa_s")
"""The figures the JSON and the scorecard compare (offered is the input)."""
BUSY_PER_DAY = 16
"""An hour of day with at least this many calls per scored day is a busy hour (500 a month)."""
LABELS = {"offered": "offered", "abandon_rate": "abandonment", "service_level": "SL(20s)",
          "asa_s": "ASA (s)"}


@dataclass
class Tally:
    """Counts per hour of day from which the compared figures follow."""

    threshold: float = 20.0
    answered: list[int] = field(default_factory=lambda: [0] * HOURS)
    abandoned: list[int] = field(default_factory=lambda: [0] * HOURS)
    answered_in_sl: list[int] = field(default_factory=lambda: [0] * HOURS)
    abandoned_in_sl: list[int] = field(default_factory=lambda: [0] * HOURS)
    wait_answered: list[float] = field(default_factory=lambda: [0.0] * HOURS)

    def add(self, hour: int, answered: bool, wait: float) -> None:
        """Count one contact that arrived in ``hour`` and was answered or abandoned."""
        quick = wait <= self.threshold
        if answered:
            self.answered[hour] += 1
            self.answered_in_sl[hour] += quick
            self.wait_answered[hour] += wait
        else:
            self.abandoned[hour] += 1
            self.abandoned_in_sl[hour] += quick

    def figures(self, hours: Iterable[int]) -> dict[str, float]:
        """Offered, abandonment rate, SL and ASA over ``hours`` (NaN when undefined)."""
        hours = list(hours)
        answered = sum(self.answered[h] for h in hours)
        abandoned = sum(self.abandoned[h] for h in hours)
        in_sl = sum(self.answered_in_sl[h] for h in hours)
        late_abandons = abandoned - sum(self.abandoned_in_sl[h] for h in hours)
        offered = answered + abandoned
        return {
            "offered": float(offered),
            "abandon_rate": abandoned / offered if offered else math.nan,
            "service_level": (in_sl / (answered + late_abandons)
                              if answered + late_abandons else math.nan),
            "asa_s": sum(self.wait_answered[h] for h in hours) / answered if answered else math.nan,
        }


@dataclass
class RealityCheck:
    """Actual and simulated figures per hour of day and overall, with the Erlang A baseline."""

    source: str
    days: list[int]
    """The scored days (indexes from the log's first day)."""
    arrivals: str
    replications: int
    actual: Tally
    simulated: list[Tally]
    """One tally per replication (each summed over all days)."""
    erlang: ErlangTally
    staffing: str = "actual"
    holdout_from: int | None = None
    calibration_days: list[int] = field(default_factory=list)
    by_band: list[str] = field(default_factory=list)
    band_fits: BandFits | None = None
    """The calibration days' fits per (type, hour band), shown in the report."""
    inputs: InputComparison | None = None
    """Per hour and type: what the log shows, the scenario assumes, the simulation realises."""
    decomposition: Decomposition | None = None
    """With ``--decompose``: the check rerun with one assumption changed at a time."""
    forecast: LevelForecast | None = None
    """The day level forecast (method, backtest errors); None when not used."""
    staffing_interval: float = STAFFING_INTERVAL
    """Seconds between changes of a simulated day's staffing."""
    queue_patience: dict[str, QueuePatienceFit] | None = None
    """With ``--patience-queue``: per scenario type, patience by the queue met (used where
    ``shown``)."""

    def rows(self) -> list[tuple[str, dict[str, float], dict[str, Any], dict[str, float]]]:
        """(label, actual figures, simulated estimates, Erlang A figures) per hour with
        calls, then ``all``."""
        rows = []
        scopes = [(f"{h:02d}", [h]) for h in range(HOURS)] + [("all", list(range(HOURS)))]
        for label, hours in scopes:
            actual = self.actual.figures(hours)
            if actual["offered"] == 0 and label != "all":
                continue
            per_rep = [t.figures(hours) for t in self.simulated]
            simulated = {m: estimate(f[m] for f in per_rep) for m in METRICS}
            rows.append((label, actual, simulated, self.erlang.figures(hours)))
        return rows

    def mode(self) -> str:
        """In sample or out of sample, and with which arrivals and staffing."""
        scope = ("in sample (calibrated on the scored days)" if self.holdout_from is None else
                 f"out of sample: calibrated on {len(self.calibration_days)} days before day "
                 f"{self.holdout_from}, scored from it on")
        return (f"{scope}; arrivals {self.arrivals}, staffing {self.staffing} per "
                f"{self.staffing_interval / 60:g} min; fitted per "
                f"hour band: {', '.join(self.by_band) or 'nothing'}"
                + (f"; patience by the queue met for {', '.join(self._queue_types())}"
                   if self.queue_patience is not None else "")
                + (f"; {self.forecast.describe()}" if self.forecast else ""))

    def _queue_types(self) -> list[str]:
        """The types simulated with patience by the queue met, with each one's factor."""
        shown = [f"{kind} (x exp(-{fit.per_waiting:.3f} per waiting))"
                 for kind, fit in (self.queue_patience or {}).items() if fit.shown]
        return shown or ["no type (not shown by the data)"]

    def summary(self) -> dict[str, dict[str, float]]:
        """Overall ``{metric: {actual, simulated, relative_error}}``."""
        _, actual, simulated, _ = self.rows()[-1]
        return {m: {"actual": actual[m], "simulated": simulated[m].mean,
                    "relative_error": _relative(simulated[m].mean, actual[m])} for m in METRICS}

    def format_text(self) -> str:
        """The comparison table: per hour actual, simulated, relative error and Erlang A's
        relative error per metric."""
        head = f"{'hour':>4}"
        for metric in METRICS:
            head += f" | {LABELS[metric]:>11} {'sim':>7} {'err':>6} {'EA err':>6}"
        title = (f"{self.source}: {len(self.days)} days, {self.replications} replications per "
                 f"day, {self.mode()}; act = log, sim = mean of replications, "
                 "err = sim/act - 1, EA err = Erlang A/act - 1")
        lines = [title, head, "-" * len(head)]
        for label, actual, simulated, erlang in self.rows():
            if label == "all":
                lines.append("-" * len(head))
            line = f"{label:>4}"
            for metric in METRICS:
                sim = simulated[metric].mean
                line += (f" | {_show(metric, actual[metric]):>11} {_show(metric, sim):>7} "
                         f"{_percent(_relative(sim, actual[metric])):>6} "
                         f"{_percent(_relative(erlang[metric], actual[metric])):>6}")
            lines.append(line)
        lines.append(self.scorecard_text())
        if self.decomposition is not None:
            lines.append(self.decomposition.format_text())
        return "\n".join(lines)

    def scorecard(self) -> dict[str, Any]:
        """Busy hours (``BUSY_PER_DAY`` calls a day or more) within 10% and 15% relative per
        metric, for the simulation and for Erlang A, and in how many the simulation is the
        closer one; then the **noise floor**: how many busy hours a model that is exactly
        right would be expected to bring within 10% and 15%, and in how many the log lies
        inside the simulation's 95% prediction interval (``noise_floor``)."""
        busy = self._busy_rows()
        card: dict[str, Any] = {"busy_hours": len(busy),
                                "min_calls": BUSY_PER_DAY * len(self.days)}
        per_replication = {label: [t.figures([int(label)]) for t in self.simulated]
                           for label, _, _, _ in busy}
        for metric in SCORED:
            sim = [abs(_relative(s[metric].mean, a[metric])) for _, a, s, _ in busy]
            erl = [abs(_relative(e[metric], a[metric])) for _, a, _, e in busy]
            found = [noise_floor(a[metric], [f[metric] for f in per_replication[label]])
                     for label, a, _, _ in busy]
            floors = [f for f in found if f is not None]
            card[metric] = {
                "simulated_within_10": sum(e <= 0.10 for e in sim),
                "simulated_within_15": sum(e <= 0.15 for e in sim),
                "erlang_a_within_10": sum(e <= 0.10 for e in erl),
                "erlang_a_within_15": sum(e <= 0.15 for e in erl),
                "simulated_closer": sum(s < e for s, e in zip(sim, erl)),
                **(_floor_card(busy, floors) if len(floors) == len(found) else {}),
            }
        return card

    def _busy_rows(self) -> list[tuple[str, dict[str, float], dict[str, Any], dict[str, float]]]:
        """The ``rows`` of the busy hours: ``BUSY_PER_DAY`` calls a day or more."""
        least = BUSY_PER_DAY * len(self.days)
        return [row for row in self.rows()[:-1] if row[1]["offered"] >= least]

    def leave_one_out_counts(self, metric: str, tolerance: float) -> list[int]:
        """The noise floor checked without its normal and independence assumptions: each
        replication in turn taken as the log of a model exactly right, the mean of the
        others scored against it; per replication, the busy hours whose ``metric`` is
        within ``tolerance`` relative (the scorecard's rule). Needs 3+ replications for a
        meaningful mean of the others; the counts' mean should be near the expected
        ``model_right_within_*``, and their share at a goal near ``chance_of_at_least``."""
        hours = [int(label) for label, _, _, _ in self._busy_rows()]
        values = [[tally.figures([hour])[metric] for hour in hours] for tally in self.simulated]
        counts = []
        for index, pseudo_log in enumerate(values):
            others = [row for other, row in enumerate(values) if other != index]
            count = 0
            for column, observed in enumerate(pseudo_log):
                mean = statistics.fmean(row[column] for row in others)
                count += abs(_relative(mean, observed)) <= tolerance
            counts.append(count)
        return counts

    def scorecard_text(self) -> str:
        """The scorecard as lines of text."""
        card = self.scorecard()
        lines = [f"busy hours ({card['min_calls']}+ calls): {card['busy_hours']}"]
        for metric in SCORED:
            c = card[metric]
            lines.append(f"  {LABELS[metric]:>11}: within 10% sim {c['simulated_within_10']}, "
                         f"Erlang A {c['erlang_a_within_10']}; within 15% sim "
                         f"{c['simulated_within_15']}, Erlang A {c['erlang_a_within_15']}; "
                         f"sim closer in {c['simulated_closer']}")
            if "model_right_within_10" in c:
                ranges = [f"{c[f'model_right_within_{t}']:.1f} within {t}% (90% of months: "
                          "{}-{})".format(*c[f"model_right_within_{t}_range"]) for t in (10, 15)]
                lines.append(f"  {'':>11}  noise floor: a model exactly right would bring "
                             f"{ranges[0]} and {ranges[1]}; the log is inside the 95% "
                             f"prediction interval in {c['inside_prediction_interval']}")
        return "\n".join(lines)

    def to_json(self) -> dict[str, Any]:
        """Per hour with calls and overall: calls, actual, simulated mean and 95% CI, the
        Erlang A figures, and relative errors of both; then the run's description."""
        def number(value: float) -> float | None:
            return None if math.isnan(value) else value

        def entry(actual: dict[str, float], simulated: dict[str, Any],
                  erlang: dict[str, float]) -> dict[str, Any]:
            return {
                "calls": int(actual["offered"]),
                "actual": {m: number(actual[m]) for m in SCORED},
                "simulated": {m: simulated[m].as_json() for m in SCORED},
                "erlang_a": {m: number(erlang[m]) for m in SCORED},
                "relative_error": {
                    "simulated": {m: number(_relative(simulated[m].mean, actual[m]))
                                  for m in SCORED},
                    "erlang_a": {m: number(_relative(erlang[m], actual[m])) for m in SCORED}},
            }

        rows = self.rows()
        return {"hours": [{"hour": int(label), **entry(a, s, e)} for label, a, s, e in rows[:-1]],
                "overall": entry(*rows[-1][1:]),
                "scorecard": self.scorecard(),
                "source": self.source, "days": len(self.days), "arrivals": self.arrivals,
                "staffing": self.staffing, "holdout_from": self.holdout_from,
                "calibration_days": len(self.calibration_days), "by_band": self.by_band,
                "replications": self.replications, "staffing_interval_s": self.staffing_interval,
                **({} if self.queue_patience is None else {"patience_queue": {
                    kind: fit.as_json() for kind, fit in self.queue_patience.items()}}),
                **({} if self.band_fits is None else {"fit_tests": self.band_fits.tests_json()}),
                **({} if self.inputs is None else {"inputs": self.inputs.to_json(),
                                                   "waits": self.inputs.waits_json()}),
                **({} if self.decomposition is None else
                   {"decomposition": self.decomposition.to_json()}),
                "forecast": self.forecast.as_json() if self.forecast else None}

    def write_page(self, folder: str | Path) -> Path:
        """``FOLDER/index.html``: the comparison as a self-contained page in the style of
        ``ccsim compare --report`` (summary, figure against clock time, table per hour,
        the JSON embedded for download); returns its path."""
        from reports.page import data_uri, escape, figure_html, page, table, version
        from reports.plots import plot_by_interval, render
        from sim.runner import Estimate

        rows = self.rows()
        hourly = [r for r in rows if r[0] != "all"]

        def exact(figures: dict[str, float]) -> dict[str, Estimate]:
            return {m: Estimate(figures[m], math.nan, math.nan, 1) for m in METRICS}

        by_hour = {
            "log (actual)": {f"{label}:00": exact(a) for label, a, _, _ in hourly},
            "ccsim (simulated)": {f"{label}:00": s for label, _, s, _ in hourly},
            "Erlang A": {f"{label}:00": exact(e) for label, _, _, e in hourly}}
        name = Path(self.source).name
        figure = plot_by_interval(by_hour, list(METRICS),
                                  f"{name}: actual vs simulated per hour of day")
        header = ["Hour", *(f"{LABELS[m]} {side}" for m in METRICS
                            for side in ("log", "sim [95% CI]", "error", "Erlang A error"))]
        body = []
        for label, actual, simulated, erlang in rows:
            cells = [(label if label == "all" else f"{label}:00", "")]
            for metric in METRICS:
                value = simulated[metric]
                interval = ("" if math.isnan(value.low) else
                            f" [{_show(metric, value.low)}, {_show(metric, value.high)}]")
                cells += [(_show(metric, actual[metric]), ""),
                          (_show(metric, value.mean) + interval, ""),
                          (_percent(_relative(value.mean, actual[metric])), ""),
                          (_percent(_relative(erlang[metric], actual[metric])), "")]
            body.append(cells)
        document = json.dumps(self.to_json(), indent=2).encode()
        html_body = f"""<h1>Reality check: {escape(name)}</h1>
<p class="meta">{len(self.days)} days, {self.replications} replications per day,
{escape(self.mode())}; log = the call log's own figures, sim = mean of replications with its
95% CI, error = sim / log − 1; Erlang A = the per-hour M/M/n+M formula on the same inputs
(rates, agents, handle time with wrap-up, patience). ccsim {escape(version())}.</p>
<h2>Scorecard</h2>
<pre>{escape(self.scorecard_text())}</pre>
<h2>Per hour of day</h2>
{figure_html("reality", "Actual vs simulated per hour of day",
             "Each point is an hour of the day (its start), the log's days pooled; the "
             "simulated line carries its 95% band over replications.", render(figure, "svg"))}
{table(header, body)}
<p class="meta">Download the numbers: <a download="reality.json"
href="{data_uri("application/json", document)}">JSON</a></p>
{self._decomposition_html(table)}
{self._inputs_html(table)}
{self._fits_html(table)}
<h2>Definitions</h2>
<p>Both sides use ccsim's definitions: offered = answered + abandoned; abandonment rate =
abandoned / offered; SL(T) = answered within T / (answered + abandoned after T); ASA = mean
wait of the answered.</p>"""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        index = folder / "index.html"
        write_atomic(index, page(f"ccsim reality check: {name}", html_body))
        return index

    def _decomposition_html(
            self, table: Callable[[list[str], list[list[tuple[str, str]]]], str]) -> str:
        """The decomposition's table, when it was asked for."""
        if self.decomposition is None:
            return ""
        body = [[(cell, "") for cell in row] for row in self.decomposition.rows()]
        return f"""<h2>Which assumption costs how much</h2>
<p class="meta">The check rerun with one assumption changed, everything else equal (days, seed,
replications): the overall relative errors and the busy hours within 10%. A replacement by the
log's own truth shows what the assumption costs; a sensitivity shows how much the answer hangs
on a guess the log cannot settle.</p>
{table(self.decomposition.header(), body)}"""

    def _inputs_html(self, table: Callable[[list[str], list[list[tuple[str, str]]]], str]) -> str:
        """Per hour and type, the log, the scenario and the simulation side by side."""
        if self.inputs is None:
            return ""

        def show(value: float, digits: int = 0) -> tuple[str, str]:
            return ("-" if math.isnan(value) else f"{value:.{digits}f}", "")

        body = []
        for row in self.inputs.rows():
            log, scenario, simulated = row["log"], row["scenario"], row["simulated"]
            sides = (log, scenario, simulated)
            body.append([
                (f"{row['hour']:02d}:00", ""), (row["type"], ""),
                show(log["calls"]), show(simulated["calls"]),
                *(show(side["top_priority_share"], 2) for side in sides),
                *(show(side["handle_s"]) for side in sides),
                *(show(side["patience_s"]) for side in sides),
                *(show(side[f"survival_{t}s"], 2) for t in SURVIVAL_AT for side in sides),
                show(log["agents_busy"], 2), show(simulated["agents_busy"], 2),
                show(log.get("agents_on_duty", math.nan), 2),
                show(scenario.get("agents_on_duty", math.nan), 2)])
        header = ["Hour", "Type", "Calls log", "Calls sim", "Top priority log",
                  "VIP class scenario", "VIP class sim", "Talk (s) log", "Talk scenario",
                  "Talk sim",
                  "Patience (s) log", "Patience scenario", "Patience sim",
                  *(f"S({t} s) {side}" for t in SURVIVAL_AT
                    for side in ("log (Kaplan-Meier)", "scenario", "sim (Kaplan-Meier)")),
                  "Busy log", "Busy sim", "On duty log (inferred)", "On duty scenario"]
        waits_header = ["Type", *(f"Waited {t} s+ {side}" for t in WAIT_TAIL_AT
                                  for side in ("log", "sim"))]
        waits_body = [[(row["type"], ""), *(show(row[side][f"waited_{t}s"], 3)
                                            for t in WAIT_TAIL_AT for side in ("log", "simulated"))]
                      for row in self.inputs.waits()]
        return f"""<h2>What the log shows, the scenario assumes, the simulation realises</h2>
<p class="meta">Per hour of arrival (agents: per hour of the clock), the scored days pooled.
Top priority = share of the log's calls with its top priority, beside the share the scenario
routes as VIP classes; talk = mean talk time of the answered; patience = censored exponential
estimate (time all callers waited / abandons), read the same way from the log and the
simulation; S(t) = share of callers still willing to wait after t (Kaplan-Meier with answered
calls censored; the scenario: its patience distribution); busy = agents
talking on average; on duty in the log is inferred from agent activity (the log has no
logins). An input that differs between log and simulation points at the assumption to fix.</p>
{table(header, body)}
<h3>How long callers waited</h3>
<p class="meta">All hours: the share of the answered and abandoned calls that waited at least
t, in the log and in the simulation (mean of replications). The same service level can come
with different tails: a simulation with too many long waits abandons too much.</p>
{table(waits_header, waits_body)}"""

    def _fits_html(self, table: Callable[[list[str], list[list[tuple[str, str]]]], str]) -> str:
        """The fits per hour band with their quality, for the page."""
        if self.band_fits is None:
            return ""
        fits = self.band_fits
        body = []
        for kind, band in sorted(fits.patience.keys() | fits.handle.keys()):
            patience = fits.patience.get((kind, band))
            handle = fits.handle.get((kind, band))
            p_value = fits.patience_p_value(kind)
            hours = fits.hour_test.get(kind)
            body.append([
                (kind, ""), (band_label(band), ""),
                ("-" if patience is None else
                 f"{patience.dist} {patience.mean:.0f} s ({patience.abandoned} abandons, "
                 f"{patience.censored} censored)", ""),
                ("-" if math.isnan(p_value) else f"{p_value:.2g}", ""),
                ("-" if handle is None else
                 f"{handle.mean:.0f} s, cv {handle.cv:.2f}, KS {handle.ks:.3f} ({handle.n})", ""),
                (fits.hours_text(kind, band) or "-", ""),
                ("-" if hours is None else f"{hours.p_value:.2g} (up to {hours.largest:.0%})", "")])
        header = ["Type", "Hours", "Patience (censored MLE)", "p, one patience all day",
                  "Handle time (lognormal by moments)", "Handle time per hour (talks)",
                  "p, one handle time per band"]
        return f"""<h2>Fitted per hour band</h2>
<p class="meta">Calibration days only; a band without 30 abandons (talks) keeps its type's
whole-day fit. p: likelihood-ratio test of one exponential patience for the whole day against
one per band (small: the bands differ). Per hour: the mean talk of each hour with 30 talks
(used with <code>--by-band patience,handle-hour</code>); its p: F-test on log talk times of one
mean per band against one per hour, with the largest hour's difference from its band. Which
assumption costs how much error is measured in
docs/calibration.md, section 5.</p>
{table(header, body)}"""

    def plot(self, folder: str | Path) -> Path:
        """Actual vs simulated per hour of day, one panel per metric; returns the PNG path."""
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        rows = [r for r in self.rows() if r[0] != "all"]
        hours = [int(label) for label, _, _, _ in rows]
        figure, axes = plt.subplots(2, 2, figsize=(11, 7), sharex=True)
        for axis, metric in zip(axes.flat, METRICS):
            actual = [a[metric] for _, a, _, _ in rows]
            mean = [s[metric].mean for _, _, s, _ in rows]
            low = [s[metric].low for _, _, s, _ in rows]
            high = [s[metric].high for _, _, s, _ in rows]
            axis.plot(hours, actual, "o-", color="black", label="log (actual)")
            axis.plot(hours, [e[metric] for _, _, _, e in rows], "^:", color="tab:orange",
                      label="Erlang A")
            axis.plot(hours, mean, "s--", color="tab:blue", label="ccsim (simulated)")
            axis.fill_between(hours, low, high, color="tab:blue", alpha=0.2, label="95% CI")
            axis.set_title(LABELS[metric])
            axis.grid(alpha=0.3)
        for axis in axes[1]:
            axis.set_xlabel("hour of day (arrival)")
        axes[0][0].legend()
        summary = self.summary()
        figure.suptitle(f"{Path(self.source).name}: actual vs simulated, {len(self.days)} days; "
                        + ", ".join(f"{LABELS[m]} err {_percent(summary[m]['relative_error'])}"
                                    for m in METRICS[1:]))
        figure.tight_layout()
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{Path(self.source).stem}-reality.png"
        with atomic_path(path) as temporary:
            figure.savefig(temporary, dpi=110, format="png")
        plt.close(figure)
        return path


@dataclass(frozen=True)
class NoiseFloor:
    """How far one realisation of an hour's figure lies from a model's mean by chance alone."""

    within_10: float
    """Chance that a model exactly right is within 10% relative of one realisation."""
    within_15: float
    inside: bool
    """The log lies inside the simulation's 95% prediction interval for one realisation."""


def noise_floor(actual: float, per_replication: Sequence[float]) -> NoiseFloor | None:
    """The noise floor of one hour's figure from its per-replication values.

    Each replication simulates all scored days once, so the spread of its
    value is the spread of one realisation of the log's figure if the model
    were right: the log is one more draw. With X ~ Normal(mean, sd²), a model
    exactly right is within ``t`` relative (``mean / X − 1``, the scorecard's
    error) with chance P(mean / (1 + t) <= X <= mean / (1 − t)). The log is
    inside the 95% prediction interval when ``|actual − mean| <= t(0.975, R−1)
    · sd · sqrt(1 + 1/R)``. None with fewer than two finite values.
    """
    values = [v for v in per_replication if not math.isnan(v)]
    if len(values) < 2 or math.isnan(actual):
        return None
    mean, sd = statistics.fmean(values), statistics.stdev(values)

    def chance(tolerance: float) -> float:
        if sd == 0:  # every realisation is the mean itself
            return 1.0
        return float(stats.norm.cdf((mean / (1 - tolerance) - mean) / sd)
                     - stats.norm.cdf((mean / (1 + tolerance) - mean) / sd))

    spread = float(stats.t.ppf(0.975, len(values) - 1)) * sd * math.sqrt(1 + 1 / len(values))
    return NoiseFloor(chance(0.10), chance(0.15), abs(actual - mean) <= spread)


def count_distribution(chances: Sequence[float]) -> list[float]:
    """P(exactly n of independent events happen), n = 0 .. len(chances), for events with
    these chances: the Poisson-binomial distribution, by convolution."""
    distribution = np.ones(1)
    for chance in chances:
        distribution = np.convolve(distribution, [1 - chance, chance])
    return [float(p) for p in distribution]


def chance_of_at_least(chances: Sequence[float], count: int) -> float:
    """The chance that ``count`` or more of independent events with these chances happen:
    with the per-hour chances of the noise floor, how often a model exactly right would
    bring at least ``count`` busy hours within the tolerance."""
    return min(1.0, sum(count_distribution(chances)[max(count, 0):]))


def _count_range(chances: Sequence[float], low: float = 0.05,
                 high: float = 0.95) -> tuple[int, int]:
    """The counts between the ``low`` and ``high`` quantiles of the Poisson-binomial."""
    cumulative = list(itertools.accumulate(count_distribution(chances)))
    # The running sum may end a rounding error below 1, so the top quantile allows for it.
    return (next(n for n, c in enumerate(cumulative) if c >= low),
            next(n for n, c in enumerate(cumulative) if c >= high - 1e-12))


def _floor_card(busy: Sequence[tuple[str, Any, Any, Any]],
                floors: Sequence[NoiseFloor]) -> dict[str, Any]:
    """The noise floor of one metric in the scorecard: expected busy hours within 10% and
    15% for a model exactly right, the range of 90% of months (hours taken as
    independent), the hours inside the prediction interval, and each busy hour's chances
    (for ``chance_of_at_least``)."""
    card: dict[str, Any] = {}
    for tolerance in (10, 15):
        chances = [getattr(f, f"within_{tolerance}") for f in floors]
        card[f"model_right_within_{tolerance}"] = round(sum(chances), 2)
        card[f"model_right_within_{tolerance}_range"] = list(_count_range(chances))
    card["inside_prediction_interval"] = sum(f.inside for f in floors)
    card["model_right_hours"] = [
        {"hour": int(label), "within_10": round(f.within_10, 4),
         "within_15": round(f.within_15, 4), "inside": f.inside}
        for (label, _, _, _), f in zip(busy, floors)]
    return card


def _relative(simulated: float, actual: float) -> float:
    if math.isnan(simulated) or math.isnan(actual) or actual == 0:
        return math.nan
    return simulated / actual - 1


def _show(metric: str, value: float) -> str:
    if math.isnan(value):
        return "-"
    if metric in ("abandon_rate", "service_level"):
        return f"{value:.3f}"
    return f"{value:.1f}" if metric == "asa_s" else f"{value:.0f}"


def _percent(value: float) -> str:
    return "-" if math.isnan(value) else f"{value:+.0%}"


def actual_tally(log: CallLog, days: Iterable[int], threshold: float = 20.0) -> Tally:
    """The log's own counts per hour of day over ``days``."""
    wanted = set(days)
    tally = Tally(threshold)
    for call in log.calls:
        if call.offered and call.day in wanted:
            tally.add(call.hour, call.outcome == SERVED, call.wait)
    return tally


def reality_check(log: CallLog | str | Path, *, days: str = "all", replications: int = 5,
                  seed: int = 1, arrivals: str | None = None, recorded_service: bool = False,
                  mapping: str | Path | None = None,
                  away_after: float = AWAY_AFTER, no_limits: bool = False,
                  holdout_from: int | None = None, staffing: str | None = None,
                  by_band: Sequence[str] = BAND_PARTS,
                  forecast_method: str = "auto",
                  staffing_interval: float = STAFFING_INTERVAL,
                  patience_queue: bool = False) -> RealityCheck:
    """Calibrate from ``log`` and simulate each of its days (see the module docstring).

    ``arrivals``: ``replay`` (the exact arrival times; the default in sample),
    ``poisson`` (each day's hourly counts as hourly rates) or ``forecast``
    (the calibration days' forecast for the day's weekday; the default out of
    sample); ``recorded_service`` (replay only) gives answered calls their
    recorded talk time instead of a drawn one. ``staffing``: ``actual`` (the
    day's own agents, inferred from its talks; the default in sample) or
    ``planned`` (the calibration days' mean for that kind of day; the default
    out of sample) or ``scaled`` (that plan times the day's forecast calls over
    its kind's mean calls). ``forecast_method``: the day level forecast
    (``reality_forecast.CHOICES``; ``auto``: the calibration days' backtest picks).
    ``holdout_from``: calibrate on the days before this day (1 = the log's first)
    and score the days from it on. ``by_band``: what is
    fitted per hour band (``patience``, ``handle``, or ``handle-hour``: handle time per hour
    of day; empty: one fit per type).
    ``no_limits`` lifts the bound on the size of the log file (``sim.limits``).
    ``staffing_interval``: seconds between staffing changes of a simulated day (whole
    minutes dividing an hour; finer follows the agents more closely, at more CPU).
    ``patience_queue``: per type where the calibration days show it, patience that
    shrinks with the queue a caller finds (``sim.analysis.queue_patience``), in place of
    the type's patience fits.
    """
    from sim.model.scenario import scenario_from_dict
    from sim.runner import run

    arrivals = arrivals or ("replay" if holdout_from is None else "forecast")
    staffing = staffing or ("actual" if holdout_from is None else "planned")
    if arrivals not in ARRIVALS:
        raise ValueError(f"--arrivals {arrivals}: allowed: {', '.join(ARRIVALS)}")
    if staffing not in STAFFING:
        raise ValueError(f"--staffing {staffing}: allowed: {', '.join(STAFFING)}")
    check_parts(by_band)
    if recorded_service and arrivals != "replay":
        raise ValueError("--recorded-service needs --arrivals replay (service times are "
                         "replayed with the arrivals)")
    if replications < 1:
        raise ValueError("--replications must be >= 1")
    if staffing_interval < 60 or 3600 % staffing_interval or staffing_interval % 60:
        raise ValueError(f"--staffing-interval {staffing_interval:g}s: allowed: whole minutes "
                         "that divide an hour (1min, 5min, 15min, 30min, 1h, ...)")
    if not isinstance(log, CallLog):
        log = read_log(log, mapping, limit=limits_for(no_limits).call_log_bytes)
    if holdout_from is None:
        fitted = calibrate(log, days, away_after=away_after)
        scored = fitted.days
    else:
        fitted, scored = _split_calibration(log, days, holdout_from, away_after)
    assert fitted.activity is not None
    planned = staffing_table(fitted.activity, fitted.groups, fitted.days, staffing_interval)
    actual_staffing = planned if holdout_from is None else staffing_table(
        *_scoring_activity(log, fitted, away_after), scored, staffing_interval)
    plan = forecast(fitted, log, planned, forecast_method)
    calibration_calls = [c for c in fitted.log.calls if c.day in set(fitted.days)]
    bands = fit_bands(fitted, calibration_calls)
    queue_fits = fit_by_type(calibration_calls, fitted.type_of) if patience_queue else None
    simulated = [Tally() for _ in range(replications)]
    realised = [RealisedTally() for _ in range(replications)]
    baseline = ErlangTally()
    assumed = AssumedTally()
    vip = _vip_types(fitted)
    with tempfile.TemporaryDirectory(prefix="ccsim-reality-") as folder:
        for day in scored:
            weekday = log.weekday(day) or 0
            day_staffing = (plan.plan(weekday) if staffing == "planned" else
                            plan.plan_to_forecast(weekday, day) if staffing == "scaled"
                            else actual_staffing[day])
            scenario, hours = _day_scenario(fitted, log, day, day_staffing, arrivals,
                                            recorded_service, Path(folder), plan, bands, by_band,
                                            vip, queue_fits)
            baseline.add_day(hours)
            assumed.add_day(hours)
            trace = Path(folder) / "trace.csv"
            run(scenario_from_dict(scenario, source=f"day {day}", base_dir=folder),
                replications=replications, seed=seed + day, trace=trace, progress=False)
            _tally_trace(trace, simulated, realised, vip)
    inputs = InputComparison(_log_inputs(log, fitted, scored),
                             _agents_per_hour(actual_staffing, scored), assumed, realised,
                             len(scored))
    return RealityCheck(log.report.source, scored, arrivals, replications,
                        actual_tally(log, scored), simulated, baseline, staffing,
                        holdout_from, fitted.days, list(by_band), bands, inputs,
                        forecast=(plan.volume if arrivals == "forecast" or staffing == "scaled"
                                  else None), staffing_interval=staffing_interval,
                        queue_patience=queue_fits)


def _log_inputs(log: CallLog, fitted: Calibration, days: Iterable[int]) -> RealisedTally:
    """What the log realised on ``days``, per scenario type (before the hour bands)."""
    wanted = set(days)
    offered = [call for call in log.calls if call.offered and call.day in wanted]
    top = max((call.priority for call in offered), default=0)
    tally = RealisedTally()
    for call in offered:
        tally.add(fitted.type_of(call), call.arrival, call.outcome == SERVED, call.wait,
                  call.service, call.priority == top)
    return tally


def _vip_types(fitted: Calibration) -> set[str]:
    """The scenario's VIP classes (``TYPE_vip``: the top priority with a head start)."""
    return {kind for kind in fitted.types if kind != fitted.base_type[kind]}


def _agents_per_hour(staffing: dict[int, dict[str, list[float]]],
                     days: Iterable[int]) -> list[float]:
    """Agents on duty per hour of day, all groups, summed over ``days``."""
    totals = [0.0] * HOURS
    for day in days:
        for slots in staffing[day].values():
            per_hour = len(slots) // HOURS
            for hour in range(HOURS):
                totals[hour] += sum(slots[hour * per_hour:(hour + 1) * per_hour]) / per_hour
    return totals


def _split_calibration(log: CallLog, days: str, holdout_from: int,
                       away_after: float) -> tuple[Calibration, list[int]]:
    """Calibrate on the days before ``holdout_from`` (1-based) only; the days to score."""
    cut = holdout_from - 1
    before = CallLog([c for c in log.calls if c.day < cut], log.report, log.first_date)
    after = CallLog([c for c in log.calls if c.day >= cut], log.report, log.first_date)
    if not any(c.offered for c in before.calls) or not any(c.offered for c in after.calls):
        raise ValueError(f"--holdout-from {holdout_from}: the log's calls are on days "
                         f"1-{log.days}; allowed: a day with calls both before it and from it on")
    fitted = calibrate(before, days, away_after=away_after)
    scored, _ = select_days(after, days)
    return fitted, scored


def _scoring_activity(log: CallLog, fitted: Calibration,
                      away_after: float) -> tuple[AgentActivity, AgentGroups]:
    """Agents' logged-in spans on every day of ``log``, in the calibration's groups: an agent
    first seen on the scored days joins the group the whole log puts them in, if the
    calibration has it, else the best-staffed group."""
    whole = infer_groups(log.calls)
    busiest = max(fitted.groups.skills, key=lambda g: sum(fitted.staffing[g]))
    members = {agent: fitted.groups.members.get(
        agent, group if group in fitted.groups.skills else busiest)
        for agent, group in whole.members.items()}
    groups = AgentGroups(members, fitted.groups.skills)
    return agent_activity(log.calls, groups, away_after), groups


def _day_scenario(fitted: Calibration, log: CallLog, day: int, staffing: dict[str, list[float]],
                  arrivals: str, recorded_service: bool, folder: Path, plan: Forecast,
                  bands: BandFits, by_band: Sequence[str], vip: set[str],
                  queue_fits: dict[str, QueuePatienceFit] | None = None,
                  ) -> tuple[dict[str, Any], list[AssumedHour]]:
    """One day as a 24-hour scenario: its hourly counts (or the forecast) and staffing, the
    fitted rest split by hour band; with what it assumes per hour (``assumed_hours``, read
    before replayed arrivals replace the rates; ``vip``: the VIP classes). ``queue_fits``:
    patience by the queue met, per scenario type where shown; the hours (and so Erlang A)
    keep the queue-blind patience fits, the formula having no queue to read."""
    calls = [c for c in log.calls if c.offered and c.day == day]
    if arrivals == "forecast":
        rates = plan.rates(log.weekday(day) or 0, day)
    else:
        rates = {t: [0.0] * HOURS for t in fitted.types}
        for call in calls:
            rates[fitted.type_of(call)][call.hour] += 1
    # One hour past midnight lets the day's last callers finish; only contacts that
    # arrived before midnight are counted (``_tally_trace``).
    scenario = fitted.scenario_dict(rates=rates, staffing=staffing, duration="25h",
                                    name=f"{Path(log.report.source).stem}-day{day}")
    if arrivals == "forecast" and plan.busyness_cv:
        scenario["busyness"] = {"dist": "gamma", "cv": round(plan.busyness_cv, 3)}
    else:
        scenario.pop("busyness", None)  # the day's own volume is used, not a random factor
    scenario = split_by_band(scenario, bands, by_band)
    hours = assumed_hours(scenario, vip)
    for kind, spec in scenario["contact_types"].items():
        fit = (queue_fits or {}).get(kind.split("@", 1)[0])
        if fit is not None and fit.shown and "patience" in spec:
            spec.update(fit.patience_dict())
    if arrivals == "replay":
        trace = folder / f"arrivals-day{day}.csv"
        type_of = banded_type_of(fitted, by_band)
        write_arrival_trace(calls, trace, type_of, offset=day * DAY)
        recorded = {type_of(c) for c in calls if c.service is not None}
        for kind, spec in scenario["contact_types"].items():
            spec["arrivals"] = {"trace": trace.name, "type": kind}
            if recorded_service and kind in recorded:
                spec["arrivals"]["service"] = "recorded"
    return scenario, hours


def _tally_trace(path: Path, tallies: list[Tally], realised: list[RealisedTally],
                 top: set[str]) -> None:
    """Add the answered and abandoned contacts of a ``ccsim run --trace`` file, by replication
    (``top``: the VIP classes, log types)."""
    with path.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            outcome = row["outcome"]
            if outcome not in ("answered", ABANDONED):
                continue
            arrival = float(row["arrival_s"])
            if arrival < DAY:
                replication, answered, wait = (int(row["replication"]), outcome == "answered",
                                               float(row["wait_s"]))
                tallies[replication].add(int(arrival // 3600), answered, wait)
                kind = base_type(row["type"])
                realised[replication].add(kind, arrival, answered, wait,
                                          float(row["handle_s"]) if answered else None,
                                          kind in top)


# ------------------------------------------------------------------------ CLI
def configure(parser: Any) -> None:
    """Give ``ccsim reality``'s parser (help line in ``sim.cli.LAZY_COMMANDS``) its
    arguments and handler."""
    parser.add_argument("log", help="call log file (Anonymous Bank format or mapped CSV)")
    parser.add_argument("--mapping", metavar="MAP.yaml", help="column mapping for a CSV log")
    parser.add_argument("--days", default="all",
                        help="days to check: all (default), weekdays, weekend or day names")
    parser.add_argument("--arrivals", choices=ARRIVALS,
                        help="replay: exact times (default in sample); poisson: each day's "
                             "hourly counts as rates; forecast: the calibration days' forecast "
                             "for the day's weekday (default with --holdout-from)")
    parser.add_argument("--staffing", choices=STAFFING,
                        help="actual: the day's agents inferred from its talks (default in "
                             "sample); planned: the calibration days' mean for that kind of day "
                             "(default with --holdout-from); scaled: that plan times the "
                             "day's forecast calls over its kind's mean calls")
    parser.add_argument("--forecast", choices=CHOICES, default="auto",
                        help="the day's level for --arrivals forecast and --staffing scaled: "
                             "auto (default: the least backtest error on the calibration "
                             "days), weekday-mean, recency or damped-trend")
    parser.add_argument("--holdout-from", type=int, metavar="DAY",
                        help="calibrate on the days before DAY (1 = the log's first day) and "
                             "score the days from DAY on")
    parser.add_argument("--by-band", default=",".join(BAND_PARTS), metavar="PARTS",
                        help="what to fit per hour band of arrival: patience,handle (default) "
                             "or a part of it, or none; handle-hour in place of handle fits "
                             "handle time per hour of day")
    parser.add_argument("--recorded-service", action="store_true",
                        help="with --arrivals replay: answered calls keep their recorded talk time")
    parser.add_argument("--patience-queue", action="store_true",
                        help="patience that shrinks with the queue a caller finds, fitted per "
                             "type where the calibration days show it (in place of the type's "
                             "patience fits)")
    parser.add_argument("--replications", type=int, default=5,
                        help="replications per day (default 5)")
    parser.add_argument("--seed", type=int, default=1, help="root seed (day d uses seed + d)")
    add_away_after_option(parser)
    parser.add_argument("--staffing-interval", default="15min", metavar="DURATION",
                        help="staffing of a simulated day changes this often (default 15min; "
                             "whole minutes dividing an hour): finer follows the log's agents "
                             "more closely and costs more CPU and memory")
    add_limit_options(parser)
    parser.add_argument("--report", metavar="DIR",
                        help="write DIR/index.html (a self-contained page) and a PNG of "
                             "actual vs simulated")
    parser.add_argument("--json", metavar="PATH", help="write the comparison as JSON")
    parser.add_argument("--inputs", action="store_true",
                        help="also print, per busy hour, what the log shows, the scenario "
                             "assumes and the simulation realises (calls, talk time, "
                             "patience, agents busy and on duty) and how long callers "
                             "waited, log against simulation (always in --json and --report)")
    parser.add_argument("--decompose", action="store_true",
                        help="rerun the check once per assumption the log can replace or "
                             "question (talk times, arrivals, staffing, hour bands, "
                             "--away-after) and show what each costs")
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    parser.set_defaults(handler=_cmd_reality)


def _cmd_reality(args: Any) -> int:
    at_least("--seed", args.seed, 0)
    if args.report:
        check_output_folder(args.report, "--report")
    if args.json:
        check_output_file(args.json, "--json")
    if args.holdout_from is not None:
        at_least("--holdout-from", args.holdout_from, 2)
    by_band = [] if args.by_band.strip() == "none" else [
        part.strip() for part in args.by_band.split(",") if part.strip()]
    log = read_log(args.log, args.mapping, limit=limits_for(args.no_limits).call_log_bytes)
    options: dict[str, Any] = {
        "days": args.days, "replications": args.replications, "seed": args.seed,
        "arrivals": args.arrivals, "staffing": args.staffing,
        "holdout_from": args.holdout_from, "by_band": by_band,
        "forecast_method": args.forecast, "recorded_service": args.recorded_service,
        "patience_queue": args.patience_queue,
        "away_after": parse_flag("--away-after", parse_duration, args.away_after),
        "staffing_interval": parse_flag("--staffing-interval", parse_duration,
                                        args.staffing_interval)}
    check = reality_check(log, **options)
    if args.decompose:
        from sim.analysis.reality_decompose import decompose

        check.decomposition = decompose(
            log, {**options, "arrivals": check.arrivals, "staffing": check.staffing}, check)
    # Files first: a reader of stdout that stops early (| head) must not cost them.
    written = [check.plot(args.report), check.write_page(args.report)] if args.report else []
    if args.json:
        write_atomic(args.json, json.dumps(check.to_json(), indent=2) + "\n")
        written.append(Path(args.json))
    print(check.format_text())
    if args.inputs and check.inputs is not None:
        print(check.inputs.format_text(BUSY_PER_DAY * len(check.days)))
        print(check.inputs.waits_text())
    for path in written:
        print(f"wrote {path}")
    return 0
