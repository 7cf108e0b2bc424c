"""Paired comparison of policies run on common random numbers.

Replication ``r`` of every label (a policy, or later ``policy/verification``)
sees the same contacts, so the difference ``label − baseline`` is taken per
replication and its 95% Student-t interval is computed from those paired
differences. That interval is much narrower than two separate CIs suggest,
because the shared arrival noise cancels. A difference is *significant* when
its interval excludes 0; with fewer than two replications it is undefined.

    from reports.compare import compare, to_text
    comparison = compare(results)                  # overall metrics, first label is the baseline
    print(to_text([comparison]))
"""

from __future__ import annotations

import csv
import difflib
import io
import json
import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sim.kernel.cells import ReplicationResult
from sim.kernel.metrics import OVERALL_METRICS
from sim.runner import SCOPES, Estimate, RunResults, estimate, metric_estimate, scope_attribute

BREAKDOWN_SCOPES = SCOPES[1:]
"""Every breakdown a run produces: ``by_type``, ``by_group``, ``by_interval``, ``by_tier``,
``by_channel``, ``by_campaign``, ``by_agent`` (``ccsim compare --by type`` ... names them
without ``by_``; ``by_agent`` only for a run with ``per_agent=True``)."""


@dataclass(frozen=True)
class MetricInfo:
    """How a metric is named and shown, and which direction is an improvement."""

    name: str
    label: str
    fmt: str
    better: int
    """+1 when higher is better, -1 when lower is better, 0 when neither (e.g. occupancy)."""

    @property
    def is_share(self) -> bool:
        """A share shown in percent; its differences are shown in percentage points."""
        return "%" in self.fmt


def _info(name: str, label: str, fmt: str, better: int) -> tuple[str, MetricInfo]:
    return name, MetricInfo(name, label, fmt, better)


COUNT, SMALL_COUNT, SECONDS, SHARE = "{:,.0f}", "{:,.1f}", "{:.1f}", "{:.1%}"

