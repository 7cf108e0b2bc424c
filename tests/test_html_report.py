"""The HTML report of ``ccsim compare --report``: self-contained, and rendered in a real
headless Chromium (Debian's ``chromium``) with every table and figure visible and no
console errors.

Chromium is driven over the DevTools protocol on ``--remote-debugging-pipe``
(NUL-separated JSON on file descriptors 3 and 4), so the test needs no
WebDriver, no open port and no extra Python package. Without Chromium the
browser tests skip locally; with ``CI`` set they fail instead. Screenshots
are saved to ``tests/artifacts/report.png`` (the quickstart comparison) and
``tests/artifacts/identity-report.png`` (verification strategies).
"""

from __future__ import annotations

import base64
import html
import json
import os
import re
import select
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import yaml

from reports.html import wait_histograms, write_report
from sim import RunResults, run, scenario_from_dict
from sim.cli import main
from sim.kernel.metrics import HISTOGRAM_BINS, wait_bin

ROOT = Path(__file__).resolve().parents[1]
QUICKSTART = ROOT / "scenarios" / "quickstart.yaml"
IDENTITY_BANK = ROOT / "scenarios" / "identity_bank.yaml"
ARTIFACTS = ROOT / "tests" / "artifacts"
CHROMIUM_FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--remote-debugging-pipe",
)
TIMEOUT_S = 60.0
REPORT_FIGURES = ("differences", "differences_by_interval", "wait_cdf", "wait_by_type",
                  "service_by_interval", "load_by_interval", "staffing")
"""Figures of the quickstart report, in page order."""


class DevTools:
    """A headless Chromium and a DevTools-protocol connection to it over pipes."""

    def __init__(self, binary: str) -> None:
        self._profile = tempfile.mkdtemp(prefix="ccsim-chromium-")
        self._log = open(Path(self._profile) / "stderr.log", "w+b")  # noqa: SIM115
        # Chromium reads commands on fd 3 and writes replies on fd 4; the shell moves the
        # two pipes Python gives it as stdin and stdout there.
        self._process = subprocess.Popen(
            ["sh", "-c", 'exec "$@" 3<&0 4>&1 0</dev/null 1>/dev/null', "chromium", binary,
             *CHROMIUM_FLAGS, f"--user-data-dir={self._profile}", "about:blank"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._log)
        self._buffer = b""
        self._next_id = 0
        self.events: list[dict[str, Any]] = []

    def call(self, method: str, params: dict[str, Any] | None = None,
             session: str | None = None) -> dict[str, Any]:
        """Send one command and return its result; events that arrive meanwhile are kept."""
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params or {}}
        if session is not None:
            message["sessionId"] = session
        assert self._process.stdin is not None
        self._process.stdin.write(json.dumps(message).encode() + b"\0")
        self._process.stdin.flush()
        while True:
            reply = self._receive()
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return dict(reply["result"])
            self.events.append(reply)

    def wait_for(self, method: str) -> dict[str, Any]:
        """The first event named ``method``, waiting for it if it has not arrived yet."""
        while True:
            for event in self.events:
                if event.get("method") == method:
                    return event
            self.events.append(self._receive())

    def _receive(self) -> dict[str, Any]:
        assert self._process.stdout is not None
        deadline = time.monotonic() + TIMEOUT_S
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            ready, _, _ = select.select([self._process.stdout], [], [], max(left, 0))
            chunk = os.read(self._process.stdout.fileno(), 1 << 20) if ready else b""
            if not chunk:
                self._log.seek(0)
                tail = self._log.read().decode(errors="replace")[-2000:]
                reason = "timed out" if not ready else "closed the pipe"
                raise RuntimeError(f"Chromium {reason}; its stderr ends with:\n{tail}")
            self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        return dict(json.loads(message))

    def close(self) -> None:
        """Stop this Chromium and remove its profile."""
        self._process.terminate()
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._log.close()
        shutil.rmtree(self._profile, ignore_errors=True)


