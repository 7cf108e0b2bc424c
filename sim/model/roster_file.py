"""Roster files: one row per agent, read by ``ccsim run --roster`` and by a scenario's
``agents: {roster: FILE}``, written by ``ccsim roster``.

CSV with the header ``agent,group,start,end`` and then, optionally, any of the columns of
``OPTIONAL_COLUMNS`` in any order. A row holds a unique agent id, an agent group, the
shift's start and end as clock times ``HH:MM`` (``end`` may be ``24:00``; an end before the
start runs past midnight) and, in the optional columns, the agent's own values; a blank
optional cell takes the group's.

``weekday`` (e.g. ``mon;tue;wed;thu;fri``) lists the weekdays the agent's shift starts on
(a shift past midnight ends the next day); blank: every day. ``breaks`` (e.g.
``15min@2h-3h;30min@4h-5h``) lists the breaks the agent takes once per shift, each as
``DURATION@EARLIEST-LATEST``, its earliest and latest start after the shift's start;
blank: the group's ``breaks``.

A new column is one entry in ``OPTIONAL_COLUMNS`` (its cell parser) and one field of
``RosterRow`` with the same name (default ``None``: the column absent or the cell blank).
"""

from __future__ import annotations

import csv
import io
import math
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields, replace
from pathlib import Path

from sim.errors import ScenarioError, show_value
from sim.files import ReadError, read_text
from sim.limits import LIFT, Limits
from sim.model.shrinkage import Break
from sim.model.units import DAY, format_duration, parse_duration
from sim.model.week import WEEKDAYS

ROSTER_COLUMNS = ("agent", "group", "start", "end")
"""The columns every roster file starts with, in this order (``ccsim roster`` writes these)."""

Skills = tuple[tuple[str, float | None], ...]
"""A row's skills in the file's order, each with its level or ``None`` (the group's level)."""


@dataclass(frozen=True)
class RosterRow:
    """One agent of a roster file: clock times in seconds after midnight; an optional column
    left blank (or absent) is ``None``: the group's value."""

    agent: str
    group: str
    start: float
    end: float
    line: int
    """Line of the file (1 is the header)."""
    skills: Skills | None = None
    languages: tuple[str, ...] | None = None
    dialects: tuple[str, ...] | None = None
    speed: float | None = None
    weekday: tuple[str, ...] | None = None
    """Weekdays the shift starts on (``None``: every day)."""
    breaks: tuple[Break, ...] | None = None

    def own_values(self) -> list[str]:
        """The optional columns this row gives a value in."""
        return [name for name in OPTIONAL_COLUMNS if getattr(self, name) is not None]


