"""Figures of a policy comparison, as matplotlib ``Figure`` objects saved to SVG and PNG.

Every function takes plain summaries (``{label: {metric: Estimate}}`` and the
like, as ``RunResults.summary`` returns them), so figures can be drawn from
hand-made numbers in tests. Colours are the Okabe–Ito palette, which stays
distinguishable with the common colour-vision deficiencies; each label also
gets its own marker and line style, so figures survive greyscale printing.

Figures are built with ``matplotlib.figure.Figure`` and saved through the Agg
(PNG) and SVG canvases: no pyplot, no display and no global backend switch,
so importing this module in a notebook leaves its backend alone.
"""

from __future__ import annotations

import functools
import io
import math
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import matplotlib
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator, MultipleLocator, PercentFormatter

from sim.files import write_atomic
from sim.kernel.metrics import HISTOGRAM_BINS, bin_edges, histogram_quantile
from sim.runner import Estimate

from .compare import Comparison, metric_info

OKABE_ITO = ("#0072B2", "#D55E00", "#009E73", "#E69F00", "#CC79A7", "#56B4E9", "#000000",
             "#F0E442")
"""Okabe & Ito's colour-blind-safe palette, most contrasting on white first."""
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")
LINESTYLES = ("-", "--", "-.", ":")
FORMATS = ("svg", "png")
WIDTH_IN = 9.0
PNG_DPI = 150

_RC = {
    "font.size": 10, "axes.titlesize": 11, "axes.titleweight": "bold", "figure.titlesize": 13,
    "axes.grid": True, "grid.alpha": 0.3, "axes.spines.top": False, "axes.spines.right": False,
    "legend.frameon": False,
    # Stable SVG ids, so a report of the same results is byte-for-byte the same.
    "svg.hashsalt": "ccsim",
}
P = ParamSpec("P")
R = TypeVar("R")


def style(index: int) -> dict[str, Any]:
    """Colour, marker and line style of the ``index``-th label."""
    return {"color": OKABE_ITO[index % len(OKABE_ITO)], "marker": MARKERS[index % len(MARKERS)],
            "linestyle": LINESTYLES[index % len(LINESTYLES)]}


def _styled(plot: Callable[P, R]) -> Callable[P, R]:
    """Run a plotting function under the module's style: rcParams are read when artists
    are created, so the whole body must run inside the context."""

    @functools.wraps(plot)
    def styled(*args: P.args, **kwargs: P.kwargs) -> R:
        with matplotlib.rc_context(_RC):
            return plot(*args, **kwargs)

    return styled


def _figure(height_in: float, title: str) -> Figure:
    figure = Figure(figsize=(WIDTH_IN, height_in), layout="constrained")
    figure.suptitle(title)
    return figure


def _axes_grid(figure: Figure, panels: int, columns: int, **kwargs: Any) -> list[Axes]:
    grid = figure.subplots(math.ceil(panels / columns), columns, squeeze=False, **kwargs)
    axes = [ax for row in grid for ax in row]
    for extra in axes[panels:]:
        extra.set_visible(False)
    return axes[:panels]


def _value_axis(ax: Axes, metric: str, axis: str = "y") -> None:
    target = ax.yaxis if axis == "y" else ax.xaxis
    if metric_info(metric).is_share:
        target.set_major_formatter(PercentFormatter(1.0, decimals=None))


def render(figure: Figure, fmt: str) -> bytes:
    """The figure as SVG or PNG bytes (no timestamps, so identical input gives identical bytes)."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown figure format {fmt!r}; allowed: {', '.join(FORMATS)}")
    buffer = io.BytesIO()
    # A Figure made without pyplot saves through the format's own canvas: Agg for PNG.
    metadata = {"Date": None} if fmt == "svg" else {"Software": None}
    with matplotlib.rc_context(_RC):
        figure.savefig(buffer, format=fmt, dpi=PNG_DPI, metadata=metadata)
    return buffer.getvalue()


def save_figure(figure: Figure, directory: str | Path, stem: str,
                formats: Sequence[str] = FORMATS) -> dict[str, Path]:
    """Write ``DIR/STEM.svg`` and ``DIR/STEM.png``; returns the paths by format."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    paths = {}
    for fmt in formats:
        path = directory / f"{stem}.{fmt}"
        write_atomic(path, render(figure, fmt))
        paths[fmt] = path
    return paths


