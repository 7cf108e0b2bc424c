"""Scenario files: YAML in, typed frozen objects out, with errors a person can act on.

A scenario is validated in full before anything runs. Every problem is
reported as ``FILE:LINE: field.path: what is wrong; allowed: ...``, one
line per mistake.
"""

from __future__ import annotations

import difflib
import json
import math
import re
import types
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import yaml
from pydantic import (
    BaseModel, BeforeValidator, Discriminator, Field, PrivateAttr, Tag, ValidationError,
    ValidationInfo, field_validator, model_validator,
)

from policies import policy_spec, registered_policies
from policies.outbound import outbound_spec
from policies.verification import VERIFICATION_STRATEGIES, strategy_spec
from sim.model.churn import Churn
from sim.model.costs import Costs
from sim.model.customers import Customers
from sim.model.omnichannel import Blending, Callback, Channel, Journey, Outbound, Retrial
from sim.model.profile import PredictorConfig
from sim.model.distributions import DISTRIBUTION_NAMES, Busyness, Distribution, _Dist
from sim.errors import FieldError, FieldErrors, Problems, ScenarioError, explain, show_value
from sim.files import ReadError, read_text
from sim.limits import DEFAULT_LIMITS, Limits, limits_for, over_limit
from sim.model import yaml_input
from sim.model.fields import (
    RATE_SCHEMA, Duration, Int, Number, OptionalInt, Probability, Rate, StrictModel, check_names,
)
from sim.model.identity import Identity, ManualCheck, check_group_checks
from sim.model.ivr import IvrMenu, check_ivr
from sim.model.needs import Needs, check_needs
from sim.model.outcomes import Matching, Outcomes, Proficiency
from sim.model.roster_file import (RosterFileError, RosterRow, load_roster, shift_counts,
                                   shift_days, shift_times)
from sim.model.shrinkage import Aux, Break, Meeting, check_breaks
from sim.model.transfers import Transfer, check_transfers
from sim.model.units import DAY, format_duration
from sim.model.week import WEEKDAYS, Weekday, run_days, weekday_keys

MAX_QUESTIONS = 100
"""Knowledge questions per verification (each is a draw per contact)."""


class RunSettings(StrictModel):
    """How long to simulate, how often, and from which seed."""

    duration: Duration | None = Field(
        default=None, gt=0, description="Simulated time per replication, warm-up included."
    )
    arrivals: OptionalInt = Field(
        default=None, ge=1,
        description="Stop after this many arrivals (instead of duration) and let the system empty.",
    )
    warmup: Duration = Field(default=0.0, ge=0, description="Initial period left out of metrics.")
    replications: Int = Field(default=1, ge=1, description="Independent replications.")
    seed: Int = Field(default=0, ge=0, description="Root seed of every random stream.")
    interval: Duration = Field(
        default=1800.0, gt=0,
        description="Length of one interval of the day: the unit of rate and staffing "
        "profiles and of per-interval reports. Must divide 24h.",
    )
    day_start: Duration = Field(
        default=0.0, ge=0, lt=DAY,
        description="Clock time at which the simulated day starts (simulation time 0), e.g. "
        "8h for a run that covers 08:00-16:00. Reports label their time axes and intervals "
        "with it; arrival profiles, staffing, shifts and JSON interval keys stay in simulation "
        "time of day.",
    )
    start_weekday: Weekday = Field(
        default="mon",
        description="Weekday of the run's first day (simulation time 0): day d is the "
        "weekday d days later. Selects the rates and staffing of weekday keys and labels "
        "per-weekday results.",
    )

    @model_validator(mode="after")
    def _one_length(self) -> RunSettings:
        one_of = "allowed: exactly one of duration (simulated time, e.g. 8h) or arrivals (a count)"
        if self.duration is None and self.arrivals is None:
            raise FieldError((), f"neither duration nor arrivals is given; {one_of}")
        if self.duration is not None and self.arrivals is not None:
            raise FieldError(("arrivals",), f"duration and arrivals are both given; {one_of}")
        if self.duration is not None and self.warmup >= self.duration:
            raise FieldError(("warmup",), (
                f"warmup {format_duration(self.warmup)} is not shorter than duration "
                f"{format_duration(self.duration)}; allowed: less than "
                f"{format_duration(self.duration)}"))
        if self.interval < 1.0:
            raise FieldError(("interval",), (
                f"{format_duration(self.interval)} is too short; allowed: 1s or more that "
                "divides 24h, e.g. 15min, 30min or 1h"))
        periods = DAY / self.interval
        if abs(periods - round(periods)) > 1e-9:
            raise FieldError(("interval",), (
                f"{format_duration(self.interval)} does not divide 24h evenly; "
                "allowed: e.g. 15min, 30min or 1h"))
        return self

    @property
    def intervals_per_day(self) -> int:
        """Number of intervals in a day."""
        return round(DAY / self.interval)


