"""The interactive report: ``DIR/interactive.html``, one file with hover, zoom and
policies to show or hide, that opens with no network.

Why Plotly: the ``plotly`` wheel from PyPI ships plotly.js itself
(``plotly.offline.get_plotlyjs``), so the page embeds the library from an ordinary
Python dependency, with no CDN, no Node toolchain and no JavaScript vendored into this
repository. Hover labels, box and wheel zoom, double-click to reset and a legend whose
entries toggle a policy's traces are built in. Vega-Lite would need three JavaScript
bundles (vega, vega-lite, vega-embed) that no PyPI package ships for embedding, and its
legend toggling needs hand-written selection parameters. The cost is size: plotly.js adds
about 4.8 MB to the file, which the static ``index.html`` (about 1 MB) does not carry.

The page is deterministic: every figure has a fixed ``div`` id and the data are written
in a fixed order, so the same results give the same bytes.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path

import plotly.graph_objects as go
import plotly.io as pio
from plotly.offline import get_plotlyjs
from plotly.subplots import make_subplots

from sim.files import write_atomic
from sim.kernel.cells import sl_thresholds
from sim.runner import Estimate

from .compare import Comparison, format_difference, legend, metric_info
from .findings import scope_title
from .html import (
    DIFFERENCE_METRICS,
    ReportData,
    findings_html,
    group_interval_occupancy,
    staffing_series,
    wait_histograms,
    wait_histograms_by_type,
)
from .page import escape, page, version
from .plots import OKABE_ITO, clock_hours, interval_hours, wait_cdf

DASHES = ("solid", "dash", "dashdot", "dot")
SYMBOLS = ("circle", "square", "triangle-up", "diamond", "triangle-down", "cross")
CONFIG = {"displaylogo": False, "responsive": True,
          "modeBarButtonsToRemove": ["sendDataToCloud"]}
"""Plotly's toolbar without its link to plotly's web service (the page stays offline)."""
_DAY_ZERO = datetime(2000, 1, 1)
"""Clock times are drawn on a date axis of an arbitrary day, so zooming keeps ``HH:MM``
labels that Plotly spaces without overlap."""


def _colour(index: int) -> str:
    return OKABE_ITO[index % len(OKABE_ITO)]


def _clock(hours: float) -> str:
    return (_DAY_ZERO + timedelta(hours=hours)).isoformat()


def _number(value: float, scale: float = 1.0) -> float | None:
    return None if math.isnan(value) else value * scale


def _layout(figure: go.Figure, title: str, height: int) -> go.Figure:
    figure.update_layout(title=title, height=height, template="plotly_white",
                         font={"family": "system-ui, sans-serif", "size": 12},
                         legend={"title": {"text": "click to hide or show"}},
                         hovermode="closest", margin={"l": 60, "r": 20, "t": 70, "b": 50})
    return figure


def forest_figure(scopes: Sequence[Comparison], metrics: Sequence[str],
                  day_start: float) -> go.Figure:
    """Paired differences per metric (a panel each) and scope (a row each), per label."""
    others = scopes[0].labels[1:]
    rows = [scope_title(c.scope, c.key, day_start) for c in scopes]
    columns = 2
    panel_rows = math.ceil(len(metrics) / columns)
    titles = [f"Δ {metric_info(m).label}{' (pp)' if metric_info(m).is_share else ''}"
              for m in metrics]
    figure = make_subplots(rows=panel_rows, cols=columns, subplot_titles=titles,
                           horizontal_spacing=0.18, vertical_spacing=0.5 / max(panel_rows, 1))
    for panel, metric in enumerate(metrics):
        info = metric_info(metric)
        scale = 100.0 if info.is_share else 1.0
        where = {"row": panel // columns + 1, "col": panel % columns + 1}
        for index, label in enumerate(others, start=1):
            # Labels side by side within a scope's row, so their whiskers do not overlap.
            shift = (index - (len(others) + 1) / 2) * 0.6 / max(len(others), 1)
            xs, ys, minus, plus, texts = [], [], [], [], []
            for position, (row_name, comparison) in enumerate(zip(rows, scopes)):
                row = next((r for r in comparison.rows if r.info.name == metric), None)
                if row is None or math.isnan(row.differences[label].mean):
                    continue
                value = row.differences[label]
                xs.append(value.mean * scale)
                ys.append(position + shift)
                minus.append(_number(value.mean - value.low, scale) or 0.0)
                plus.append(_number(value.high - value.mean, scale) or 0.0)
                texts.append(f"{row_name}: {format_difference(value, info)} "
                             f"{row.verdict(label) or 'not significant'}")
            figure.add_trace(go.Scatter(
                x=xs, y=ys, mode="markers", name=label, legendgroup=label,
                showlegend=panel == 0, text=texts, hovertemplate="%{text}<extra>%{fullData.name}"
                "</extra>", marker={"color": _colour(index), "size": 9,
                                    "symbol": SYMBOLS[index % len(SYMBOLS)]},
                error_x={"type": "data", "symmetric": False, "array": plus,
                         "arrayminus": minus, "color": _colour(index)}), **where)
        figure.add_vline(x=0, line={"color": "#555", "width": 1}, **where)
        figure.update_yaxes(tickvals=list(range(len(rows))), ticktext=rows,
                            range=[len(rows) - 0.5, -0.5], zeroline=False, **where)
    return _layout(figure, f"Paired difference to {scopes[0].baseline} with 95% CI",
                   180 + 90 * panel_rows + 22 * len(rows) * panel_rows)


def interval_figure(by_interval: dict[str, dict[str, dict[str, Estimate]]],
                    metrics: Sequence[str], day_start: float, title: str) -> go.Figure:
    """A panel per metric over clock time: a line per label with its 95% band; a legend
    entry hides or shows the label's line and band together."""
    figure = make_subplots(rows=len(metrics), cols=1, shared_xaxes=True,
                           subplot_titles=[metric_info(m).label for m in metrics],
                           vertical_spacing=0.08)
    for panel, metric in enumerate(metrics, start=1):
        info = metric_info(metric)
        scale = 100.0 if info.is_share else 1.0
        for index, (label, per_key) in enumerate(by_interval.items()):
            keys = sorted(per_key, key=interval_hours)
            times = [_clock(clock_hours(k, day_start)) for k in keys]
            values = [per_key[k].get(metric, Estimate(math.nan, math.nan, math.nan, 0))
                      for k in keys]
            _band_traces(figure, panel, label, index, times, values, scale, panel == 1,
                         info.is_share)
        if info.is_share:
            figure.update_yaxes(ticksuffix="%", row=panel, col=1)
    figure.update_xaxes(type="date", tickformat="%H:%M")
    return _layout(figure, title, 140 + 230 * len(metrics))