METRICS: dict[str, MetricInfo] = dict([
    _info("offered", "Offered", COUNT, 0),
    _info("answered", "Answered", COUNT, 1),
    _info("abandoned", "Abandoned", COUNT, -1),
    _info("short_abandons", "Short abandons", COUNT, 0),
    _info("blocked", "Blocked", COUNT, -1),
    _info("service_level", "Service level", SHARE, 1),
    _info("asa_s", "ASA (s)", SECONDS, -1),
    _info("mean_wait_s", "Mean wait, all (s)", SECONDS, -1),
    _info("wait_p90_s", "Wait p90, answered (s)", SECONDS, -1),
    _info("abandon_rate", "Abandonment rate", "{:.2%}", -1),
    _info("p_wait", "P(wait)", SHARE, -1),
    _info("aht_s", "AHT (s)", SECONDS, -1),
    _info("occupancy", "Occupancy", SHARE, 0),
    _info("utilisation", "Utilisation", SHARE, 0),
    _info("mean_queue_length", "Mean queue length", "{:.2f}", -1),
    # Matching, outcomes and mobile agents (present when the scenario has them).
    _info("fcr", "First-contact resolution", SHARE, 1),
    _info("repeat_contacts", "Repeat contacts", COUNT, -1),
    _info("match_hit_rate", "Match hit rate", SHARE, 1),
    _info("ring_offers", "Rings to mobile agents", COUNT, 0),
    _info("direct_reach_rate", "Direct reach (rings answered)", SHARE, 1),
    _info("fallback_rate", "Fallback to the center", SHARE, -1),
    # Identity and verification (present when the scenario has an ``identity:`` block);
    # definitions in sim/kernel/metrics.py ``IdentityCell.figures``.
    _info("self_service_rate", "Finished in IVR (self-service)", SHARE, 1),
    _info("passive_identified", "Passively identified", SHARE, 1),
    _info("asked_rate", "Asked to verify actively", SHARE, -1),
    _info("verify_ivr_s", "Verification in IVR (s/contact)", SECONDS, -1),
    _info("verify_agent_s", "Verification with agent (s/handled)", SECONDS, -1),
    _info("aht_without_verify_s", "AHT without verification (s)", SECONDS, 0),
    _info("verify_cost", "Verification cost ($/contact)", "{:,.3f}", -1),
    _info("genuine_refused", "Genuine customers refused", SMALL_COUNT, -1),
    _info("genuine_refused_rate", "Genuine refused (share of verified)", "{:.2%}", -1),
    _info("fraud_attempts", "Fraud attempts", SMALL_COUNT, 0),
    _info("fraud_caught", "Fraud caught", SMALL_COUNT, 1),
    _info("fraud_let_through", "Fraud let through", SMALL_COUNT, -1),
    _info("fraud_loss", "Fraud loss ($)", COUNT, -1),
    _info("fraud_loss_per_contact", "Fraud loss ($/contact)", "{:,.3f}", -1),
    _info("flags_raised", "Contacts flagged", COUNT, 0),
    _info("flag_precision", "Flag precision (fraud/flagged)", "{:.2%}", 1),
    # Channels, retrials, callbacks, journeys and outbound (when the scenario has them).
    _info("needs", "Customer needs (first contacts)", COUNT, 0),
    _info("unique_customers", "Unique customers", COUNT, 0),
    _info("retrials", "Retrials", COUNT, -1),
    _info("customer_abandon_rate", "Abandonment per customer need", "{:.2%}", -1),
    _info("callbacks_offered", "Callbacks offered", COUNT, 0),
    _info("callbacks_accepted", "Callbacks accepted", COUNT, 0),
    _info("callbacks_completed", "Callbacks completed", COUNT, 1),
    _info("callback_reach_rate", "Callback right-party reach", SHARE, 1),
    _info("cross_channel_contacts", "Cross-channel contacts", COUNT, 0),
    _info("cross_channel_recognised", "Cross-channel recognised", SHARE, 1),
    _info("outbound_attempts", "Outbound attempts", COUNT, 0),
    _info("outbound_reached", "Outbound right-party contacts", COUNT, 1),
    _info("outbound_hit_rate", "Outbound hit rate", SHARE, 1),
    _info("outbound_attempts_per_contact", "Attempts per right-party contact", "{:.2f}", -1),
    _info("outbound_agent_hours", "Agent hours on outbound", SMALL_COUNT, 0),
    _info("outbound_agent_share", "Outbound share of agent time", SHARE, 0),
    # Needs (docs/needs.md): served by their call or by outreach first.
    _info("needs_arisen", "Needs arisen", COUNT, 0),
    _info("needs_served_outreach", "Needs served by outreach first", COUNT, 1),
    _info("needs_outreach_share", "Share of needs served by outreach", SHARE, 1),
    _info("needs_calls_avoided", "Calls avoided by outreach", COUNT, 1),
    # Shrinkage (when some group has breaks, meetings, absenteeism or aux time).
    _info("scheduled_agent_hours", "Scheduled agent-hours", SMALL_COUNT, 0),
    _info("productive_agent_hours", "Productive agent-hours", SMALL_COUNT, 0),
    _info("shrinkage", "Shrinkage realised", SHARE, -1),
    _info("break_adherence", "Breaks started in window", SHARE, 1),
    _info("break_lateness_s", "Break lateness (s)", SECONDS, -1),
    # Transfers (when some contact type has a transfer block; sim/stages/transfers.py).
    _info("transfers", "Legs by transfer", COUNT, 0),
    _info("transfer_rate", "Transfer rate (contacts)", SHARE, 0),
    _info("legs_per_contact", "Legs per contact", "{:.3f}", -1),
    _info("agent_time_per_contact_s", "Agent time per contact, all legs (s)", SECONDS, -1),
    _info("chain_fcr", "Resolved at the last leg (FCR)", SHARE, 1),
    _info("hold_between_legs_s", "Caller on hold between legs (s)", SECONDS, -1),
    _info("lost_between_legs", "Callers lost between legs", SMALL_COUNT, -1),
    # Money and churn (when the scenario has a costs or churn block).
    _info("agent_cost", "Agent cost ($)", COUNT, -1),
    _info("telecom_cost", "Telephony cost ($)", COUNT, -1),
    _info("dial_cost", "Dial cost ($)", COUNT, -1),
    _info("verification_fees", "Verification fees ($)", COUNT, -1),
    _info("total_cost", "Total cost ($)", COUNT, -1),
    _info("cost_per_contact", "Cost per contact ($)", "{:,.2f}", -1),
    _info("revenue", "Revenue ($)", COUNT, 1),
    _info("churned", "Customers churned", SMALL_COUNT, -1),
    _info("value_lost", "Value lost to churn ($)", COUNT, -1),
    _info("net_value", "Net value ($)", COUNT, 1),
    # Shown only when asked for with --metric.
    _info("arrivals", "Arrivals", COUNT, 0),
    _info("handled", "Handled", COUNT, 0),
    _info("in_queue_at_end", "In queue at end", COUNT, 0),
    _info("wait_p50_s", "Wait p50, answered (s)", SECONDS, -1),
    _info("wait_p99_s", "Wait p99, answered (s)", SECONDS, -1),
    _info("agents_logged_in", "Agents logged in (mean)", "{:.1f}", 0),
    _info("agent_hours", "Agent-hours", SMALL_COUNT, 0),
    _info("measured_hours", "Measured hours", "{:.2f}", 0),
    _info("genuine", "Genuine customers", COUNT, 0),
    _info("prospects", "Prospects", COUNT, 0),
    _info("self_service", "Finished in IVR (contacts)", COUNT, 0),
    _info("refused_in_ivr", "Refused in IVR", SMALL_COUNT, 0),
    _info("in_ivr_at_end", "In IVR at end", SMALL_COUNT, 0),
    # The IVR menu (present when the scenario has an ``ivr:`` block; docs/ivr.md).
    _info("ivr_entries", "Callers in the IVR menu", COUNT, 0),
    _info("ivr_hang_up_rate", "Hung up in the IVR menu", SHARE, -1),
    _info("ivr_self_service_rate", "Self-served in the IVR menu", SHARE, 1),
    _info("ivr_s_per_entry", "IVR menu time (s/caller)", SECONDS, 0),
    _info("ivr_minutes", "IVR minutes", COUNT, 0),
])
"""Every metric ccsim reports, in the order planners read them."""