class RosterFileError(ValueError):
    """Every mistake of a roster file, each ``LINE: column: what is wrong; allowed: ...``
    (or `` what is wrong`` for the file as a whole)."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def _names(text: str, what: str, example: str) -> list[str]:
    names = [part.strip() for part in text.split(";")]
    if any(not name for name in names):
        raise ValueError(f"{show_value(text)} has an empty {what}; allowed: {what}s separated "
                         f"by ';', e.g. {example}")
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise ValueError(f"{', '.join(map(repr, repeated))} given twice; allowed: each "
                         f"{what} once, e.g. {example}")
    return names


def _number(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _skills_cell(text: str) -> Skills:
    example = "general:7;vip:9 (levels) or general;vip (the group's levels)"
    skills = []
    for part in _names(text, "skill", example):
        name, colon, level_text = (piece.strip() for piece in part.partition(":"))
        level = _number(level_text) if colon else None
        if colon and (not name or level is None):
            raise ValueError(f"{show_value(part)} is not skill:level; allowed: {example}")
        skills.append((name, level))
    if len({level is None for _, level in skills}) > 1:
        raise ValueError(f"{show_value(text)} gives levels for some skills only; allowed: "
                         f"a level for every skill of the row or for none, e.g. {example}")
    return tuple(skills)


def _speed_cell(text: str) -> float:
    value = _number(text)
    if value is None or value <= 0:
        raise ValueError(f"{show_value(text)} is not a number > 0; allowed: the agent's "
                         "work rate, e.g. 1.1 (handle time = work / speed)")
    return value


def _weekday_cell(text: str) -> tuple[str, ...]:
    example = "mon;tue;wed;thu;fri"
    days = _names(text.lower(), "weekday", example)
    unknown = [day for day in days if day not in WEEKDAYS]
    if unknown:
        raise ValueError(f"{show_value(unknown[0])} is not a weekday; allowed: weekdays the "
                         f"shift starts on among {', '.join(WEEKDAYS)}, separated by ';', "
                         f"e.g. {example}")
    return tuple(days)


_BREAK_EXAMPLE = ("DURATION@EARLIEST-LATEST start after the shift's start, separated by "
                  "';', e.g. 15min@2h-3h;30min@4h-5h")


def _breaks_cell(text: str) -> tuple[Break, ...]:
    breaks = []
    for part in (piece.strip() for piece in text.split(";")):
        duration, at, window = part.partition("@")
        earliest, dash, latest = window.partition("-")
        if not (at and dash):
            raise ValueError(f"{show_value(part)} is not DURATION@EARLIEST-LATEST; allowed: "
                             + _BREAK_EXAMPLE)
        try:
            seconds = [parse_duration(value.strip()) for value in (duration, earliest, latest)]
        except ValueError as exc:
            raise ValueError(f"{show_value(part)}: {exc}") from None
        if seconds[0] <= 0:
            raise ValueError(f"{show_value(part)} is an empty break; allowed: a duration > 0, "
                             + _BREAK_EXAMPLE)
        if seconds[2] < seconds[1]:
            raise ValueError(f"{show_value(part)} has its latest start before its earliest; "
                             "allowed: earliest <= latest, " + _BREAK_EXAMPLE)
        duration_s, earliest_s, latest_s = (f"{value!r}s" for value in seconds)
        breaks.append(Break(duration=duration_s, window=(earliest_s, latest_s)))
    return tuple(breaks)


OPTIONAL_COLUMNS: dict[str, Callable[[str], object]] = {
    "skills": _skills_cell,
    "languages": lambda text: tuple(_names(text, "language", "en;fr")),
    "dialects": lambda text: tuple(_names(text, "dialect", "en-GB;en-IE")),
    "speed": _speed_cell,
    "weekday": _weekday_cell,
    "breaks": _breaks_cell,
}
"""Optional columns and the parser of a non-blank cell (a ``ValueError`` says what is allowed)."""
assert set(OPTIONAL_COLUMNS) <= {f.name for f in fields(RosterRow)}

_HEADER_HINT = (f"allowed: the columns {','.join(ROSTER_COLUMNS)} in this order, then any of "
                f"{', '.join(OPTIONAL_COLUMNS)}")


def clock_text(seconds: float, *, end: bool = False) -> str:
    """``HH:MM`` of a clock time in seconds after midnight; midnight ends a shift as 24:00."""
    minutes = round(seconds / 60) % (24 * 60)
    if end and minutes == 0:
        return "24:00"
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _clock_seconds(text: str, *, end: bool) -> float:
    parts = text.strip().split(":")
    allowed = ("a clock time HH:MM from 00:00 to 24:00, e.g. 08:30" if end
               else "a clock time HH:MM from 00:00 to 23:59, e.g. 08:30")
    if len(parts) != 2 or not all(p.isdigit() and len(p) == 2 for p in parts):
        raise ValueError(f"{show_value(text)} is not HH:MM; allowed: {allowed}")
    hours, minutes = int(parts[0]), int(parts[1])
    if minutes > 59 or hours > 24 or (hours == 24 and (minutes or not end)):
        raise ValueError(f"{show_value(text)} is not a time of day; allowed: {allowed}")
    return hours * 3600.0 + minutes * 60.0


def _header(table: list[list[str]]) -> list[str]:
    header = [cell.strip() for cell in table[0]] if table else []
    extra = header[len(ROSTER_COLUMNS):]
    if (header[:len(ROSTER_COLUMNS)] != list(ROSTER_COLUMNS)
            or any(c not in OPTIONAL_COLUMNS for c in extra) or len(set(extra)) < len(extra)):
        raise RosterFileError([
            f"1: (header): {show_value(','.join(header)) if header else 'no header'}; "
            + _HEADER_HINT])
    return header


def parse_roster(text: str) -> list[RosterRow]:
    """The rows of a roster file's text; ``RosterFileError`` lists every mistake."""
    lines = text.removeprefix("\ufeff").splitlines()  # a spreadsheet's byte-order mark
    try:
        table = list(csv.reader(lines))
    except csv.Error as exc:
        raise RosterFileError([f" {exc}; allowed: CSV"]) from None
    header = _header(table)
    problems: list[str] = []
    rows: list[RosterRow] = []
    seen: dict[str, int] = {}
    for line, cells in enumerate(table[1:], start=2):
        if not any(cell.strip() for cell in cells):
            continue  # blank line
        if len(cells) != len(header):
            problems.append(f"{line}: (row): {len(cells)} cells; allowed: "
                            f"{len(header)}, {','.join(header)}")
            continue
        values = dict(zip(header, (cell.strip() for cell in cells)))
        agent, group = values["agent"], values["group"]
        before = len(problems)
        for column, value in (("agent", agent), ("group", group)):
            if not value:
                problems.append(f"{line}: {column}: empty; allowed: a name, e.g. "
                                f"{'retail-001' if column == 'agent' else 'retail'}")
        if agent and agent in seen:
            problems.append(f"{line}: agent: {show_value(agent)} is also on line "
                            f"{seen[agent]}; allowed: one row per agent (a unique id)")
        seen.setdefault(agent, line)
        times = []
        for column in ("start", "end"):
            try:
                times.append(_clock_seconds(values[column], end=column == "end"))
            except ValueError as exc:
                problems.append(f"{line}: {column}: {exc}")
        if len(times) == 2 and times[0] == times[1]:
            problems.append(f"{line}: end: {values['end']} is the start, so the shift is "
                            "empty; allowed: an end different from the start (a shift may run "
                            "past midnight, e.g. 22:00 to 06:00; 00:00 to 24:00 is all day)")
        own: dict[str, object] = {}
        for column in header[len(ROSTER_COLUMNS):]:
            if values[column]:
                try:
                    own[column] = OPTIONAL_COLUMNS[column](values[column])
                except ValueError as exc:
                    problems.append(f"{line}: {column}: {exc}")
        if len(problems) == before:
            rows.append(replace(RosterRow(agent, group, times[0], times[1], line), **own))
    if not rows and not problems:
        problems.append("2: (row): no agent; allowed: one row per agent under the header")
    if problems:
        raise RosterFileError(problems)
    return rows