def _chromium_binary() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    reason = "Chromium is not installed (Debian: apt-get install -y chromium)"
    if os.environ.get("CI"):
        pytest.fail(f"{reason}; CI must run the browser test (.ci/run installs it)")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def browser() -> Iterator[DevTools]:
    devtools = DevTools(_chromium_binary())
    try:
        devtools.call("Browser.getVersion")
        yield devtools
    finally:
        devtools.close()


ELEMENT_SIZES = """JSON.stringify(Array.from(document.querySelectorAll('table, figure, img')).map(e => {
  const box = e.getBoundingClientRect();
  return {tag: e.tagName.toLowerCase(), id: e.id || (e.closest('figure') || {}).id || '',
          width: box.width, height: box.height,
          loaded: e.tagName !== 'IMG' || (e.complete && e.naturalWidth > 0)};
}))"""


def load_page(devtools: DevTools, path: Path, screenshot: Path | None = None,
              probe: str | None = None) -> dict[str, Any]:
    """Open ``path`` in a new tab; return its element sizes, console errors and the
    requests it made to anything but ``file:`` and ``data:`` URLs, and, with ``probe``
    (a JavaScript expression, awaited when it is a promise), the JSON its value encodes."""
    target = devtools.call("Target.createTarget", {"url": "about:blank"})["targetId"]
    session = devtools.call("Target.attachToTarget",
                            {"targetId": target, "flatten": True})["sessionId"]
    first_event = len(devtools.events)
    for domain in ("Runtime", "Log", "Network", "Page"):
        devtools.call(f"{domain}.enable", session=session)
    devtools.call("Emulation.setDeviceMetricsOverride",
                  {"width": 1200, "height": 900, "deviceScaleFactor": 1, "mobile": False},
                  session=session)
    devtools.call("Emulation.setScrollbarsHidden", {"hidden": True}, session=session)
    devtools.events = devtools.events[:first_event]
    devtools.call("Page.navigate", {"url": path.resolve().as_uri()}, session=session)
    devtools.wait_for("Page.loadEventFired")
    sizes = json.loads(devtools.call("Runtime.evaluate", {
        "expression": ELEMENT_SIZES, "returnByValue": True}, session=session)["result"]["value"])
    probed = None
    if probe is not None:
        probed = json.loads(devtools.call("Runtime.evaluate", {
            "expression": probe, "returnByValue": True, "awaitPromise": True},
            session=session)["result"]["value"])
    if screenshot is not None:
        content = devtools.call("Page.getLayoutMetrics", session=session)["cssContentSize"]
        shot = devtools.call("Page.captureScreenshot", {
            "format": "png", "captureBeyondViewport": True,
            "clip": {"x": 0, "y": 0, "width": content["width"], "height": content["height"],
                     "scale": 1}}, session=session)
        screenshot.parent.mkdir(parents=True, exist_ok=True)
        screenshot.write_bytes(base64.b64decode(shot["data"]))
    errors, requests = [], []
    for event in devtools.events:
        params = event.get("params", {})
        if event.get("method") == "Runtime.consoleAPICalled" and params["type"] in (
                "error", "assert"):
            errors.append(" ".join(str(a.get("value", a.get("description", "")))
                                   for a in params["args"]))
        elif event.get("method") == "Runtime.exceptionThrown":
            errors.append(params["exceptionDetails"].get("text", "exception"))
        elif event.get("method") == "Log.entryAdded" and params["entry"]["level"] == "error":
            errors.append(params["entry"]["text"])
        elif event.get("method") == "Network.requestWillBeSent":
            url = params["request"]["url"]
            if not url.startswith(("file:", "data:")):
                requests.append(url)
    devtools.events.clear()
    devtools.call("Target.closeTarget", {"targetId": target})
    return {"sizes": sizes, "errors": errors, "requests": requests, "probe": probed}


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The report of the issue's command, on three replications to keep the test short."""
    directory = tmp_path_factory.mktemp("report")
    code = main(["compare", str(QUICKSTART), "--policy", "fcfs", "--policy", "priority",
                 "--replications", "3", "--report", str(directory), "--output",
                 str(directory / "table.txt")])
    assert code == 0
    return directory / "index.html"


