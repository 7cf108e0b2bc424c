"""A self-contained HTML report of a policy comparison: ``write_report(results, DIR)``.

``DIR/index.html`` is one file: figures are embedded as SVG data URIs, styles
are inline and there is no script, so it opens from a file share or an e-mail
attachment with no network. The figures are also written beside it as
``DIR/figures/*.svg`` and ``*.png`` for slides.
"""

from __future__ import annotations

import base64
import html
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from matplotlib.figure import Figure

from sim.files import write_atomic
from sim.runner import RunResults
from sim.model.scenario import Scenario
from sim.model.units import format_duration

from . import plots
from .compare import (
    FORMATS,
    Comparison,
    breakdown_keys,
    compare,
    format_difference,
    format_estimate,
    is_significant,
    legend,
)

FIGURE_METRICS = ("service_level", "asa_s", "abandon_rate", "mean_wait_s", "wait_p90_s",
                  "occupancy", "aht_s", "mean_queue_length", "verify_cost",
                  "genuine_refused_rate", "fraud_loss_per_contact")
"""Metrics of the comparison figure (those the results have), unless the caller picks."""

DEFINITIONS: dict[str, str] = {
    "offered": "Contacts that entered the queue or were served at once: arrivals after "
               "warm-up minus blocked ones (and, with an identity block, minus those that "
               "ended in the IVR or were still in it at the end).",
    "answered": "Offered contacts whose service started (including those still in service "
                "at the end).",
    "abandoned": "Contacts that left the queue when their patience ran out "
                 "(short abandons included).",
    "short_abandons": "Abandoned after waiting no longer than the short-abandon threshold "
                      "({short}); counted in abandoned as well.",
    "blocked": "Arrivals turned away because the waiting room was full.",
    "service_level": "SL({threshold}) = answered within {threshold} / (answered + abandoned "
                     "after {threshold}). Abandons within {threshold} are left out of both "
                     "terms, as are contacts still waiting at the end.",
    "asa_s": "Average speed of answer: mean wait of answered contacts, zero waits included.",
    "mean_wait_s": "Mean wait (all): total time in queue of answered and abandoned contacts "
                   "divided by their number.",
    "wait_p50_s": "Median wait of answered contacts, from a histogram exact to 0.25 s below "
                  "one minute and 1% above.",
    "wait_p90_s": "90th percentile of the wait of answered contacts (same histogram).",
    "wait_p99_s": "99th percentile of the wait of answered contacts (same histogram).",
    "abandon_rate": "Abandoned / offered, short abandons included.",
    "p_wait": "Share of offered contacts that had to queue (no agent took them on arrival).",
    "aht_s": "Average handle time: talk and hold plus wrap-up (plus identity verification "
             "time at the agent, when modelled) per handled contact.",
    "occupancy": "Busy time / (busy time + available idle time) of logged-in agents; busy "
                 "includes wrap-up.",
    "utilisation": "Busy time / logged-in time. Equal to occupancy until the model has "
                   "not-ready states (breaks, training).",
    "mean_queue_length": "Time average of the number of waiting contacts over the measured "
                         "window.",
    "arrivals": "Contacts that arrived after warm-up.",
    "handled": "Counted contacts whose service (talk and wrap-up) finished before the end.",
    "in_queue_at_end": "Contacts still waiting when the run stopped.",
    "agents_logged_in": "Average number of agents on duty.",
    "measured_hours": "Length of the measured window (duration minus warm-up).",
    "self_service_rate": "Share of arrivals that finished in the IVR (self-service).",
    "passive_identified": "Share of arrivals identified passively (number, device and "
                          "carrier) before the answer.",
    "asked_rate": "Share of contacts whose verification concluded that were asked to verify "
                  "actively (questions, passcode, voice print).",
    "verify_ivr_s": "Seconds spent verifying identity in the IVR, per arrival.",
    "verify_agent_s": "Agent seconds spent verifying identity, per handled contact (part "
                      "of AHT).",
    "aht_without_verify_s": "AHT with the agent's verification time taken out.",
    "verify_cost": "Money spent on verification (agent time at the scenario's agent cost "
                   "per hour and the methods' own costs), per arrival.",
    "genuine_refused": "Genuine customers who failed verification (false rejects).",
    "genuine_refused_rate": "Genuine customers refused / genuine customers whose "
                            "verification concluded.",
    "fraud_attempts": "Contacts made by fraudsters.",
    "fraud_caught": "Fraud attempts refused by verification.",
    "fraud_let_through": "Fraud attempts that passed verification.",
    "fraud_loss": "Money lost to fraud that passed verification.",
    "fraud_loss_per_contact": "Fraud loss per arrival.",
    "flags_raised": "Contacts flagged for extra verification (a number new for the "
                    "customer, behaviour unlike the customer's pattern).",
    "flag_precision": "Share of flagged contacts that were fraud attempts.",
    "genuine": "Contacts from known genuine customers.",
    "prospects": "Contacts from callers who are not customers yet.",
    "self_service": "Contacts that finished in the IVR.",
    "refused_in_ivr": "Contacts refused in the IVR by verification.",
    "in_ivr_at_end": "Contacts still in the IVR when the run stopped.",
}
"""What each metric means (shared/domain.md §3 and sim/kernel/metrics.py), shown in the report."""