_ON_REQUEST = frozenset({"arrivals", "handled", "in_queue_at_end", "wait_p50_s", "wait_p99_s",
                         "agents_logged_in", "measured_hours", "genuine", "prospects",
                         "self_service", "refused_in_ivr", "in_ivr_at_end"})


def metric_info(name: str) -> MetricInfo:
    """Display information of ``name``; a metric the engine adds later gets a neutral default."""
    return METRICS.get(name) or MetricInfo(name, name, "{:,.4g}", 0)


EXAMPLE_METRICS = ("service_level", "abandon_rate", "asa_s", "occupancy")
"""Metric names an error about an unknown one shows when none is close to it."""


def check_metrics(names: Sequence[str]) -> list[str]:
    """``names`` without repeats, or a ``ValueError`` naming the first unknown one.

    The message shows the known names closest to it (else ``EXAMPLE_METRICS``), not all
    of them: the whole list would make a line of over 1,000 characters."""
    known = sorted(set(METRICS) | set(OVERALL_METRICS))
    for name in names:
        if name not in known:
            close = difflib.get_close_matches(name, known, n=3)
            shown = (f"the closest: {', '.join(close)}" if close
                     else f"e.g. {', '.join(EXAMPLE_METRICS)}")
            raise ValueError(f"unknown metric {name!r}; allowed: one of the {len(known)} "
                             "metrics of docs/scenarios.md, identity.md and omnichannel.md, "
                             f"{shown}")
    return list(dict.fromkeys(names))