class Arrivals(StrictModel):
    """Poisson arrivals (a constant rate, or one rate per interval of the day), or a replay
    of recorded arrival times from a trace file."""

    rate: Rate | None = Field(default=None, gt=0, description="Constant arrival rate.")
    rates: tuple[Rate, ...] | None = Field(
        default=None, min_length=1,
        description="Piecewise-constant rate, one per interval of the day (run.interval).",
    )
    trace: str | None = Field(
        default=None, min_length=1,
        description="CSV of recorded arrivals replayed exactly: a header row, arrival_s "
        "(seconds since the start of the run), optionally type and service_s. A relative "
        "path is resolved against the scenario's folder.",
    )
    type: str | None = Field(
        default=None, min_length=1,
        description="With trace: the rows of the trace's type column to replay.",
    )
    service: Literal["drawn", "recorded"] = Field(
        default="drawn",
        description="With trace: 'recorded' gives each contact the trace's service_s as its "
        "work where the row has one; 'drawn' draws work from handle_time.",
    )
    weekdays: Annotated[dict[str, Number], *weekday_keys({"type": "number", "minimum": 0}),
                        Field(min_length=1)] | None = Field(
        default=None,
        description="A factor on the day's rates per weekday (run.start_weekday says which "
        "weekday day 0 is), e.g. {mon: 1.2, sat: 0.6, sun: 0}; weekdays not listed: 1.",
    )
    rates_by_weekday: Annotated[dict[str, tuple[Rate, ...]], *weekday_keys(
        {"type": "array", "items": RATE_SCHEMA}), Field(min_length=1)] | None = Field(
        default=None,
        description="A weekday's own rates, one per interval of the day, instead of rate or "
        "rates, e.g. {sun: [...]}; weekdays not listed: rate or rates.",
    )
    _times: tuple[float, ...] = PrivateAttr(default=())
    _services: tuple[float, ...] = PrivateAttr(default=())

    @model_validator(mode="after")
    def _one_form(self, info: ValidationInfo) -> Arrivals:
        given = [n for n in ("rate", "rates", "trace") if getattr(self, n) is not None]
        one_of = ("allowed: exactly one of rate (e.g. 120/h) or rates (one per interval of the "
                  "day) or trace (a file of recorded arrivals to replay)")
        if not given:
            raise FieldError((), f"none of rate, rates or trace is given; {one_of}")
        if len(given) > 1:
            raise FieldError((given[-1],), f"{' and '.join(given)} are given together; {one_of}")
        if self.rates is not None and max(self.rates) <= 0:
            raise FieldError(("rates",), "all rates are 0; allowed: rates >= 0, at least one > 0")
        self._check_weekdays()
        if self.trace is None:
            for key in ("type", "service"):
                if key in self.model_fields_set:
                    raise FieldError((key,), f"{key} applies only to trace arrivals; allowed "
                                     "here: rate or rates")
            return self
        from sim.analysis.calllog import read_arrival_trace

        context = info.context or {}
        path = Path(self.trace)
        if not path.is_absolute():
            path = Path(context.get("base_dir", ".")) / path
        try:
            times, services = read_arrival_trace(
                path, self.type, context.get("limits", DEFAULT_LIMITS).data_file_bytes)
        except ValueError as exc:
            raise FieldError(("trace",), str(exc)) from None
        if self.service == "recorded" and all(s is None for s in services):
            raise FieldError(("service",), (
                f"service: recorded, but {path} has no service_s values for these rows; "
                "allowed: drawn, or a trace with a service_s column"))
        self._times = tuple(times)
        self._services = tuple(math.nan if s is None else s for s in services)
        return self

    def _check_weekdays(self) -> None:
        keys = [key for key in ("weekdays", "rates_by_weekday") if getattr(self, key)]
        if keys and self.trace is not None:
            raise FieldError((keys[0],), (
                f"{keys[0]} applies to rate or rates: a trace replays its recorded arrival "
                "times as they are; allowed: remove it, or rate or rates instead of trace"))
        factors, own = self.weekdays or {}, self.rates_by_weekday or {}
        for day, factor in factors.items():
            if factor < 0:
                raise FieldError(("weekdays", day), (
                    f"{factor:g} is negative; allowed: a factor of 0 or more on the day's "
                    "rates, e.g. 0.6"))
            if day in own:
                raise FieldError(("rates_by_weekday", day), (
                    f"{day} is also given under weekdays; allowed: a weekday either with a "
                    "factor (weekdays) or with its own rates (rates_by_weekday)"))
        if keys and not any(max(self.day_rates(day, 1), default=0) > 0 for day in WEEKDAYS):
            raise FieldError((keys[0],), (
                "every weekday's rates are 0, so no contact would ever arrive; allowed: a "
                "rate above 0 on some weekday"))

    @property
    def by_weekday(self) -> bool:
        """Whether the rates differ by weekday (``weekdays`` or ``rates_by_weekday``)."""
        return bool(self.weekdays or self.rates_by_weekday)

    def day_rates(self, weekday: str, intervals_per_day: int) -> tuple[float, ...]:
        """Rates per interval of the day on ``weekday``, per second."""
        own = (self.rates_by_weekday or {}).get(weekday)
        if own is not None:
            return tuple(float(rate) for rate in own)
        base = self.rates or (self.rate,) * intervals_per_day
        factor = (self.weekdays or {}).get(weekday)
        return tuple(float(rate) if factor is None else float(rate) * factor for rate in base)

    def run_day_rates(self, intervals_per_day: int,
                      start_weekday: str) -> tuple[tuple[float, ...], ...]:
        """``day_rates`` for each day of the run's 7-day cycle, or one day's when the
        weekdays do not differ (``sim.model.week.run_days``)."""
        return run_days(lambda day: self.day_rates(day, intervals_per_day), start_weekday)

    @property
    def trace_times(self) -> tuple[float, ...]:
        """Replayed arrival times in seconds, sorted (empty without a trace)."""
        return self._times

    @property
    def trace_services(self) -> tuple[float, ...]:
        """Recorded work per replayed arrival (NaN where the trace has none)."""
        return self._services

    def trace_profile(self, interval: float) -> tuple[float, ...]:
        """The trace's mean arrival rate per interval of the day, per second (its arrivals
        in that interval over all days it spans / (days x interval))."""
        slots = round(DAY / interval)
        counts = [0] * slots
        for time in self._times:
            counts[int((time % DAY) // interval)] += 1
        days = max(1, math.ceil(self._times[-1] / DAY)) if self._times else 1
        return tuple(n / (days * interval) for n in counts)


class ContactType(StrictModel):
    """One kind of contact: its arrivals and the durations that matter for it."""

    arrivals: Arrivals
    handle_time: Distribution = Field(description="Talk and hold time with an agent.")
    patience: Distribution | None = Field(
        default=None, description="Time a caller waits before hanging up; absent: never abandons."
    )
    wrap_up: Distribution | None = Field(
        default=None, description="After-contact work that keeps the agent busy; absent: none."
    )
    patience_per_waiting: Number | None = Field(
        default=None, ge=0, le=5,
        description="Callers who find others waiting give up sooner: a contact's patience "
        "times exp(-value x contacts already waiting when it joins the queue), e.g. 0.19 (each "
        "waiting caller shortens patience by 17%); absent: patience ignores the queue.")
    channel: str = Field(
        default="voice", min_length=1,
        description="Channel of these contacts (voice, app, web, ...): customers are picked by "
        "their channel habits, and a channel a customer does not use raises a flag.")
    retrial: Retrial | None = Field(default=None, description="Abandoned contacts retry.")
    callback: Callback | None = Field(default=None, description="Offer a call back.")
    journey: Journey | None = Field(default=None, description="Escalation from web or app.")
    transfer: Transfer | None = Field(default=None, description="The agent hands some "
                                      "contacts on to another type (docs/transfers.md).")

    @model_validator(mode="after")
    def _no_top_level_weight(self) -> ContactType:
        for name in ("handle_time", "patience", "wrap_up"):
            dist: _Dist | None = getattr(self, name)
            if dist is not None and dist.weight is not None:
                raise FieldError((name, "weight"), (
                    "weight is only allowed on the components of a mixture; allowed here: "
                    + _keys_text(type(dist), weight=False)))
        if self.patience_per_waiting is not None and self.patience is None:
            raise FieldError(("patience_per_waiting",), (
                "is given but the type has no patience (its callers never abandon); allowed: "
                "a patience distribution beside it, or no patience_per_waiting"))
        return self


class Shift(StrictModel):
    """``count`` agents on duty from ``start`` to ``end`` (time of day; may wrap past midnight)."""

    start: Duration = Field(ge=0, lt=DAY)
    end: Duration = Field(ge=0, le=DAY)
    count: Int = Field(ge=1)
    breaks: tuple[Break, ...] | None = Field(
        default=None, description="This shift's breaks, instead of the group's.")
    days: tuple[Weekday, ...] | None = Field(
        default=None, min_length=1,
        description="Weekdays the shift starts on, e.g. [mon, tue, wed, thu, fri] (a shift "
        "past midnight ends the next day); absent: every day.")

    @model_validator(mode="after")
    def _not_empty(self) -> Shift:
        if self.start == self.end:
            raise FieldError(("end",), (
                "end equals start, so the shift is empty; allowed: an end different from "
                "start (a shift may wrap past midnight, e.g. start: 22h, end: 6h)"))
        check_breaks(self.breaks or (), [self.length], "shift")
        days = self.days or ()
        for index, day in enumerate(days):
            if day in days[:index]:
                raise FieldError(("days", index), f"{day} is given twice; allowed: each "
                                 "weekday once")
        return self

    def covers(self, time_of_day: float) -> bool:
        """Whether the shift is on at ``time_of_day``."""
        if self.start < self.end:
            return self.start <= time_of_day < self.end
        return time_of_day >= self.start or time_of_day < self.end % DAY

    @property
    def length(self) -> float:
        """Seconds from start to end (past midnight when it wraps)."""
        return (self.end - self.start) % DAY or DAY

    def starts_on(self, weekday: str | None) -> bool:
        """Whether the shift starts on ``weekday`` (None: a day of every weekday)."""
        return weekday is None or self.days is None or weekday in self.days


class Mobile(StrictModel):
    """Off-site agents (relationship managers, case owners) reached on their own phone."""

    ring: Distribution = Field(description="Time the phone rings before it is answered or the "
                               "call falls back to the center.")
    answer: Probability = Field(description="Chance that a free mobile agent answers.")

    @model_validator(mode="after")
    def _answers_sometimes(self) -> Mobile:
        if self.answer == 0:
            raise FieldError(("answer",), (
                "0: these agents would never answer, so no contact could ever reach them; "
                "allowed: a probability > 0 and at most 1 (e.g. 0.7)"))
        return self


class Owns(StrictModel):
    """Customers who have an owner in this group (adviser or case owner), one seat each."""

    tiers: tuple[str, ...] = Field(min_length=1, description="Customer tiers with an owner here.")
    share: Probability = Field(default=1.0, description="Share of those customers with one.")


def _list_or_mapping(value: object) -> object:
    # Checked here so that a mistake gives one message, not one per member of the union.
    if isinstance(value, (list, tuple)):
        check_names(value, "a contact type name")
    elif isinstance(value, dict):
        for name, level in value.items():
            if isinstance(level, bool) or not isinstance(level, (int, float)):
                raise FieldError((name,), f"{show_value(level)} is not a number; allowed: a "
                                 "proficiency level, e.g. 7")
    else:
        raise ValueError(f"{show_value(value)} is not a list or a mapping; allowed: a list of "
                         "contact types, e.g. [general, vip], or each with a level, e.g. "
                         "{general: 7, vip: 9.5}")
    return value


ROSTER_HELP = (
    "agents: {roster: FILE.csv}: named agents, one row each (agent,group,start,end and "
    "optionally skills, languages, dialects, speed), in groups declared beside it without "
    "count, staffing or shifts. A relative path is resolved against the scenario's folder.")


class Learning(StrictModel):
    """A learning curve: the agent's speed is multiplied by
    ``start + (1 - start) x n / contacts`` for the n-th contact it takes (n = 0, 1, ...;
    contacts taken before it in the replication), and by 1 from the ``contacts``-th on."""

    start: Number = Field(gt=0, le=1, description="Speed factor of a new agent's first "
                          "contact, e.g. 0.6 (its work takes 1/0.6 = 1.67 times as long).")
    contacts: Int = Field(ge=1, description="Contacts taken until the factor reaches 1.")

    def factor(self, taken: int) -> float:
        """The speed factor of an agent's contact after ``taken`` earlier ones."""
        if taken >= self.contacts:
            return 1.0
        return self.start + (1.0 - self.start) * taken / self.contacts


_FACTOR_KEYS = ("mean", "value", "low", "high")
"""Keys of a distribution that hold durations: in a speed distribution, unitless factors."""


def _speed_factors(value: object) -> object:
    """A speed distribution's factors as the durations its model reads (``1.2`` as ``1.2s``):
    a speed has no unit."""
    if not isinstance(value, dict):
        return value

    def plain(number: object) -> object:
        numeric = isinstance(number, (int, float)) and not isinstance(number, bool)
        return f"{number!r}s" if numeric else number

    converted = {key: plain(item) if key in _FACTOR_KEYS else item for key, item in value.items()}
    if isinstance(value.get("samples"), list):
        converted["samples"] = [plain(item) for item in value["samples"]]
    if isinstance(value.get("components"), list):
        converted["components"] = [_speed_factors(item) for item in value["components"]]
    return converted


Speed = Annotated[
    Union[Annotated[Number, Tag("tagged-union[number]")],
          Annotated[Distribution, BeforeValidator(_speed_factors),
                    Tag("tagged-union[distribution]")]],
    Discriminator(lambda value: "tagged-union[distribution]" if isinstance(value, (dict, _Dist))
                  else "tagged-union[number]")]
"""An agent group's speed: a number, or a distribution each agent's speed is drawn from
(its factors without unit; the tags are pydantic's, dropped from error paths)."""


def _reaches_zero(dist: _Dist) -> bool:
    """Whether ``dist`` can draw a value <= 0 (its lowest possible value is one)."""
    low = {"constant": lambda d: d.value, "uniform": lambda d: d.low,
           "empirical": lambda d: min(d.samples)}.get(getattr(dist, "dist", ""))
    if low is not None:
        return bool(low(dist) <= 0)
    return any(_reaches_zero(c) for c in getattr(dist, "components", ()))


def _day_counts(value: object) -> object:
    # Checked here so that a mistake gives one message, not one per member of the union.
    allowed = ("allowed: a count of agents for the whole day (e.g. 0) or one count per "
               "interval of the day (e.g. [0, 0, 5, 5, ...])")
    if not isinstance(value, dict):
        return value
    for day, counts in value.items():
        for index, count in (enumerate(counts) if isinstance(counts, (list, tuple))
                             else [(None, counts)]):
            where = (str(day),) if index is None else (str(day), index)
            if isinstance(count, bool) or not isinstance(count, int):
                raise FieldError(where, f"{show_value(count)} is not a whole number; {allowed}")
            if count < 0:
                raise FieldError(where, f"{count} is negative; {allowed}")
    return value


class AgentGroup(StrictModel):
    """A team of interchangeable agents with the same skills."""

    skills: Annotated[tuple[str, ...] | dict[str, Number], BeforeValidator(_list_or_mapping)] = Field(
        min_length=1, description="Contact types this group serves: a list, or a mapping of "
        "each to a proficiency level (see proficiency).")
    intent_levels: dict[str, Number] = Field(
        default_factory=dict, description="Proficiency per intent (identity.intents), which "
        "outranks the contact type's level for contacts with that intent.")
    languages: tuple[str, ...] = Field(
        default=(), description="Languages spoken; empty: every language (not modelled).")
    dialects: tuple[str, ...] = Field(default=(), description="Dialects spoken.")
    mobile: Mobile | None = Field(default=None, description="Reached on a mobile phone.")
    capacity: tuple[dict[str, Int], ...] | None = Field(
        default=None, description="Mixes of contacts an agent may hold at once, by channel: "
        "its load must fit one of them, e.g. [{voice: 1}, {chat: 3}, {chat: 2, email: 1}]; "
        "absent: one contact at a time.")
    owns: Owns | None = Field(default=None, description="Customers this group owns.")
    count: OptionalInt = Field(default=None, ge=0, description="Agents on duty all day.")
    staffing: tuple[Int, ...] | None = Field(
        default=None, min_length=1, description="Agents on duty per interval of the day."
    )
    shifts: tuple[Shift, ...] | None = Field(
        default=None, min_length=1, description="Shifts; agents on duty add up."
    )
    staffing_by_weekday: Annotated[dict[str, Int | tuple[Int, ...]], BeforeValidator(_day_counts),
                                   *weekday_keys({"anyOf": [
                                       {"type": "integer", "minimum": 0},
                                       {"type": "array", "items": {"type": "integer",
                                                                   "minimum": 0}}]}),
                                   Field(min_length=1)] | None = Field(
        default=None,
        description="With count or staffing: a weekday's own agents on duty, a count for the "
        "whole day or one per interval of the day, e.g. {sat: [...], sun: 0}; weekdays not "
        "listed: count or staffing. (Shifts say their weekdays with days.)")
    speed: Speed = Field(
        default=1.0, description="Work rate: handle time is the contact's work / speed. A "
        "distribution (e.g. {dist: lognormal, mean: 1, cv: 0.2}) draws each agent's own speed.")
    learning: Learning | None = Field(
        default=None, description="Speed rising with the contacts an agent has taken; "
        "absent: no learning.")
    breaks: tuple[Break, ...] = Field(
        default=(), description="Breaks every agent takes once per shift (per day with count "
        "or staffing), e.g. [{duration: 15min, window: [2h, 3h]}, {duration: 30min, "
        "window: [4h, 5h], name: lunch}].")
    meetings: tuple[Meeting, ...] = Field(
        default=(), description="Daily blocks that take agents off the phones, e.g. "
        "[{start: 10h, duration: 1h, count: 2}].")
    absenteeism: Probability = Field(
        default=0.0, description="Chance that a scheduled agent is absent for the day (for "
        "the shift), e.g. 8%.")
    aux: Aux | None = Field(default=None, description="Unplanned time off the phones.")
    manual_check: ManualCheck | None = Field(
        default=None, description="The group's own verification check, run on every caller "
        "still verified whom its agents serve (e.g. a fraud desk's call-back), with its time "
        "and error rates (docs/customer_behaviour.md); needs an identity block.")
    _members: tuple[NamedAgent, ...] = PrivateAttr(default=())

    @model_validator(mode="after")
    def _positive_speed(self) -> AgentGroup:
        if isinstance(self.speed, float) and self.speed <= 0:
            raise FieldError(("speed",), f"{self.speed:g} is not above 0; allowed: a work "
                             "rate > 0, e.g. 1.2, or a distribution of them")
        if not isinstance(self.speed, float) and _reaches_zero(self.speed):
            raise FieldError(("speed",), (
                "this distribution can draw 0 (or less), a speed at which work never ends; "
                "allowed: a distribution of speeds > 0, e.g. {dist: lognormal, mean: 1, "
                "cv: 0.2} or {dist: uniform, low: 0.8, high: 1.2}"))
        return self

    @model_validator(mode="after")
    def _one_staffing(self) -> AgentGroup:
        given = [n for n in ("count", "staffing", "shifts") if getattr(self, n) is not None]
        one_of = ("allowed: exactly one of count (e.g. 10), staffing (one count per interval "
                  "of the day) or shifts")
        if not given:
            raise FieldError((), f"none of count, staffing or shifts is given; {one_of}")
        if len(given) > 1:
            both = " and ".join(given)
            raise FieldError((given[-1],), f"{both} are given together; {one_of}")
        for index, count in enumerate(self.staffing or ()):
            if count < 0:
                raise FieldError(("staffing", index), f"{count} is negative; allowed: 0 or more")
        if self.shifts is None:
            check_breaks(self.breaks, [DAY], "day (breaks of a group without shifts start "
                         "after the start of the day)")
        else:
            lengths = [s.length for s in self.shifts if s.breaks is None]
            check_breaks(self.breaks if lengths else (), lengths, "shortest shift")
        if self.staffing_by_weekday is not None and self.shifts is not None:
            raise FieldError(("staffing_by_weekday",), (
                "applies to count or staffing; allowed with shifts: days on each shift, e.g. "
                "days: [mon, tue, wed, thu, fri]"))
        return self

    def check_one_day_shrinkage(self, name: str) -> None:
        """Raise (naming group ``name``'s key) if the group's head count, differing by weekday, shrinks: the shrinkage
        stage follows one repeating day (named agents take their breaks themselves)."""
        if self.shrinks and self.by_weekday and not self.members:
            key = next(key for key in ("breaks", "meetings", "absenteeism", "aux", "shifts")
                       if getattr(self, key))
            raise FieldError((name, key), (
                "shrinkage (breaks, meetings, absenteeism, aux) follows one repeating day, and "
                "this group's staffing differs by weekday (staffing_by_weekday or shift days); "
                "ccsim does not simulate the two together yet; allowed: one or the other"))

    @property
    def by_weekday(self) -> bool:
        """Whether the agents on duty differ by weekday (weekday staffing or shift days)."""
        return self.staffing_by_weekday is not None or any(
            shift.days is not None for shift in self.shifts or ())

    @property
    def shrinks(self) -> bool:
        """Whether the group has breaks (its own, a shift's or a named agent's), meetings,
        absenteeism or aux time."""
        return bool(self.breaks or self.meetings or self.absenteeism or self.aux
                    or any(shift.breaks for shift in self.shifts or ())
                    or any(member.breaks for member in self._members))

    @property
    def members(self) -> tuple[NamedAgent, ...]:
        """The group's named agents, from a roster in the scenario
        (``agents: {roster: FILE}``), each with its own shift and profile; empty: anonymous
        agents whose head count follows count, staffing or shifts (which a roster sets to its
        agents' shifts)."""
        return self._members

    @property
    def base_speed(self) -> float:
        """The speed a new agent starts from: ``speed``, or 1 when it is drawn per agent
        (the drawn factor then multiplies it)."""
        return self.speed if isinstance(self.speed, float) else 1.0

    def restaffed(self, *, count: int | None = None, staffing: tuple[int, ...] | None = None,
                  shifts: tuple[Shift, ...] | None = None) -> AgentGroup:
        """A copy with this head count and anonymous agents (no named ones)."""
        copy = self.model_copy(update={"count": count, "staffing": staffing,
                                       "staffing_by_weekday": None, "shifts": shifts})
        copy._members = ()
        return copy

    def level(self, skill: str, highest: float) -> float:
        """Proficiency for a skill (a contact type or an intent); ``highest`` when unlisted."""
        if skill in self.intent_levels:
            return float(self.intent_levels[skill])
        return float(self.skills[skill]) if isinstance(self.skills, dict) else highest

    def seats(self, interval: float, intervals_per_day: int) -> int:
        """Most agents ever on duty at once: the seats owners are assigned to."""
        return max(count for steps in self.run_days_on_duty(interval, intervals_per_day)
                   for _, count in steps)

    def on_duty(self, interval: float, intervals_per_day: int,
                weekday: str | None = None) -> list[tuple[float, int]]:
        """Step function of agents on duty over one day as ``(time of day, count)`` changes:
        on ``weekday``, or (None) on a day of a week whose weekdays are alike (every shift,
        no weekday staffing)."""
        own = (self.staffing_by_weekday or {}).get(weekday) if weekday is not None else None
        counts = self.count if own is None else own
        if isinstance(counts, int):
            return [(0.0, counts)]
        counts = self.staffing if own is None else own
        if counts is not None:
            return [(i * interval, n) for i, n in enumerate(counts)]
        assert self.shifts is not None
        yesterday = None if weekday is None else WEEKDAYS[WEEKDAYS.index(weekday) - 1]
        points = sorted({0.0, *(s.start for s in self.shifts), *(s.end % DAY for s in self.shifts)})
        steps = []
        for time in points:
            count = 0
            for shift in self.shifts:
                end = shift.end
                # A shift past midnight is on duty from its start today, and until its end
                # today if it started yesterday.
                inside = (shift.start <= time < end and shift.starts_on(weekday)
                          if shift.start < end else
                          time >= shift.start and shift.starts_on(weekday)
                          or time < end % DAY and shift.starts_on(yesterday))
                count += shift.count if inside else 0
            steps.append((time, count))
        return steps

    def run_days_on_duty(self, interval: float, intervals_per_day: int,
                         start_weekday: str = "mon") -> tuple[list[tuple[float, int]], ...]:
        """``on_duty`` for each day of the run's 7-day cycle (day 0 a ``start_weekday``),
        or for one day when the weekdays are alike (``sim.model.week.run_days``)."""
        if not self.by_weekday:
            return (self.on_duty(interval, intervals_per_day),)
        return run_days(lambda day: self.on_duty(interval, intervals_per_day, day),
                        start_weekday)


@dataclass(frozen=True)
class NamedAgent:
    """One agent of a roster in the scenario: its id, shift and profile."""

    name: str
    start: float
    """Start of its shift, in seconds of simulation time of day (``run.day_start`` is 0)."""
    end: float
    """End of its shift, in (0, 24h]; before ``start``: past midnight."""
    profile: AgentGroup
    """Its group with the agent's own skills, levels, languages, dialects and speed."""
    days: tuple[str, ...] | None = None
    """Weekdays its shift starts on; None: every day."""
    breaks: tuple[Break, ...] = ()
    """Breaks it takes once per shift: its own, else its group's."""

    def starts_on(self, weekday: str | None) -> bool:
        """Whether its shift starts on ``weekday`` (None: a day of every weekday)."""
        return weekday is None or self.days is None or weekday in self.days


def _agent_profile(group: AgentGroup, row: RosterRow, path: Path) -> AgentGroup:
    """``group`` with the row's own skills (and levels), languages, dialects and speed."""
    update: dict[str, Any] = {}
    if row.skills is not None:
        unknown = [name for name, _ in row.skills if name not in group.skills]
        if unknown:
            raise FieldError(("roster",), (
                f"{path}:{row.line}: skills: {unknown[0]!r} is not a skill of group "
                f"{row.group!r}; allowed: {', '.join(group.skills)} (a row's skills are "
                "among its group's)"))
        levels = {name: level for name, level in row.skills if level is not None}
        update["skills"] = levels or (
            {name: group.skills[name] for name, _ in row.skills}
            if isinstance(group.skills, dict) else tuple(name for name, _ in row.skills))
    for column in ("languages", "dialects", "speed"):
        if getattr(row, column) is not None:
            update[column] = getattr(row, column)
    return group.model_copy(update=update)


class WaitingRoom(StrictModel):
    """Finite queue: an arrival that finds ``capacity`` contacts waiting is blocked."""

    capacity: Int = Field(ge=0)


class ServiceLevel(StrictModel):
    """Thresholds used by the service-level metrics."""

    threshold: Duration = Field(default=20.0, ge=0, description="T in SL(T).")
    short_abandon: Duration = Field(
        default=5.0, ge=0, description="Abandons within this time are short abandons."
    )


class Routing(StrictModel):
    """Which routing policy runs, plus parameters for any registered policy.

    ``policy`` names the default policy; each other key is a registered policy
    name whose value holds that policy's parameters, so one scenario can carry
    settings for every policy it will be compared under.
    """

    model_config = {**StrictModel.model_config, "extra": "allow"}
    policy: str = Field(description="Name of a registered routing policy, e.g. fcfs or priority.")

    def params_for(self, name: str) -> dict[str, Any]:
        """Raw parameters given for policy ``name`` (empty when none)."""
        return dict((self.model_extra or {}).get(name) or {})


class Scenario(StrictModel):
    """A complete, validated scenario."""

    name: str = Field(min_length=1)
    description: str = ""
    run: RunSettings
    contact_types: dict[str, ContactType] = Field(min_length=1)
    agents: dict[str, AgentGroup] = Field(min_length=1)
    routing: Routing
    service_level: ServiceLevel = ServiceLevel()
    waiting_room: WaitingRoom | None = None
    busyness: Busyness | None = None
    customers: Customers | None = None
    identity: Identity | None = None
    proficiency: Proficiency | None = None
    outcomes: Outcomes | None = None
    matching: Matching | None = None
    channels: dict[str, Channel] | None = None
    blending: Blending | None = None
    predictor: PredictorConfig | None = None
    outbound: Outbound | None = None
    ivr: IvrMenu | None = None
    costs: Costs | None = None
    churn: Churn | None = None
    needs: Needs | None = None

    # Checks across sections. Each runs as soon as the sections it reads are valid, and
    # reports every problem it finds: pydantic validates fields in order and hands a field
    # validator the fields before it that passed, so a mistake in one section does not
    # hide one in another (the whole-scenario checks in ``_consistent`` need every
    # section valid, and report all of theirs together).
    @field_validator("contact_types")
    @classmethod
    def _rates_per_interval(cls, types_: dict[str, ContactType],
                            info: ValidationInfo) -> dict[str, ContactType]:
        run = info.data.get("run")
        if run is None:
            return types_
        problems = Problems()
        for type_name, ctype in types_.items():
            profiles = [((type_name, "arrivals", "rates"), ctype.arrivals.rates)] + [
                ((type_name, "arrivals", "rates_by_weekday", day), rates)
                for day, rates in (ctype.arrivals.rates_by_weekday or {}).items()]
            for where, rates in profiles:
                with problems.check():
                    if rates is not None and len(rates) != run.intervals_per_day:
                        raise FieldError(where, (
                            f"has {len(rates)} rates; allowed: exactly "
                            f"{run.intervals_per_day}, one per {format_duration(run.interval)} "
                            "interval of the day (run.interval)"))
        problems.raise_any()
        return types_

    @model_validator(mode="before")
    @classmethod
    def _note_type_names(cls, data: Any, info: ValidationInfo) -> Any:
        # Skills name contact types: the names are known from the file even when a contact
        # type has a mistake of its own, so an unknown skill is reported in the same pass.
        if isinstance(info.context, dict) and isinstance(data, dict) and isinstance(
                data.get("contact_types"), dict):
            info.context["type_names"] = [str(name) for name in data["contact_types"]]
        return data

    @field_validator("agents", mode="before")
    @classmethod
    def _read_roster(cls, agents: Any, info: ValidationInfo) -> Any:
        """``agents: {roster: FILE}``: the file's groups get their agents' shifts (the named
        agents are attached by ``_name_agents`` once the groups are valid)."""
        if not (isinstance(agents, dict) and isinstance(agents.get("roster"), str)):
            return agents  # a group may be called roster: its value is then a mapping
        context = info.context if isinstance(info.context, dict) else {}
        path = Path(agents["roster"])
        if not path.is_absolute():
            path = Path(context.get("base_dir", ".")) / path
        try:
            rows = load_roster(path, context.get("limits", DEFAULT_LIMITS))
        except RosterFileError as exc:
            raise FieldErrors([FieldError(("roster",), f"{path}:{problem}")
                               for problem in exc.problems]) from None
        groups = {name: spec for name, spec in agents.items() if name != "roster"}
        problems = Problems()
        for row in rows:
            with problems.check():
                if not isinstance(groups.get(row.group), dict):
                    raise FieldError(("roster",), (
                        f"{path}:{row.line}: group: {show_value(row.group)} is not a group "
                        f"under agents; allowed: {', '.join(groups) or 'a group declared under agents'}"
                        " (the group gives its agents' skills, languages and speed unless the "
                        "row has its own)"))
        problems.raise_any()
        run = info.data.get("run")
        for name, counts in shift_counts(rows, run.day_start if run else 0.0).items():
            given = [key for key in ("count", "staffing", "shifts") if key in groups[name]]
            with problems.check():
                if given:
                    raise FieldError((name, given[0]), (
                        f"group {name!r} is staffed by the roster {path}; allowed: no count, "
                        "staffing or shifts for a group of the roster (its agents' shifts are "
                        "the group's)"))
            groups[name] = {**groups[name], "shifts": [
                {"start": f"{start!r}s", "end": f"{end!r}s", "count": count,
                 **({"days": list(days)} if days is not None else {})}
                for (start, end, days), count in sorted(
                    counts.items(), key=lambda item: (*item[0][:2], item[0][2] or ()))]}
        problems.raise_any()
        context["roster"] = (path, rows)
        return groups

    @field_validator("agents")
    @classmethod
    def _name_agents(cls, agents: dict[str, AgentGroup],
                     info: ValidationInfo) -> dict[str, AgentGroup]:
        """Attach the named agents of ``agents: {roster: FILE}`` to their groups."""
        context = info.context if isinstance(info.context, dict) else {}
        if "roster" not in context:
            return agents
        path, rows = context.pop("roster")
        run = info.data.get("run")
        problems = Problems()
        members: dict[str, list[NamedAgent]] = {}
        for row in rows:
            with problems.check():
                group = agents[row.group]
                day_start = run.day_start if run else 0.0
                start, end = shift_times(row, day_start)
                breaks = row.breaks if row.breaks is not None else group.breaks
                for index, one in enumerate(breaks if row.breaks is not None else ()):
                    try:
                        one.check_fits((end - start) % DAY or DAY, (), "shift")
                    except FieldError as exc:
                        raise FieldError(("roster",), (
                            f"{path}:{row.line}: breaks: break {index + 1}: "
                            f"{exc.message}")) from None
                agent = NamedAgent(row.agent, start, end, _agent_profile(group, row, path),
                                   shift_days(row, day_start), breaks)
                members.setdefault(row.group, []).append(agent)
        anonymous = [name for name in agents if name not in members]
        for row in rows if anonymous else ():
            with problems.check():
                if re.fullmatch(rf"({'|'.join(map(re.escape, anonymous))})-\d+", row.agent):
                    raise FieldError(("roster",), (
                        f"{path}:{row.line}: agent: {row.agent!r} is how ccsim names an agent of "
                        f"group {row.agent.rpartition('-')[0]!r}, which is not in the roster; "
                        "allowed: another id"))
        for name, named in members.items():
            with problems.check():
                if agents[name].meetings:
                    raise FieldError((name, "meetings"), (
                        f"group {name!r} has named agents (the roster {path}), and ccsim does "
                        "not yet send named agents to meetings; allowed: breaks (the group's, "
                        "or an agent's own in the roster's breaks column), absenteeism and "
                        "aux, or meetings on groups with count, staffing or shifts (or ccsim "
                        "run --roster, which applies a roster's shifts to them)"))
            held = {skill for agent in named for skill in agent.profile.skills}
            for skill in agents[name].skills:
                with problems.check():
                    if skill not in held and not problems.errors:  # else maybe a consequence
                        raise FieldError((name, "skills"), (
                            f"{skill!r}: no agent of group {name!r} in the roster {path} has "
                            "it; allowed: the skills some agent of the group has (a row's "
                            "skills, or all the group's for a row without)"))
            agents[name]._members = tuple(named)
        problems.raise_any()
        return agents

    @field_validator("agents")
    @classmethod
    def _one_day_shrinkage(cls, agents: dict[str, AgentGroup]) -> dict[str, AgentGroup]:
        # Here, not in AgentGroup: a group of named agents (known once they are attached)
        # may differ by weekday and take breaks.
        problems = Problems()
        for name, group in agents.items():
            with problems.check():
                group.check_one_day_shrinkage(name)
        problems.raise_any()
        return agents

    @field_validator("agents")
    @classmethod
    def _known_skills(cls, agents: dict[str, AgentGroup],
                      info: ValidationInfo) -> dict[str, AgentGroup]:
        run = info.data.get("run")
        # No names at all (an empty contact_types): that is the mistake, not every skill.
        contact_types = info.data.get("contact_types") or (info.context or {}).get(
            "type_names") or None
        problems = Problems()
        for group_name, group in agents.items():
            profiles = [((group_name, "staffing"), group.staffing)] + [
                ((group_name, "staffing_by_weekday", day), counts)
                for day, counts in (group.staffing_by_weekday or {}).items()
                if not isinstance(counts, int)]
            for where, counts in profiles:
                with problems.check():
                    if run is not None and counts is not None and \
                            len(counts) != run.intervals_per_day:
                        raise FieldError(where, (
                            f"has {len(counts)} counts; allowed: exactly "
                            f"{run.intervals_per_day}, one per {format_duration(run.interval)} "
                            "interval of the day (run.interval)"))
            for index, skill in enumerate(group.skills):
                with problems.check():
                    if contact_types is not None and skill not in contact_types:
                        raise FieldError(
                            (group_name, "skills",
                             skill if isinstance(group.skills, dict) else index),
                            f"unknown contact type {skill!r}; known: "
                            f"{', '.join(sorted(contact_types))}")
        problems.raise_any()
        return agents

    @field_validator("routing")
    @classmethod
    def _known_policies(cls, routing: Routing) -> Routing:
        # The names alone need no other section; their parameters are checked against the
        # whole scenario in ``_consistent``.
        problems = Problems()
        for name, where in ((routing.policy, ("policy",)),
                            *((extra, (extra,)) for extra in routing.model_extra or {})):
            with problems.check():
                policy_spec(name, where=where)
        problems.raise_any()
        return routing

    @model_validator(mode="after")
    def _consistent(self, info: ValidationInfo) -> Scenario:
        problems = Problems()
        for type_name, ctype in list(self.contact_types.items()):
            arrivals = ctype.arrivals
            if arrivals.trace is not None:
                with problems.check():
                    if self.run.arrivals is not None:
                        raise FieldError(("run", "arrivals"), (
                            f"contact type {type_name!r} replays a trace, which ends when the "
                            "trace does; allowed: run.duration (e.g. 24h) with trace arrivals"))
                # The trace's mean rate profile stands in for rates wherever a profile is
                # read (reports, staffing); the engine replays the exact times.
                profile = arrivals.trace_profile(self.run.interval)
                self.contact_types[type_name] = ctype.model_copy(update={
                    "arrivals": arrivals.model_copy(update={"rates": profile})})
        periods = self.run.intervals_per_day
        unstaffed: set[tuple[str, ...]] = set()
        for type_name in self.contact_types:
            with problems.check():
                self._check_served(type_name, periods, unstaffed)
        for check in (lambda: self._check_limits((info.context or {}).get("limits",
                                                                         DEFAULT_LIMITS)),
                      self._check_identity, lambda: check_group_checks(self),
                      self._check_skills, self._check_channels,
                      self._check_outbound, self._check_repeats_end, self._check_money,
                      lambda: check_transfers(self), lambda: check_ivr(self),
                      lambda: check_needs(self),
                      lambda: _check_plugins(self, policy_spec, "policy", ("routing",),
                                             (self.routing.policy,), self.routing)):
            with problems.check():
                check()
        problems.raise_any()
        return self

    def _check_served(self, type_name: str, periods: int,
                      unstaffed: set[tuple[str, ...]]) -> None:
        """Some group has ``type_name`` in its skills and an agent on duty at some time.

        ``unstaffed`` holds the sets of groups already reported as never on duty: one empty
        group is one mistake, reported with the first type it leaves unserved."""
        groups = [name for name, group in self.agents.items() if type_name in group.skills]
        if not groups:
            raise FieldError(
                ("contact_types", type_name),
                f"no agent group can serve {type_name!r} (no group has it in skills); "
                f"allowed: add {type_name} to the skills of a group under agents "
                f"({', '.join(self.agents)})",
            )
        staffed = any(
            count > 0
            for name in groups
            for steps in self.agents[name].run_days_on_duty(self.run.interval, periods)
            for _, count in steps
        )
        if not staffed and tuple(groups) not in unstaffed:
            unstaffed.add(tuple(groups))
            raise FieldError(
                ("contact_types", type_name),
                f"no agent is ever on duty to serve {type_name!r}: the groups with it in "
                f"skills ({', '.join(groups)}) have 0 agents all day; allowed: at least one "
                "agent on duty at some time of day",
            )

    def _check_limits(self, limits: Limits) -> None:
        """Judgement bounds (``sim.limits``): what the scenario builds and simulates."""
        if self.run.replications > limits.replications:
            raise FieldError(("run", "replications"), over_limit(
                self.run.replications, limits.replications, "replications", "fewer replications"))
        seats = {name: group.seats(self.run.interval, self.run.intervals_per_day)
                 for name, group in self.agents.items()}
        for name, count in seats.items():
            if count > limits.agents:
                group = self.agents[name]
                key = next(k for k in ("count", "staffing", "shifts")
                           if getattr(group, k) is not None)
                raise FieldError(("agents", name, key), over_limit(
                    count, limits.agents, "agents on duty", "fewer agents in this group"))
        if sum(seats.values()) > limits.agents:
            raise FieldError(("agents",), over_limit(
                sum(seats.values()), limits.agents, "agents on duty",
                "fewer agents in all groups together"))
        if self.customers is not None and self.customers.population > limits.population:
            raise FieldError(("customers", "population"), over_limit(
                self.customers.population, limits.population, "customers",
                "a smaller population"))
        problem = self.workload_problem(self.run.replications, limits)
        if problem is not None:
            raise FieldError(*problem)

    def workload_problem(
        self, replications: int, limits: Limits,
    ) -> tuple[tuple[str | int, ...], str] | None:
        """``(field, message)`` when ``replications`` replications are expected to simulate
        more events than ``limits`` allows (``None`` when they are not); the field is the
        largest contributor, or ``run.replications`` when one replication is within."""
        per_replication = self.expected_events()
        total = per_replication * replications
        if total <= limits.events:
            return None
        path = (("run", "replications") if per_replication <= limits.events
                else max(self._events_per_replication(), key=lambda part: part[0])[1])
        detail = (f" (arrivals, retrials, outbound tasks and interval boundaries: "
                  f"{per_replication:.3g} per replication x {replications})")
        return path, over_limit(total, limits.events, "expected events", (
            "lower rates, a shorter run.duration or fewer replications"), detail)

    def expected_events(self) -> float:
        """The mean number of events one replication simulates (see ``workload_problem``)."""
        return sum(count for count, _ in self._events_per_replication())

    def _events_per_replication(self) -> list[tuple[float, tuple[str | int, ...]]]:
        """The mean number of events one replication simulates, per field that sets them:
        arrivals of each contact type, tasks of each outbound campaign, interval
        boundaries, retrials as if every attempt abandoned and aux episodes as if every
        agent were always on the phones (repeats and call backs are left out)."""
        run = self.run
        parts: list[tuple[float, tuple[str | int, ...]]] = []
        if run.duration is not None:
            horizon, where = run.duration, ("run", "duration")
            for name, ctype in self.contact_types.items():
                arrivals = ctype.arrivals
                key = next(k for k in ("trace", "rate", "rates") if getattr(arrivals, k))
                count = (len(arrivals.trace_times) if arrivals.trace is not None
                         else _mean_rate(arrivals) * horizon)
                parts.append((count, ("contact_types", name, "arrivals", key)))
        else:
            assert run.arrivals is not None  # traces need a duration (checked above)
            rate = sum(_mean_rate(ctype.arrivals) for ctype in self.contact_types.values())
            horizon, where = run.arrivals / rate, ("run", "arrivals")
            parts.append((run.arrivals, where))
        parts.append((horizon / run.interval, where))
        arrivals_of = {where[1]: count for count, where in parts if where[0] == "contact_types"}
        for name, ctype in self.contact_types.items():
            retrial = ctype.retrial
            # A zero delay is the run-time guard's (sim.stages.followups): no time passes.
            if retrial is None or retrial.probability == 0 or retrial.delay.mean == 0:
                continue
            # As if every attempt abandoned: p / (1 - p) retries per contact, and no more
            # than fit in the run one delay after another.
            fit = horizon / retrial.delay.mean
            tries = (min(retrial.probability / (1 - retrial.probability), fit)
                     if retrial.probability < 1 else fit)
            per_type = arrivals_of.get(name, run.arrivals or 0.0)
            parts.append((per_type * tries, ("contact_types", name, "retrial")))
        for name, campaign in (self.outbound.campaigns if self.outbound else {}).items():
            if campaign.trigger == "list":
                count, key = (campaign.per_day or 0) * horizon / DAY, "per_day"
            else:
                count, key = (campaign.rate or 0.0) * horizon, "rate"
            parts.append((count, ("outbound", "campaigns", name, key)))
        for name, group in self.agents.items():
            if group.aux is not None:  # as if every agent were on the phones all the time
                seats = group.seats(run.interval, run.intervals_per_day)
                parts.append((seats * group.aux.rate * horizon, ("agents", name, "aux", "rate")))
        return parts

    def _check_skills(self) -> None:
        intents = self.identity.intents if self.identity is not None else {}
        tiers = self.customers.tiers if self.customers is not None else {}
        for name, group in self.agents.items():
            for intent in group.intent_levels:
                if intent not in intents:
                    raise FieldError(("agents", name, "intent_levels", intent), (
                        f"unknown intent {intent!r}; allowed: an intent under identity.intents"
                        f" ({', '.join(intents) or 'none: the scenario has no identity block'})"))
            for index, tier in enumerate(group.owns.tiers if group.owns else ()):
                if tier not in tiers:
                    raise FieldError(("agents", name, "owns", "tiers", index), (
                        f"unknown tier {tier!r}; allowed: a tier under customers.tiers "
                        f"({', '.join(tiers) or 'none: the scenario has no customers block'})"))
        if self.matching is not None and self.customers is None and (
                self.matching.language or self.matching.owner or self.matching.preferred):
            raise FieldError(("matching",), (
                "language, owner and preferred compare agents with customers, but the "
                "scenario has no customers block; allowed: add customers, or use min_level only"))

    def channel_names(self) -> tuple[str, ...]:
        """Channels of the center: the channels block's, else the contact types' own."""
        if self.channels is not None:
            return tuple(self.channels)
        return tuple(dict.fromkeys(t.channel for t in self.contact_types.values()))

    def _check_repeats_end(self) -> None:
        """A run by arrivals ends once every contact has left; a chance of resolution of 0
        sends some customers back for ever (each unresolved contact repeats)."""
        outcomes = self.outcomes
        if self.run.arrivals is None or outcomes is None or outcomes.repeat_after is None:
            return
        for field in ("resolution_at_lowest", "resolution_at_highest"):
            if getattr(outcomes, field) == 0:
                raise FieldError(("outcomes", field), (
                    "0 with repeat_after: contacts that agents at this level never resolve "
                    "come back for ever, so a run by a count of arrivals (run.arrivals) could "
                    "never end; allowed: a chance > 0, or run.duration instead of run.arrivals"))

    def _check_channels(self) -> None:
        channels = self.channel_names()
        deferrable = [name for name, spec in (self.channels or {}).items() if spec.deferrable]
        if (self.run.arrivals is not None and deferrable and self.blending is not None
                and self.blending.deferrable_max_share == 0):
            raise FieldError(("blending", "deferrable_max_share"), (
                f"0 keeps every deferrable contact ({', '.join(deferrable)}) waiting for ever, "
                "so a run by a count of arrivals (run.arrivals) could never end; allowed: a "
                "share > 0, or run.duration instead of run.arrivals"))
        for type_name, ctype in self.contact_types.items():
            if ctype.channel not in channels:
                raise FieldError(("contact_types", type_name, "channel"), (
                    f"unknown channel {ctype.channel!r}; allowed: a channel under channels "
                    f"({', '.join(channels)})"))
            for target in ctype.retrial.switch if ctype.retrial else ():
                if target not in self.contact_types:
                    raise FieldError(("contact_types", type_name, "retrial", "switch", target), (
                        f"unknown contact type {target!r}; allowed: "
                        f"{', '.join(self.contact_types)}"))
        for name, group in self.agents.items():
            if group.capacity is None:
                continue
            where = ("agents", name, "capacity")
            # Each mix is checked before the mixes as a whole: a negative count must not
            # pass for (or cancel) a positive one.
            for index, mix in enumerate(group.capacity):
                for channel, count in mix.items():
                    if channel not in channels:
                        raise FieldError((*where, index, channel), (
                            f"unknown channel {channel!r}; allowed: {', '.join(channels)}"))
                    if count < 0:
                        raise FieldError((*where, index, channel), (
                            f"{count} contacts; allowed: a whole number of 0 or more"))
            if not any(sum(mix.values()) for mix in group.capacity):
                raise FieldError(where, (
                    "no mix allows any contact, so these agents could never work; allowed: "
                    "a list of mixes with counts of 1 or more, e.g. [{voice: 1}, {chat: 3}]"))
            for skill in group.skills:
                channel = self.contact_types[skill].channel
                if not any(mix.get(channel, 0) >= 1 for mix in group.capacity):
                    raise FieldError(where, (
                        f"capacity 0 for channel {channel!r}, but the group serves "
                        f"{skill!r} on that channel; allowed: a mix with {channel} of 1 or "
                        f"more, or remove {skill} from the group's skills"))
            if group.mobile is not None and any(sum(m.values()) > 1 for m in group.capacity):
                raise FieldError(where, ("mobile agents take one call at a time; allowed: "
                                         "mixes of one contact each"))

    def _check_outbound(self) -> None:
        outbound = self.outbound
        if outbound is None:
            return
        if self.customers is None:
            raise FieldError(("outbound",), (
                "outbound contacts customers, but the scenario has no customers block; "
                "allowed: add customers, or remove outbound"))
        if self.run.arrivals is not None:
            # Campaigns release tasks by the clock for as long as the run lasts; a run by
            # arrivals stops once the inbound contacts are done, before any task is due.
            raise FieldError(("run", "arrivals"), (
                "outbound campaigns release tasks for as long as the run lasts, so a run by "
                "arrivals would place no attempt; allowed: run.duration (e.g. 8h) with "
                "outbound, or remove outbound"))
        for index, group in enumerate(outbound.groups):
            if group not in self.agents:
                raise FieldError(("outbound", "groups", index), (
                    f"unknown agent group {group!r}; allowed: {', '.join(self.agents)}"))
        # The engine lets max_share of the dialling groups' agents on duty (added up) dial.
        days = {name: group.run_days_on_duty(self.run.interval, self.run.intervals_per_day)
                for name, group in self.agents.items()}
        peak = 0
        for day in range(max(len(steps) for steps in days.values())):
            steps = {name: group_days[day % len(group_days)]
                     for name, group_days in days.items()}
            times = sorted({time for group in outbound.groups for time, _ in steps[group]})
            peak = max(peak, *(sum(next((n for start, n in reversed(steps[group])
                                         if start <= time), 0)
                                   for group in outbound.groups) for time in times))
        dialling = ", ".join(repr(group) for group in dict.fromkeys(outbound.groups))
        if peak == 0:
            staffed = [name for name, group_days in days.items()
                       if any(n > 0 for step in group_days for _, n in step)]
            one = len(set(outbound.groups)) == 1
            raise FieldError(("outbound", "groups"), (
                f"{'group' if one else 'groups'} {dialling} {'has' if one else 'have'} 0 agents "
                "on duty all day, so no one could dial; allowed: groups with agents on duty "
                f"({', '.join(staffed)})"))
        if outbound.max_share * peak < 1:
            raise FieldError(("outbound", "max_share"), (
                f"{outbound.max_share:g} of at most {peak} agents on duty in {dialling} is less "
                f"than one agent, so no one could dial; allowed: 1/{peak} ({1 / peak:.3g}) or "
                "more"))
        channels = self.customers.channels
        for name, campaign in outbound.campaigns.items():
            for index, channel in enumerate(campaign.channels):
                if channel not in channels:
                    raise FieldError(("outbound", "campaigns", name, "channels", index), (
                        f"channel {channel!r} is not among customers.channels, so no customer "
                        f"answers there by habit; allowed: {', '.join(channels)}"))
        _check_plugins(self, outbound_spec, "strategies", ("outbound",), outbound.strategies,
                       outbound)

    def _check_money(self) -> None:
        if self.costs is not None:
            self.costs.check(tuple(self.agents), self.channel_names())
        if self.churn is not None and self.customers is None:
            raise FieldError(("churn",), (
                "churn follows customers from contact to contact, but the scenario has no "
                "customers block; allowed: add customers, or remove churn"))

    def _check_identity(self) -> None:
        if self.identity is None:
            return
        if self.customers is None:
            raise FieldError(("identity",), (
                "identity needs a customers block (who calls); allowed: add customers with "
                "population, tiers, languages and value, or remove identity"))
        known = ", ".join(self.identity.intents)
        for block in ("prospects", "fraud"):
            callers = getattr(self.customers, block)
            for intent in callers.intents if callers is not None else ():
                if intent not in self.identity.intents:
                    raise FieldError(("customers", block, "intents", intent), (
                        f"unknown intent {intent!r}; allowed: an intent under "
                        f"identity.intents ({known})"))
        questions = self.identity.methods.knowledge_questions
        if questions is not None and questions.questions > MAX_QUESTIONS:
            raise FieldError(("identity", "methods", "knowledge_questions", "questions"), (
                f"{questions.questions} questions; allowed: 1 to {MAX_QUESTIONS}"))
        verification = self.identity.verification
        _check_plugins(self, strategy_spec, "strategy", ("identity", "verification"),
                       verification.strategies, verification)
        channels = self.customers.channels
        for type_name, ctype in self.contact_types.items():
            if ctype.channel not in channels:
                raise FieldError(("contact_types", type_name, "channel"), (
                    f"channel {ctype.channel!r} is not among customers.channels, so every "
                    f"contact would be flagged unusual_channel; allowed: "
                    f"{', '.join(channels)}, or add it to customers.channels"))

    @property
    def by_weekday(self) -> bool:
        """Whether some arrival rates or agents on duty differ by weekday."""
        return (any(t.arrivals.by_weekday for t in self.contact_types.values())
                or any(g.by_weekday for g in self.agents.values()))

    def with_overrides(
        self, *, seed: int | None = None, replications: int | None = None,
    ) -> Scenario:
        """Copy with run settings replaced (for CLI flags)."""
        run = self.run.model_copy(update={
            k: v for k, v in (("seed", seed), ("replications", replications)) if v is not None
        })
        return self.model_copy(update={"run": run})


def _check_plugins(scenario: Scenario, lookup: Any, kind: str, where: tuple[str | int, ...],
                   names: tuple[str, ...], block: Any) -> None:
    """Check named plug-ins exist, with valid parameters (their block, or the defaults)."""
    for index, name in enumerate(names):
        spec = lookup(name, where=where + ((kind,) if len(names) == 1 else (kind, index)))
        if name not in (block.model_extra or {}):
            spec.parse_params({}, scenario, where=where + (name,))
    for extra, raw in (block.model_extra or {}).items():
        spec = lookup(extra, where=where + (extra,))
        if raw is not None and not isinstance(raw, dict):
            raise FieldError(where + (extra,), (
                f"{show_value(raw)} is not a mapping; allowed: the parameters of {kind} "
                f"{extra!r} as 'name: value' lines"))
        spec.parse_params(block.params_for(extra), scenario, where=where + (extra,))


def _mean_rate(arrivals: Arrivals) -> float:
    """Mean arrival rate per second over the day (a trace's: its profile's), over the
    week when the rates differ by weekday."""
    if arrivals.by_weekday:
        intervals = len(arrivals.rates or next(iter((arrivals.rates_by_weekday or {}).values()),
                                               (1,)))
        return sum(sum(arrivals.day_rates(day, intervals)) / intervals
                   for day in WEEKDAYS) / len(WEEKDAYS)
    if arrivals.rate is not None:
        return arrivals.rate
    assert arrivals.rates is not None
    return sum(arrivals.rates) / len(arrivals.rates)


def load_scenario(path: str | Path, *, no_limits: bool = False) -> Scenario:
    """Read and validate a scenario YAML file; raise ``ScenarioError`` on any problem.

    ``no_limits`` lifts the judgement bounds of ``sim.limits`` (``--no-limits``).
    """
    path = Path(path)
    where = "" if path.is_absolute() else f" (looked in {Path.cwd()})"
    try:
        text = read_text(path, yaml_input.MAX_YAML_BYTES)
    except ReadError as exc:
        problem = f"file not found{where}" if exc.missing else (
            f"{exc}; allowed: a scenario YAML file")
        raise ScenarioError(str(path), [f" {problem}"]) from None
    return parse_scenario(text, source=str(path), base_dir=path.parent, no_limits=no_limits)


_TOP_HINT = ("allowed: a mapping with keys name, run, contact_types, agents, routing "
             "(see scenarios/quickstart.yaml)")


def parse_scenario(text: str, source: str = "<string>", base_dir: str | Path = ".", *,
                   no_limits: bool = False) -> Scenario:
    """Validate scenario YAML text; errors carry ``source`` and line numbers."""
    root = compose_yaml(text, source)
    duplicates = _duplicate_keys(root, (), set())
    data = yaml_input.construct(root)
    if not isinstance(data, dict):
        line = root.start_mark.line + 1 if root is not None else 1
        # The value itself is not shown: the file may be any file, not meant as YAML.
        what = ("the file is empty" if data is None else
                f"the top level is {'a list' if isinstance(data, list) else 'a single value'}"
                ", not a mapping")
        raise ScenarioError(source, [*duplicates, f"{line}: (top level): {what}; {_TOP_HINT}"])
    # A key given twice is one mistake among others: the rest of the file is still checked
    # (with the value YAML keeps, the last), and every problem is reported in one pass.
    try:
        scenario = scenario_from_dict(data, source=source, base_dir=base_dir, _yaml_root=root,
                                      no_limits=no_limits)
    except ScenarioError as exc:
        raise ScenarioError(source, [*duplicates, *exc.problems]) from None
    if duplicates:
        raise ScenarioError(source, duplicates)
    return scenario


def compose_yaml(text: str, source: str) -> Any:
    """The YAML node tree of ``text`` within the bounds of ``sim.model.yaml_input``;
    a syntax error or a bound raises ``ScenarioError`` naming ``source`` and the line."""
    try:
        return yaml_input.compose(text)
    except yaml_input.YamlLimitError as exc:
        raise ScenarioError(source, [f"{exc.line}: {exc.message}" if exc.line
                                     else f" {exc.message}"]) from None
    except yaml.YAMLError as exc:
        raise ScenarioError(source, [_yaml_problem(exc)]) from None


def _yaml_problem(exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    context = getattr(exc, "context", None)
    context_mark = getattr(exc, "context_mark", None)
    if context and context_mark is not None and (
            mark is None or context_mark.line != mark.line):
        problem += f" ({context} that starts on line {context_mark.line + 1})"
    elif context:
        problem += f" ({context})"
    hint = "; allowed: YAML with consistent indentation; quote values that contain ': ' or '#'"
    if mark is None:
        return f" YAML syntax error: {problem}{hint}"
    return f"{mark.line + 1}: YAML syntax error: {problem}{hint}"


def _duplicate_keys(node: Any, path: tuple[str | int, ...], visited: set[int]) -> list[str]:
    """One problem per key given twice in a mapping (YAML would silently keep the last).

    A node reached again through an alias is not walked again (``visited``): walking
    every use would take exponential time on nested aliases.
    """
    if id(node) in visited:
        return []
    visited.add(id(node))
    problems: list[str] = []
    if isinstance(node, yaml.MappingNode):
        seen: dict[str, int] = {}
        for key, value in node.value:
            name = str(key.value)
            line = key.start_mark.line + 1
            if name in seen and name != "<<":
                field = ".".join(str(p) for p in (*path, name))
                problems.append(f"{line}: {field}: key given twice (first on line {seen[name]}); "
                                "allowed: each key once")
            seen.setdefault(name, line)
            problems += _duplicate_keys(value, (*path, name), visited)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            problems += _duplicate_keys(item, (*path, index), visited)
    return problems


def scenario_from_dict(
    data: dict[str, Any], source: str = "", base_dir: str | Path = ".", _yaml_root: Any = None,
    *, no_limits: bool = False,
) -> Scenario:
    """Validate a plain dict (as YAML would give) into a ``Scenario``; ``no_limits``
    lifts the judgement bounds of ``sim.limits``."""
    context = {"base_dir": str(base_dir), "limits": limits_for(no_limits)}
    try:
        return Scenario.model_validate(data, context=context)
    except ValidationError as exc:
        raise ScenarioError(source, _describe(exc, _yaml_root, data)) from None


def _describe(exc: ValidationError, root: Any, data: Any = None) -> list[str]:
    """One ``LINE: field.path: message`` line per mistake."""
    errors = [e for e in exc.errors(include_url=False) if not _is_consequence(e)]
    # Key problems of one mapping, grouped: a misspelt key (``mena: 3min``) is one
    # mistake, not "unknown key 'mena'" plus "missing required key 'mean'"; an empty
    # ``vip: {}`` or a block pasted in the wrong place is one mistake, not one per key.
    keys: dict[tuple[str | int, ...], dict[str, list[str]]] = {}
    for error in errors:
        if error["type"] in ("missing", "extra_forbidden"):
            path = _clean_path(tuple(error["loc"]), data)
            group = keys.setdefault(path[:-1], {"missing": [], "extra_forbidden": []})
            group[error["type"]].append(str(path[-1]))
    problems: list[str] = []
    grouped: set[tuple[str | int, ...]] = set()

    def add(path: tuple[str | int, ...], message: str) -> None:
        line = _line_of(root, path)
        field = ".".join(str(p) for p in path) or "(top level)"
        problem = f"{line}: {field}: {message}" if line else f" {field}: {message}"
        if problem not in problems:
            problems.append(problem)

    for error in errors:
        path = _clean_path(tuple(error["loc"]), data)
        context_error = (error.get("ctx") or {}).get("error")
        group = keys.get(path[:-1]) if error["type"] in ("missing", "extra_forbidden") else None
        if isinstance(context_error, FieldErrors):
            for member in context_error.errors:
                add(path + tuple(member.path), member.message)
            continue
        if isinstance(context_error, FieldError):
            path, message = path + tuple(context_error.path), context_error.message
        elif error["loc"] and error["loc"][-1] == "[key]":
            message = (f"the name {show_value(error.get('input'))} is not text; allowed: a name "
                       "such as general (put numbers in quotes: '1')")
        elif group is not None and len(group["extra_forbidden"]) + len(group["missing"]) > 1:
            if path[:-1] in grouped:
                continue  # the group is reported once, with its first error
            grouped.add(path[:-1])
            path, message = _key_problems(path[:-1], group, data)
        else:
            message = _message(error, path, data)
            if error["type"] in ("union_tag_invalid", "union_tag_not_found"):
                path += ("dist",)
        add(path, message)
    return problems


_NAMES_SHOWN = 5
"""Unknown or missing keys named in one message."""


def _key_problems(
    parent: tuple[str | int, ...], group: dict[str, list[str]], data: Any,
) -> tuple[tuple[str | int, ...], str]:
    """One message for the unknown and missing keys of the mapping at ``parent``."""

    def names(items: list[str]) -> str:
        quoted = [repr(k) for k in items[:_NAMES_SHOWN]]
        if len(items) > _NAMES_SHOWN:  # a pasted foreign file has thousands
            return ", ".join(quoted) + f" and {len(items) - _NAMES_SHOWN} more"
        return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " and " + quoted[-1]

    unknown, missing = group["extra_forbidden"], group["missing"]
    owner = _type_at(parent, data)
    parts = []
    if unknown:
        close = difflib.get_close_matches(unknown[0], missing, n=1) if len(unknown) == 1 else []
        guess = f" (did you mean {close[0]!r}?)" if close else ""
        parts.append(f"unknown key{'s' if len(unknown) > 1 else ''} {names(unknown)}{guess}")
    if missing:
        parts.append(f"missing required key{'s' if len(missing) > 1 else ''} {names(missing)}")
    message = "; ".join(parts)
    if _is_model(owner):
        if unknown:
            message += f"; allowed here: {_keys_text(owner)}"
        else:
            required = [_key(n, f) for n, f in owner.model_fields.items() if f.is_required()]
            message += f"; required here: {', '.join(required)}"
    return (parent + (unknown[0],) if unknown else parent), message


def _is_consequence(error: Any) -> bool:
    """Pydantic's "too short after validation" that only repeats an item's own error."""
    given = error.get("input")
    actual = (error.get("ctx") or {}).get("actual_length")
    return (error["type"] == "too_short" and isinstance(given, (list, tuple, dict))
            and actual is not None and actual < len(given))


def _message(error: Any, path: tuple[str | int, ...], data: Any) -> str:
    kind = error["type"]
    found, value = _value_at(data, path)
    if kind in ("extra_forbidden", "missing"):
        key = str(path[-1]) if path else ""
        owner = _type_at(path[:-1], data)
        if not _is_model(owner):
            # A distribution in a field typed other than by ``Distribution`` (a speed): its
            # ``dist`` names the model that lists the keys.
            owner = _distribution_named(_value_at(data, path[:-1])[1])
        if not _is_model(owner):
            return explain(error)
        if kind == "missing":
            required = [_key(n, f) for n, f in owner.model_fields.items() if f.is_required()]
            return f"missing required key {key!r}; required here: {', '.join(required)}"
        keys = [_key(n, f) for n, f in owner.model_fields.items()]
        close = difflib.get_close_matches(key, keys, n=1)
        guess = f" (did you mean {close[0]!r}?)" if close else ""
        return f"unknown key {key!r}{guess}; allowed here: {_keys_text(owner)}"
    if kind == "union_tag_invalid":
        tag = value.get("dist") if found and isinstance(value, dict) else error["ctx"]["tag"]
        close = difflib.get_close_matches(str(tag), DISTRIBUTION_NAMES, n=1)
        guess = f" (did you mean {close[0]!r}?)" if close else ""
        return (f"unknown distribution {show_value(tag)}{guess}; "
                f"allowed: {', '.join(DISTRIBUTION_NAMES)}")
    if kind == "union_tag_not_found":
        return ("missing required key 'dist' (which distribution); allowed: "
                + ", ".join(DISTRIBUTION_NAMES))
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        target = _type_at(path, data)
        shown = show_value(value if found else error.get("input"))
        if _is_dist_union(target):
            return (f"{shown} is not a distribution; allowed: a mapping such as "
                    f"{{dist: exponential, mean: 300s}} with dist one of: "
                    + ", ".join(DISTRIBUTION_NAMES))
        if _is_model(target):
            return f"{shown} is not a mapping; allowed: a mapping with keys {_keys_text(target)}"
    return explain(error, value) if found else explain(error)


def _key(name: str, field: Any) -> str:
    return str(field.alias or name)


def _keys_text(model: type[BaseModel], weight: bool = True) -> str:
    """The keys a model accepts, for messages (a distribution's ``weight`` last, qualified)."""
    keys = [_key(n, f) for n, f in model.model_fields.items()]
    if issubclass(model, _Dist):
        keys = [k for k in keys if k != "weight"]
        keys += ["weight (only inside a mixture)"] if weight else []
    return ", ".join(keys)


def _is_model(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, BaseModel)


def _is_dist_union(tp: Any) -> bool:
    return _is_union(tp) and any(_is_model(m) and issubclass(m, _Dist) for m in get_args(tp))


def _is_union(tp: Any) -> bool:
    return get_origin(tp) in (Union, types.UnionType)


def _dist_tag(model: Any) -> tuple[Any, ...]:
    field = model.model_fields.get("dist") if _is_model(model) else None
    if field is None or get_origin(field.annotation) is not Literal:
        return ()
    return get_args(field.annotation)


def _concrete(tp: Any, node: Any) -> Any:
    """Strip ``Annotated``/``Optional``; pick a union member by the ``dist`` key of ``node``."""
    while True:
        if get_origin(tp) is Annotated:
            tp = get_args(tp)[0]
            continue
        if _is_union(tp):
            members = [m for m in get_args(tp) if m is not type(None)]
            if len(members) == 1:
                tp = members[0]
                continue
            tag = node.get("dist") if isinstance(node, dict) else None
            picked = [m for m in members if tag is not None and tag in _dist_tag(m)]
            if picked:
                tp = picked[0]
                continue
        return tp


def _type_at(path: tuple[str | int, ...], data: Any) -> Any:
    """The declared type of the value at ``path`` (a model class, a union, ...), or ``None``."""
    tp: Any = Scenario
    node = data
    for part in path:
        tp = _concrete(tp, node)
        if _is_model(tp):
            field = next((f for n, f in tp.model_fields.items() if _key(n, f) == part), None)
            if field is None:
                return None
            tp = field.annotation
        elif get_origin(tp) is dict:
            tp = get_args(tp)[1]
        elif get_origin(tp) is tuple:
            tp = get_args(tp)[0]
        else:
            return None
        node = _child(node, part)
    return _concrete(tp, node)


def _child(node: Any, part: str | int) -> Any:
    if isinstance(node, dict):
        return node.get(part)
    if isinstance(node, (list, tuple)) and isinstance(part, int) and 0 <= part < len(node):
        return node[part]
    return None


def _distribution_named(value: Any) -> Any:
    """The distribution model a user's ``{dist: NAME, ...}`` mapping names, or None."""
    if not isinstance(value, dict):
        return None
    for model in get_args(get_args(Distribution)[0]):
        if value.get("dist") in get_args(model.model_fields["dist"].annotation):
            return model
    return None


def _value_at(data: Any, path: tuple[str | int, ...]) -> tuple[bool, Any]:
    """The user's raw value at ``path`` and whether it exists."""
    node = data
    for part in path:
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, (list, tuple)) and isinstance(part, int) and 0 <= part < len(node):
            node = node[part]
        else:
            return False, None
    return True, node


_INTERNAL = (
    "function-", "tagged-union[", "union[", "nullable[", "lax-or-strict[", "json-or-python[",
    "chain[", "default[", "model[", "definition-ref", "[key]",
)


def _clean_path(path: tuple[str | int, ...], data: Any = None) -> tuple[str | int, ...]:
    """Drop pydantic's internal segments so the path matches the YAML.

    Pydantic puts the tag of a discriminated union (``exponential``) and the
    names of wrapped validators (``function-after[...]``) into an error's
    location; neither is a key the user wrote. A tag is recognised as a
    segment equal to the ``dist`` of the mapping it is in that is not itself
    a key there; without the data, any distribution name right after a
    distribution field or a list index is taken for a tag.
    """
    cleaned: list[str | int] = []
    node = data
    for index, part in enumerate(path):
        if isinstance(part, str) and part.startswith(_INTERNAL):
            continue
        if data is not None:
            if (isinstance(node, dict) and part not in node and part in DISTRIBUTION_NAMES
                    and node.get("dist") == part):
                continue
        else:
            previous = path[index - 1] if index else None
            if part in DISTRIBUTION_NAMES and (
                    previous in ("handle_time", "patience", "wrap_up")
                    or isinstance(previous, int)):
                continue
        cleaned.append(part)
        node = _child(node, part)
    return tuple(cleaned)


def _line_of(root: Any, path: tuple[str | int, ...]) -> int | None:
    """Line (1-based) of the deepest YAML node along ``path`` that exists.

    A mapping entry is located by its key, a list item by its first line.
    """
    node = root
    if node is None:
        return None
    line = node.start_mark.line + 1
    for part in path:
        if isinstance(node, yaml.MappingNode):
            entry = next(((k, v) for k, v in node.value if str(k.value) == str(part)), None)
            if entry is None:
                return line
            node, line = entry[1], entry[0].start_mark.line + 1
        elif (isinstance(node, yaml.SequenceNode) and isinstance(part, int)
              and 0 <= part < len(node.value)):
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            return line
    return line


def scenario_json_schema() -> str:
    """JSON Schema of scenario files, for editor completion and checking."""
    schema = Scenario.model_json_schema(by_alias=True, mode="validation")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "ccsim scenario"
    definitions = schema["$defs"]
    # agents: {roster: FILE} names agents from a roster file (a group may still be called
    # roster: then its value is a mapping).
    schema["properties"]["agents"]["properties"] = {"roster": {"anyOf": [
        {"type": "string", "description": ROSTER_HELP}, {"$ref": "#/$defs/AgentGroup"}]}}
    routing = definitions["Routing"]
    routing["properties"]["policy"]["enum"] = sorted(registered_policies())
    _add_plugin_params(definitions, routing, registered_policies())
    _add_plugin_params(definitions, definitions["Verification"], VERIFICATION_STRATEGIES.specs())
    return json.dumps(_unit_fields_as_strings(schema), indent=2)


def _add_plugin_params(definitions: dict[str, Any], block: dict[str, Any],
                       specs: dict[str, Any]) -> None:
    """Describe each plug-in's parameters as a property of ``block`` (routing, verification)."""
    for name, spec in sorted(specs.items()):
        params = spec.params_model.model_json_schema(by_alias=True)
        # Nested models' definitions must live at the root, where "$ref"s resolve.
        definitions.update(params.pop("$defs", {}))
        block["properties"][name] = params
    block["additionalProperties"] = False


def _unit_fields_as_strings(node: Any) -> Any:
    """Make unit-bearing fields plain strings in the schema.

    pydantic copies numeric bounds (``gt``) and numeric defaults (seconds) onto
    fields whose YAML form is a string such as ``"300s"``; editors would flag
    those. Bounds are checked by ccsim itself; defaults are shown with a unit.
    """
    if isinstance(node, list):
        return [_unit_fields_as_strings(item) for item in node]
    if not isinstance(node, dict):
        return node
    node = {key: _unit_fields_as_strings(value) for key, value in node.items()}
    if node.get("type") == "string" and "pattern" in node:
        for bound in ("gt", "ge", "lt", "le", "exclusiveMinimum", "minimum", "maximum",
                      "exclusiveMaximum"):
            node.pop(bound, None)
    for value in node.get("properties", {}).values():
        default, pattern = value.get("default"), value.get("pattern", "")
        if pattern and isinstance(default, (int, float)) and not isinstance(default, bool):
            value["default"] = f"{default:g}/s" if "/" in pattern else f"{default:g}s"
    return node