@pytest.fixture(scope="module")
def identity_report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The report of three verification strategies on a shortened identity-bank day."""
    data = yaml.safe_load(IDENTITY_BANK.read_text())
    data["run"]["duration"] = "10h"  # 08:00-10:00 of traffic
    data["customers"]["population"] = 20000
    scenario = scenario_from_dict(data, base_dir=IDENTITY_BANK.parent)
    results = run(scenario, replications=2, progress=False)
    return write_report(results, tmp_path_factory.mktemp("identity"))


@pytest.fixture(scope="module")
def reality_page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``ccsim reality --report`` on the three-day log excerpt of the reality tests."""
    directory = tmp_path_factory.mktemp("reality")
    assert main(["reality", str(ROOT / "tests" / "data" / "anonymous_bank_excerpt.txt"),
                 "--replications", "2", "--report", str(directory)]) == 0
    return directory / "index.html"


STAFF_DAY = """
name: day
run: {duration: 12h, replications: 3, seed: 5, interval: 1h, day_start: 6h}
contact_types:
  calls:
    arrivals: {rates: [0/h, 0/h, 0/h, 0/h, 40/h, 80/h, 100/h, 80/h, 40/h, 0/h, 0/h, 0/h,
                       0/h, 0/h, 0/h, 0/h, 0/h, 0/h, 0/h, 0/h, 0/h, 0/h, 0/h, 0/h]}
    handle_time: {dist: exponential, mean: 4min}
    patience: {dist: exponential, mean: 3min}
agents:
  team:
    skills: [calls]
    staffing: [0, 0, 0, 0, 4, 8, 10, 8, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]
routing: {policy: fcfs}
"""


