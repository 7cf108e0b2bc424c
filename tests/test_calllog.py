"""The call-log reader: real excerpt counts checked against an independent csv count, every
kind of messy line counted (never a crash), the generic CSV mapping and its errors, and the
arrival-trace files used for replay."""

from __future__ import annotations

import csv
import math
import re
from collections import Counter
from pathlib import Path

import pytest

from sim.analysis.calllog import (
    ABANDONED,
    IVR,
    SERVED,
    CsvMapping,
    outcome_counts,
    read_arrival_trace,
    read_log,
    write_arrival_trace,
)

DATA = Path(__file__).parent / "data"
EXCERPT = DATA / "anonymous_bank_excerpt.txt"
HEADER = ("vru+line\tcall_id\tcustomer_id\tpriority\ttype\tdate\tvru_entry\tvru_exit\tvru_time\t"
          "q_start\tq_exit\tq_time\toutcome\tser_start\tser_exit\tser_time\tserver")


def _independent_counts(path: Path) -> tuple[dict[str, Counter[str]], Counter[str]]:
    """Outcomes per type and skipped lines, straight from the format description."""
    per_type: dict[str, Counter[str]] = {}
    skipped: Counter[str] = Counter()
    with path.open(newline="") as handle:
        rows = csv.reader(handle, delimiter="\t")
        next(rows)
        for row in rows:
            if len(row) != 17:
                skipped["wrong_field_count"] += 1
                continue
            kind, outcome, queued = row[4], row[12], row[9] != "0:00:00"
            if outcome == "PHANTOM":
                skipped["phantom"] += 1
                continue
            if outcome == "AGENT":
                result = SERVED
            elif queued:
                result = ABANDONED
            else:
                result = IVR
            per_type.setdefault(kind, Counter())[result] += 1
    return per_type, skipped


def test_excerpt_outcomes_per_type_match_an_independent_count() -> None:
    log = read_log(EXCERPT)
    expected, skipped = _independent_counts(EXCERPT)
    assert outcome_counts(log.calls) == expected
    assert log.report.excluded == skipped
    assert skipped["wrong_field_count"] == 2 and skipped["phantom"] > 0
    with EXCERPT.open(newline="") as handle:
        lines = sum(1 for _ in handle) - 1
    assert log.report.lines == lines
    assert log.report.used + sum(log.report.excluded.values()) == lines
    assert log.first_date is not None and log.first_date.isoformat() == "1999-10-24"


def test_excerpt_report_names_every_kind_with_example_lines() -> None:
    text = read_log(EXCERPT).report.format_text()
    assert "wrong number of fields (malformed line) (e.g. lines " in text
    assert "PHANTOM outcome" in text
    assert "cross midnight" in text
    assert text.splitlines()[1].startswith("  used ")


def _bank(tmp_path: Path, rows: list[str], ending: str = "\r\n") -> Path:
    path = tmp_path / "log.txt"
    path.write_bytes((HEADER + ending + "".join(r + ending for r in rows)).encode())
    return path


def _row(*fields: object) -> str:
    return "\t".join(str(f) for f in fields)