def load_roster(path: Path, limits: Limits) -> list[RosterRow]:
    """The rows of the roster file at ``path`` (at most ``limits.data_file_bytes``);
    ``RosterFileError`` lists every mistake."""
    try:
        text = read_text(path, limits.data_file_bytes, lifted_by=LIFT)
    except ReadError as exc:
        raise RosterFileError([f" {exc}; allowed: a roster CSV file with the header "
                               f"{','.join(ROSTER_COLUMNS)}"]) from None
    return parse_roster(text)


def read_roster(path: str | Path, limits: Limits) -> list[RosterRow]:
    """The rows of a roster file; ``ScenarioError`` lists every mistake as
    ``FILE:LINE: column: what is wrong; allowed: ...``."""
    try:
        return load_roster(Path(path), limits)
    except RosterFileError as exc:
        raise ScenarioError(str(path), exc.problems) from None


def format_roster_csv(rows: Sequence[RosterRow]) -> str:
    """The text of a roster file: the optional columns some row gives a value in follow the
    four that every file has."""
    optional = [c for c in OPTIONAL_COLUMNS if any(getattr(r, c) is not None for r in rows)]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([*ROSTER_COLUMNS, *optional])
    for row in rows:
        writer.writerow([row.agent, row.group, clock_text(row.start),
                         clock_text(row.end, end=True),
                         *(_cell_text(getattr(row, column)) for column in optional)])
    return buffer.getvalue()


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:g}"
    if value and isinstance(value, tuple) and isinstance(value[0], Break):
        return ";".join(f"{format_duration(one.duration)}@{format_duration(one.window[0])}-"
                        f"{format_duration(one.window[1])}" for one in value)
    return ";".join(name if not isinstance(name, tuple) else
                    name[0] if name[1] is None else f"{name[0]}:{name[1]:g}"
                    for name in value)  # type: ignore[attr-defined]


ShiftKey = tuple[float, float, tuple[str, ...] | None]
"""A shift's ``(start, end, weekdays it starts on)``; ``None``: every day."""


def shift_counts(rows: Sequence[RosterRow], day_start: float,
                 ) -> dict[str, Counter[ShiftKey]]:
    """Agents per ``(start, end, weekdays)`` shift of each group, in seconds of simulation
    time of day (``run.day_start`` is time 0; ``end`` in (0, 24h], before ``start`` past
    midnight)."""
    counts: dict[str, Counter[ShiftKey]] = {}
    for row in rows:
        counts.setdefault(row.group, Counter())[(*shift_times(row, day_start),
                                                 shift_days(row, day_start))] += 1
    return counts


def shift_times(row: RosterRow, day_start: float) -> tuple[float, float]:
    """The row's shift ``(start, end)`` in seconds of simulation time of day."""
    if row.end == DAY and row.start == 0:
        return 0.0, DAY  # all day, whenever the day starts
    return (row.start - day_start) % DAY, (row.end - day_start) % DAY or DAY


def shift_days(row: RosterRow, day_start: float) -> tuple[str, ...] | None:
    """The weekdays of the simulated days the row's shift starts on (``None``: every day,
    also when it lists all seven). A simulated day starts at ``run.day_start``, so a shift
    starting on the clock before it starts on the simulated day of the weekday before."""
    if row.weekday is None or len(row.weekday) == len(WEEKDAYS):
        return None
    if row.start >= day_start or shift_times(row, day_start) == (0.0, DAY):
        return row.weekday
    return tuple(WEEKDAYS[WEEKDAYS.index(day) - 1] for day in row.weekday)
