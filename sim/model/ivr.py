"""The IVR menu tree (``ivr:`` block): what callers of the entry types go through before
they queue.

Each node plays a prompt (a time distribution); then the caller may hang up (the
contact ends in the IVR, abandoned there), finish in self-service (ends in the IVR,
served), or go on: to one of the node's choices (by their shares), or, at a leaf, to the
queue of the leaf's contact ``type`` (with an identity block, with the leaf's ``intent``).
A node has one parent, so a menu has no cycles (YAML aliases that would make one are
refused when the file is read). The simulation lives in ``sim.stages.ivr``; what it means
is in docs/ivr.md.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from pydantic import Field, model_validator

from sim.errors import FieldError, Problems
from sim.model.distributions import Distribution
from sim.model.fields import Probability, StrictModel, _sum_to_one

if TYPE_CHECKING:
    from sim.model.scenario import Scenario

MAX_DEPTH = 8
"""Levels of a menu (the root is level 1): callers do not get through deeper menus."""
MAX_NODES = 200
"""Nodes of a menu, all levels together."""

Where = tuple[str | int, ...]


class MenuNode(StrictModel):
    """One node of the menu: its prompt, who leaves the IVR here, and where the rest go."""

    share: Probability | None = Field(
        default=None, description="Share of the callers going on from the parent who choose "
        "this node (the choices of a node sum to 1); not on the root.")
    prompt: Distribution = Field(description="Caller time at this node (the prompt, the key "
                                 "press, a self-service transaction).")
    hang_up: Probability = Field(
        default=0.0, description="Chance that a caller hangs up after this node's prompt.")
    self_service: Probability = Field(
        default=0.0, description="Chance that a caller who did not hang up finishes here, "
        "served by the IVR.")
    choices: dict[str, MenuNode] | None = Field(
        default=None, min_length=1, description="Child nodes by name; absent: a leaf.")
    type: str | None = Field(
        default=None, min_length=1, description="At a leaf: the contact type the caller "
        "queues as (default with an identity block: the entry type).")
    intent: str | None = Field(
        default=None, min_length=1, description="At a leaf, with an identity block: the "
        "caller's intent (one under identity.intents).")

    @model_validator(mode="after")
    def _shape(self) -> MenuNode:
        if self.choices is None:
            return self
        problems = Problems()
        for key in ("type", "intent"):
            with problems.check():
                if getattr(self, key) is not None:
                    raise FieldError((key,), (
                        f"{key} is for a leaf, and this node has choices; allowed: {key} on "
                        "the leaves below it"))
        for name, child in self.choices.items():
            with problems.check():
                if child.share is None:
                    raise FieldError(("choices", name, "share"), (
                        "missing; allowed: the share of callers who choose this node, e.g. "
                        "40% (the choices of a node sum to 1)"))
        if not problems.errors:
            with problems.check(("choices",)):
                _sum_to_one({name: child.share for name, child in self.choices.items()})
        problems.raise_any()
        return self

    def walk(self, where: Where = ()) -> Iterator[tuple[Where, MenuNode]]:
        """This node and every node below it, depth first, with their paths from here."""
        yield where, self
        for name, child in (self.choices or {}).items():
            yield from child.walk((*where, "choices", name))


class IvrMenu(StrictModel):
    """The ``ivr`` block: which contact types' arrivals go through the menu, and the menu."""

    entry: tuple[str, ...] = Field(
        min_length=1, description="Contact types whose arrivals go through the menu first.")
    menu: MenuNode = Field(description="The root node (the greeting and first question).")

    @model_validator(mode="after")
    def _bounds(self) -> IvrMenu:
        if self.menu.share is not None:
            raise FieldError(("menu", "share"), (
                "the root has no parent to share; allowed: share on the nodes under choices"))
        nodes = list(self.menu.walk())
        if len(nodes) > MAX_NODES:
            raise FieldError(("menu",), (
                f"{len(nodes)} nodes; allowed: at most {MAX_NODES} nodes in a menu"))
        for where, _ in nodes:
            depth = 1 + len(where) // 2
            if depth > MAX_DEPTH:
                raise FieldError(("menu", *where), (
                    f"this node is at level {depth} of the menu; allowed: at most "
                    f"{MAX_DEPTH} levels (the root is level 1)"))
        return self

    def leaves(self) -> list[tuple[Where, MenuNode]]:
        """Leaves that send callers on to a queue (not those where every caller leaves the
        IVR), with their paths under ``menu``, depth first."""
        return [(where, node) for where, node in self.menu.walk()
                if node.choices is None and (1 - node.hang_up) * (1 - node.self_service) > 0]


def leaf_label(where: Where) -> str:
    """A leaf's name for figures: the node names along its path, e.g. ``cards/lost_card``."""
    return "/".join(str(part) for part in where[1::2]) or "menu"


def check_ivr(scenario: Scenario) -> None:
    """Checks across sections: entry types, leaves' types and intents, and identity
    intents whose own self-service the menu would double."""
    ivr = scenario.ivr
    if ivr is None:
        return
    types = scenario.contact_types
    identity = scenario.identity
    known_types = ", ".join(types)
    problems = Problems()
    for index, name in enumerate(ivr.entry):
        with problems.check():
            if name not in types:
                raise FieldError(("ivr", "entry", index), (
                    f"unknown contact type {name!r}; allowed: a contact type ({known_types})"))
    for where, node in ivr.leaves():
        at = ("ivr", "menu", *where)
        with problems.check():
            if node.type is not None and node.type not in types:
                raise FieldError((*at, "type"), (
                    f"unknown contact type {node.type!r}; allowed: a contact type "
                    f"({known_types})"))
        with problems.check():
            if identity is None and node.intent is not None:
                raise FieldError((*at, "intent"), (
                    "an intent needs an identity block (identity.intents); allowed: type "
                    "at a leaf of a scenario without identity"))
            if identity is None and node.type is None:
                raise FieldError(at, (
                    "this leaf sends callers on without saying where; allowed: type (the "
                    f"contact type they queue as: {known_types}), or self_service or "
                    "hang_up of 100% if every caller leaves here"))
            if identity is not None and node.intent is None:
                raise FieldError(at, (
                    "this leaf sets no intent; allowed: intent, one of identity.intents "
                    f"({', '.join(identity.intents)}): with identity the path sets it"))
            if identity is not None and node.intent not in identity.intents:
                raise FieldError((*at, "intent"), (
                    f"unknown intent {node.intent!r}; allowed: an intent under "
                    f"identity.intents ({', '.join(identity.intents)})"))
    for name, intent in (identity.intents.items() if identity is not None else ()):
        with problems.check():
            if intent.self_service > 0:
                raise FieldError(("identity", "intents", name, "self_service"), (
                    f"{intent.self_service:g} with an ivr menu, whose nodes decide "
                    "self-service; allowed: 0 (set self_service on the menu's nodes)"))
    problems.raise_any()