def difference_figure(intervals: Sequence[Comparison], metrics: Sequence[str],
                      day_start: float) -> go.Figure:
    """Paired differences to the baseline per interval of the day, with 95% bands."""
    ordered = sorted(intervals, key=lambda c: interval_hours(c.key))
    times = [_clock(clock_hours(c.key, day_start)) for c in ordered]
    baseline = ordered[0].baseline
    titles = [f"Δ {metric_info(m).label}{' (pp)' if metric_info(m).is_share else ''}"
              for m in metrics]
    figure = make_subplots(rows=len(metrics), cols=1, shared_xaxes=True,
                           subplot_titles=titles, vertical_spacing=0.08)
    for panel, metric in enumerate(metrics, start=1):
        scale = 100.0 if metric_info(metric).is_share else 1.0
        for index, label in enumerate(ordered[0].labels[1:], start=1):
            values = []
            for comparison in ordered:
                row = next((r for r in comparison.rows if r.info.name == metric), None)
                values.append(row.differences[label] if row
                              else Estimate(math.nan, math.nan, math.nan, 0))
            _band_traces(figure, panel, f"{label} − {baseline}", index, times, values, scale,
                         panel == 1, False)
        figure.add_hline(y=0, line={"color": "#555", "width": 1}, row=panel, col=1)
    figure.update_xaxes(type="date", tickformat="%H:%M")
    return _layout(figure, f"Paired difference to {baseline} by interval of the day",
                   140 + 230 * len(metrics))