# ------------------------------------------------------------------ metric comparison
@_styled
def plot_metric_comparison(comparison: Comparison, columns: int = 3) -> Figure:
    """One panel per metric of ``comparison``: each label's mean with its 95% CI bar.

    A label whose paired difference to the baseline is significant carries the
    verdict (``better``/``worse``) next to its name.
    """
    rows = comparison.rows
    if not rows:
        raise ValueError("the comparison has no metrics to plot")
    labels = comparison.labels
    panel_rows = math.ceil(len(rows) / columns)
    figure = _figure(0.8 + panel_rows * (0.9 + 0.35 * len(labels)),
                     f"{comparison.title}: mean and 95% CI per policy")
    for ax, row in zip(_axes_grid(figure, len(rows), columns), rows):
        for index, label in enumerate(labels):
            value = row.estimates[label]
            low, high = value.mean - value.low, value.high - value.mean
            kwargs = style(index)
            ax.errorbar([value.mean], [index],
                        xerr=None if math.isnan(low) else [[low], [high]],
                        color=kwargs["color"], marker=kwargs["marker"], markersize=7, capsize=4,
                        linestyle="none")
        names = [label if index == 0 else
                 f"{label} ({row.verdict(label)})" if row.verdict(label) else label
                 for index, label in enumerate(labels)]
        ax.set_yticks(range(len(labels)), names)
        ax.set_ylim(len(labels) - 0.5, -0.5)
        ax.margins(x=0.15)
        ax.set_title(row.info.label)
        # Few ticks: three panels side by side leave room for four percent labels, not nine.
        ax.xaxis.set_major_locator(MaxNLocator(nbins=4))
        _value_axis(ax, row.info.name, "x")
    return figure


# ------------------------------------------------------------------------ by interval
def interval_hours(key: str) -> float:
    """Start of an interval of the day, in hours, from its ``HH:MM`` or ``HH:MM:SS`` key."""
    parts = [int(p) for p in key.split(":")]
    return parts[0] + parts[1] / 60 + (parts[2] / 3600 if len(parts) > 2 else 0.0)


CLOCK_STEPS_H = (0.25, 0.5, 1.0, 2.0, 3.0, 4.0, 6.0)
"""Tick spacings of a clock-time axis, in hours; the smallest that keeps ticks apart wins."""
MAX_CLOCK_TICKS = 9
"""At most this many clock labels on a 9-inch axis: ``HH:MM`` labels then never touch."""


def clock_hours(key: str, day_start: float = 0.0) -> float:
    """Clock time, in hours since the midnight before the run, of an interval key of
    simulation time of day on a day that starts at ``day_start`` seconds; may pass 24."""
    return interval_hours(key) + day_start / 3600.0


def clock_axis(ax: Axes, hours: Sequence[float], label: str) -> None:
    """Label ``ax``'s x axis with clock times ``HH:MM`` (past midnight wrapped), spaced so
    that at most ``MAX_CLOCK_TICKS`` labels show."""
    span = max(hours) - min(hours) if hours else 0.0
    step = next((s for s in CLOCK_STEPS_H if span / s <= MAX_CLOCK_TICKS), 12.0)
    ax.xaxis.set_major_locator(MultipleLocator(step))
    ax.xaxis.set_major_formatter(FuncFormatter(
        lambda x, _: f"{int(round(x * 60)) // 60 % 24:02d}:{int(round(x * 60)) % 60:02d}"))
    ax.set_xlabel(label)


INTERVAL_AXIS = "Clock time (interval start; contacts counted in the interval they arrived)"