@dataclass(frozen=True)
class MetricRow:
    """One metric: each label's estimate and each non-baseline label's paired difference."""

    info: MetricInfo
    estimates: dict[str, Estimate]
    differences: dict[str, Estimate]
    """``label − baseline`` per replication, for every label but the baseline."""

    def verdict(self, label: str) -> str:
        """``better``/``worse`` for a significant difference of a directed metric,
        ``significant`` for one without a direction, ``""`` otherwise."""
        significant = is_significant(self.differences[label])
        if not significant:
            return ""
        if self.info.better == 0:
            return "significant"
        return "better" if self.differences[label].mean * self.info.better > 0 else "worse"


@dataclass(frozen=True)
class Comparison:
    """Labels compared metric by metric against the first (baseline) label, in one scope."""

    scenario: str
    seed: int
    replications: int
    labels: list[str]
    rows: list[MetricRow]
    scope: str = "overall"
    key: str = ""

    @property
    def baseline(self) -> str:
        """The label every other one is compared with."""
        return self.labels[0]

    @property
    def title(self) -> str:
        """``quickstart: fcfs vs priority (5 replications, seed 1)``; ``by type vip`` for a
        breakdown."""
        if self.scope == "overall":
            runs = f"{self.replications} replication{'s' if self.replications != 1 else ''}"
            return f"{self.scenario}: {' vs '.join(self.labels)} ({runs}, seed {self.seed})"
        return f"{self.scope.replace('_', ' ')} {self.key}"


def is_significant(difference: Estimate) -> bool | None:
    """Whether a paired 95% interval excludes 0; ``None`` when the interval is undefined."""
    if math.isnan(difference.low) or math.isnan(difference.high):
        return None
    return difference.low > 0 or difference.high < 0


def paired_difference(baseline: Iterable[float], other: Iterable[float]) -> Estimate:
    """Mean and 95% t-interval of ``other[r] − baseline[r]`` over replications ``r``.

    Pairs where either value is undefined (NaN) are left out; ``n`` counts the rest.
    """
    return estimate(o - b for b, o in zip(baseline, other, strict=True))


def compare(
    results: RunResults,
    metrics: Sequence[str] | None = None,
    *,
    scope: str = "overall",
    key: str = "",
) -> Comparison:
    """Compare every label of ``results`` with the first one, metric by metric.

    ``metrics`` defaults to the usual table (plus identity metrics when the
    results have them). ``scope`` is ``overall`` or a breakdown (``type``, ``group``,
    ``interval``, ``tier``, ``channel``, ``campaign``, ``agent``; ``by_type``... as in
    ``BREAKDOWN_SCOPES`` too) with ``key`` a contact type, agent group, ``"HH:MM"``
    interval, tier, channel, campaign or agent. Only replications present under every label
    are paired.
    """
    scope = scope_attribute(scope)
    labels = results.policies
    if not labels:
        raise ValueError("no results to compare")

    def figures(rep: ReplicationResult) -> Mapping[str, float]:
        return rep.overall if scope == "overall" else getattr(rep, scope).get(key, {})

    by_replication = [{rep.replication: figures(rep) for rep in results.runs[label]}
                      for label in labels]
    common = [r for r in by_replication[0] if all(r in reps for reps in by_replication)]
    paired = {label: [reps[r] for r in common] for label, reps in zip(labels, by_replication)}
    if metrics is None:
        present = {m for rows in paired.values() for row in rows for m in row}
        # An agent's few figures are all shown (contacts handled among them).
        metrics = [m for m in METRICS if m in present
                   and (m not in _ON_REQUEST or scope == "by_agent")]
    rows = []
    for name in check_metrics(metrics):
        values = {label: [row.get(name, math.nan) for row in paired[label]] for label in labels}
        rows.append(MetricRow(
            metric_info(name),
            {label: metric_estimate(name, values[label]) for label in labels},
            {label: paired_difference(values[labels[0]], values[label]) for label in labels[1:]},
        ))
    return Comparison(results.scenario.name, results.seed, len(common), labels, rows, scope, key)


