"""Figures of ``reports.plots`` drawn from hand-made summaries and histograms."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
from matplotlib.collections import PolyCollection
from matplotlib.colors import to_hex

from reports.compare import METRICS, Comparison, MetricRow
from reports.plots import (
    OKABE_ITO,
    plot_by_interval,
    plot_metric_comparison,
    plot_verification,
    plot_wait_cdf,
    plot_wait_percentiles,
    render,
    save_figure,
    style,
    wait_cdf,
)
from sim.kernel.metrics import HISTOGRAM_BINS, histogram_quantile, wait_bin
from sim.runner import Estimate

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _histogram(waits: list[float]) -> list[int]:
    counts = [0] * HISTOGRAM_BINS
    for wait in waits:
        counts[0 if wait == 0 else wait_bin(wait)] += 1
    return counts


def _estimate(mean: float, half: float = 1.0) -> Estimate:
    return Estimate(mean, mean - half, mean + half, 5)


# ------------------------------------------------------------------------ wait CDF
def test_wait_cdf_from_a_hand_made_histogram() -> None:
    # Half answered at once, 30% after about 10 s, 20% after about 100 s.
    counts = _histogram([0.0] * 50 + [10.1] * 30 + [100.0] * 20)
    waits, shares = wait_cdf(counts)
    assert (waits[0], shares[0]) == (0.0, 0.5)  # the exact-zero bin
    assert shares == sorted(shares) and shares[-1] == 1.0
    assert waits == sorted(waits)
    # Between the bins with waits the curve is flat at 80%.
    assert np.interp(50.0, waits, shares) == pytest.approx(0.8)
    # The last point is the upper edge of the bin holding 100 s (1% geometric bins).
    assert 100.0 < waits[-1] <= 101.0
    # The curve is the inverse of the engine's percentile reading of the same histogram.
    for q in (0.6, 0.8, 0.9, 0.95):
        assert np.interp(histogram_quantile(counts, q), waits, shares) == pytest.approx(q)


def test_wait_cdf_rejects_bad_histograms() -> None:
    with pytest.raises(ValueError, match=f"has {HISTOGRAM_BINS} bins, got 3"):
        wait_cdf([1, 2, 3])
    with pytest.raises(ValueError, match="empty"):
        wait_cdf([0] * HISTOGRAM_BINS)


def test_wait_cdf_plot_has_one_curve_per_label_and_the_threshold() -> None:
    histograms = {"fcfs": _histogram([0.0] * 60 + [15.0] * 30 + [45.0] * 10),
                  "priority": _histogram([0.0] * 70 + [25.0] * 30)}
    figure = plot_wait_cdf(histograms, threshold_s=20.0)
    ax = figure.axes[0]
    curves = [line for line in ax.get_lines() if line.get_label() in histograms]
    assert [c.get_label() for c in curves] == ["fcfs", "priority"]
    assert [to_hex(c.get_color()) for c in curves] == [s.lower() for s in OKABE_ITO[:2]]
    assert ax.get_xlabel() == "Wait in queue (s)"
    assert ax.get_xlim()[1] >= 45.0  # the axis reaches the longest waits
    threshold = [line for line in ax.get_lines() if list(line.get_xdata()) == [20.0, 20.0]]
    assert len(threshold) == 1


def test_wait_percentiles_plot_puts_each_percentile_at_its_mean() -> None:
    summary = {"fcfs": {"wait_p50_s": _estimate(0.0, 0.0), "wait_p90_s": _estimate(24.0),
                        "wait_p99_s": _estimate(70.0, 8.0)},
               "priority": {"wait_p50_s": _estimate(0.0, 0.0), "wait_p90_s": _estimate(26.0),
                            "wait_p99_s": _estimate(80.0, 9.0)}}
    figure = plot_wait_percentiles(summary, threshold_s=20.0)
    ax = figure.axes[0]
    points = {(line.get_label(), float(line.get_xdata()[0]))
              for line in ax.get_lines() if line.get_marker() not in (None, "None", "")
              and len(line.get_xdata()) == 1}
    assert {x for _, x in points} >= {0.0, 24.0, 70.0, 26.0, 80.0}
    assert [t.get_text() for t in ax.get_yticklabels()] == ["p50", "p90", "p99"]


# ------------------------------------------------------------------------ comparison
def _comparison() -> Comparison:
    rows = [
        MetricRow(METRICS["service_level"],
                  {"fcfs": _estimate(0.80, 0.02), "priority": _estimate(0.85, 0.02)},
                  {"priority": Estimate(0.05, 0.03, 0.07, 5)}),
        MetricRow(METRICS["asa_s"], {"fcfs": _estimate(10.0), "priority": _estimate(10.5)},
                  {"priority": Estimate(0.5, -0.2, 1.2, 5)}),
        MetricRow(METRICS["occupancy"], {"fcfs": _estimate(0.9, 0.01),
                                         "priority": _estimate(0.9, 0.01)},
                  {"priority": Estimate(0.0, 0.0, 0.0, 5)}),
    ]
    return Comparison("hand-made", 1, 5, ["fcfs", "priority"], rows)


def test_metric_comparison_has_a_panel_per_metric_with_ci_bars() -> None:
    figure = plot_metric_comparison(_comparison())
    axes = [ax for ax in figure.axes if ax.get_visible()]
    assert [ax.get_title() for ax in axes] == ["Service level", "ASA (s)", "Occupancy"]
    service = axes[0]
    # The significant improvement is named next to the label; the others are not.
    assert [t.get_text() for t in service.get_yticklabels()] == ["fcfs", "priority (better)"]
    assert [t.get_text() for t in axes[1].get_yticklabels()] == ["fcfs", "priority"]
    # Each label has a point at its mean and a CI whisker from low to high.
    means = sorted(float(line.get_xdata()[0]) for line in service.get_lines()
                   if len(line.get_xdata()) == 1 and line.get_marker() in ("o", "s"))
    assert means == pytest.approx([0.80, 0.85])
    whiskers = [segment for collection in service.collections
                for segment in collection.get_segments()]
    assert sorted(round(float(s[0][0]), 4) for s in whiskers) == [0.78, 0.83]


def test_comparison_without_rows_is_an_error() -> None:
    empty = Comparison("x", 1, 2, ["a", "b"], [])
    with pytest.raises(ValueError, match="no metrics"):
        plot_metric_comparison(empty)


# ------------------------------------------------------------------------ by interval
def test_by_interval_plot_orders_intervals_by_time_and_shades_the_ci() -> None:
    per_key = {key: {"service_level": _estimate(sl, 0.15), "abandon_rate": _estimate(ab, 0.03)}
               for key, sl, ab in (("10:00", 0.7, 0.05), ("08:30", 0.9, 0.01),
                                   ("09:00", 0.8, 0.02))}
    figure = plot_by_interval({"fcfs": per_key}, ["service_level", "abandon_rate"], "Title")
    top, bottom = figure.axes
    line = top.get_lines()[0]
    assert list(line.get_xdata()) == [8.5, 9.0, 10.0]
    assert list(line.get_ydata()) == [0.9, 0.8, 0.7]
    # Bands are cut to what a share can be: 0.9 + 0.15 stops at 100%, 0.01 - 0.03 at 0%.
    for ax, (low, high) in ((top, (0.55, 1.0)), (bottom, (0.0, 0.08))):
        band = next(c for c in ax.collections if isinstance(c, PolyCollection))
        vertices = band.get_paths()[0].vertices[:, 1]
        assert (vertices.min(), vertices.max()) == pytest.approx((low, high))
    assert top.get_title() == "Service level" and bottom.get_title() == "Abandonment rate"
    assert bottom.xaxis.get_major_formatter()(9.0, 0) == "09:00"
    assert top.yaxis.get_major_formatter()(0.8, 0).startswith("80")
    with pytest.raises(ValueError, match="no per-interval results"):
        plot_by_interval({"fcfs": {}}, ["service_level"], "Title")


# ------------------------------------------------------------------------ verification
def test_verification_breakdown_only_when_present() -> None:
    assert plot_verification({"fcfs": {"asa_s": _estimate(5.0)}}) is None
    summary = {
        "fcfs/kba_all": {"verify_ivr_s": _estimate(20.0), "verify_agent_s": _estimate(40.0),
                         "verify_cost": _estimate(0.33, 0.01), "fraud_caught": _estimate(3.0),
                         "fraud_let_through": _estimate(2.0),
                         "genuine_refused": _estimate(30.0)},
        "fcfs/passive": {"verify_ivr_s": _estimate(5.0), "verify_agent_s": _estimate(10.0),
                         "verify_cost": _estimate(0.12, 0.01), "fraud_caught": _estimate(4.0),
                         "fraud_let_through": _estimate(1.0),
                         "genuine_refused": _estimate(8.0)},
    }
    figure = plot_verification(summary)
    assert figure is not None
    time_ax, cost_ax, fraud_ax, refused_ax = figure.axes
    assert time_ax.get_title().startswith("Verification time (s)")
    assert [t.get_text() for t in time_ax.get_yticklabels()] == list(summary)
    # IVR and agent seconds side by side (different denominators), not stacked.
    assert sorted(b.get_width() for b in time_ax.patches) == [5.0, 10.0, 20.0, 40.0]
    assert all(b.get_x() == 0 for b in time_ax.patches)
    # Fraud caught and let through stack into the attempts.
    spans = sorted((round(b.get_x(), 6), round(b.get_x() + b.get_width(), 6))
                   for b in fraud_ax.patches)
    assert spans == [(0.0, 3.0), (0.0, 4.0), (3.0, 5.0), (4.0, 5.0)]
    assert sorted(b.get_width() for b in cost_ax.patches) == pytest.approx([0.12, 0.33])
    assert sorted(b.get_width() for b in refused_ax.patches) == [8.0, 30.0]


# ------------------------------------------------------------------------ output
def test_save_figure_writes_svg_and_png_deterministically(tmp_path: Path) -> None:
    figure = plot_metric_comparison(_comparison())
    paths = save_figure(figure, tmp_path / "figures", "metrics")
    assert set(paths) == {"svg", "png"}
    assert paths["png"].read_bytes().startswith(PNG_SIGNATURE)
    root = ET.fromstring(paths["svg"].read_bytes())
    assert root.tag.endswith("svg") and float(root.get("width", "0pt").rstrip("pt")) > 500
    # The same figure gives the same bytes: no timestamps or random ids.
    again = plot_metric_comparison(_comparison())
    assert render(again, "svg") == paths["svg"].read_bytes()
    assert render(again, "png") == paths["png"].read_bytes()
    with pytest.raises(ValueError, match="unknown figure format 'gif'"):
        render(figure, "gif")


def test_styles_are_colour_blind_safe_and_distinct() -> None:
    styles = [style(i) for i in range(len(OKABE_ITO))]
    assert [s["color"] for s in styles] == list(OKABE_ITO)
    assert len({(s["marker"], s["linestyle"]) for s in styles}) == len(styles)
    assert len(set(OKABE_ITO)) == 8