def _band(ax: Axes, hours: Sequence[float], values: Sequence[Estimate], top: float,
          bottom: float, index: int) -> None:
    """A label's 95% band: lightly filled and edged in the label's colour and line style, so
    overlapping bands of several labels stay apart instead of blending into grey."""
    kwargs = style(index)
    lows = [max(v.low, bottom) for v in values]
    highs = [min(v.high, top) for v in values]
    ax.fill_between(hours, lows, highs, color=kwargs["color"], alpha=0.10, linewidth=0)
    for edge in (lows, highs):
        ax.plot(hours, edge, color=kwargs["color"], linestyle=kwargs["linestyle"],
                linewidth=0.6, alpha=0.7)


@_styled
def plot_by_interval(by_interval: Mapping[str, Mapping[str, Mapping[str, Estimate]]],
                     metrics: Sequence[str], title: str, day_start: float = 0.0) -> Figure:
    """One panel per metric over the intervals of the day: a line per label, its 95% CI
    as a band (cut at 0, and at 100% for shares), against clock time from ``day_start``
    (seconds after midnight). ``by_interval`` is ``{label: {"HH:MM": {metric: Estimate}}}``."""
    if not by_interval or not any(by_interval.values()):
        raise ValueError("no per-interval results to plot")
    figure = _figure(1.0 + 2.3 * len(metrics), title)
    axes = _axes_grid(figure, len(metrics), 1, sharex=True)
    every_hour: list[float] = []
    for ax, metric in zip(axes, metrics):
        for index, (label, per_key) in enumerate(by_interval.items()):
            keys = sorted(per_key, key=interval_hours)
            hours = [clock_hours(k, day_start) for k in keys]
            every_hour += hours
            values = [per_key[k].get(metric, Estimate(math.nan, math.nan, math.nan, 0))
                      for k in keys]
            ax.plot(hours, [v.mean for v in values], label=label, markersize=4, **style(index))
            # Every metric here is >= 0 and shares are <= 1: a band past those bounds (few
            # replications) would only stretch the axis.
            _band(ax, hours, values, 1.0 if metric_info(metric).is_share else math.inf, 0.0,
                  index)
        ax.set_title(metric_info(metric).label)
        _value_axis(ax, metric)
    axes[0].legend(loc="best")
    clock_axis(axes[-1], every_hour, INTERVAL_AXIS)
    return figure


@_styled
def plot_difference_by_interval(comparisons: Sequence[Comparison], metrics: Sequence[str],
                                day_start: float = 0.0) -> Figure:
    """Paired differences to the baseline per interval of the day: one panel per metric, a
    line per non-baseline label with its paired 95% band and a zero line. ``comparisons``
    are the ``by_interval`` comparisons, one per interval key."""
    if not comparisons:
        raise ValueError("no per-interval comparisons to plot")
    ordered = sorted(comparisons, key=lambda c: interval_hours(c.key))
    hours = [clock_hours(c.key, day_start) for c in ordered]
    baseline, others = ordered[0].baseline, ordered[0].labels[1:]
    figure = _figure(1.0 + 2.1 * len(metrics),
                     f"Paired difference to {baseline} by interval of the day")
    axes = _axes_grid(figure, len(metrics), 1, sharex=True)
    for ax, metric in zip(axes, metrics):
        info = metric_info(metric)
        scale = 100.0 if info.is_share else 1.0  # shares in percentage points
        for offset, label in enumerate(others, start=1):
            values = []
            for comparison in ordered:
                row = next((r for r in comparison.rows if r.info.name == metric), None)
                value = row.differences[label] if row else Estimate(math.nan, math.nan,
                                                                    math.nan, 0)
                values.append(Estimate(value.mean * scale, value.low * scale,
                                       value.high * scale, value.n))
            ax.plot(hours, [v.mean for v in values], label=f"{label} − {baseline}",
                    markersize=4, **style(offset))
            _band(ax, hours, values, math.inf, -math.inf, offset)
        ax.axhline(0.0, color="0.3", linewidth=1)
        direction = {1: "higher is better", -1: "lower is better"}.get(info.better, "")
        ax.set_title(f"Δ {info.label}{' (pp)' if info.is_share else ''}"
                     f"{f'; {direction}' if direction else ''}")
    axes[0].legend(loc="best")
    clock_axis(axes[-1], hours, INTERVAL_AXIS)
    return figure