@dataclass(frozen=True)
class ReportFigure:
    """One figure of the report: file stem, heading, caption and the matplotlib figure."""

    stem: str
    heading: str
    caption: str
    figure: Figure


def wait_histograms(results: RunResults) -> dict[str, list[int]] | None:
    """Wait histograms of answered contacts per label, summed over replications, or
    ``None`` when the results carry none (e.g. results loaded from older JSON).

    Reads ``ReplicationResult.wait_histogram`` (one count per bin of the
    ``sim.metrics`` histogram, overall).
    """
    out: dict[str, list[int]] = {}
    for label, reps in results.runs.items():
        histograms = [rep.wait_histogram for rep in reps]
        if not histograms or any(not h for h in histograms):
            return None
        out[label] = [sum(column) for column in zip(*histograms)]  # type: ignore[misc]
    return out


def report_figures(results: RunResults, comparison: Comparison) -> list[ReportFigure]:
    """The report's figures for ``results``; ``comparison`` picks the metrics panels."""
    threshold = results.scenario.service_level.threshold
    summary = results.summary()
    shown = [name for name in FIGURE_METRICS if any(row.info.name == name
                                                    for row in comparison.rows)]
    panels = Comparison(comparison.scenario, comparison.seed, comparison.replications,
                        comparison.labels,
                        [row for row in comparison.rows if row.info.name in shown]
                        or comparison.rows)
    figures = [ReportFigure(
        "metrics", "Metrics per policy",
        "Mean over replications with its 95% confidence interval. A policy marked "
        "(better) or (worse) differs significantly from the baseline in the paired "
        "comparison, which is more precise than comparing these intervals by eye.",
        plots.plot_metric_comparison(panels))]
    histograms = wait_histograms(results)
    if histograms is not None:
        figures.append(ReportFigure(
            "wait_cdf", "Wait-time distribution",
            "Share of answered contacts answered within a given wait, all replications "
            "pooled; the grey line is the service-level threshold.",
            plots.plot_wait_cdf(histograms, threshold)))
    else:
        figures.append(ReportFigure(
            "wait_percentiles", "Wait-time distribution",
            "The 50th, 90th and 99th percentiles of the wait of answered contacts: three "
            "points of the wait-time CDF, each with its 95% CI over replications. (The "
            "full CDF needs the engine's wait histogram, which this version does not "
            "export.)",
            plots.plot_wait_percentiles(summary, threshold)))
    by_interval = results.summary("by_interval")
    if sum(len(keys) for keys in by_interval.values()) > len(by_interval):
        figures.append(ReportFigure(
            "service_by_interval", "Service level and abandonment by interval of the day",
            "Each point is an interval of the day (its start time), contacts attributed to "
            "the interval in which they arrived; shaded bands are 95% CIs (drawn within "
            "0-100%).",
            plots.plot_by_interval(by_interval, ["service_level", "abandon_rate"],
                                   "Service level and abandonment by interval of the day")))
        figures.append(ReportFigure(
            "load_by_interval", "Load, occupancy and waiting by interval of the day",
            "Offered contacts, agent occupancy and mean wait (all contacts) per interval of "
            "the day, with 95% bands. The engine reports the queue length only as a "
            "time average over the whole run, so the mean wait stands for congestion here.",
            plots.plot_by_interval(by_interval, ["offered", "occupancy", "mean_wait_s"],
                                   "Load, occupancy and waiting by interval of the day")))
    verification = plots.plot_verification(summary)
    if verification is not None:
        figures.append(ReportFigure(
            "verification", "Identity verification cost breakdown",
            "Verification time in the IVR (per contact) and with the agent (per handled "
            "contact); money per contact spent on verification and lost to fraud, stacked; "
            "fraud caught, fraud let through and genuine customers refused per replication. "
            "Whiskers are 95% CIs.",
            verification))
    return figures


