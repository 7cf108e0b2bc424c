"""Real call-center logs in, one clean ``Call`` per usable line out, and a report on the rest.

Two formats are read:

* the **Anonymous Bank** format (Technion SEE lab; ``shared/domain.md`` §5):
  tab separated, a header line ``vru+line call_id customer_id priority type
  date vru_entry vru_exit vru_time q_start q_exit q_time outcome ser_start
  ser_exit ser_time server``, times ``H:MM:SS``; recognised by its header;
* any **CSV** described by a column mapping (``CsvMapping``, a small YAML
  file; see ``docs/calibration.md``), e.g. a ``ccsim run --trace`` file.

Real logs are messy. A line that cannot be used is counted under a reason and
skipped; a usable line with something odd about it (a call that crosses
midnight, a zero talk time) is used and counted under a note. Reading never
stops on a bad line: ``ReadReport`` says how many lines were used and why the
others were not. Only problems with the file as a whole (missing, unknown
format, a mapping naming a column the file lacks) raise ``ValueError``.

Times in a ``Call`` are seconds since 00:00 of the log's first day, so the
hour of day is ``(t % 86400) // 3600`` and the day index ``t // 86400``.
"""

from __future__ import annotations

import csv
import datetime as dt
import math
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

import yaml

from sim.files import (
    ReadError, check_regular_file, open_atomic, read_data_file, read_text, too_large,
)
from sim.limits import DEFAULT_LIMITS, LIFT
from sim.model import yaml_input

DAY = 86400.0
HALF_DAY = DAY / 2

SERVED = "served"
ABANDONED = "abandoned"
IVR = "ivr"
"""Outcomes of a used line: answered by an agent, hung up in the queue, ended in the IVR."""

Outcome = Literal["served", "abandoned", "ivr"]

BANK_COLUMNS = (
    "vru+line", "call_id", "customer_id", "priority", "type", "date", "vru_entry", "vru_exit",
    "vru_time", "q_start", "q_exit", "q_time", "outcome", "ser_start", "ser_exit", "ser_time",
    "server",
)

# Why a line was not used, and notes on used lines: key -> text for the report.
REASONS = {
    "blank": "blank line",
    "wrong_field_count": "wrong number of fields (malformed line)",
    "bad_value": "a field that cannot be read (malformed line)",
    "phantom": "PHANTOM outcome (not a real call)",
    "unknown_outcome": "outcome not known to the format or mapping",
    "ignored_outcome": "outcome mapped to 'ignore'",
    "missing_time": "no arrival time, or an abandoned call without its wait",
    "negative_time": "a time that runs backwards (negative wait or talk time)",
    "hang_without_queue": "hung up with a service record but no queue record",
}
NOTES = {
    "crosses_midnight": "cross midnight (times after 00:00 taken on the next day)",
    "zero_service_time": "served with zero talk time (left out of handle-time fits)",
    "no_service_times": "served without service times (left out of handle-time fits)",
    "ivr_clock_skew": "IVR exit before IVR entry (IVR clock skew; queue times used as given)",
    "hang_with_service_record": "hung up in queue but carry a service record (counted abandoned)",
}


