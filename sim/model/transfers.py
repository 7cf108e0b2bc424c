"""Transfers and escalation (``contact_types.T.transfer``): the agent of a contact of type
T hands it on, after a share of the talk time, to another contact type (a second tier, a
specialist desk, the back office), warm or cold, maybe for several legs.

The key is optional; a scenario without it runs exactly as before. The simulation lives
in ``sim.stages.transfers``; what the keys and figures mean is in docs/transfers.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import BeforeValidator, Field, TypeAdapter, WithJsonSchema, model_validator

from sim.errors import FieldError, show_value
from sim.model.distributions import Distribution
from sim.model.fields import OptionalInt, Probability, Shares, StrictModel

if TYPE_CHECKING:
    from sim.model.scenario import Scenario


def _one_target(value: object) -> object:
    # ``to: specialist`` is the usual case: one target, all transfers go there.
    return {value: 1.0} if isinstance(value, str) else value


def _share_range(value: object) -> object:
    # A fixed share is a range of one value: the same draw then gives the same share.
    if not isinstance(value, (list, tuple)):
        return (value, value)
    if len(value) != 2:
        raise FieldError((), (
            f"{show_value(value)} is not a pair; allowed: a share of the talk time (e.g. 60%) "
            "or a range of shares [lowest, highest] drawn uniformly (e.g. [40%, 80%])"))
    return value


_SHARE_SCHEMA = TypeAdapter(Probability).json_schema()
_TARGETS_SCHEMA = {"anyOf": [{"type": "string", "minLength": 1},
                             TypeAdapter(Shares).json_schema()]}
_AFTER_SCHEMA = {"anyOf": [_SHARE_SCHEMA, {"type": "array", "items": _SHARE_SCHEMA,
                                           "minItems": 2, "maxItems": 2}]}


class Transfer(StrictModel):
    """The agent of a contact of this type transfers it to another type (``to``) with
    chance ``probability``, after a share of the talk time (``after``)."""

    probability: Probability = Field(
        description="Chance that the agent of a leg of this type transfers the contact.")
    to: Annotated[Shares, BeforeValidator(_one_target), WithJsonSchema(_TARGETS_SCHEMA)] = Field(
        description="The contact type the transfer goes to (e.g. specialist), or shares of "
        "several (e.g. {specialist: 70%, back_office: 30%}).")
    after: Annotated[tuple[Probability, Probability], BeforeValidator(_share_range),
                    WithJsonSchema(_AFTER_SCHEMA)] = Field(
        description="Share of the leg's talk time before the transfer (e.g. 60%), or a range "
        "[lowest, highest] the share is drawn from uniformly.")
    mode: Literal["cold", "warm"] = Field(
        default="cold", description="cold: the first agent hands the caller to the target "
        "queue and wraps up; warm: the first agent stays on the line until an agent of the "
        "target type answers (both busy), then wraps up.")
    conference: Distribution | None = Field(
        default=None, description="warm only: time both agents spend with the caller after "
        "the answer (the hand-over); absent: none.")
    intents: dict[str, Probability] = Field(
        default_factory=dict, description="Per caller intent (with an identity block), the "
        "chance instead of probability, e.g. {mortgage: 60%}: complex intents go to a second "
        "tier more often.")
    max_legs: OptionalInt = Field(
        default=None, ge=2, description="No transfer from a leg of this type when the contact "
        "already has this many legs (agents) in all; needed on some type of every loop.")

    @model_validator(mode="after")
    def _consistent(self) -> Transfer:
        low, high = self.after
        if high < low:
            raise FieldError(("after", 1), (
                f"highest share {high:g} is below the lowest {low:g}; allowed: [lowest, "
                "highest] with lowest <= highest, e.g. [40%, 80%]"))
        if self.conference is not None and self.mode != "warm":
            raise FieldError(("conference",), (
                "a conference needs the first agent on the line, which only a warm transfer "
                "keeps; allowed: mode: warm with conference, or no conference"))
        return self


def check_transfers(scenario: Scenario) -> None:
    """Raise a ``FieldError`` for a transfer to a contact type the scenario does not have,
    a warm one to a type with call backs, or a loop of transfers that no ``max_legs``
    ends."""
    types = scenario.contact_types
    for name, ctype in types.items():
        _check_intents(scenario, name, ctype.transfer)
        for target in ctype.transfer.to if ctype.transfer is not None else ():
            if target not in types:
                raise FieldError(("contact_types", name, "transfer", "to", target), (
                    f"unknown contact type {target!r}; allowed: {', '.join(types)}"))
            if ctype.transfer.mode == "warm" and types[target].callback is not None:
                # The first agent stays on the line, so the caller cannot hang up for a call
                # back (and an unreached one would leave that agent holding for ever).
                raise FieldError(("contact_types", name, "transfer", "mode"), (
                    f"warm, but {target!r} offers call backs, which a caller on the line "
                    f"with an agent cannot take; allowed: mode: cold, or no callback on "
                    f"{target}"))
    # Only types without max_legs can pass a contact on for ever: a loop among them has
    # no end (with probability 1, a run by arrivals would never finish).
    unlimited = {name: tuple(ctype.transfer.to) for name, ctype in types.items()
                 if ctype.transfer is not None and ctype.transfer.max_legs is None}
    loop = _find_loop(unlimited)
    if loop:
        raise FieldError(("contact_types", loop[0], "transfer", "max_legs"), (
            f"transfers can loop for ever ({' -> '.join(loop)}); allowed: max_legs (e.g. 3) "
            "on a type of the loop, or no loop"))


def _check_intents(scenario: Scenario, type_name: str, transfer: Transfer | None) -> None:
    """Intents with a chance of their own must be the identity block's."""
    if transfer is None or not transfer.intents:
        return
    where = ("contact_types", type_name, "transfer", "intents")
    if scenario.identity is None:
        raise FieldError(where, (
            "a caller's intent comes from the identity block, which this scenario does not "
            "have; allowed: probability alone, or add customers and identity"))
    known = scenario.identity.intents
    for intent in transfer.intents:
        if intent not in known:
            raise FieldError((*where, intent), (
                f"unknown intent {intent!r}; allowed: {', '.join(known)}"))


def _find_loop(edges: dict[str, tuple[str, ...]]) -> list[str]:
    """A loop of the graph ``edges`` (names from first to first again), or empty."""
    done: set[str] = set()
    for start in edges:
        if start in done:
            continue
        path: list[str] = []
        on_path: set[str] = set()
        stack = [(start, iter(edges[start]))]
        path.append(start)
        on_path.add(start)
        while stack:
            node, targets = stack[-1]
            target = next(targets, None)
            if target is None:
                stack.pop()
                on_path.discard(path.pop())
                done.add(node)
            elif target in on_path:
                return path[path.index(target):] + [target]
            elif target in edges and target not in done:
                stack.append((target, iter(edges[target])))
                path.append(target)
                on_path.add(target)
    return []