# ------------------------------------------------------------------------ forest plot
@_styled
def plot_forest(comparisons: Sequence[Comparison], metrics: Sequence[str],
                day_start: float = 0.0, columns: int = 2) -> Figure:
    """Forest plot of paired differences: one panel per metric, one row per scope
    (``comparisons``, e.g. overall and each contact type), each non-baseline label's mean
    difference with its paired 95% interval. A filled marker is significant (the interval
    misses the zero line); an open one is not."""
    from .findings import scope_title

    shown = [m for m in metrics if any(r.info.name == m for c in comparisons for r in c.rows)]
    if not comparisons or not shown:
        raise ValueError("nothing to draw: no comparison has these metrics")
    rows = [scope_title(c.scope, c.key, day_start) for c in comparisons]
    others = comparisons[0].labels[1:]
    baseline = comparisons[0].baseline
    panel_rows = math.ceil(len(shown) / columns)
    figure = _figure(0.9 + panel_rows * (0.8 + 0.32 * len(rows) * max(len(others), 1)),
                     f"Paired difference to {baseline} with 95% CI, per metric and scope")
    for ax, metric in zip(_axes_grid(figure, len(shown), columns), shown):
        info = metric_info(metric)
        scale = 100.0 if info.is_share else 1.0
        for offset, label in enumerate(others, start=1):
            shift = (offset - (len(others) + 1) / 2) * 0.6 / max(len(others), 1)
            for position, comparison in enumerate(comparisons):
                row = next((r for r in comparison.rows if r.info.name == metric), None)
                if row is None or math.isnan(row.differences[label].mean):
                    continue
                value = row.differences[label]
                kwargs = style(offset)
                errors = None if math.isnan(value.low) else [
                    [(value.mean - value.low) * scale], [(value.high - value.mean) * scale]]
                filled = bool(row.verdict(label))
                ax.errorbar([value.mean * scale], [position + shift], xerr=errors,
                            color=kwargs["color"], marker=kwargs["marker"], markersize=6,
                            markerfacecolor=kwargs["color"] if filled else "white",
                            capsize=3, linestyle="none",
                            label=label if position == 0 else None)
        ax.axvline(0.0, color="0.3", linewidth=1)
        ax.set_yticks(range(len(rows)), rows)
        ax.set_ylim(len(rows) - 0.5, -0.5)
        ax.xaxis.set_major_locator(MaxNLocator(nbins=5))
        direction = {1: "higher is better", -1: "lower is better"}.get(info.better, "")
        ax.set_title(f"Δ {info.label}{' (pp)' if info.is_share else ''}")
        if direction:
            ax.set_xlabel(direction)
    if len(others) > 1:
        figure.legend(*figure.axes[0].get_legend_handles_labels(), loc="outside lower center",
                      ncols=len(others))
    return figure