def _band_traces(figure: go.Figure, panel: int, label: str, index: int, times: list[str],
                 values: Sequence[Estimate], scale: float, legend_entry: bool,
                 share: bool) -> None:
    """A label's mean line and its 95% band (one closed polygon), in one legend group."""
    top = 100.0 if share else math.inf
    bottom = 0.0 if share else -math.inf
    highs = [None if math.isnan(v.high) else min(v.high * scale, top) for v in values]
    lows = [None if math.isnan(v.low) else max(v.low * scale, bottom) for v in values]
    figure.add_trace(go.Scatter(
        x=[*times, *reversed(times)], y=[*highs, *reversed(lows)], fill="toself",
        fillcolor=_colour(index), opacity=0.15, line={"width": 0}, hoverinfo="skip",
        legendgroup=label, showlegend=False, name=f"{label} 95% CI"), row=panel, col=1)
    figure.add_trace(go.Scatter(
        x=times, y=[_number(v.mean, scale) for v in values], mode="lines+markers", name=label,
        legendgroup=label, showlegend=legend_entry,
        customdata=[[_number(v.low, scale), _number(v.high, scale)] for v in values],
        hovertemplate="%{x|%H:%M}: %{y:.3~f} [%{customdata[0]:.3~f}, "
                      "%{customdata[1]:.3~f}]<extra>%{fullData.name}</extra>",
        line={"color": _colour(index), "dash": DASHES[index % len(DASHES)]},
        marker={"symbol": SYMBOLS[index % len(SYMBOLS)]}), row=panel, col=1)


def cdf_figure(histograms: dict[str, list[int]], threshold_s: float) -> go.Figure:
    """Share of answered contacts answered within x seconds, one curve per label."""
    figure = make_subplots(rows=1, cols=1)
    _cdf_traces(figure, 1, histograms, threshold_s, True)
    return _layout(figure, "Wait-time distribution of answered contacts", 420)


def cdf_by_type_figure(histograms: dict[str, dict[str, list[int]]],
                       thresholds: dict[str, float]) -> go.Figure:
    """Each contact type's wait-time CDF (``{type: {label: histogram}}``, as
    ``reports.html.wait_histograms_by_type`` gives), a panel per type beside its SL
    threshold; a legend entry hides or shows a label in every panel."""
    figure = make_subplots(rows=len(histograms), cols=1, vertical_spacing=0.08,
                           subplot_titles=[f"Type {name}" for name in histograms])
    for panel, (name, per_label) in enumerate(histograms.items(), start=1):
        _cdf_traces(figure, panel, per_label, thresholds.get(name, math.nan), panel == 1)
    return _layout(figure, "Wait-time distribution per contact type",
                   140 + 260 * len(histograms))


def _cdf_traces(figure: go.Figure, panel: int, histograms: dict[str, list[int]],
                threshold_s: float, legend_entry: bool) -> None:
    """One CDF line per label in ``panel`` (grouped by label across panels) and the SL
    threshold, when known."""
    for index, (label, counts) in enumerate(histograms.items()):
        waits, shares = wait_cdf(counts)
        figure.add_trace(go.Scatter(
            x=[0.0, *waits], y=[0.0, *(100 * s for s in shares)], mode="lines", name=label,
            legendgroup=label, showlegend=legend_entry,
            hovertemplate="within %{x:.1f} s: %{y:.1f}%<extra>%{fullData.name}</extra>",
            line={"color": _colour(index), "dash": DASHES[index % len(DASHES)]}),
            row=panel, col=1)
    if not math.isnan(threshold_s):
        figure.add_vline(x=threshold_s, line={"color": "#666", "width": 1}, row=panel, col=1,
                         annotation_text=f"SL threshold {threshold_s:g} s")
    figure.update_xaxes(title="Wait in queue (s)", row=panel, col=1)
    figure.update_yaxes(title="Answered within (%)", ticksuffix="%", range=[0, 101],
                        row=panel, col=1)


def occupancy_by_group_figure(per_group: dict[str, dict[str, dict[str, Estimate]]],
                              day_start: float) -> go.Figure:
    """Each group's occupancy per interval of the day (``{group: {label: {"HH:MM":
    Estimate}}}``), a panel per group, a line per label with its 95% band."""
    figure = make_subplots(rows=len(per_group), cols=1, shared_xaxes=True,
                           subplot_titles=[f"Occupancy: {group}" for group in per_group],
                           vertical_spacing=0.08)
    for panel, per_label in enumerate(per_group.values(), start=1):
        for index, (label, per_key) in enumerate(per_label.items()):
            keys = sorted(per_key, key=interval_hours)
            _band_traces(figure, panel, label, index,
                         [_clock(clock_hours(k, day_start)) for k in keys],
                         [per_key[k] for k in keys], 100.0, panel == 1, True)
        figure.update_yaxes(ticksuffix="%", row=panel, col=1)
    figure.update_xaxes(type="date", tickformat="%H:%M")
    return _layout(figure, "Occupancy per group by interval of the day",
                   140 + 230 * len(per_group))


