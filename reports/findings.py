"""Findings of a policy comparison: every significant paired difference, in every scope,
ranked by effect size.

A routing policy rarely moves the overall figures much; its point is usually in one
scope (priority routing lifts the VIP type's service level by ten points while the
overall ASA moves by a third of a second). So the report does not stop at the overall
comparison: it compares every label with the baseline overall and per contact type,
customer tier, channel and interval of the day, keeps the differences whose paired 95%
interval excludes 0 on a metric with a better direction, and ranks them by effect size.

Effect size is the *relative change*: ``|Δ| / max(|baseline|, |baseline + Δ|)``, the
change as a share of the larger of the two means. It is unit-free, so a service level
in points, an ASA in seconds and an abandonment count can be ranked together, and it is
bounded by 1, so a metric that is 0 under the baseline (no abandons in a quiet interval)
does not outrank everything with an infinite ratio. For example::

    from reports.findings import findings
    for finding in findings(results)[:5]:
        print(finding.text())
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from sim.runner import Estimate, RunResults

from .compare import Comparison, MetricRow, breakdown_keys, compare, format_difference

FINDING_SCOPES = ("overall", "by_type", "by_tier", "by_channel", "by_interval")
"""Scopes searched for findings, in the order that breaks ties in the ranking. Agent groups
are left out: a group's figures are its agents' time, not its customers' experience."""

SCOPE_NAMES = {"overall": "Overall", "by_type": "Type", "by_tier": "Tier",
               "by_channel": "Channel", "by_interval": "Interval", "by_group": "Group",
               "by_campaign": "Campaign"}


def clock_time(key: str, day_start: float = 0.0) -> str:
    """The clock time ``HH:MM`` (``HH:MM:SS`` for keys with seconds) of an interval key of
    simulation time of day, on a day that starts at ``day_start`` seconds after midnight."""
    parts = [int(p) for p in key.split(":")]
    seconds = round(parts[0] * 3600 + parts[1] * 60 + (parts[2] if len(parts) > 2 else 0)
                    + day_start) % 86400
    text = f"{seconds // 3600:02d}:{seconds // 60 % 60:02d}"
    return text if len(parts) == 2 else f"{text}:{seconds % 60:02d}"


def scope_title(scope: str, key: str, day_start: float = 0.0) -> str:
    """``Type vip``, ``Interval 08:30`` (clock time), or ``Overall``."""
    if scope == "overall":
        return "Overall"
    shown = clock_time(key, day_start) if scope == "by_interval" else key
    return f"{SCOPE_NAMES.get(scope, scope)} {shown}"


def relative_effect(baseline: float, change: float) -> float:
    """``|change| / max(|baseline|, |baseline + change|)``: 0 for no change, at most 1
    (see the module docstring); NaN when either mean is undefined."""
    if math.isnan(baseline) or math.isnan(change):
        return math.nan
    larger = max(abs(baseline), abs(baseline + change))
    return 0.0 if larger == 0 else abs(change) / larger


@dataclass(frozen=True)
class Finding:
    """One significant paired difference: ``label`` against the baseline on one metric in
    one scope."""

    label: str
    baseline: str
    scope: str
    key: str
    row: MetricRow

    @property
    def difference(self) -> Estimate:
        """``label − baseline``, paired per replication, with its 95% interval."""
        return self.row.differences[self.label]

    @property
    def verdict(self) -> str:
        """``better`` or ``worse`` (findings are kept only for directed metrics)."""
        return self.row.verdict(self.label)

    @property
    def effect(self) -> float:
        """Relative change against the baseline's mean (the ranking key)."""
        return relative_effect(self.row.estimates[self.baseline].mean, self.difference.mean)

    def where(self, day_start: float = 0.0) -> str:
        """The scope in words, e.g. ``Type vip``."""
        return scope_title(self.scope, self.key, day_start)

    def text(self, day_start: float = 0.0) -> str:
        """``Type vip: ASA (s) −12.1 [−15.0, −9.2] better (priority vs fcfs, 81% change)``."""
        return (f"{self.where(day_start)}: {self.row.info.label} "
                f"{format_difference(self.difference, self.row.info)} {self.verdict} "
                f"({self.label} vs {self.baseline}, {self.effect:.0%} change)")


def scope_comparisons(results: RunResults, metrics: Sequence[str] | None = None,
                      scopes: Sequence[str] = FINDING_SCOPES) -> list[Comparison]:
    """The comparison of every scope and key the results have: overall first, then each
    breakdown that splits the run (a breakdown with one key repeats the overall one)."""
    comparisons = []
    for scope in scopes:
        if scope == "overall":
            comparisons.append(compare(results, metrics))
            continue
        keys = breakdown_keys(results, scope)
        if len(keys) > 1 or scope == "by_interval" and keys:
            comparisons += [compare(results, metrics, scope=scope, key=key) for key in keys]
    return comparisons


def rank_findings(comparisons: Sequence[Comparison]) -> list[Finding]:
    """Every better/worse difference of ``comparisons``, largest effect first (ties: scope
    order of ``FINDING_SCOPES``, then as the comparisons and their rows are ordered)."""
    order = {scope: index for index, scope in enumerate(FINDING_SCOPES)}
    found = []
    for position, comparison in enumerate(comparisons):
        for row_index, row in enumerate(comparison.rows):
            for label in comparison.labels[1:]:
                if row.verdict(label) in ("better", "worse"):
                    finding = Finding(label, comparison.baseline, comparison.scope,
                                      comparison.key, row)
                    effect = finding.effect
                    found.append((0.0 if math.isnan(effect) else -effect, order.get(comparison.scope, len(order)),
                                  position, row_index, finding))
    found.sort(key=lambda item: item[:4])
    return [item[-1] for item in found]


def findings(results: RunResults, metrics: Sequence[str] | None = None) -> list[Finding]:
    """The ranked findings of ``results`` (first label = baseline) over ``FINDING_SCOPES``."""
    return rank_findings(scope_comparisons(results, metrics))