# ------------------------------------------------------------------ staffing per group
@_styled
def plot_staffing(staffing: Mapping[str, tuple[Sequence[float], Sequence[int]]],
                  occupancy: Mapping[str, Mapping[str, Mapping[str, Estimate]]],
                  group_occupancy: Mapping[str, Mapping[str, Estimate]],
                  day_start: float = 0.0) -> Figure:
    """Agents on duty per group as steps, each group's occupancy per interval per label with
    95% bands, and each group's occupancy over the run per label.

    ``staffing`` is ``{group: (edges, counts)}`` in seconds of simulation time (one count
    between each pair of edges, ``reports.html.staffing_series``), ``occupancy`` is
    ``{group: {label: {"HH:MM": Estimate}}}`` (a panel per group; results that carry no
    per-group intervals pass one entry for all groups) and ``group_occupancy``
    ``{label: {group: Estimate}}``.
    """
    figure = _figure(5.6 + 2.2 * len(occupancy), "Staffing per group and occupancy")
    top, *middles, bottom = _axes_grid(figure, 2 + len(occupancy), 1)
    every_hour: list[float] = []
    for index, (group, (edges, counts)) in enumerate(staffing.items()):
        hours = [(t + day_start) / 3600 for t in edges]
        every_hour += hours
        top.stairs(counts, hours, label=group, color=OKABE_ITO[index % len(OKABE_ITO)],
                   linewidth=2, baseline=None)
    top.set_title("Agents on duty per group (scenario staffing)")
    top.set_ylim(bottom=0)
    top.legend(loc="best")
    clock_axis(top, every_hour, "Clock time")
    for middle, (group, per_label) in zip(middles, occupancy.items()):
        for index, (label, per_key) in enumerate(per_label.items()):
            keys = sorted(per_key, key=interval_hours)
            hours = [clock_hours(k, day_start) for k in keys]
            values = [per_key[k] for k in keys]
            middle.plot(hours, [v.mean for v in values], label=label, markersize=4,
                        **style(index))
            _band(middle, hours, values, 1.0, 0.0, index)
        middle.set_title(f"Occupancy per interval: {group}")
        middle.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=None))
        middle.legend(loc="best")
        clock_axis(middle, every_hour, INTERVAL_AXIS)
        middle.set_xlim(top.get_xlim())
    groups = list(dict.fromkeys(g for per_group in group_occupancy.values() for g in per_group))
    count = len(group_occupancy)
    for index, (label, per_group) in enumerate(group_occupancy.items()):
        offset = (index - (count - 1) / 2) * 0.6 / max(count, 1)
        for position, group in enumerate(groups):
            value = per_group.get(group)
            if value is None or math.isnan(value.mean):
                continue
            errors = None if math.isnan(value.low) else [[value.mean - value.low],
                                                         [value.high - value.mean]]
            kwargs = style(index)
            bottom.errorbar([value.mean], [position + offset], xerr=errors,
                            color=kwargs["color"], marker=kwargs["marker"], capsize=3,
                            linestyle="none", label=label if position == 0 else None)
    bottom.set_yticks(range(len(groups)), groups)
    bottom.set_ylim(len(groups) - 0.5, -0.5)
    bottom.xaxis.set_major_locator(MaxNLocator(nbins=6))
    bottom.xaxis.set_major_formatter(PercentFormatter(1.0, decimals=None))
    bottom.set_title("Occupancy per group over the run (95% CI)")
    bottom.legend(loc="best")
    return figure


@_styled
def plot_roster(staffing: Mapping[str, tuple[Sequence[float], Sequence[int], Sequence[int]]],
                achieved: Mapping[str, Mapping[str, Estimate]], targets: Sequence[Any],
                day_start: float = 0.0, title: str = "Roster") -> Figure:
    """A roster against its requirement and the targets it reaches in simulation: a panel
    per group with the agents required and scheduled as steps, then a panel per target
    metric with its mean per interval, the 95% band and the target as a grey line.

    ``staffing`` is ``{group: (edges, required, scheduled)}`` (edges in seconds of
    simulation time, one count between each pair), ``achieved`` ``{"HH:MM": {metric:
    Estimate}}`` and ``targets`` objects with ``metric`` and ``value``
    (``sim.analysis.staffing.Target``)."""
    metrics = list(dict.fromkeys(t.metric for t in targets))
    figure = _figure(1.0 + 2.2 * (len(staffing) + len(metrics)), title)
    axes = _axes_grid(figure, len(staffing) + len(metrics), 1, sharex=True)
    every_hour: list[float] = []
    for ax, (group, (edges, required, scheduled)) in zip(axes, staffing.items()):
        hours = [(t + day_start) / 3600 for t in edges]
        every_hour += hours
        for index, (label, counts) in enumerate((("required", required),
                                                 ("scheduled", scheduled))):
            ax.stairs(counts, hours, label=label, color=OKABE_ITO[index],
                      linestyle=LINESTYLES[index], linewidth=2, baseline=None)
        ax.set_title(f"Agents: {group}")
        ax.set_ylim(bottom=0)
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        ax.legend(loc="best")
    keys = sorted(achieved, key=interval_hours)
    for ax, metric in zip(axes[len(staffing):], metrics):
        hours = [clock_hours(k, day_start) for k in keys]
        values = [achieved[k].get(metric, Estimate(math.nan, math.nan, math.nan, 0))
                  for k in keys]
        ax.plot(hours, [v.mean for v in values], label="simulated", markersize=4, **style(2))
        _band(ax, hours, values, 1.0 if metric_info(metric).is_share else math.inf, 0.0, 2)
        for target in targets:
            if target.metric == metric:
                ax.axhline(target.value, color="0.4", linewidth=1, label="target")
        ax.set_title(f"{metric_info(metric).label} per interval (95% CI)")
        _value_axis(ax, metric)
        ax.legend(loc="best")
    clock_axis(axes[-1], every_hour, INTERVAL_AXIS)
    return figure