def test_messy_lines_are_counted_by_kind_and_never_crash(tmp_path: Path) -> None:
    rows = [
        # 0 served after a 35 s wait that crosses midnight; talk 0:00:03-0:00:55
        _row("AA", 1, 7, 1, "PS", "990109", "23:59:23", "23:59:23", 0, "23:59:28", "0:00:03", 35,
             "AGENT", "0:00:03", "0:00:55", 52, "ANAT"),
        # 1 served at once (no queue record): arrival at the IVR exit, wait 0
        _row("AA", 2, 0, 0, "NW", "990110", "7:41:16", "7:41:26", 10, "0:00:00", "0:00:00", 0,
             "AGENT", "7:41:25", "7:44:53", 208, "BASCH"),
        # 2 abandoned after 153 s
        _row("AA", 3, 9, 2, "PS", "990110", "0:00:31", "0:00:36", 5, "0:00:36", "0:03:09", 153,
             "HANG", "0:00:00", "0:00:00", 0, "NO_SERVER"),
        # 3 ended in the IVR
        _row("AA", 4, 0, 0, "PS", "990110", "0:34:12", "0:34:23", 11, "0:00:00", "0:00:00", 0,
             "HANG", "0:00:00", "0:00:00", 0, "NO_SERVER"),
        # 4 PHANTOM
        _row("AA", 5, 0, 0, "PS", "990110", "9:00:00", "9:00:05", 5, "9:00:05", "9:00:09", 4,
             "PHANTOM", "9:00:09", "9:00:10", 1, "NO_SERVER"),
        # 5 malformed: priority and type glued by spaces (16 fields)
        ("AA\t6\t0\t0       NW\t990110\t14:07:50\t14:07:58\t8\t0:00:00\t0:00:00\t0\tHANG\t"
         "0:00:00\t0:00:00\t0\tNO_SERVER"),
        # 6 a time that cannot be read
        _row("AA", 7, 0, 0, "PS", "990110", "25:61:00", "9:00:05", 5, "9:00:05", "9:00:09", 4,
             "AGENT", "9:00:09", "9:00:20", 11, "ANAT"),
        # 7 served with zero talk time
        _row("AA", 8, 0, 0, "PS", "990110", "10:00:00", "10:00:05", 5, "10:00:05", "10:00:09",
             4, "AGENT", "10:00:09", "10:00:09", 0, "ANAT"),
        # 8 IVR exit before IVR entry (clock skew), then a normal abandon
        _row("AA", 9, 3, 1, "PS", "990110", "15:46:01", "15:45:24", -37, "15:45:24", "15:46:41",
             77, "HANG", "0:00:00", "0:00:00", 0, "NO_SERVER"),
        # 9 hung up in queue but carries a service record
        _row("AA", 10, 5, 2, "PS", "990110", "16:21:19", "16:21:25", 6, "16:21:25", "16:21:58",
             33, "HANG", "16:21:58", "16:30:30", 512, "NO_SERVER"),
        # 10 queue exit before queue entry by a minute: negative wait
        _row("AA", 11, 5, 2, "PS", "990110", "11:00:00", "11:00:05", 5, "11:00:05", "10:59:05",
             -60, "AGENT", "11:01:00", "11:02:00", 60, "ANAT"),
        # 11 an outcome the format does not know
        _row("AA", 12, 5, 2, "PS", "990110", "11:00:00", "11:00:05", 5, "11:00:05", "11:00:10",
             5, "TRANSFER", "0:00:00", "0:00:00", 0, "NO_SERVER"),
        # 12 served without service times
        _row("AA", 13, 5, 1, "NE", "990110", "12:00:00", "12:00:05", 5, "12:00:05", "12:00:40",
             35, "AGENT", "0:00:00", "0:00:00", 0, "DORIT"),
        "",  # 13 blank line
    ]
    path = _bank(tmp_path, rows)
    with path.open("ab") as handle:  # one more line with LF only, as in the October file
        handle.write(_row("AA", 14, 0, 0, "TT", "990110", "13:00:00", "13:00:05", 5, "13:00:05",
                          "13:00:25", 20, "AGENT", "13:00:25", "13:02:25", 120, "GILI").encode()
                     + b"\n")
    log = read_log(path)
    report = log.report
    assert report.lines == 15
    assert report.line_endings == Counter({"CRLF": 14, "LF": 1})
    assert report.excluded == Counter({"phantom": 1, "wrong_field_count": 1, "bad_value": 1,
                                       "negative_time": 1, "unknown_outcome": 1, "blank": 1})
    assert report.notes == Counter({"crosses_midnight": 1, "zero_service_time": 1,
                                    "ivr_clock_skew": 1, "hang_with_service_record": 1,
                                    "no_service_times": 1})
    assert report.outcomes == Counter({SERVED: 5, ABANDONED: 3, IVR: 1})
    assert report.examples["phantom"] == [6]  # line numbers count the header as line 1
    by_line = {c.line: c for c in log.calls}
    midnight = by_line[2]
    assert midnight.day == 0 and midnight.arrival == 23 * 3600 + 59 * 60 + 28
    assert midnight.wait == 35 and midnight.service == 52 and midnight.service_start >= 86400
    at_once = by_line[3]
    assert (at_once.day, at_once.wait, at_once.service) == (1, 0.0, 208)
    assert at_once.arrival == 86400 + 7 * 3600 + 41 * 60 + 26
    abandoned = by_line[4]
    assert abandoned.outcome == ABANDONED and abandoned.wait == 153 and abandoned.service is None
    assert by_line[5].outcome == IVR and math.isnan(by_line[5].wait)
    assert by_line[9].service is None and by_line[9].outcome == SERVED
    assert by_line[11].outcome == ABANDONED and by_line[11].wait == 33
    assert by_line[14].service is None
    assert log.first_date is not None and log.first_date.isoformat() == "1999-01-09"