@pytest.fixture(scope="module")
def staff_page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``ccsim staff --report`` on a day that opens at 10:00 clock time (day_start 6h)."""
    directory = tmp_path_factory.mktemp("staff")
    scenario = directory / "day.yaml"
    scenario.write_text(STAFF_DAY)
    assert main(["staff", str(scenario), "--target", "service_level>=0.8", "--report",
                 str(directory / "report")]) == 0
    return directory / "report" / "index.html"


def test_reality_and_staff_pages_share_the_report_style(reality_page: Path,
                                                        staff_page: Path) -> None:
    from reports.page import CSS

    for path in (reality_page, staff_page):
        page = path.read_text(encoding="utf-8")
        assert f"<style>{CSS}</style>" in page and "<script" not in page
        assert all(s.startswith("data:") for s in re.findall(r'\b(?:src|href)="([^"]*)"', page))
    staff = staff_page.read_text(encoding="utf-8")
    # Clock time from day_start: the first staffed interval (simulation 04:00) is 10:00.
    assert "<th>Clock time</th>" in staff and "<td>10:00</td>" in staff
    assert 'id="fig-agents"' in staff and 'id="fig-achieved"' in staff
    assert 'id="fig-reality"' in reality_page.read_text(encoding="utf-8")


# --------------------------------------------------------------------- without a browser
def test_report_is_one_self_contained_file(report: Path) -> None:
    page = report.read_text(encoding="utf-8")
    # Nothing to fetch: every image is a data URI, no stylesheet, script or remote link.
    # The one exception is the link to the interactive page written beside it.
    sources = re.findall(r'\b(?:src|href)="([^"]*)"', page)
    assert sources and all(s.startswith("data:") for s in sources
                           if s != "interactive.html"), sources
    assert "<script" not in page and "<link" not in page
    assert not re.search(r"https?://", page.replace("http://www.w3.org/2000/svg", ""))
    for heading in ("Findings", "Scenario", "Comparison", "Figures", "Metric definitions"):
        assert f"<h2>{heading}</h2>" in page
    # The SL variant and the paired-CI method are stated.
    assert "SL(20s) = answered within 20s / (answered + abandoned after 20s)" in page
    assert "paired differences" in page
    # Overall table plus one per contact type, and the figures, also as files.
    assert page.count("<table>") == 3 + 1 + 2
    assert "Contact type vip" in page and "Contact type general" in page
    stems = re.findall(r'<figure id="fig-([a-z_]+)"', page)
    assert stems == list(REPORT_FIGURES)
    for stem in stems:
        for ext in ("svg", "png"):
            assert (report.parent / "figures" / f"{stem}.{ext}").stat().st_size > 1000


def test_report_downloads_hold_the_comparison(report: Path) -> None:
    page = report.read_text(encoding="utf-8")
    link = re.search(r'download="comparison.json" href="data:application/json;base64,([^"]+)"',
                     page)
    assert link is not None
    document = json.loads(base64.b64decode(link.group(1)))
    assert document["labels"] == ["fcfs", "priority"]
    assert document["replications"] == 3
    assert set(document["by_type"]) == {"general", "vip"}
    # The priority policy puts VIPs first: their ASA falls in every replication.
    vip = document["by_type"]["vip"]["differences"]["priority"]["asa_s"]
    assert vip["ci95"][1] < 0 and vip["verdict"] == "better"


def test_identity_report_compares_verification_strategies(identity_report: Path) -> None:
    page = identity_report.read_text(encoding="utf-8")
    assert "fcfs/kba_all vs fcfs/passive_stepup vs fcfs/biometric" in page
    assert 'id="fig-verification"' in page
    assert (identity_report.parent / "figures" / "verification.svg").exists()
    for label in ("Verification cost ($/contact)", "Genuine refused (share of verified)",
                  "Fraud loss ($/contact)"):
        assert f"<dt>{html.escape(label)} <code>" in page  # defined, not only shown
    assert "no definition on file" not in page


def _short_results(replications: int) -> RunResults:
    data = yaml.safe_load(QUICKSTART.read_text())
    data["run"].update({"duration": "2h", "warmup": "0s"})
    return run(scenario_from_dict(data), ["fcfs", "priority"], replications=replications,
               progress=False)


def test_report_draws_the_wait_cdf_from_exported_histograms(tmp_path: Path) -> None:
    results = _short_results(2)
    waits = {"fcfs": [0.0] * 6 + [12.0] * 3 + [40.0], "priority": [0.0] * 5 + [25.0] * 5}
    for label, reps in results.runs.items():
        counts = [0] * HISTOGRAM_BINS
        for wait in waits[label]:
            counts[0 if wait == 0 else wait_bin(wait)] += 1
        reps[:] = [replace(r, wait_histogram=counts) for r in reps]
    assert wait_histograms(results) == {
        label: [2 * c for c in reps[0].wait_histogram] for label, reps in results.runs.items()}
    page = write_report(results, tmp_path / "report").read_text(encoding="utf-8")
    assert 'id="fig-wait_cdf"' in page and "fig-wait_percentiles" not in page


def test_report_of_one_replication_says_intervals_are_undefined(tmp_path: Path) -> None:
    results = _short_results(1)
    histograms = wait_histograms(results)
    assert histograms is not None
    assert {label: sum(h) for label, h in histograms.items()} == {
        label: reps[0].overall["answered"] for label, reps in results.runs.items()}
    page = write_report(results, tmp_path / "report").read_text(encoding="utf-8")
    assert "confidence intervals are undefined" in page
    assert "(no CI)" in page and page.count("<img ") == len(REPORT_FIGURES)


def test_report_directory_must_not_be_a_file(tmp_path: Path) -> None:
    target = tmp_path / "report"
    target.write_text("")
    with pytest.raises(ValueError, match="is a file; allowed: a folder"):
        write_report(_short_results(1), target)


# ------------------------------------------------------------------------ in Chromium
@pytest.mark.parametrize(("which", "tables", "figures"), [("report", 6, len(REPORT_FIGURES)),
                                                          ("identity_report", 7, 7),
                                                          ("reality_page", 4, 1),  # comparison, inputs, waits, fits
                                                          ("staff_page", 1, 2)])
def test_report_renders_in_headless_chromium(browser: DevTools, which: str, tables: int,
                                             figures: int, request: pytest.FixtureRequest
                                             ) -> None:
    screenshot = ARTIFACTS / f"{which.replace('_', '-')}.png"
    page = load_page(browser, request.getfixturevalue(which), screenshot=screenshot)
    print(f"screenshot: {screenshot}")
    assert page["errors"] == []
    assert page["requests"] == []
    sizes = page["sizes"]
    assert len([s for s in sizes if s["tag"] == "table"]) == tables
    images = [s for s in sizes if s["tag"] == "img"]
    assert len(images) == figures
    for element in sizes:
        assert element["width"] > 0 and element["height"] > 0, element
        assert element["loaded"], element
    # Figures are drawn at a readable size in a 1200 px window, not as thumbnails.
    assert all(image["width"] >= 800 and image["height"] >= 250 for image in images), images
    assert screenshot.stat().st_size > 50_000


def test_browser_check_catches_errors_and_broken_figures(browser: DevTools,
                                                         tmp_path: Path) -> None:
    # The checks above must be able to fail: a page with a console error, a thrown
    # exception, a missing image and a remote request is reported on every count.
    page = tmp_path / "broken.html"
    page.write_text(
        "<!DOCTYPE html><html><body><table></table>"
        "<figure><img src='missing.svg' alt='x'></figure>"
        "<img src='http://127.0.0.1:9/none.png' alt='y'>"
        "<script>console.error('boom'); undefinedFunction();</script></body></html>")
    result = load_page(browser, page)
    assert any("boom" in e for e in result["errors"])
    assert any("undefinedFunction" in e or "Uncaught" in e for e in result["errors"])
    assert result["requests"] == ["http://127.0.0.1:9/none.png"]
    table = next(s for s in result["sizes"] if s["tag"] == "table")
    assert table["height"] == 0
    assert not all(s["loaded"] for s in result["sizes"] if s["tag"] == "img")


TOP_FINDING = """JSON.stringify((() => {
  const first = document.querySelector('#findings li');
  const box = first.getBoundingClientRect();
  const scenario = Array.from(document.querySelectorAll('h2')).find(h => h.textContent ===
                                                                      'Scenario');
  return {text: first.textContent, cls: first.className,
          x: box.left + window.scrollX, y: box.top + window.scrollY,
          width: box.width, height: box.height,
          scenario_y: scenario.getBoundingClientRect().top + window.scrollY};
})())"""


def test_report_screenshot_shows_the_per_type_finding_at_the_top(browser: DevTools,
                                                                 report: Path) -> None:
    # The point of priority routing is what VIPs gain: the ranked findings must open with
    # a per-type difference, above the scenario and the tables, on the first screen; and
    # the screenshot must show it drawn (its blue "better" background and dark text).
    from matplotlib.image import imread

    screenshot = ARTIFACTS / "report-top.png"
    page = load_page(browser, report, screenshot=screenshot, probe=TOP_FINDING)
    top = page["probe"]
    assert top["text"].startswith("Type vip: "), top["text"]
    assert top["cls"] == "better" and "priority vs fcfs" in top["text"]
    assert re.search(r"\[[-+][\d.]+, [-+][\d.]+\]", top["text"]), top["text"]  # paired CI
    assert top["y"] + top["height"] <= 900 and top["y"] < top["scenario_y"]
    pixels = imread(screenshot)[:, :, :3]
    box = pixels[int(top["y"]):int(top["y"] + top["height"]),
                 int(top["x"]):int(top["x"] + top["width"])]
    assert box.size
    better = (abs(box - [0xd6 / 255, 0xe9 / 255, 0xf7 / 255]).max(axis=2) < 0.02).mean()
    text = (box.max(axis=2) < 0.35).mean()
    assert better > 0.5, better  # mostly the "better" background
    assert text > 0.01, text  # with the finding's text written on it


INTERACTIVE_PROBE = """(async () => {
  await new Promise(resolve => setTimeout(resolve, 300));
  const plots = Array.from(document.querySelectorAll('.js-plotly-plot'));
  const sizes = plots.map(p => { const b = p.getBoundingClientRect();
                                 return {id: p.id, width: b.width, height: b.height,
                                         traces: p.data.length,
                                         svg: p.querySelectorAll('.main-svg').length}; });
  const plot = document.getElementById('plot-by-interval');
  // Curve 1 is the first policy's service-level line (curve 0 its band); hover its first
  // interval with a value (a run may have intervals without contacts).
  const point = plot.data[1].y.findIndex(y => y !== null);
  Plotly.Fx.hover(plot, [{curveNumber: 1, pointNumber: point}]);
  const hover = plot.querySelectorAll('.hoverlayer .hovertext').length;
  const range = plot.layout.xaxis.range.slice();
  await Plotly.relayout(plot, {'xaxis.range': [range[0], plot.data[1].x[3]]});
  const zoomed = plot.layout.xaxis.range[1] === plot.data[1].x[3];
  await Plotly.restyle(plot, {visible: 'legendonly'}, [0, 1]);
  const hidden = plot.data[1].visible === 'legendonly' &&
                 plot.querySelectorAll('.legend .traces').length >= 2;
  const legends = Array.from(document.querySelectorAll('.legendtext')).map(t => t.textContent);
  return JSON.stringify({sizes, hover, zoomed, hidden, legends});
})()"""


@pytest.mark.parametrize("which", ["report", "identity_report"])
def test_interactive_report_works_offline_in_headless_chromium(
        browser: DevTools, which: str, request: pytest.FixtureRequest) -> None:
    report: Path = request.getfixturevalue(which)
    interactive = report.parent / "interactive.html"
    text = interactive.read_text(encoding="utf-8")
    # One file: plotly.js inline, nothing loaded from elsewhere.
    assert not re.search(r'<script[^>]+src=|<link\b', text)
    assert 'href="index.html"' in text and 'href="interactive.html"' in report.read_text()
    screenshot = ARTIFACTS / f"{which.replace('_', '-')}-interactive.png"
    page = load_page(browser, interactive, screenshot=screenshot, probe=INTERACTIVE_PROBE)
    print(f"screenshot: {screenshot}")
    assert page["errors"] == []
    assert page["requests"] == []
    probe = page["probe"]
    # The identity bank has one contact type: no per-type wait figure.
    assert [s["id"] for s in probe["sizes"]] == [
        "plot-forest", "plot-differences-by-interval", "plot-by-interval", "plot-staffing",
        "plot-occupancy-by-group", "plot-wait-cdf",
        *(["plot-wait-cdf-by-type"] if which == "report" else [])]
    for size in probe["sizes"]:
        assert size["width"] > 800 and size["height"] > 300 and size["svg"] > 0, size
        assert size["traces"] > 0, size
    assert probe["hover"] == 1, probe  # hovering a point shows its label
    assert probe["zoomed"] and probe["hidden"], probe  # zoom and toggling a policy work
    assert screenshot.stat().st_size > 50_000
    if which == "report":
        assert {"fcfs", "priority", "generalists", "vip_desk"} <= set(probe["legends"])
        # The findings open this page too.
        assert re.search(r'<ol class="findings" id="findings"><li class="better">'
                         r'<span class="where">Type vip</span>', text)