# --------------------------------------------------------------------- wait-time CDF
def wait_cdf(counts: Sequence[int]) -> tuple[list[float], list[float]]:
    """Points of the cumulative distribution of waits from a wait histogram.

    ``counts`` has one count per bin of ``sim.metrics`` (``HISTOGRAM_BINS``
    bins, bin 0 for waits of exactly zero). The CDF is linear inside each bin,
    as ``histogram_quantile`` assumes, so the curve passes through
    ``(upper edge of bin i, share of waits in bins 0..i)``. Trailing empty bins
    are dropped.
    """
    if len(counts) != HISTOGRAM_BINS:
        raise ValueError(f"a wait histogram has {HISTOGRAM_BINS} bins, got {len(counts)}")
    total = sum(counts)
    if total == 0:
        raise ValueError("the wait histogram is empty")
    last = max(i for i, c in enumerate(counts) if c)
    waits, shares, running = [], [], 0
    for index in range(last + 1):
        running += counts[index]
        waits.append(bin_edges(index)[1])
        shares.append(running / total)
    return waits, shares


@_styled
def plot_wait_cdf(histograms: Mapping[str, Sequence[int]], threshold_s: float) -> Figure:
    """Share of answered contacts answered within x seconds, one curve per label.

    ``histograms`` maps a label to its wait histogram of answered contacts
    (``sim.metrics`` layout, summed over replications). The x axis stops at the
    largest 99.5th percentile so the body of the distribution stays readable.
    """
    figure = _figure(4.2, "Wait-time distribution of answered contacts")
    ax = _axes_grid(figure, 1, 1)[0]
    _draw_wait_cdf(ax, histograms, threshold_s)
    ax.set_xlabel("Wait in queue (s)")
    ax.set_ylabel("Answered within (cumulative share)")
    ax.legend(loc="lower right")
    return figure


@_styled
def plot_wait_cdf_by_type(histograms: Mapping[str, Mapping[str, Sequence[int]]],
                          thresholds: Mapping[str, float]) -> Figure:
    """Each contact type's wait-time CDF, one panel per type (``{type: {label:
    histogram}}``, each histogram with some answered contact:
    ``reports.html.wait_histograms_by_type``) beside that type's SL threshold."""
    if not histograms:
        raise ValueError("no answered contacts to plot")
    figure = _figure(0.9 + 2.4 * len(histograms), "Wait-time distribution per contact type")
    axes = _axes_grid(figure, len(histograms), 1)
    for ax, (name, per_label) in zip(axes, histograms.items()):
        _draw_wait_cdf(ax, per_label, thresholds.get(name, math.nan))
        ax.set_title(f"Type {name}")
        ax.set_ylabel("Answered within")
    axes[0].legend(loc="lower right")
    axes[-1].set_xlabel("Wait in queue (s)")
    return figure