MAPPING = {
    "columns": {"arrival": "called", "date": "day", "wait": "queue_s", "outcome": "result",
                "service_start": "answered", "service_end": "hung_up", "agent": "agent",
                "type": "queue", "priority": "tier", "customer": "customer"},
    "outcomes": {"OK": "served", "LOST": "abandoned", "SELF": "ivr", "TEST": "ignore"},
    "time_format": "hms",
    "date_format": "%d.%m.%Y",
    "delimiter": ";",
}


def test_generic_csv_with_a_mapping(tmp_path: Path) -> None:
    path = tmp_path / "calls.csv"
    path.write_text(
        "day;called;queue_s;result;answered;hung_up;agent;queue;tier;customer\n"
        "02.03.2024;08:00:00;12;OK;08:00:12;08:03:12;ann;retail;1;c1\n"
        "02.03.2024;23:59:50;20;OK;00:00:10;00:01:10;bob;retail;0;\n"
        "03.03.2024;09:00:00;45;LOST;;;;vip;2;c2\n"
        "03.03.2024;09:10:00;;SELF;;;;retail;0;c3\n"
        "03.03.2024;09:20:00;0;TEST;;;;retail;0;c4\n"
        "03.03.2024;09:30:00;;LOST;;;;retail;0;c5\n"
        "03.03.2024;nine;0;OK;;;;retail;0;c6\n"
        "03.03.2024;10:00:00;0;OK;10:00:00;10:02:00;ann\n")
    log = read_log(path, CsvMapping.from_dict(MAPPING))
    report = log.report
    assert report.outcomes == Counter({SERVED: 2, ABANDONED: 1, IVR: 1})
    assert report.excluded == Counter({"ignored_outcome": 1, "missing_time": 1, "bad_value": 1,
                                       "wrong_field_count": 1})
    assert report.notes == Counter({"crosses_midnight": 1})
    first, late, lost, ivr = log.calls
    assert (first.arrival, first.wait, first.service, first.agent) == (8 * 3600, 12, 180, "ann")
    assert (first.type, first.priority, first.customer) == ("retail", 1, "c1")
    assert late.service == 60 and late.service_start == 86400 + 10
    assert (lost.day, lost.wait, lost.priority, lost.service) == (1, 45, 2, None)
    assert ivr.outcome == IVR and log.first_date is not None
    assert log.weekday(0) == 5  # 2 March 2024 was a Saturday


def test_mapping_from_a_yaml_file_and_seconds(tmp_path: Path) -> None:
    mapping = tmp_path / "map.yaml"
    mapping.write_text("columns: {arrival: t, outcome: o, wait: w, service_time: s}\n"
                       "outcomes: {done: served, gone: abandoned}\n")
    path = tmp_path / "calls.csv"
    path.write_text("t,o,w,s\n90000.5,done,3,100\n10,gone,7,\n")
    log = read_log(path, mapping)
    assert [c.arrival for c in log.calls] == [10, 90000.5]
    assert [c.day for c in log.calls] == [0, 1]
    assert log.calls[1].service == 100 and log.calls[0].type == "all"
    assert log.first_date is None and log.weekday(0) is None


@pytest.mark.parametrize(("change", "message"), [
    ({"columns": {"arrival": "t", "outcome": "o", "colour": "c"}}, "columns.colour: unknown field"),
    ({"columns": {"arrival": "t"}}, "columns.outcome: missing"),
    ({"columns": {"outcome": "o"}}, "columns.arrival: missing"),
    ({"outcomes": {"done": "finished"}}, "outcomes.done: 'finished' is not an outcome"),
    ({"time_format": "epoch"}, "time_format: 'epoch' is not known; allowed: seconds, hms, iso"),
    ({"delimiter": ";;"}, "delimiter: ';;' is not one character"),
    ({"date_format": "dd.mm.yyyy"}, "date_format: 'dd.mm.yyyy' is not a date format"),
    ({"colour": "red"}, "unknown key 'colour'"),
])
def test_mapping_errors_name_the_field(change: dict[str, object], message: str) -> None:
    data = {"columns": {"arrival": "t", "outcome": "o"}, "outcomes": {"done": "served"}, **change}
    with pytest.raises(ValueError, match="map.yaml: " + message.replace("(", r"\(")):
        CsvMapping.from_dict(data, "map.yaml")