def breakdown_keys(results: RunResults, scope: str) -> list[str]:
    """Keys of a breakdown scope (``tier`` or ``by_tier``...) in the order the engine
    reports them (intervals by time); empty when the run has no such breakdown (no
    customers, channels or campaigns)."""
    attribute = scope_attribute(scope)
    return list(dict.fromkeys(k for reps in results.runs.values() for rep in reps
                              for k in getattr(rep, attribute)))


# ------------------------------------------------------------------------------ formatting
def format_estimate(value: Estimate, info: MetricInfo) -> str:
    """``mean ± half-width`` (``-`` when undefined, no ``±`` with one replication, a
    clipped interval as ``mean [low, high]``)."""
    return value.text(info.fmt)


def _signed(value: float, info: MetricInfo, extra_digits: int = 0) -> str:
    precision = re.search(r"\.(\d+)", info.fmt)
    digits = (int(precision.group(1)) if precision else 0) + extra_digits
    if info.is_share:
        return f"{value * 100:+.{digits}f}"
    return re.sub(r"\.\d+", f".{digits}", info.fmt.replace("{:", "{:+", 1)).format(value)


def _is_zero(text: str) -> bool:
    return not text.strip("+-0.,")


def format_difference(value: Estimate, info: MetricInfo) -> str:
    """``+1.2 [+0.3, +2.1]``; shares in percentage points (``+0.9 pp [...]``).

    A significant interval whose bound would read as zero gets more digits
    (``+0.02`` rather than ``+0.0``), so the text never shows an interval that
    excludes 0 as one that touches it.
    """
    if math.isnan(value.mean):
        return "-"
    unit = " pp" if info.is_share else ""
    if math.isnan(value.low):
        return _signed(value.mean, info) + unit + " (no CI)"
    extra = 0
    while is_significant(value) and extra < 3 and any(
            _is_zero(_signed(bound, info, extra)) for bound in (value.low, value.high)):
        extra += 1
    low, high = (_signed(bound, info, extra) for bound in (value.low, value.high))
    return f"{_signed(value.mean, info, extra)}{unit} [{low}, {high}]"


def legend(comparison: Comparison) -> str:
    """How to read the difference columns."""
    if comparison.replications < 2:
        return (f"{comparison.replications} paired replication(s): confidence intervals are "
                "undefined; run with --replications 2 or more (10 or more for tight intervals).")
    return (f"± = 95% CI half-width over {comparison.replications} replications. "
            f"Δ = label − {comparison.baseline}, paired per replication (same contacts), "
            "with its 95% t-interval; 'better'/'worse' mark intervals that exclude 0 "
            "('significant' for metrics with no better direction); pp = percentage points.")


def _table(comparison: Comparison) -> tuple[list[str], list[list[tuple[str, bool]]]]:
    """Header and body cells; each cell carries whether it is a significant difference."""
    others = comparison.labels[1:]
    header = ["Metric", *comparison.labels,
              *(f"Δ {label} − {comparison.baseline}" for label in others)]
    body = []
    for row in comparison.rows:
        cells = [(row.info.label, False)]
        cells += [(format_estimate(row.estimates[label], row.info), False)
                  for label in comparison.labels]
        for label in others:
            verdict = row.verdict(label)
            text = format_difference(row.differences[label], row.info)
            cells.append((f"{text} {verdict}" if verdict else text, bool(verdict)))
        body.append(cells)
    return header, body