def _draw_wait_cdf(ax: Axes, histograms: Mapping[str, Sequence[int]],
                   threshold_s: float) -> None:
    """One CDF curve per label on ``ax`` and the SL threshold (when known)."""
    right = max(histogram_quantile(list(c), 0.995) for c in histograms.values())
    for index, (label, counts) in enumerate(histograms.items()):
        waits, shares = wait_cdf(counts)
        kwargs = style(index)
        ax.plot([0.0, *waits], [0.0, *shares], label=label, color=kwargs["color"],
                linestyle=kwargs["linestyle"])
    if not math.isnan(threshold_s):
        ax.axvline(threshold_s, color="0.4", linewidth=1)
        ax.annotate(f"SL threshold {threshold_s:g} s", (threshold_s, 0.02), xytext=(4, 0),
                    textcoords="offset points", color="0.3")
        right = max(right * 1.05, threshold_s * 1.2)
    ax.set_xlim(0, right if right > 0 else 1.0)
    ax.set_ylim(0, 1.01)
    ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=None))


WAIT_PERCENTILES = (("wait_p50_s", "p50"), ("wait_p90_s", "p90"), ("wait_p99_s", "p99"))


@_styled
def plot_wait_percentiles(summary: Mapping[str, Mapping[str, Estimate]],
                          threshold_s: float) -> Figure:
    """The 50th, 90th and 99th percentiles of the wait of answered contacts per label, each
    with its 95% CI across replications: three points of the wait CDF, for results that
    carry percentiles but no wait histogram."""
    figure = _figure(3.6, "Wait percentiles of answered contacts")
    ax = _axes_grid(figure, 1, 1)[0]
    _draw_wait_percentiles(ax, summary, threshold_s)
    ax.set_xlabel("Wait in queue (s)")
    ax.set_ylabel("Percentile")
    ax.legend(loc="lower right")
    return figure


@_styled
def plot_wait_by_type(by_type: Mapping[str, Mapping[str, Mapping[str, Estimate]]],
                      thresholds: Mapping[str, float]) -> Figure:
    """Points of each contact type's wait CDF: its 50th, 90th and 99th wait percentiles per
    label with 95% CIs, one panel per type beside that type's SL threshold.

    ``by_type`` is ``{label: {type: {metric: Estimate}}}`` (``summary("by_type")``). The
    engine keeps a full wait histogram only for all types together (drawn as the wait CDF);
    per type it reports these percentiles, read from the type's own histogram.
    """
    types = list(dict.fromkeys(t for per_type in by_type.values() for t in per_type))
    if not types:
        raise ValueError("no per-type results to plot")
    figure = _figure(0.9 + 2.0 * len(types), "Wait percentiles of answered contacts per type")
    axes = _axes_grid(figure, len(types), 1, sharex=True)
    for ax, name in zip(axes, types):
        _draw_wait_percentiles(ax, {label: per_type.get(name, {})
                                    for label, per_type in by_type.items()},
                               thresholds.get(name, math.nan))
        ax.set_title(f"Type {name}")
        ax.xaxis.set_major_locator(MaxNLocator(nbins=8))
    axes[0].legend(loc="lower right")
    axes[-1].set_xlabel("Wait in queue (s)")
    return figure