@dataclass(frozen=True, slots=True)
class Call:
    """One call from a log, in the simulator's terms.

    ``arrival`` is when the caller asked for an agent (entered the queue, or
    was put through at once); for a call that ended in the IVR, when it
    entered the IVR. ``wait`` is the time in queue until answer or hang-up
    (0 when answered at once; NaN for IVR-only calls). ``service`` is the
    recorded talk time of a served call when it is known and positive.
    """

    arrival: float
    type: str
    priority: int
    outcome: Outcome
    wait: float
    service: float | None
    agent: str | None
    customer: str | None
    line: int

    @property
    def day(self) -> int:
        """Day index from the log's first day (0-based)."""
        return int(self.arrival // DAY)

    @property
    def hour(self) -> int:
        """Hour of day of the arrival, 0-23."""
        return int((self.arrival % DAY) // 3600)

    @property
    def offered(self) -> bool:
        """Asked for an agent: served or abandoned (the simulator's ``offered``)."""
        return self.outcome != IVR

    @property
    def service_start(self) -> float:
        """When an agent answered (arrival + wait)."""
        return self.arrival + self.wait


@dataclass
class ReadReport:
    """What happened to every line of a log."""

    source: str
    format: str
    lines: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    excluded: Counter[str] = field(default_factory=Counter)
    notes: Counter[str] = field(default_factory=Counter)
    line_endings: Counter[str] = field(default_factory=Counter)
    examples: dict[str, list[int]] = field(default_factory=dict)

    @property
    def used(self) -> int:
        """Lines turned into calls."""
        return sum(self.outcomes.values())

    def count(self, counter: Counter[str], key: str, line: int) -> None:
        """Count one line under ``key`` and keep its number as an example (first three)."""
        counter[key] += 1
        examples = self.examples.setdefault(key, [])
        if len(examples) < 3:
            examples.append(line)

    def format_text(self) -> str:
        """The report as text, one kind per line."""
        endings = ", ".join(f"{n} {kind}" for kind, n in self.line_endings.most_common())
        title = f"{self.source}: {self.format}, {self.lines} lines"
        used = (f"  used {self.used}: {self.outcomes[SERVED]} served, "
                f"{self.outcomes[ABANDONED]} abandoned, {self.outcomes[IVR]} ended in the IVR")
        lines = [title + (f" (line ends: {endings})" if endings else ""), used]
        excluded = sum(self.excluded.values())
        lines.append(f"  not used {excluded}" + (":" if excluded else ""))
        lines += [self._row(n, REASONS[k], k) for k, n in self.excluded.most_common()]
        if self.notes:
            lines.append("  notes on used lines:")
            lines += [self._row(n, NOTES[k], k) for k, n in self.notes.most_common()]
        return "\n".join(lines)

    def _row(self, n: int, text: str, key: str) -> str:
        shown = ", ".join(str(x) for x in self.examples.get(key, []))
        return f"    {n:>6}  {text} (e.g. line{'s' if n > 1 else ''} {shown})"


@dataclass
class CallLog:
    """The usable calls of one log file and the report on its lines."""

    calls: list[Call]
    report: ReadReport
    first_date: dt.date | None
    """Calendar date of day 0, when the log has dates."""

    @property
    def days(self) -> int:
        """Days spanned by the log (last day index + 1)."""
        return max((c.day for c in self.calls), default=-1) + 1

    def weekday(self, day: int) -> int | None:
        """Day of week of day index ``day`` (Monday 0 ... Sunday 6), or None without dates."""
        if self.first_date is None:
            return None
        return (self.first_date + dt.timedelta(days=day)).weekday()

    def date(self, day: int) -> dt.date | None:
        """Calendar date of day index ``day``, or None without dates."""
        return None if self.first_date is None else self.first_date + dt.timedelta(days=day)

    def offered(self) -> list[Call]:
        """Calls that asked for an agent (served or abandoned), in arrival order."""
        return sorted((c for c in self.calls if c.offered), key=lambda c: c.arrival)


# --------------------------------------------------------------------------- generic CSV
FIELDS = ("arrival", "queue_entry", "wait", "outcome", "service_start", "service_end",
          "service_time", "agent", "customer", "type", "priority", "date")
"""Canonical fields a CSV mapping can name a column for."""

TIME_FORMATS = ("seconds", "hms", "iso")


@dataclass(frozen=True)
class CsvMapping:
    """Which CSV column holds which field, and how its values read.

    ``columns`` maps canonical fields (``FIELDS``) to column names; ``outcome``
    and one of ``arrival``/``queue_entry`` are required. ``outcomes`` maps
    the file's outcome values to ``served``, ``abandoned``, ``ivr`` or
    ``ignore``. ``time_format``: ``seconds`` (a number of seconds since the
    start of the log), ``hms`` (``H:MM:SS`` time of day, with the day from a
    ``date`` column read with ``date_format``) or ``iso`` (``2024-01-31
    08:15:00``). Waits and service times are always numbers of seconds.
    """

    columns: Mapping[str, str]
    outcomes: Mapping[str, str]
    time_format: str = "seconds"
    date_format: str = "%Y-%m-%d"
    delimiter: str = ","

    @classmethod
    def from_dict(cls, data: object, source: str = "mapping") -> CsvMapping:
        """Validate a mapping given as a plain dict (as YAML gives); errors name the field."""
        if not isinstance(data, dict):
            raise ValueError(f"{source}: the mapping is not a YAML mapping; allowed: keys "
                             "columns, outcomes, time_format, date_format, delimiter")
        unknown = set(data) - {"columns", "outcomes", "time_format", "date_format", "delimiter"}
        if unknown:
            raise ValueError(f"{source}: unknown key {min(unknown)!r}; allowed: columns, "
                             "outcomes, time_format, date_format, delimiter")
        columns = data.get("columns")
        if not isinstance(columns, dict) or not columns:
            raise ValueError(f"{source}: columns: missing or not a mapping; allowed: a mapping "
                             f"of fields ({', '.join(FIELDS)}) to column names")
        for name, column in columns.items():
            if name not in FIELDS:
                raise ValueError(f"{source}: columns.{name}: unknown field; allowed: "
                                 + ", ".join(FIELDS))
            if not isinstance(column, str) or not column:
                raise ValueError(f"{source}: columns.{name}: {column!r} is not a column name; "
                                 "allowed: the name of a column in the CSV header")
        if "outcome" not in columns:
            raise ValueError(f"{source}: columns.outcome: missing; allowed: the column that "
                             "says how each call ended")
        if "arrival" not in columns and "queue_entry" not in columns:
            raise ValueError(f"{source}: columns.arrival: missing; allowed: a column with the "
                             "arrival time (or columns.queue_entry)")
        outcomes = data.get("outcomes")
        allowed = (SERVED, ABANDONED, IVR, "ignore")
        if not isinstance(outcomes, dict) or not outcomes:
            raise ValueError(f"{source}: outcomes: missing or not a mapping; allowed: the "
                             f"file's outcome values mapped to {', '.join(allowed)}")
        for value, meaning in outcomes.items():
            if meaning not in allowed:
                raise ValueError(f"{source}: outcomes.{value}: {meaning!r} is not an outcome; "
                                 f"allowed: {', '.join(allowed)}")
        time_format = data.get("time_format", "seconds")
        if time_format not in TIME_FORMATS:
            raise ValueError(f"{source}: time_format: {time_format!r} is not known; allowed: "
                             + ", ".join(TIME_FORMATS))
        delimiter = data.get("delimiter", ",")
        if not isinstance(delimiter, str) or len(delimiter) != 1:
            raise ValueError(f"{source}: delimiter: {delimiter!r} is not one character; "
                             "allowed: e.g. ',' or ';' or '\\t'")
        date_format = data.get("date_format", "%Y-%m-%d")
        if not isinstance(date_format, str) or "%" not in date_format:
            raise ValueError(f"{source}: date_format: {date_format!r} is not a date format; "
                             "allowed: a strptime format such as '%Y-%m-%d' or '%y%m%d'")
        return cls({k: str(v) for k, v in columns.items()},
                   {str(k): str(v) for k, v in outcomes.items()},
                   time_format, date_format, delimiter)

    @classmethod
    def load(cls, path: str | Path) -> CsvMapping:
        """Read a mapping YAML file."""
        try:
            data = yaml_input.load(read_text(Path(path), yaml_input.MAX_YAML_BYTES))
        except ReadError as exc:
            raise ValueError(f"{path}: cannot read the mapping: {exc}") from None
        except yaml_input.YamlLimitError as exc:
            raise ValueError(f"{path}:{exc.line or 1}: {exc.message}") from None
        except yaml.YAMLError as exc:
            # PyYAML's own text quotes the offending line: only its line and problem here.
            mark = getattr(exc, "problem_mark", None)
            raise ValueError(f"{path}:{mark.line + 1 if mark else 1}: not valid YAML "
                             f"({getattr(exc, 'problem', None) or 'syntax error'}); allowed: "
                             "a mapping YAML file (docs/calibration.md)") from None
        return cls.from_dict(data, str(path))


class _BadValue(Exception):
    """A field of one line that cannot be read; the line is counted, not fatal."""


def _hms(text: str) -> float:
    """``H:MM:SS`` (fractional seconds allowed) as seconds of the day."""
    parts = text.split(":")
    if len(parts) != 3:
        raise _BadValue(text)
    try:
        hours, minutes, seconds = int(parts[0]), int(parts[1]), float(parts[2])
    except ValueError:
        raise _BadValue(text) from None
    if not (0 <= hours < 24 and 0 <= minutes < 60 and 0 <= seconds < 60):
        raise _BadValue(text)
    return hours * 3600 + minutes * 60 + seconds


def _number(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise _BadValue(text) from None
    if not math.isfinite(value):
        raise _BadValue(text)
    return value


def _after(reference: float, time: float, notes: set[str]) -> float:
    """``time`` (seconds of the day) as the moment after ``reference`` it must be.

    Log times are times of day: a time more than 12 hours before the call's
    first time belongs to the next day (the call crossed midnight). A time
    slightly before it is a clock inconsistency, kept as is.
    """
    if time < reference - HALF_DAY:
        notes.add("crosses_midnight")
        return time + DAY
    return time


_Row = tuple[int, Call]
"""A parsed line: the ordinal of the call's date (0 when the format has no dates) and the
call with times in seconds since 00:00 of that date; ``read_log`` makes them relative to
the log's first day."""


class _Skip(Exception):
    """This line is not used; ``reason`` is a key of ``REASONS``."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _bank_row(fields: list[str], line: int, notes: set[str]) -> _Row:
    """One Anonymous Bank line as a row (raises ``_Skip`` for lines not used)."""
    if len(fields) != len(BANK_COLUMNS):
        raise _Skip("wrong_field_count")
    f = dict(zip(BANK_COLUMNS, (x.strip() for x in fields)))
    outcome = f["outcome"]
    if outcome == "PHANTOM":
        raise _Skip("phantom")
    if outcome not in ("AGENT", "HANG"):
        raise _Skip("unknown_outcome")
    try:
        date = dt.datetime.strptime(f["date"], "%y%m%d").date()
        entry = _hms(f["vru_entry"])
        # 0:00:00 stands for "no such event" in this format (e.g. never queued).
        vru_exit, q_start, q_exit, ser_start, ser_exit = (
            None if f[k] == "0:00:00" else _hms(f[k])
            for k in ("vru_exit", "q_start", "q_exit", "ser_start", "ser_exit"))
        priority = int(f["priority"])
    except (_BadValue, ValueError):
        raise _Skip("bad_value") from None
    if vru_exit is not None and vru_exit < entry and entry - vru_exit < HALF_DAY:
        notes.add("ivr_clock_skew")
    has_service = ser_start is not None and ser_exit is not None
    service: float | None = None
    if outcome == "AGENT" and has_service:
        service = _after(entry, ser_exit, notes) - _after(entry, ser_start, notes)  # type: ignore[arg-type]
        if service < 0:
            raise _Skip("negative_time")
        if service == 0:
            notes.add("zero_service_time")
            service = None
    elif outcome == "AGENT":
        notes.add("no_service_times")
    if q_start is not None:
        arrival = _after(entry, q_start, notes)
        if q_exit is None:
            raise _Skip("missing_time")
        wait = _after(entry, q_exit, notes) - arrival
        if wait < 0:
            raise _Skip("negative_time")
        kind: Outcome = SERVED if outcome == "AGENT" else ABANDONED
        if outcome == "HANG" and has_service:
            notes.add("hang_with_service_record")
    elif outcome == "AGENT":
        # Put through at once: no queue record, service starts at the IVR exit.
        arrival = _after(entry, vru_exit, notes) if vru_exit is not None else entry
        wait, kind = 0.0, SERVED
    elif has_service:
        raise _Skip("hang_without_queue")
    else:
        arrival, wait, kind = entry, math.nan, IVR
    server = f["server"]
    customer = f["customer_id"]
    return date.toordinal(), Call(arrival, f["type"], priority, kind, wait, service,
                                  None if server in ("", "NO_SERVER") else server,
                                  None if customer in ("", "0") else customer, line)


def _csv_row_reader(mapping: CsvMapping, header: list[str], source: str,
                    mapping_source: str) -> Callable[[list[str], int, set[str]], _Row]:
    """A function turning one CSV line into a row, for this header and mapping."""
    index = {name: i for i, name in enumerate(h.strip() for h in header)}
    for name, column in mapping.columns.items():
        if column not in index:
            raise ValueError(f"{mapping_source}: columns.{name}: column {column!r} is not in "
                             f"the header of {source}; {_header_text(list(index), 'header has: ')}")
    where = {name: index[column] for name, column in mapping.columns.items()}
    width = len(header)

    def get(fields: list[str], name: str) -> str | None:
        position = where.get(name)
        if position is None:
            return None
        value = fields[position].strip()
        return value or None

    def day_and_time(fields: list[str], name: str) -> tuple[int, float] | None:
        """(date ordinal, seconds of that day) of a time column, None when empty."""
        text = get(fields, name)
        if text is None:
            return None
        if mapping.time_format == "seconds":
            return 0, _number(text)
        if mapping.time_format == "iso":
            try:
                moment = dt.datetime.fromisoformat(text)
            except ValueError:
                raise _BadValue(text) from None
            midnight = dt.datetime.combine(moment.date(), dt.time())
            return moment.toordinal(), (moment - midnight).total_seconds()
        date_text = get(fields, "date")
        try:
            ordinal = (dt.datetime.strptime(date_text, mapping.date_format).toordinal()
                       if date_text is not None else 0)
        except ValueError:
            raise _BadValue(date_text) from None
        return ordinal, _hms(text)

    def read(fields: list[str], line: int, notes: set[str]) -> _Row:
        if len(fields) != width:
            raise _Skip("wrong_field_count")
        raw_outcome = get(fields, "outcome")
        meaning = mapping.outcomes.get(raw_outcome or "")
        if meaning is None:
            raise _Skip("unknown_outcome")
        if meaning == "ignore":
            raise _Skip("ignored_outcome")
        try:
            start = day_and_time(fields, "arrival") or day_and_time(fields, "queue_entry")
            if start is None:
                raise _Skip("missing_time")
            day, arrival = start

            def moment(name: str) -> float | None:
                value = day_and_time(fields, name)
                if value is None:
                    return None
                # Same day as the arrival unless the column carries its own date.
                seconds = value[1] + (value[0] - day) * DAY
                return _after(arrival, seconds, notes) if mapping.time_format == "hms" \
                    else seconds

            wait_text, service_text = get(fields, "wait"), get(fields, "service_time")
            wait = _number(wait_text) if wait_text is not None else None
            service = _number(service_text) if service_text is not None else None
            begin, end = moment("service_start"), moment("service_end")
            priority_text = get(fields, "priority")
            priority = int(_number(priority_text)) if priority_text is not None else 0
        except _BadValue:
            raise _Skip("bad_value") from None
        if meaning == IVR:
            wait, service = math.nan, None
        else:
            if wait is None and begin is not None and meaning == SERVED:
                wait = begin - arrival
            if wait is None:
                raise _Skip("missing_time")
            if service is None and begin is not None and end is not None:
                service = end - begin
            if wait < 0 or (service is not None and service < 0):
                raise _Skip("negative_time")
            if meaning != SERVED:
                service = None
            elif service is None:
                notes.add("no_service_times")
            elif service == 0:
                notes.add("zero_service_time")
                service = None
        return day, Call(arrival, get(fields, "type") or "all", priority, meaning,  # type: ignore[arg-type]
                         wait, service, get(fields, "agent"), get(fields, "customer"), line)

    return read


# --------------------------------------------------------------------------- reading
LOG_ALLOWED = "a call log file (Anonymous Bank format, or a CSV with --mapping)"


def read_log(path: str | Path, mapping: CsvMapping | str | Path | None = None, *,
             limit: float = DEFAULT_LIMITS.call_log_bytes) -> CallLog:
    """Read a call log: the Anonymous Bank format (recognised by its header) or a CSV
    described by ``mapping`` (a ``CsvMapping`` or the path of a mapping YAML file).

    The log must be a regular file of at most ``limit`` bytes (``Limits.call_log_bytes``,
    lifted by ``--no-limits``): it is refused before any line is read otherwise."""
    path = Path(path)
    try:
        check_regular_file(path, limit, lifted_by=LIFT)
        handle = path.open(encoding="utf-8", newline="")
    except ReadError as exc:
        if exc.missing:
            raise ValueError(f"{path}: log file not found") from None
        raise ValueError(f"{path}: the log {exc}; allowed: {LOG_ALLOWED}") from None
    except OSError as exc:  # e.g. removed since it was checked
        raise ValueError(f"{path}: cannot read the log: {exc.strerror}") from None
    with handle:
        lines = _bounded_lines(handle, limit, path)
        try:
            first = next(lines, "")
        except UnicodeDecodeError:
            raise ValueError(f"{path}: not a UTF-8 text file; allowed: a text call log") from None
        header = [h.strip() for h in first.rstrip("\r\n").split("\t")]
        mapping_source = str(mapping) if isinstance(mapping, (str, Path)) else "mapping"
        if isinstance(mapping, (str, Path)):
            mapping = CsvMapping.load(mapping)
        if mapping is None and tuple(header) == BANK_COLUMNS:
            report = ReadReport(str(path), "Anonymous Bank format")
            rows = _read_rows(enumerate(lines, start=2), lambda text: text.split("\t"),
                              _bank_row, report, path)
            dated = True
        elif mapping is not None:
            header = next(csv.reader([first.rstrip("\r\n")], delimiter=mapping.delimiter))
            report = ReadReport(str(path), f"CSV ({mapping_source})")
            reader = _csv_row_reader(mapping, header, str(path), mapping_source)
            delimiter = mapping.delimiter
            rows = _read_rows(enumerate(lines, start=2),
                              lambda text: next(csv.reader([text], delimiter=delimiter)),
                              reader, report, path)
            dated = mapping.time_format != "seconds"
        else:
            raise ValueError(
                f"{path}: unknown log format ({_header_text(header)}); allowed: the "
                "Anonymous Bank format (tab separated, header 'vru+line call_id customer_id "
                "...') or a CSV with a column mapping (--mapping FILE, see docs/calibration.md)")
    base = min((day for day, _ in rows), default=0)
    calls = [replace(call, arrival=(day - base) * DAY + call.arrival) for day, call in rows]
    calls.sort(key=lambda c: c.arrival)
    date = dt.date.fromordinal(base) if (dated and base > 0) else None
    return CallLog(calls, report, date)


def _bounded_lines(handle: Iterable[str], limit: float, path: Path) -> Iterator[str]:
    """The lines of ``handle`` while they add up to at most ``limit`` characters: the
    size was checked before opening, but a file may grow meanwhile, or say a size of 0
    (``/proc``)."""
    read = 0
    for text in handle:
        read += len(text)
        if read > limit:
            raise ValueError(f"{path}: the log {too_large(limit, LIFT)}; allowed: {LOG_ALLOWED}")
        yield text


def _read_rows(lines: Iterator[tuple[int, str]], split: Callable[[str], list[str]],
               parse: Callable[[list[str], int, set[str]], _Row], report: ReadReport,
               path: Path) -> list[_Row]:
    rows: list[_Row] = []
    try:
        for number, text in lines:
            report.lines += 1
            report.line_endings["CRLF" if text.endswith("\r\n") else
                                "LF" if text.endswith("\n") else "none"] += 1
            body = text.rstrip("\r\n")
            if not body.strip():
                report.count(report.excluded, "blank", number)
                continue
            notes: set[str] = set()
            try:
                row = parse(split(body), number, notes)
            except _Skip as skip:
                report.count(report.excluded, skip.reason, number)
                continue
            except csv.Error:
                report.count(report.excluded, "bad_value", number)
                continue
            for note in notes:
                report.count(report.notes, note, number)
            report.outcomes[row[1].outcome] += 1
            rows.append(row)
    except UnicodeDecodeError as exc:
        raise ValueError(f"{path}:{report.lines + 1}: not UTF-8 text (byte {exc.start}); "
                         "allowed: a text call log") from None
    return rows


def outcome_counts(calls: list[Call]) -> dict[str, Counter[str]]:
    """Outcomes per contact type: ``{type: Counter({served: n, abandoned: m, ivr: k})}``."""
    counts: dict[str, Counter[str]] = {}
    for call in calls:
        counts.setdefault(call.type, Counter())[call.outcome] += 1
    return counts


TRACE_HELP = ("a CSV with a header row and a column arrival_s (seconds since the start of the "
              "run, >= 0), optionally type and service_s (recorded talk time in seconds, may "
              "be empty)")


def read_arrival_trace(path: str | Path, kind: str | None = None,
                       limit: float = DEFAULT_LIMITS.data_file_bytes,
                       ) -> tuple[list[float], list[float | None]]:
    """Arrival times (sorted) and recorded service times of one arrival trace, for replay.

    The file is what ``write_arrival_trace`` writes (``TRACE_HELP``), at most ``limit``
    bytes. With a ``type`` column, ``kind`` picks the rows to replay and is required.
    Raises ``ValueError`` naming the file, the line and what is allowed; values are
    quoted only once the header has shown the file is a trace.
    """
    path = Path(path)
    text = read_data_file(path, "arrival trace", TRACE_HELP, limit)
    rows = list(csv.reader(text.splitlines()))
    header = [h.strip() for h in rows[0]] if rows else []
    if "arrival_s" not in header:
        raise ValueError(f"{path}:1: no arrival_s column ({_header_text(header)}); "
                         f"allowed: {TRACE_HELP}")
    column = {name: i for i, name in enumerate(header)}
    if "type" in column and kind is None:
        kinds = sorted({r[column["type"]].strip() for r in rows[1:] if len(r) == len(header)})
        raise ValueError(f"{path} has a type column, so the rows to replay must be named; "
                         f"allowed: type: NAME under arrivals, one of {', '.join(kinds)}")
    if kind is not None and "type" not in column:
        raise ValueError(f"{path} has no type column to select {kind!r} from; allowed: a trace "
                         "with a type column, or no type key under arrivals")
    pairs: list[tuple[float, float | None]] = []
    for line, row in enumerate(rows[1:], start=2):
        if not any(field.strip() for field in row):
            continue
        if len(row) != len(header):
            raise ValueError(f"{path}:{line}: has {len(row)} fields, the header has "
                             f"{len(header)}; allowed: {TRACE_HELP}")
        if kind is not None and row[column["type"]].strip() != kind:
            continue
        values = []
        for name in ("arrival_s", "service_s"):
            cell = row[column[name]].strip() if name in column else ""
            if name == "service_s" and not cell:
                values.append(None)
                continue
            try:
                value = float(cell)
            except ValueError:
                value = math.nan
            if not math.isfinite(value) or value < 0:
                raise ValueError(f"{path}:{line}: {name} {cell!r} is not a number of seconds "
                                 f">= 0; allowed: {TRACE_HELP}")
            values.append(value)
        pairs.append((values[0], values[1]))  # type: ignore[arg-type]
    if not pairs:
        which = f" of type {kind!r}" if kind is not None else ""
        raise ValueError(f"{path} holds no arrivals{which}; allowed: {TRACE_HELP}")
    pairs.sort(key=lambda pair: pair[0])
    return [a for a, _ in pairs], [s for _, s in pairs]


_COLUMN_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_ .+-]{0,39}")


def _header_text(header: list[str], lead: str = "header: ") -> str:
    """``LEAD a, b`` when the line has two or more fields that each look like a column
    name, else a description without the content: the file may be any file
    (``/etc/shadow``), not a log or trace, and a one-word first line may be a secret (a
    password, a key) as well as the name of the one column."""
    if not any(header):
        return f"{lead}empty"
    if len(header) == 1:
        return "its first line has one field, not shown"
    if all(_COLUMN_NAME.fullmatch(name) for name in header):
        return f"{lead}{', '.join(header)}"
    return "its first line is not a header of column names"


def write_arrival_trace(calls: list[Call], path: str | Path,
                        type_of: Callable[[Call], str] | None = None, offset: float = 0.0) -> int:
    """Write offered calls as an arrival trace CSV (``type,arrival_s,service_s``) for replay.

    ``type_of`` names each call's contact type in the scenario (default: the
    log's type); ``offset`` is subtracted from arrival times (e.g. a day's
    start, to replay one day). ``service_s`` is the recorded talk time of
    served calls, empty otherwise. Returns the number of rows written.
    """
    name = type_of or (lambda call: call.type)
    rows = 0
    with open_atomic(path, newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(("type", "arrival_s", "service_s"))
        for call in calls:
            if not call.offered:
                continue
            writer.writerow((name(call), f"{call.arrival - offset:.3f}",
                             "" if call.service is None else f"{call.service:.3f}"))
            rows += 1
    return rows