def write_report(
    results: RunResults,
    directory: str | Path,
    *,
    metrics: Sequence[str] | None = None,
    command: str | None = None,
) -> Path:
    """Write ``DIRECTORY/index.html`` (self-contained) and ``DIRECTORY/figures/*.svg|png``.

    The first label of ``results`` is the baseline of every difference;
    ``metrics`` picks the table rows (default: the usual table); ``command`` is
    shown as the way to reproduce the run. Returns the path of ``index.html``.
    """
    directory = Path(directory)
    if directory.exists() and not directory.is_dir():
        raise ValueError(f"{directory}: is a file; allowed: a folder for the report")
    overall = compare(results, metrics)
    breakdowns = []
    if len(results.scenario.contact_types) > 1:
        breakdowns = [compare(results, metrics, scope="by_type", key=key)
                      for key in breakdown_keys(results, "by_type")]
    figures = report_figures(results, overall)
    embedded = []
    for item in figures:
        plots.save_figure(item.figure, directory / "figures", item.stem)
        embedded.append((item, plots.render(item.figure, "svg")))
    page = _page(results.scenario, overall, breakdowns, embedded, command)
    index = directory / "index.html"
    write_atomic(index, page)
    return index


# ----------------------------------------------------------------------------- HTML
_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#1a1a1a;
background:#fff;line-height:1.45}
main{max-width:1100px;margin:0 auto;padding:24px}
h1{font-size:1.6em;margin:0 0 4px}h2{margin-top:2em;border-bottom:1px solid #ddd;padding-bottom:4px}
.meta{color:#555;font-size:.9em}
table{border-collapse:collapse;margin:8px 0 16px;font-size:.92em}
th,td{padding:4px 10px;border-bottom:1px solid #e3e3e3;text-align:right;white-space:nowrap}
th:first-child,td:first-child{text-align:left}
thead th{background:#f3f3f3}
td.better{background:#d6e9f7;font-weight:600}td.worse{background:#fbe3c8;font-weight:600}
td.significant{font-weight:600}
figure{margin:16px 0 32px}figure img{width:100%;height:auto;border:1px solid #eee}
figcaption{color:#444;font-size:.9em;margin-top:4px}
dt{font-weight:600;margin-top:6px}dd{margin-left:1.5em}
code{background:#f3f3f3;padding:1px 4px;border-radius:3px}
.scroll{overflow-x:auto}
"""


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _table(header: Sequence[str], rows: Sequence[Sequence[tuple[str, str]]]) -> str:
    """A table from header texts and ``(text, css class)`` cells."""
    head = "".join(f"<th>{_e(h)}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(f'<td class="{cls}">{_e(text)}</td>' if cls else f"<td>{_e(text)}</td>"
                         for text, cls in row) + "</tr>"
        for row in rows)
    return f'<div class="scroll"><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>'


def _comparison_table(comparison: Comparison) -> str:
    others = comparison.labels[1:]
    header = ["Metric", *comparison.labels,
              *(f"Δ {label} − {comparison.baseline} [95% CI]" for label in others)]
    rows = []
    for row in comparison.rows:
        cells = [(row.info.label, "")]
        cells += [(format_estimate(row.estimates[label], row.info), "")
                  for label in comparison.labels]
        for label in others:
            verdict = row.verdict(label)
            text = format_difference(row.differences[label], row.info)
            cells.append((f"{text} {verdict}" if verdict else text, verdict))
        rows.append(cells)
    return _table(header, rows)


def _findings(comparison: Comparison) -> str:
    """Plain-language summary: which metrics moved significantly, per label."""
    if comparison.replications < 2:
        return f"<p>{_e(legend(comparison))}</p>"
    items = []
    for label in comparison.labels[1:]:
        groups: dict[str, list[str]] = {"better": [], "worse": [], "significant": []}
        unchanged = []
        for row in comparison.rows:
            verdict = row.verdict(label)
            entry = f"{row.info.label} {format_difference(row.differences[label], row.info)}"
            if verdict:
                groups[verdict].append(entry)
            elif is_significant(row.differences[label]) is False:
                unchanged.append(row.info.label)
        parts = [f"<b>{title}:</b> {_e('; '.join(entries))}"
                 for title, entries in (("Better", groups["better"]), ("Worse", groups["worse"]),
                                        ("Changed", groups["significant"])) if entries]
        if unchanged:
            parts.append(f"<b>No significant difference:</b> {_e(', '.join(unchanged))}")
        items.append(f"<li><b>{_e(label)}</b> vs {_e(comparison.baseline)}: "
                     + ("<br>".join(parts) or "no defined differences") + "</li>")
    return "<ul>" + "".join(items) + "</ul>"


def _rate_text(rate: float | None, rates: Sequence[float] | None) -> str:
    if rate is not None:
        return f"{rate * 3600:,.0f}/h"
    assert rates is not None
    return (f"profile by interval: mean {sum(rates) / len(rates) * 3600:,.0f}/h, "
            f"peak {max(rates) * 3600:,.0f}/h")


def _scenario_section(scenario: Scenario) -> str:
    settings = scenario.run
    length = (format_duration(settings.duration) if settings.duration is not None
              else f"{settings.arrivals:,} arrivals")
    run_rows = [
        ("Run length", length), ("Warm-up", format_duration(settings.warmup)),
        ("Replications", str(settings.replications)), ("Seed", str(settings.seed)),
        ("Interval of the day", format_duration(settings.interval)),
        ("Service-level threshold T", format_duration(scenario.service_level.threshold)),
        ("Short abandon threshold", format_duration(scenario.service_level.short_abandon)),
        ("Waiting room", "unlimited" if scenario.waiting_room is None
         else f"{scenario.waiting_room.capacity} places"),
    ]
    types = [[(name, ""), (_rate_text(kind.arrivals.rate, kind.arrivals.rates), ""),
              (format_duration(kind.handle_time.mean), ""),
              ("never abandons" if kind.patience is None
               else format_duration(kind.patience.mean), ""),
              ("none" if kind.wrap_up is None else format_duration(kind.wrap_up.mean), "")]
             for name, kind in scenario.contact_types.items()]
    groups = []
    for name, group in scenario.agents.items():
        counts = [n for _, n in group.on_duty(settings.interval, settings.intervals_per_day)]
        on_duty = str(counts[0]) if min(counts) == max(counts) else \
            f"{min(counts)}–{max(counts)} over the day"
        groups.append([(name, ""), (on_duty, ""), (", ".join(group.skills), ""),
                       (f"{group.speed:g}", "")])
    description = f"<p>{_e(scenario.description)}</p>" if scenario.description else ""
    return (
        f"<h2>Scenario</h2>{description}"
        + _table(["Setting", "Value"], [[(k, ""), (v, "")] for k, v in run_rows])
        + "<h3>Contact types</h3>"
        + _table(["Type", "Arrivals", "Mean handle time", "Mean patience", "Mean wrap-up"],
                 types)
        + "<h3>Agent groups</h3>"
        + _table(["Group", "Agents on duty", "Skills", "Speed"], groups)
    )


def _definitions(comparison: Comparison, scenario: Scenario) -> str:
    values = {"threshold": format_duration(scenario.service_level.threshold),
              "short": format_duration(scenario.service_level.short_abandon)}
    entries = []
    for row in comparison.rows:
        text = DEFINITIONS.get(row.info.name, "Reported by the engine; no definition on file.")
        entries.append(f"<dt>{_e(row.info.label)} <code>{_e(row.info.name)}</code></dt>"
                       f"<dd>{_e(text.format(**values))}</dd>")
    return "<dl>" + "".join(entries) + "</dl>"


def _data_uri(mime: str, payload: bytes) -> str:
    return f"data:{mime};base64,{base64.b64encode(payload).decode('ascii')}"


def _version() -> str:
    try:
        return metadata.version("ccsim")
    except metadata.PackageNotFoundError:
        return "unknown"


def _page(scenario: Scenario, overall: Comparison, breakdowns: Sequence[Comparison],
          figures: Sequence[tuple[ReportFigure, bytes]], command: str | None) -> str:
    comparisons = [overall, *breakdowns]
    downloads = " · ".join(
        f'<a download="comparison.{ext}" href="{_data_uri(mime, FORMATS[fmt](comparisons).encode())}">'
        f"{label}</a>"
        for fmt, ext, mime, label in (("json", "json", "application/json", "JSON"),
                                      ("csv", "csv", "text/csv", "CSV")))
    breakdown_html = "".join(f"<h3>Contact type {_e(c.key)}</h3>{_comparison_table(c)}"
                             for c in breakdowns)
    figure_html = "".join(
        f'<figure id="fig-{item.stem}"><h3>{_e(item.heading)}</h3>'
        f'<img src="{_data_uri("image/svg+xml", svg)}" alt="{_e(item.heading)}">'
        f"<figcaption>{_e(item.caption)}</figcaption></figure>"
        for item, svg in figures)
    reproduce = f"<p class=\"meta\">Reproduce: <code>{_e(command)}</code></p>" if command else ""
    undefined = "" if overall.replications >= 2 else f"<p><b>{_e(legend(overall))}</b></p>"
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>ccsim comparison: {_e(scenario.name)}</title>
<style>{_CSS}</style>
</head>
<body>
<main>
<h1>Policy comparison: {_e(scenario.name)}</h1>
<p class="meta">{_e(" vs ".join(overall.labels))}; baseline {_e(overall.baseline)};
{overall.replications} replication{"s" if overall.replications != 1 else ""} on common random
numbers, seed {overall.seed}. ccsim {_e(_version())}.</p>
{reproduce}
{undefined}
<h2>Findings</h2>
{_findings(overall)}
{_scenario_section(scenario)}
<h2>Comparison</h2>
<p>{_e(legend(overall))}</p>
{_comparison_table(overall)}
{breakdown_html}
<p class="meta">Download the numbers: {downloads}</p>
<h2>Figures</h2>
{figure_html}
<h2>Metric definitions</h2>
<p>Every metric is computed per replication and summarised as the mean over replications
with a 95% Student-t confidence interval. The difference to the baseline is computed per
replication (each replication gives every policy the same arrivals, patience and work),
and its 95% interval is mean ± t(0.975, n−1)·s/√n of those paired differences; it is
significant when it excludes 0. Intervals are not clipped, so with few replications a
share's bound can pass 0% or 100%.</p>
{_definitions(overall, scenario)}
</main>
</body>
</html>
"""
