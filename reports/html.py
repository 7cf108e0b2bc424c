"""A self-contained HTML report of a policy comparison: ``write_report(results, DIR)``.

``DIR/index.html`` is one file: figures are embedded as SVG data URIs, styles
are inline and there is no script, so it opens from a file share or an e-mail
attachment with no network. The figures are also written beside it as
``DIR/figures/*.svg`` and ``*.png`` for slides, and ``DIR/interactive.html`` is
the same comparison with hover, zoom and policies to toggle (``reports.interactive``,
also one file with no network).

The page opens with the findings: every significant paired difference overall and per
contact type, tier, channel and interval, ranked by effect size (``reports.findings``),
because the point of a routing policy is often in one scope, not in the overall figures.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from matplotlib.figure import Figure

from sim.files import write_atomic
from sim.runner import Estimate, RunResults, metric_estimate
from sim.model.scenario import Scenario
from sim.model.units import DAY, format_duration

from sim.kernel.cells import sl_thresholds

from . import plots
from .compare import (
    FORMATS,
    Comparison,
    format_difference,
    format_estimate,
    is_significant,
    legend,
)
from .findings import (
    FINDING_SCOPES,
    SCOPE_NAMES,
    Finding,
    clock_time,
    rank_findings,
    scope_comparisons,
    scope_title,
)
from .page import data_uri, escape, figure_html, page, table, version

FIGURE_METRICS = ("service_level", "asa_s", "abandon_rate", "mean_wait_s", "wait_p90_s",
                  "occupancy", "aht_s", "mean_queue_length", "verify_cost",
                  "genuine_refused_rate", "fraud_loss_per_contact", "cost_per_contact",
                  "churned", "net_value")
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
    "ivr_entries": "Callers who entered the IVR menu (arrivals of its entry types).",
    "ivr_hang_up_rate": "Callers who hung up in the IVR menu / callers who entered it.",
    "ivr_self_service_rate": "Callers served by the IVR menu itself / callers who entered it.",
    "ivr_s_per_entry": "Caller seconds in the IVR menu per caller who entered it.",
    "ivr_minutes": "Caller minutes in the IVR menu, all callers together (priced per IVR "
                   "minute by a telecom cost).",
    "agent_cost": "On-duty agent hours times each group's rate per hour (per type and tier: "
                  "shared by handling time).",
    "telecom_cost": "Line minutes of billed contacts in the IVR, the queue and the talk, at "
                    "their rates per minute.",
    "dial_cost": "Call backs dialled and outbound attempts, at the cost per dial.",
    "verification_fees": "The verification methods' own fees (their agent time is in the "
                         "agent cost).",
    "total_cost": "Agent cost + telephony + dial cost + verification fees.",
    "cost_per_contact": "Total cost / (inbound arrivals + outbound attempts).",
    "revenue": "Outbound right-party contacts x conversion x sale value.",
    "churned": "Customers who left after a bad experience (long wait, abandonment, "
               "unresolved contact, genuine customer refused).",
    "value_lost": "Value of the customers who left (times the churn block's value share).",
    "net_value": "Revenue - total cost - fraud loss - value lost to churn.",
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


def wait_histograms_by_type(results: RunResults) -> dict[str, dict[str, list[int]]] | None:
    """``{type: {label: wait histogram}}`` summed over replications, leaving out labels
    that answered no contact of a type and types nobody answered (so possibly empty), or
    ``None`` when the results carry none (``ReplicationResult.wait_histogram_by_type``)."""
    out: dict[str, dict[str, list[int]]] = {}
    for label, reps in results.runs.items():
        if not reps or any(not rep.wait_histogram_by_type for rep in reps):
            return None
        for name in reps[0].wait_histogram_by_type:
            counts = [sum(column) for column in zip(
                *(rep.wait_histogram_by_type[name] for rep in reps))]
            if sum(counts):
                out.setdefault(name, {})[label] = counts
    return out


def group_interval_occupancy(
        results: RunResults) -> dict[str, dict[str, dict[str, Estimate]]] | None:
    """``{group: {label: {"HH:MM": occupancy Estimate over replications}}}``, or ``None``
    when the results carry no per-group intervals (``ReplicationResult.by_group_interval``)."""
    out: dict[str, dict[str, dict[str, Estimate]]] = {}
    for label, reps in results.runs.items():
        if not reps or any(not rep.by_group_interval for rep in reps):
            return None
        for group, per_interval in reps[0].by_group_interval.items():
            out.setdefault(group, {})[label] = {
                key: metric_estimate("occupancy", (rep.by_group_interval[group].get(
                    key, {}).get("occupancy", math.nan) for rep in reps))
                for key in per_interval}
    return out


DIFFERENCE_METRICS = ("service_level", "asa_s", "abandon_rate")
"""Metrics of the per-interval paired-difference figure."""
FINDINGS_SHOWN = 8
"""Findings listed at the top; the rest fold away under a summary line."""


@dataclass(frozen=True)
class ReportData:
    """Everything the static and the interactive page draw from one set of results."""

    results: RunResults
    overall: Comparison
    scopes: list[Comparison]
    """Overall, then every type, tier and channel with more than one key (not intervals)."""
    intervals: list[Comparison]
    findings: list[Finding]
    figure_metrics: list[str]

    @property
    def day_start(self) -> float:
        """Clock time of simulation time 0, seconds after midnight (``run.day_start``)."""
        return self.results.scenario.run.day_start


def report_data(results: RunResults, metrics: Sequence[str] | None = None) -> ReportData:
    """Compare ``results`` in every scope once, for both pages."""
    comparisons = scope_comparisons(results, metrics)
    overall = comparisons[0]
    metric_names = [row.info.name for row in overall.rows]
    shown = [name for name in FIGURE_METRICS if name in metric_names] or metric_names
    return ReportData(results, overall,
                      [c for c in comparisons if c.scope != "by_interval"],
                      [c for c in comparisons if c.scope == "by_interval"],
                      rank_findings(comparisons), shown)


def report_figures(results: RunResults, comparison: Comparison | None = None,
                   data: ReportData | None = None) -> list[ReportFigure]:
    """The report's figures for ``results`` (``comparison`` or ``data.figure_metrics`` pick
    the metrics of the forest plot)."""
    if data is None:
        data = report_data(results, None if comparison is None
                           else [row.info.name for row in comparison.rows])
    scenario = results.scenario
    threshold = scenario.service_level.threshold
    day_start = data.day_start
    figures = [ReportFigure(
        "differences", "Paired differences per metric and scope",
        f"Forest plot: each row is a scope (overall, then each contact type, tier or "
        f"channel), each point a policy's mean difference to {data.overall.baseline} per "
        "replication with its paired 95% interval. A filled marker is significant (the "
        "interval misses the zero line); an open one is not. Shares are in percentage "
        "points.",
        plots.plot_forest(data.scopes, data.figure_metrics, day_start))]
    if len(data.intervals) > 1 and len(data.overall.labels) > 1:
        metrics = [m for m in DIFFERENCE_METRICS if m in data.figure_metrics]
        if metrics:
            figures.append(ReportFigure(
                "differences_by_interval", "Paired differences by interval of the day",
                "Per interval of the day (clock time), each policy's paired difference to the "
                f"baseline with its 95% band; where the band leaves the zero line the "
                "difference in that interval is significant.",
                plots.plot_difference_by_interval(data.intervals, metrics, day_start)))
    summary = results.summary()
    histograms = wait_histograms(results)
    if histograms is not None:
        figures.append(ReportFigure(
            "wait_cdf", "Wait-time distribution",
            "Share of answered contacts answered within a given wait, all types and "
            "replications pooled; the grey line is the service-level threshold.",
            plots.plot_wait_cdf(histograms, threshold)))
    else:
        figures.append(ReportFigure(
            "wait_percentiles", "Wait-time distribution",
            "The 50th, 90th and 99th percentiles of the wait of answered contacts: three "
            "points of the wait-time CDF, each with its 95% CI over replications. (These "
            "results carry no wait histogram, e.g. they were loaded from JSON.)",
            plots.plot_wait_percentiles(summary, threshold)))
    by_type_histograms = wait_histograms_by_type(results)
    if len(scenario.contact_types) > 1 and by_type_histograms:
        figures.append(ReportFigure(
            "wait_by_type", "Wait-time distribution per contact type",
            "Each type's share of answered contacts answered within a given wait, "
            "replications pooled, beside the type's SL threshold (grey line).",
            plots.plot_wait_cdf_by_type(by_type_histograms, sl_thresholds(scenario))))
    elif len(scenario.contact_types) > 1:
        figures.append(ReportFigure(
            "wait_by_type", "Wait-time distribution per contact type",
            "The 50th, 90th and 99th percentiles of each type's wait of answered contacts "
            "(three points of its CDF) with 95% CIs, beside the type's SL threshold. (These "
            "results carry no per-type wait histogram, e.g. they were loaded from JSON.)",
            plots.plot_wait_by_type(results.summary("by_type"), sl_thresholds(scenario))))
    by_interval = results.summary("by_interval")
    if sum(len(keys) for keys in by_interval.values()) > len(by_interval):
        figures.append(ReportFigure(
            "service_by_interval", "Service level and abandonment by interval of the day",
            "Each point is an interval of the day at its clock start time, contacts "
            "attributed to the interval in which they arrived; bands are 95% CIs (drawn "
            "within 0-100%).",
            plots.plot_by_interval(by_interval, ["service_level", "abandon_rate"],
                                   "Service level and abandonment by interval of the day",
                                   day_start)))
        figures.append(ReportFigure(
            "load_by_interval", "Load, occupancy and waiting by interval of the day",
            "Offered contacts, agent occupancy and mean wait (all contacts) per interval of "
            "the day, with 95% bands. The engine reports the queue length only as a "
            "time average over the whole run, so the mean wait stands for congestion here.",
            plots.plot_by_interval(by_interval, ["offered", "occupancy", "mean_wait_s"],
                                   "Load, occupancy and waiting by interval of the day",
                                   day_start)))
        per_group = group_interval_occupancy(results) or {"all groups": {
            label: {k: f["occupancy"] for k, f in per_key.items() if "occupancy" in f}
            for label, per_key in by_interval.items()}}
        figures.append(ReportFigure(
            "staffing", "Staffing and occupancy per group",
            "Agents on duty per group as the scenario staffs them over the measured window; "
            "each group's occupancy per interval of the day and over the run, with 95% "
            "CIs.",
            plots.plot_staffing(staffing_series(results), per_group,
                                {label: {g: f["occupancy"] for g, f in per_group.items()
                                         if "occupancy" in f}
                                 for label, per_group in results.summary("by_group").items()},
                                day_start)))
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


def staffing_series(results: RunResults) -> dict[str, tuple[list[float], list[int]]]:
    """Agents on duty per group over the measured window as stairs: ``(edges, counts)`` with
    edges in seconds of simulation time and one count between each pair of edges."""
    scenario = results.scenario
    settings = scenario.run
    begin, end = measured_window(results)
    series = {}
    for name, group in scenario.agents.items():
        # One day's steps, or each day's of the 7-day cycle when the weekdays differ.
        days = [sorted(steps) for steps in group.run_days_on_duty(
            settings.interval, settings.intervals_per_day, settings.start_weekday)]
        steps = days[int(begin // DAY) % len(days)]
        # The count in force when the window opens, then every change inside it.
        before = [count for time, count in steps if time <= begin % DAY]
        edges, counts = [begin], [before[-1] if before else steps[-1][1]]
        for day in range(int(begin // DAY), int(end // DAY) + 1):
            for time, count in days[day % len(days)]:
                if begin < day * DAY + time < end:
                    edges.append(day * DAY + time)
                    counts.append(count)
        series[name] = ([*edges, end], counts)
    return series


def measured_window(results: RunResults) -> tuple[float, float]:
    """Simulation time from the end of the warm-up to the end of the run (a run of a number
    of arrivals: as long as its longest replication's measured hours)."""
    settings = results.scenario.run
    hours = max((rep.overall.get("measured_hours", 0.0) for reps in results.runs.values()
                 for rep in reps), default=0.0)
    end = settings.duration if settings.duration is not None else settings.warmup + hours * 3600
    return settings.warmup, max(end, settings.warmup + settings.interval)


def write_report(
    results: RunResults,
    directory: str | Path,
    *,
    metrics: Sequence[str] | None = None,
    command: str | None = None,
    interactive: bool = True,
) -> Path:
    """Write ``DIRECTORY/index.html`` (self-contained), ``DIRECTORY/figures/*.svg|png`` and,
    unless ``interactive`` is false, ``DIRECTORY/interactive.html``.

    The first label of ``results`` is the baseline of every difference;
    ``metrics`` picks the table rows (default: the usual table); ``command`` is
    shown as the way to reproduce the run. Returns the path of ``index.html``.
    """
    directory = Path(directory)
    if directory.exists() and not directory.is_dir():
        raise ValueError(f"{directory}: is a file; allowed: a folder for the report")
    data = report_data(results, metrics)
    embedded = []
    for item in report_figures(results, data=data):
        plots.save_figure(item.figure, directory / "figures", item.stem)
        embedded.append((item, plots.render(item.figure, "svg")))
    if interactive:
        from .interactive import write_interactive

        write_interactive(data, directory / "interactive.html", command)
    index = directory / "index.html"
    write_atomic(index, _page(data, embedded, command, interactive))
    return index


# ----------------------------------------------------------------------------- HTML
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
    return table(header, rows)


def findings_html(data: ReportData) -> str:
    """The ranked findings as a numbered list (the first ``FINDINGS_SHOWN`` open, the rest
    folded), then per label the overall metrics with no significant difference."""
    overall = data.overall
    if overall.replications < 2:
        return f"<p>{escape(legend(overall))}</p>"

    def item(finding: Finding) -> str:
        return (f'<li class="{finding.verdict}"><span class="where">'
                f"{escape(finding.where(data.day_start))}</span>: "
                f"{escape(finding.row.info.label)} "
                f"{escape(format_difference(finding.difference, finding.row.info))} "
                f"<b>{finding.verdict}</b> <span class=\"effect\">({escape(finding.label)} vs "
                f"{escape(finding.baseline)}; {finding.effect:.0%} relative change)</span></li>")

    found = data.findings
    present = {c.scope for c in [*data.scopes, *data.intervals]}
    scopes = [SCOPE_NAMES[s].lower() + ("" if s == "overall" else "s")
              for s in FINDING_SCOPES if s in present]
    parts = [f"<p>Every difference to {escape(overall.baseline)} whose paired 95% interval "
             f"excludes 0 (scopes searched: {escape(', '.join(scopes))}), ranked by effect "
             "size: the change as a share of the larger of the two means.</p>"]
    if found:
        parts.append('<ol class="findings" id="findings">'
                     + "".join(item(f) for f in found[:FINDINGS_SHOWN]) + "</ol>")
        if len(found) > FINDINGS_SHOWN:
            parts.append(f"<details><summary>{len(found) - FINDINGS_SHOWN} more "
                         f'findings</summary><ol class="findings" start="{FINDINGS_SHOWN + 1}">'
                         + "".join(item(f) for f in found[FINDINGS_SHOWN:]) + "</ol></details>")
    else:
        parts.append("<p>No significant difference in any scope.</p>")
    for label in overall.labels[1:]:
        unchanged = [row.info.label for row in overall.rows
                     if is_significant(row.differences[label]) is False]
        if unchanged:
            parts.append(f"<p><b>{escape(label)}, overall, no significant difference:</b> "
                         f"{escape(', '.join(unchanged))}</p>")
    return "".join(parts)


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
        ("Run length", length), ("Day starts at", clock_time("00:00", settings.day_start)),
        ("Warm-up", format_duration(settings.warmup)),
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
        days = group.run_days_on_duty(settings.interval, settings.intervals_per_day)
        counts = [n for steps in days for _, n in steps]
        on_duty = str(counts[0]) if min(counts) == max(counts) else \
            f"{min(counts)}–{max(counts)} over the {'day' if len(days) == 1 else 'week'}"
        groups.append([(name, ""), (on_duty, ""), (", ".join(group.skills), ""),
                       (f"{group.speed:g}" if isinstance(group.speed, float) else
                        f"{group.speed.dist} per agent, mean {group.speed.mean:.3g}", "")])
    description = f"<p>{escape(scenario.description)}</p>" if scenario.description else ""
    return (
        f"<h2>Scenario</h2>{description}"
        + table(["Setting", "Value"], [[(k, ""), (v, "")] for k, v in run_rows])
        + "<h3>Contact types</h3>"
        + table(["Type", "Arrivals", "Mean handle time", "Mean patience", "Mean wrap-up"],
                 types)
        + "<h3>Agent groups</h3>"
        + table(["Group", "Agents on duty", "Skills", "Speed"], groups)
    )


def _definitions(comparison: Comparison, scenario: Scenario) -> str:
    values = {"threshold": format_duration(scenario.service_level.threshold),
              "short": format_duration(scenario.service_level.short_abandon)}
    entries = []
    for row in comparison.rows:
        text = DEFINITIONS.get(row.info.name, "Reported by the engine; no definition on file.")
        entries.append(f"<dt>{escape(row.info.label)} <code>{escape(row.info.name)}</code></dt>"
                       f"<dd>{escape(text.format(**values))}</dd>")
    return "<dl>" + "".join(entries) + "</dl>"


def _page(data: ReportData, figures: Sequence[tuple[ReportFigure, bytes]],
          command: str | None, interactive: bool) -> str:
    scenario, overall = data.results.scenario, data.overall
    comparisons = [*data.scopes, *data.intervals]
    downloads = " · ".join(
        f'<a download="comparison.{ext}" href="{data_uri(mime, FORMATS[fmt](comparisons).encode())}">'
        f"{label}</a>"
        for fmt, ext, mime, label in (("json", "json", "application/json", "JSON"),
                                      ("csv", "csv", "text/csv", "CSV")))
    breakdown_html = "".join(
        f"<h3>{escape(scope_title(c.scope, c.key, data.day_start).replace('Type', 'Contact type', 1))}"
        f"</h3>{_comparison_table(c)}" for c in data.scopes[1:])
    figures_html = "".join(figure_html(item.stem, item.heading, item.caption, svg)
                           for item, svg in figures)
    reproduce = (f'<p class="meta">Reproduce: <code>{escape(command)}</code></p>'
                 if command else "")
    views = ('<nav class="views">Interactive version (hover, zoom, show or hide policies; '
             'one file, no network): <a href="interactive.html">interactive.html</a></nav>'
             if interactive else "")
    undefined = "" if overall.replications >= 2 else f"<p><b>{escape(legend(overall))}</b></p>"
    body = f"""<h1>Policy comparison: {escape(scenario.name)}</h1>
<p class="meta">{escape(" vs ".join(overall.labels))}; baseline {escape(overall.baseline)};
{overall.replications} replication{"s" if overall.replications != 1 else ""} on common random
numbers, seed {overall.seed}. ccsim {escape(version())}.</p>
{reproduce}
{views}
{undefined}
<h2>Findings</h2>
{findings_html(data)}
{_scenario_section(scenario)}
<h2>Comparison</h2>
<p>{escape(legend(overall))}</p>
{_comparison_table(overall)}
{breakdown_html}
<p class="meta">Download the numbers (every scope, intervals included): {downloads}</p>
<h2>Figures</h2>
{figures_html}
<h2>Metric definitions</h2>
<p>Every metric is computed per replication and summarised as the mean over replications
with a 95% Student-t confidence interval. The difference to the baseline is computed per
replication (each replication gives every policy the same arrivals, patience and work),
and its 95% interval is mean ± t(0.975, n−1)·s/√n of those paired differences; it is
significant when it excludes 0. Intervals are not clipped, so with few replications a
share's bound can pass 0% or 100%.</p>
{_definitions(overall, scenario)}"""
    return page(f"ccsim comparison: {scenario.name}", body)