def aligned(rows: Sequence[Sequence[str]]) -> list[str]:
    """Rows as lines: first column left-aligned, the others right-aligned; a rule under
    the first row."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) if i == 0 else c.rjust(w)
                       for i, (c, w) in enumerate(zip(row, widths))).rstrip() for row in rows]
    return [lines[0], "  ".join("-" * w for w in widths), *lines[1:]]


def to_text(comparisons: Sequence[Comparison]) -> str:
    """Aligned plain-text tables, one per comparison, with a legend at the end."""
    blocks = []
    for comparison in comparisons:
        header, body = _table(comparison)
        lines = aligned([header, *([text for text, _ in row] for row in body)])
        blocks.append("\n".join([comparison.title, *lines]))
    if comparisons:
        blocks.append(legend(comparisons[0]))
    return "\n\n".join(blocks)


def to_markdown(comparisons: Sequence[Comparison]) -> str:
    """GitHub Markdown tables; significant differences in bold."""
    blocks = []
    for comparison in comparisons:
        header, body = _table(comparison)
        rows = [[f"**{text}**" if significant else text for text, significant in row]
                for row in body]
        heading = "##" if comparison.scope == "overall" else "###"
        blocks.append("\n".join([
            f"{heading} {comparison.title}", "",
            "| " + " | ".join(header) + " |",
            "| --- |" + " ---: |" * (len(header) - 1),
            *("| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |"
              for row in rows),
        ]))
    if comparisons:
        blocks.append(legend(comparisons[0]))
    return "\n\n".join(blocks) + "\n"


def _number(value: float) -> float | None:
    return None if math.isnan(value) else value


def _estimate_json(value: Estimate) -> dict[str, Any]:
    return {"mean": _number(value.mean), "ci95": [_number(value.low), _number(value.high)]}


def _comparison_json(comparison: Comparison) -> dict[str, Any]:
    return {
        "results": {label: {row.info.name: _estimate_json(row.estimates[label])
                            for row in comparison.rows} for label in comparison.labels},
        "differences": {
            label: {row.info.name: {**_estimate_json(row.differences[label]),
                                    "significant": is_significant(row.differences[label]),
                                    "verdict": row.verdict(label) or None}
                    for row in comparison.rows}
            for label in comparison.labels[1:]
        },
    }


def to_json(comparisons: Sequence[Comparison]) -> str:
    """One JSON document: ``results.LABEL.METRIC.mean/ci95`` as in ``ccsim run --json``,
    ``differences.LABEL.METRIC.mean/ci95/significant/verdict``, and breakdowns as
    ``by_type.KEY.{results,differences}``."""
    first = comparisons[0]
    document: dict[str, Any] = {
        "scenario": first.scenario, "seed": first.seed, "replications": first.replications,
        "baseline": first.baseline, "labels": first.labels,
    }
    for comparison in comparisons:
        if comparison.scope == "overall":
            document.update(_comparison_json(comparison))
        else:
            document.setdefault(comparison.scope, {})[comparison.key] = _comparison_json(
                comparison)
    return json.dumps(document, indent=2, allow_nan=False) + "\n"


CSV_COLUMNS = ("scope", "key", "metric", "label", "mean", "ci95_low", "ci95_high", "n",
               "diff_mean", "diff_ci95_low", "diff_ci95_high", "diff_n", "significant",
               "verdict")


def to_csv(comparisons: Sequence[Comparison]) -> str:
    """One row per scope, key, metric and label; difference columns empty for the baseline."""

    def cell(value: float) -> str:
        return "" if math.isnan(value) else repr(value)

    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for comparison in comparisons:
        for row in comparison.rows:
            for label in comparison.labels:
                value = row.estimates[label]
                line = [comparison.scope, comparison.key, row.info.name, label,
                        cell(value.mean), cell(value.low), cell(value.high), value.n]
                diff = row.differences.get(label)
                if diff is None:
                    line += ["", "", "", "", "", ""]
                else:
                    significant = is_significant(diff)
                    line += [cell(diff.mean), cell(diff.low), cell(diff.high), diff.n,
                             "" if significant is None else str(significant).lower(),
                             row.verdict(label)]
                writer.writerow(line)
    return out.getvalue()


FORMATS: dict[str, Callable[[Sequence[Comparison]], str]] = {
    "table": to_text, "markdown": to_markdown, "csv": to_csv, "json": to_json,
}
"""Output formats of ``ccsim compare --format``."""