def staffing_figure(data: ReportData) -> go.Figure:
    """Agents on duty per group over the measured window, as steps on clock time."""
    figure = go.Figure()
    for index, (group, (edges, counts)) in enumerate(staffing_series(data.results).items()):
        figure.add_trace(go.Scatter(
            x=[_clock((t + data.day_start) / 3600) for t in edges], y=[*counts, counts[-1]],
            mode="lines", line={"shape": "hv", "color": _colour(index), "width": 2},
            name=group, hovertemplate="%{x|%H:%M}: %{y} agents<extra>%{fullData.name}</extra>"))
    figure.update_xaxes(type="date", tickformat="%H:%M")
    figure.update_yaxes(title="Agents on duty", rangemode="tozero")
    return _layout(figure, "Agents on duty per group", 380)


def interactive_figures(data: ReportData) -> list[tuple[str, str, go.Figure]]:
    """``(id, heading, figure)`` of every interactive figure the results support."""
    results = data.results
    day_start = data.day_start
    out = [("forest", "Paired differences per metric and scope",
            forest_figure(data.scopes, data.figure_metrics, day_start))]
    metrics = [m for m in DIFFERENCE_METRICS if m in data.figure_metrics]
    if len(data.intervals) > 1 and metrics:
        out.append(("differences-by-interval", "Paired differences by interval of the day",
                    difference_figure(data.intervals, metrics, day_start)))
    by_interval = results.summary("by_interval")
    if sum(len(keys) for keys in by_interval.values()) > len(by_interval):
        out.append(("by-interval", "Service, abandonment and occupancy by interval",
                    interval_figure(by_interval, ["service_level", "abandon_rate",
                                                  "occupancy", "offered"], day_start,
                                    "By interval of the day (95% bands)")))
        out.append(("staffing", "Staffing per group", staffing_figure(data)))
        per_group = group_interval_occupancy(results)
        if per_group:
            out.append(("occupancy-by-group", "Occupancy per group by interval",
                        occupancy_by_group_figure(per_group, day_start)))
    histograms = wait_histograms(results)
    if histograms is not None:
        out.append(("wait-cdf", "Wait-time distribution",
                    cdf_figure(histograms, results.scenario.service_level.threshold)))
    by_type = wait_histograms_by_type(results)
    if len(results.scenario.contact_types) > 1 and by_type:
        out.append(("wait-cdf-by-type", "Wait-time distribution per contact type",
                    cdf_by_type_figure(by_type, sl_thresholds(results.scenario))))
    return out


def interactive_page(data: ReportData, command: str | None = None) -> str:
    """The interactive page as one HTML document with plotly.js inline."""
    overall = data.overall
    blocks = []
    for div_id, heading, figure in interactive_figures(data):
        div = pio.to_html(figure, full_html=False, include_plotlyjs=False,
                          div_id=f"plot-{div_id}", config=CONFIG)
        blocks.append(f'<section class="plot"><h3>{escape(heading)}</h3>{div}</section>')
    reproduce = (f'<p class="meta">Reproduce: <code>{escape(command)}</code></p>'
                 if command else "")
    body = f"""<h1>Policy comparison: {escape(data.results.scenario.name)} (interactive)</h1>
<p class="meta">{escape(" vs ".join(overall.labels))}; baseline {escape(overall.baseline)};
{overall.replications} replications, seed {overall.seed}. ccsim {escape(version())}.
Hover for values, drag to zoom (double-click resets), click a legend entry to hide or show a
policy. Static version with tables: <a href="index.html">index.html</a>.</p>
{reproduce}
<h2>Findings</h2>
{findings_html(data)}
<p class="meta">{escape(legend(overall))}</p>
<h2>Figures</h2>
{"".join(blocks)}"""
    script = f'<script type="text/javascript">{get_plotlyjs()}</script>\n'
    return page(f"ccsim comparison (interactive): {data.results.scenario.name}", body, script)


def write_interactive(data: ReportData, path: str | Path, command: str | None = None) -> Path:
    """Write the interactive page to ``path`` atomically; returns the path."""
    path = Path(path)
    write_atomic(path, interactive_page(data, command))
    return path