def _draw_wait_percentiles(ax: Axes, summary: Mapping[str, Mapping[str, Estimate]],
                           threshold_s: float) -> None:
    """The percentile points of ``summary``'s labels on ``ax``, with the SL threshold."""
    count = len(summary)
    for index, (label, figures) in enumerate(summary.items()):
        kwargs = style(index)
        for position, (metric, _) in enumerate(WAIT_PERCENTILES):
            value = figures.get(metric)
            if value is None or math.isnan(value.mean):
                continue
            low, high = value.mean - value.low, value.high - value.mean
            # Labels side by side within a percentile's row, so whiskers do not overlap.
            offset = (index - (count - 1) / 2) * 0.5 / max(count, 2)
            ax.errorbar([value.mean], [position + offset],
                        xerr=None if math.isnan(low) else [[low], [high]],
                        color=kwargs["color"], marker=kwargs["marker"], linestyle="none",
                        capsize=3, label=label if position == 0 else None)
    if not math.isnan(threshold_s):
        ax.axvline(threshold_s, color="0.4", linewidth=1)
        ax.annotate(f"SL threshold {threshold_s:g} s",
                    (threshold_s, len(WAIT_PERCENTILES) - 0.6), xytext=(4, 0),
                    textcoords="offset points", color="0.3")
    ax.set_yticks(range(len(WAIT_PERCENTILES)), [name for _, name in WAIT_PERCENTILES])
    ax.set_ylim(-0.5, len(WAIT_PERCENTILES) - 0.5)
    ax.margins(x=0.03)


# ------------------------------------------------------------- identity verification
VERIFICATION_PANELS = (
    ("Verification time (s): in the IVR per contact, with the agent per handled contact",
     ("verify_ivr_s", "verify_agent_s"), False),
    ("Cost per contact ($): verification and fraud loss", ("verify_cost",
                                                         "fraud_loss_per_contact"), True),
    ("Fraud attempts per replication: caught and let through", ("fraud_caught",
                                                                "fraud_let_through"), True),
    ("Genuine customers refused per replication", ("genuine_refused",), False),
)
"""(title, metrics, stacked): the panels of ``plot_verification`` drawn when present. IVR and
agent seconds have different denominators, so they stand side by side, not stacked."""


@_styled
def plot_verification(summary: Mapping[str, Mapping[str, Estimate]]) -> Figure | None:
    """Identity verification cost breakdown per label, or ``None`` when the results have
    no verification metrics (the scenario has no ``identity:`` block).

    Panels: IVR and agent verification seconds; verification cost and fraud loss
    per contact, stacked into the money identity costs per contact; fraud caught
    and let through, stacked into the attempts; genuine customers refused. Bars
    are means; black whiskers are 95% CIs (of each part, for stacked bars).
    """
    present = {m for figures in summary.values() for m in figures}
    panels = [(title, [m for m in metrics if m in present], stacked)
              for title, metrics, stacked in VERIFICATION_PANELS
              if any(m in present for m in metrics)]
    if not panels:
        return None
    labels = list(summary)
    figure = _figure(1.2 + 0.55 * len(labels) * len(panels),
                     "Identity verification: time, cost and outcomes")
    axes = _axes_grid(figure, len(panels), 1)
    hatches = ("", "//", "..")
    for ax, (title, metrics, stacked) in zip(axes, panels):
        height = 0.7 if stacked else 0.7 / len(metrics)
        left = [0.0] * len(labels)
        for part, metric in enumerate(metrics):
            values = [summary[label].get(metric, Estimate(math.nan, math.nan, math.nan, 0))
                      for label in labels]
            means = [0.0 if math.isnan(v.mean) else v.mean for v in values]
            positions = [i if stacked else i + (part - (len(metrics) - 1) / 2) * height
                         for i in range(len(labels))]
            errors = [[0.0 if math.isnan(v.low) else v.mean - v.low for v in values],
                      [0.0 if math.isnan(v.high) else v.high - v.mean for v in values]]
            ax.barh(positions, means, height=height, left=left if stacked else None,
                    color=OKABE_ITO[part], hatch=hatches[part % len(hatches)],
                    edgecolor="white", label=metric_info(metric).label)
            ends = [a + b for a, b in zip(left, means)] if stacked else means
            ax.errorbar(ends, positions, xerr=errors, fmt="none", ecolor="black", capsize=3)
            if stacked:
                left = ends
        ax.set_yticks(range(len(labels)), labels)
        ax.set_ylim(len(labels) - 0.5, -0.5)
        ax.set_title(title)
        if len(metrics) > 1:
            ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize=8)
    return figure
