"""Shrinkage of an agent group: planned breaks, meetings, unplanned aux time and absence.

Every key is optional; a group without them is on the phones whenever it is on duty. The
simulation of these lives in ``sim.stages.shrinkage``.
"""

from __future__ import annotations

from pydantic import Field, field_validator, model_validator

from sim.errors import FieldError, show_value
from sim.model.distributions import Distribution
from sim.model.fields import Duration, OptionalInt, Probability, Rate, StrictModel
from sim.model.units import DAY, format_duration


class Break(StrictModel):
    """A break each agent of a shift takes once per shift, started inside ``window``
    (times after the start of the shift) when the agent has finished its contact."""

    duration: Duration = Field(gt=0, description="Length of the break.")
    window: tuple[Duration, Duration] = Field(
        description="Earliest and latest start, after the start of the shift (of the day, "
        "for a group with count or staffing), e.g. [2h, 3h]. Agents' planned starts are "
        "spread evenly over the window.")
    name: str = Field(default="break", min_length=1,
                      description="A label for people reading the file, e.g. lunch.")

    @field_validator("window", mode="before")
    @classmethod
    def _pair(cls, window: object) -> object:
        # Checked here so that a short or long list gives one message naming the form.
        if not isinstance(window, (list, tuple)) or len(window) != 2:
            raise FieldError((), (
                f"{show_value(window)} is not a pair; allowed: [earliest, latest] start "
                "after the start of the shift, e.g. [2h, 3h]"))
        return window

    @field_validator("window")
    @classmethod
    def _ordered(cls, window: tuple[float, float]) -> tuple[float, float]:
        earliest, latest = window
        if latest < earliest:
            raise FieldError((1,), (
                f"latest start {format_duration(latest)} is before the earliest "
                f"{format_duration(earliest)}; allowed: [earliest, latest] with earliest <= "
                "latest, e.g. [2h, 3h]"))
        return window

    def check_fits(self, length: float, where: tuple[str | int, ...], of: str) -> None:
        """Raise unless the break, started at the latest, ends within ``length``."""
        if self.window[1] + self.duration > length:
            raise FieldError((*where, "window"), (
                f"a {format_duration(self.duration)} break started at the latest, "
                f"{format_duration(self.window[1])}, ends after the {format_duration(length)} "
                f"{of}; allowed: latest start + duration <= {format_duration(length)}"))


class Meeting(StrictModel):
    """A block of time (a team meeting, training) that takes some agents off the phones."""

    start: Duration = Field(ge=0, lt=DAY, description="Time of day the block starts.")
    duration: Duration = Field(gt=0, le=DAY, description="Length of the block.")
    count: OptionalInt = Field(default=None, ge=1, description="Agents who attend.")
    share: Probability | None = Field(
        default=None, gt=0, description="Share of the agents present at the start who attend "
        "(rounded to the nearest agent, halves up).")

    @model_validator(mode="after")
    def _one_size(self) -> Meeting:
        given = [name for name in ("count", "share") if getattr(self, name) is not None]
        one_of = "allowed: exactly one of count (agents, e.g. 2) or share (e.g. 25%)"
        if not given:
            raise FieldError((), f"neither count nor share is given; {one_of}")
        if len(given) > 1:
            raise FieldError(("share",), f"count and share are given together; {one_of}")
        return self


class Aux(StrictModel):
    """Unplanned time off the phones (a system problem, a word with the supervisor): short
    episodes that come at ``rate`` per agent-hour on the phones."""

    rate: Rate = Field(gt=0, description="Episodes per agent on the phones, e.g. 1/h.")
    duration: Distribution = Field(description="Length of one episode.")


def check_breaks(breaks: tuple[Break, ...], lengths: list[float], of: str) -> None:
    """Every break fits in the shortest of ``lengths`` (the shifts that take them, or the
    day)."""
    for index, one in enumerate(breaks):
        one.check_fits(min(lengths), ("breaks", index), of)