def test_mapping_naming_a_missing_column(tmp_path: Path) -> None:
    path = tmp_path / "calls.csv"
    path.write_text("t,o\n1,done\n")
    mapping = CsvMapping.from_dict({"columns": {"arrival": "t", "outcome": "result"},
                                    "outcomes": {"done": "served"}})
    with pytest.raises(ValueError, match=r"columns.outcome: column 'result' is not in the "
                       r"header of .*calls.csv; header has: t, o"):
        read_log(path, mapping)


def test_unknown_format_and_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "other.csv"
    path.write_text("a,b\n1,2\n")
    with pytest.raises(ValueError, match="unknown log format .*allowed: the Anonymous Bank"):
        read_log(path)
    with pytest.raises(ValueError, match="log file not found"):
        read_log(tmp_path / "missing.txt")


def test_a_log_over_the_size_limit_is_refused_before_reading(tmp_path: Path) -> None:
    size = EXCERPT.stat().st_size
    with pytest.raises(ValueError, match=r"anonymous_bank_excerpt.txt: the log is larger than "
                       r"the limit of .* MB, which --no-limits \(no_limits=True in Python\) "
                       r"lifts; allowed: a call log file"):
        read_log(EXCERPT, limit=size - 1)
    assert read_log(EXCERPT, limit=size).report.lines == 3885


def test_a_log_that_says_size_0_is_read_within_the_limit() -> None:
    """``/proc`` files say 0 bytes whatever they hold: the lines are counted as read."""
    maps = Path("/proc/self/maps")
    if not maps.is_file():
        pytest.skip("no /proc")
    # Below any line's length: the first line is over the limit whatever the interpreter's
    # path (the first line of maps names it; at 100 a short /usr/bin path read as a whole
    # line, and the format check refused it first).
    with pytest.raises(ValueError, match=r"maps: the log is larger than the limit"):
        read_log(maps, limit=10)


@pytest.mark.parametrize(("path", "message"), [
    ("/dev/null", "the log is not a regular file (a device, pipe or socket)"),
    (".", "the log is a folder"),
])
def test_a_log_that_is_not_a_regular_file_is_refused(path: str, message: str) -> None:
    if not Path(path).exists():
        pytest.skip(f"no {path}")
    with pytest.raises(ValueError, match=re.escape(f"{path}: {message}; allowed: ")):
        read_log(path)


def test_arrival_trace_round_trip(tmp_path: Path) -> None:
    log = read_log(EXCERPT)
    path = tmp_path / "arrivals.csv"
    offered = log.offered()
    assert write_arrival_trace(log.calls, path) == len(offered)
    times, services = read_arrival_trace(path, "NW")
    nw = [c for c in offered if c.type == "NW"]
    assert times == pytest.approx([c.arrival for c in nw], abs=1e-3)
    assert services == [c.service for c in nw]


@pytest.mark.parametrize(("text", "kind", "message"), [
    ("time\n1\n", None, r":1: no arrival_s column \(its first line has one field, not "
                         r"shown\)"),
    ("time,kind\n1,a\n", None, r":1: no arrival_s column \(header: time, kind\)"),
    ("arrival_s\n1\nsoon\n", None, r":3: arrival_s 'soon' is not a number of seconds >= 0"),
    ("arrival_s,service_s\n1,-4\n", None, r":2: service_s '-4' is not a number"),
    ("arrival_s,service_s\n1\n", None, r":2: has 1 fields, the header has 2"),
    ("type,arrival_s\nPS,1\nNE,2\n", None,
     r"has a type column.*allowed: type: NAME under arrivals, one of NE, PS"),
    ("arrival_s\n1\n", "PS", r"has no type column to select 'PS'"),
    ("type,arrival_s\nNE,2\n", "PS", r"holds no arrivals of type 'PS'"),
])
def test_arrival_trace_errors_name_file_and_line(tmp_path: Path, text: str, kind: str | None,
                                                 message: str) -> None:
    path = tmp_path / "trace.csv"
    path.write_text(text)
    with pytest.raises(ValueError, match=message):
        read_arrival_trace(path, kind)
