"""Identity resolution and risk-based verification, run when a contact starts.

The pipeline for one contact (domain brief S5):

1. *Who is calling* — a genuine customer, a prospect or a fraudster claiming
   to be a customer (``sim.customers``).
2. *Passive signals* while the phone rings: is the number on file and linked
   to one customer (ANI match), do device and carrier match; flags for a
   number new for this customer, an hour outside the customer's habit, a
   channel the customer does not use. A confidence score sums them.
3. *IVR / virtual agent* collects the intent (reason for the call), taking
   caller time but no agent time; some intents finish there (self-service).
4. *Risk-based step-up*: a verification strategy (a plug-in, see
   ``policies.verification``) decides from intent risk, confidence and flags
   which methods to run; each method runs in the IVR (caller time) or with
   the agent (added to handle time). The contact ends verified, or refused —
   in the IVR, or by the agent.

All draws for a contact are made when it arrives, from per-purpose streams,
whether or not a method ends up being used: contact k has the same caller,
signals and method outcomes under every routing policy and every strategy
(common random numbers), so strategies are compared on the same callers.
"""

from __future__ import annotations

from collections.abc import Container, Iterable, Iterator, Sequence
from itertools import repeat
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal, NamedTuple

import numpy as np
from pydantic import BeforeValidator, Field, model_validator

from sim.kernel.streams import ZippedStreams, rows_of
from sim.model.customers import (FRAUD, GENUINE, PROSPECT, Customer, Customers, Population,
                                 categories)
from sim.model.distributions import Distribution
from sim.errors import FieldError, show_value
from sim.model.fields import Int, Number, Probability, StrictModel, _sum_to_one, check_names

if TYPE_CHECKING:
    from sim.kernel.streams import RandomStreams, Stream
    from sim.model.scenario import Scenario

RiskLevel = Literal["low", "medium", "high"]
Where = Literal["ivr", "agent"]


# ------------------------------------------------------------------ scenario
class Intent(StrictModel):
    """A reason for contact and what it risks."""

    share: Probability = Field(description="Share of customers' contacts with this intent.")
    risk: RiskLevel = Field(description="Risk level: low (balance), medium, high (wire transfer).")
    self_service: Probability = Field(
        default=0.0, description="Share of these contacts that finish in the IVR.")
    fraud_loss: Number | None = Field(
        default=None, ge=0, description="Money lost when fraud is let through on this intent "
        "(default: identity.loss_per_fraud).")


class _Method(StrictModel):
    """A verification method: its time, its error rates and where it runs."""

    time: Distribution = Field(description="Time the method takes.")
    fee: Number = Field(default=0.0, ge=0, description="Money per use (SMS, licence, ...).")
    asks_caller: ClassVar[bool] = True
    """False for passive methods that need nothing from the caller (voice print)."""
    rate_fields: ClassVar[tuple[str, str]] = ("genuine_fail", "fraud_pass")
    """Names, in each method's own words, of (genuine customer fails, fraudster passes)."""

    @property
    def genuine_fail_chance(self) -> float:
        """Chance that a genuine customer fails."""
        return float(getattr(self, self.rate_fields[0]))

    @property
    def fraud_pass_chance(self) -> float:
        """Chance that a fraudster passes."""
        return float(getattr(self, self.rate_fields[1]))

    def sample_time(self, rng: np.random.Generator, size: int) -> np.ndarray:
        """Draw ``size`` durations in seconds."""
        return self.time.sample(rng, size)


class KnowledgeQuestions(_Method):
    """Questions only the customer should know (name, address, birthday, PIN, ...)."""

    time: Distribution = Field(description="Time per question.")
    questions: Int = Field(default=3, ge=1, description="Questions asked.")
    genuine_fail: Probability
    fraud_pass: Probability
    where: Where = "agent"

    def sample_time(self, rng: np.random.Generator, size: int) -> np.ndarray:
        return sum((self.time.sample(rng, size) for _ in range(self.questions)))  # type: ignore[return-value]


class OneTimePasscode(_Method):
    """A code sent to the phone or app on file and read back."""

    delivery_failure: Probability = Field(description="Share of genuine codes that never arrive.")
    fraud_pass: Probability = Field(
        description="Fraudsters who obtain the code (SIM swap, phishing).")
    where: Where = "ivr"
    rate_fields = ("delivery_failure", "fraud_pass")


class VoiceBiometrics(_Method):
    """Passive voice print check during the first seconds of speech."""

    enrolled: Probability = Field(description="Share of customers with a voice print.")
    false_reject: Probability
    false_accept: Probability
    where: Where = "agent"
    asks_caller = False
    rate_fields = ("false_reject", "false_accept")


class ManualCheck(_Method):
    """An agent's own checks (call-back to the number on file, documents, ...)."""

    genuine_fail: Probability
    fraud_pass: Probability
    where: Literal["agent"] = "agent"


METHOD_NAMES = ("knowledge_questions", "otp", "voice_biometrics", "manual_check")


class Methods(StrictModel):
    """The verification methods this center can use; a strategy may use only these."""

    knowledge_questions: KnowledgeQuestions | None = None
    otp: OneTimePasscode | None = None
    voice_biometrics: VoiceBiometrics | None = None
    manual_check: ManualCheck | None = None

    def configured(self) -> dict[str, _Method]:
        """Configured methods by name."""
        return {name: m for name in METHOD_NAMES if (m := getattr(self, name)) is not None}


class Score(StrictModel):
    """How passive signals add up to a confidence score in [0, 1]."""

    ani: Number = Field(default=0.5, ge=0, description="Number on file, linked to one customer.")
    device: Number = Field(default=0.3, ge=0, description="Device on file.")
    carrier: Number = Field(default=0.2, ge=0, description="Carrier matches the number on file.")
    flag_penalty: Number = Field(default=0.25, ge=0, description="Subtracted per flag raised.")
    passive_threshold: Probability = Field(
        default=0.8, description="Passively identified: number linked to one customer and "
        "confidence at least this.")


_STRATEGY_ALLOWED = ("a verification strategy name, e.g. passive_stepup, or a list of names to "
                     "compare, e.g. [kba_all, passive_stepup] (ccsim policies lists them)")


def _name_or_names(value: object) -> object:
    # Checked here so that a mistake gives one message, not one per member of the type
    # union (with pydantic's names for the members in the field path).
    if isinstance(value, (list, tuple)):
        check_names(value, "a verification strategy name, e.g. passive_stepup")
    elif not isinstance(value, str):
        raise ValueError(f"{show_value(value)} is not a strategy name; allowed: "
                         f"{_STRATEGY_ALLOWED}")
    return value


class Verification(StrictModel):
    """Which verification strategy runs, plus parameters for any registered strategy.

    Like ``routing``: ``strategy`` names the default (or a list compared side by
    side); every other key is a strategy name holding its parameters.
    """

    model_config = {**StrictModel.model_config, "extra": "allow"}
    strategy: Annotated[str | tuple[str, ...], BeforeValidator(_name_or_names)] = Field(
        min_length=1, description="Registered strategy name, or a list of names to compare.")

    @property
    def strategies(self) -> tuple[str, ...]:
        """The strategy names, in order."""
        return (self.strategy,) if isinstance(self.strategy, str) else self.strategy

    def params_for(self, name: str) -> dict[str, object]:
        """Raw parameters given for strategy ``name`` (empty when none)."""
        return dict((self.model_extra or {}).get(name) or {})


class Identity(StrictModel):
    """Identity resolution, IVR and verification settings."""

    ivr_time: Distribution = Field(description="Caller time in the IVR to state the intent.")
    intents: dict[str, Intent] = Field(min_length=1)
    methods: Methods
    score: Score = Score()
    verification: Verification
    agent_cost_per_hour: Number = Field(ge=0, description="Money per agent hour.")
    loss_per_fraud: Number = Field(ge=0, description="Money lost per fraud let through.")

    @model_validator(mode="after")
    def _shares(self) -> Identity:
        try:
            _sum_to_one({name: intent.share for name, intent in self.intents.items()})
        except FieldError as exc:
            raise FieldError(("intents",), exc.message.replace("shares sum", "intent shares sum")
                             ) from None
        return self


# ------------------------------------------------------------------ runtime
VERIFIED, REFUSED = True, False


class Caller:
    """What the center knows about one contact's caller after the IVR.

    Routing policies read ``customer``, ``identified``, ``confidence``,
    ``flags``, ``intent`` and ``risk``; the ground truth (``kind``) and the
    verification outcome are for metrics only. The defaults are class attributes: a
    caller is made per arrival and most of its figures keep them (the five read for every
    contact are set in ``__init__``: reads of instance values are the faster ones).
    """

    kind = GENUINE
    customer: Customer | None = None
    """The record the caller claims: the victim's for a fraudster (ground truth of the
    claim; the center knows it once ``matched``, or once an agent answers)."""
    matched = False
    """Whether the center found the claimed record before routing: a number on file that
    belongs to one customer (a spoofed number finds the victim), a session login, or a
    check the caller went through in the IVR."""
    identified = False
    confidence = 0.0
    flags: tuple[str, ...] = ()
    intent = ""
    risk: RiskLevel = "low"
    self_service = False
    ivr_s = 0.0
    ivr_verify_s = 0.0
    agent_verify_s = 0.0
    verified: bool | None = None
    """None: nothing to verify (prospect, self-service)."""
    refused_in_ivr = False
    methods: tuple[str, ...] = ()
    asked = False
    """Whether some method asked the caller to do something (all but the voice print)."""
    ivr_fee = 0.0
    agent_fee = 0.0
    loss = 0.0
    group_draws: tuple[float, ...] = ()
    """For a group's own check (``GroupChecks``): a uniform deciding its outcome, then the
    time it would take with each checking group; drawn at arrival, used or not."""
    group_checked = False
    """Whether a group's own check has run (once per caller, repeats included)."""

    def __init__(self) -> None:
        # Read for every contact: instance values, whose reads Python specialises (a class
        # default read through an instance takes the generic path each time).
        self.kind = GENUINE
        self.ivr_verify_s = self.agent_verify_s = self.ivr_fee = self.agent_fee = 0.0

    @property
    def claims(self) -> bool:
        """Whether the caller claims to be a customer (matched or not): fraudsters do,
        prospects do not."""
        return self.customer is not None

    def __repr__(self) -> str:
        return (f"Caller({self.customer!r}, identified={self.identified}, "
                f"confidence={self.confidence:.2f}, flags={self.flags}, intent={self.intent!r})")


class MethodTerms(NamedTuple):
    """What ``Checks.run`` reads of a configured method, as plain values (a pydantic
    model's field reads take several times as long, and they come for every contact)."""

    at_agent: bool
    fee: float
    asks_caller: bool
    genuine_fail: float
    fraud_pass: float

    @classmethod
    def of(cls, method: _Method) -> MethodTerms:
        """The terms of ``method``."""
        return cls(method.where == "agent", method.fee, method.asks_caller,
                   method.genuine_fail_chance, method.fraud_pass_chance)


class Checks:
    """Runs verification methods for one contact on its pre-drawn outcomes and times.

    A strategy calls ``run(method)``; the result and the time are fixed for the
    contact whatever the strategy, so strategies differ only in what they ask.
    Once a method runs with the agent, later methods also take agent time (the
    agent stays on the line).
    """

    __slots__ = ("_methods", "_caller", "_uniforms", "_times", "_columns", "_with_agent",
                 "_ran")

    def __init__(self, methods: dict[str, tuple[Any, ...]], caller: Caller,
                 uniforms: Sequence[float], times: Sequence[float],
                 columns: dict[str, tuple[int, int]]) -> None:
        """``methods``: the configured methods' terms by name (``MethodTerms`` as a plain
        tuple); ``columns[method]``: where
        the method's outcome uniform is in ``uniforms`` and its time in ``times`` (the
        contact's rows of draws, read in place: no copy per contact)."""
        self._methods = methods
        self._caller = caller
        self._uniforms = uniforms
        self._times = times
        self._columns = columns
        self._with_agent = False
        self._ran: list[str] = []

    def available(self, method: str) -> bool:
        """Whether ``method`` can run for this caller (configured; voice print enrolled)."""
        if method not in self._methods or method in self._ran:
            return False
        customer = self._caller.customer
        return method != "voice_biometrics" or (customer is not None and customer.voice_enrolled)

    def run(self, method: str) -> bool:
        """Run ``method`` once and return whether the caller passed it."""
        if not self.available(method):
            raise ValueError(f"verification method {method!r} cannot run for this caller; "
                             "check Checks.available first")
        return self._run(method)

    def first_pass(self, chain: Sequence[str]) -> bool:
        """Run the available methods of ``chain`` in order until one passes; whether one
        did (an empty chain asks nothing: True)."""
        if not chain:
            return True
        for method in chain:
            # available and _run, not run: run would check availability again.
            if self.available(method) and self._run(method):
                return True
        return False

    def _run(self, method: str) -> bool:
        at_agent, fee, asks_caller, genuine_fail, fraud_pass = self._methods[method]
        caller = self._caller
        self._with_agent = self._with_agent or at_agent
        uniform_column, time_column = self._columns[method]
        seconds = self._times[time_column]
        if self._with_agent:
            caller.agent_verify_s += seconds
            caller.agent_fee += fee
        else:
            caller.ivr_verify_s += seconds
            caller.ivr_fee += fee
        self._ran.append(method)
        caller.asked = caller.asked or asks_caller
        caller.matched = caller.matched or not self._with_agent
        u = self._uniforms[uniform_column]
        return u < fraud_pass if caller.kind == FRAUD else u >= genuine_fail

    @property
    def with_agent(self) -> bool:
        """Whether some method has run with the agent."""
        return self._with_agent

    @property
    def ran(self) -> tuple[str, ...]:
        """Methods run so far, in order."""
        return tuple(self._ran)


_new_object = object.__new__
_init_caller, _init_checks = Caller.__init__, Checks.__init__

_SIGNAL_COLUMNS = 9  # kind, habit, pick, number, shared, device, carrier, intent, self-service
_ROW_WIDTH = _SIGNAL_COLUMNS + len(METHOD_NAMES)
_FLAGS = tuple(tuple(flag for bit, flag in enumerate(("new_number", "unusual_hour",
                                                      "unusual_channel")) if raised >> bit & 1)
               for raised in range(8))
"""Flags raised, indexed by new number + 2 x unusual hour + 4 x unusual channel."""


_Passive = tuple[tuple[float, bool], ...]
"""A contact's passive resolution by the number of flags it raises (0-3): its confidence
and whether it is identified."""


def _signal_code(unique_number: np.ndarray, device: np.ndarray,
                 carrier: np.ndarray) -> np.ndarray:
    """One code (0-7) per contact for its three passive signals: a number on file of one
    customer, a device on file, a carrier that matches."""
    return 4 * unique_number.astype(np.int64) + 2 * device + carrier


def _passive_entries(score: Score) -> tuple[_Passive, ...]:
    """The passive resolution of each signal code (``_signal_code``). The score takes one
    of 8 values: each contact shares its code's entries, worked out by the same numpy
    operations on the same floats as a block of contacts' own (0.3.0's rules)."""
    code = np.arange(8)
    unique_number, device, carrier = code >> 2 & 1 == 1, code >> 1 & 1 == 1, code & 1 == 1
    value = score.ani * unique_number + score.device * device + score.carrier * carrier
    by_flags = []
    for flags in range(len(_FLAGS[-1]) + 1):
        # min(1.0, max(0.0, x)) in numpy: the same float for every x.
        confidence = np.minimum(1.0, np.maximum(0.0, value - score.flag_penalty * flags))
        by_flags.append(zip(confidence.tolist(),
                            (unique_number & (confidence >= score.passive_threshold)).tolist()))
    return tuple(zip(*by_flags))


class IdentityModel:
    """Resolves and verifies every contact of one replication (one strategy)."""

    def __init__(self, customers: Customers, identity: Identity | None, strategy: object | None,
                 streams: RandomStreams, type_names: tuple[str, ...],
                 hour_weights: np.ndarray,
                 owner_groups: tuple[tuple[str, int, tuple[str, ...], float], ...] = ()) -> None:
        self.customers = customers
        self.identity = identity
        self._strategy = strategy
        methods = identity.methods.configured() if identity is not None else {}
        voice = identity.methods.voice_biometrics if identity is not None else None
        # Shared by every policy and strategy run on this replication (built once).
        self.population = Population.shared(customers, streams.generator, hour_weights,
                                            voice.enrolled if voice is not None else 0.0,
                                            owner_groups)
        # Plain tuples, not MethodTerms: 3.11 specialises unpacking an exact tuple only.
        self._methods = {name: tuple(MethodTerms.of(method)) for name, method in methods.items()}
        # Per configured method: its outcome uniform's column in a row of caller_rows (the
        # fixed order of METHOD_NAMES), and its time's in a contact's draws (after the row
        # and the IVR time).
        self._columns = {name: (_SIGNAL_COLUMNS + METHOD_NAMES.index(name), 2 + position)
                         for position, name in enumerate(methods)}
        # Per contact: a row of uniforms (signals, then one per method in the fixed order of
        # METHOD_NAMES, so that a method's column does not depend on which others exist),
        # and with an identity block the IVR time and each configured method's time.
        self._draws: dict[str, ZippedStreams] = {}
        for t in type_names:
            per_contact = [self.caller_rows(streams, t)]
            if identity is not None:
                per_contact.append(streams.stream(f"ivr/{t}", identity.ivr_time.sample))
                per_contact.extend(streams.stream(f"verify/{name}/{t}", m.sample_time)
                                   for name, m in methods.items())
            self._draws[t] = ZippedStreams(tuple(per_contact))
        # The per-contact figures of the scenario's models as plain values (see MethodTerms).
        score = identity.score if identity is not None else None
        self._passive = None if score is None else _passive_entries(score)
        self._known_number = customers.known_number
        self._shared_number = customers.shared_number
        self._device_match = customers.device_match
        self._intent_terms = {} if identity is None else {
            name: (intent.risk, intent.self_service,
                   intent.fraud_loss if intent.fraud_loss is not None else identity.loss_per_fraud)
            for name, intent in identity.intents.items()}
        if identity is not None:
            self._intents = _Chooser({n: i.share for n, i in identity.intents.items()})
        fraud, prospects = customers.fraud, customers.prospects
        self._fraud_share = fraud.share if fraud is not None else 0.0
        self._prospect_share = prospects.share if prospects is not None else 0.0
        self._fraud_intents = _Chooser(fraud.intents) if fraud is not None else None
        self._prospect_intents = _Chooser(prospects.intents) if prospects is not None else None

    def need_of(self, draw: tuple[Any, ...], channel: str, now: float,
                intents: Container[str]) -> tuple[int, str] | None:
        """The customer and intent of the contact whose value of ``caller_rows`` is
        ``draw``, made on ``channel`` at ``now``, when its intent is one of ``intents``:
        what ``resolve`` will find, without its side effects. None for a fraudster or a
        prospect, whose contact meets no customer need, and for other intents."""
        u, kind, intent = draw[:3]
        if kind != GENUINE or intent not in intents:
            return None
        return self.population.pick(channel, now, u[1], u[2]), intent

    def caller_rows(self, streams: RandomStreams, contact_type: str) -> Stream:
        """The stream of each contact's row of uniforms (who calls, signals, intent, method
        outcomes) for ``contact_type``, with what the row says whenever the contact comes:
        ``(row, kind, intent, number on file, number on file of one customer, passive)``,
        worked out a block of rows at a time; ``passive`` is, by the number of flags the
        contact raises (0-3), its confidence and whether passive resolution identifies it
        (None without a score). A second stream of the same type repeats the values."""
        return streams.stream(f"identity/{contact_type}", _uniform_rows(_ROW_WIDTH),
                              self._with_signals)

    def _with_signals(self, rows: np.ndarray) -> Iterator[tuple[Any, ...]]:
        """``caller_rows``' values of a block of rows: the rules ``resolve`` applied to each
        contact's row, vectorised (the same comparisons of the same floats)."""
        u = rows.T
        fraud = u[0] < self._fraud_share
        genuine = u[0] >= self._fraud_share + self._prospect_share
        kind = np.full(len(rows), PROSPECT)
        kind[genuine] = GENUINE
        kind[fraud] = FRAUD
        intent = (self._intents.pick(u[7]) if self.identity is not None
                  else np.full(len(rows), "", dtype=object))
        if self._prospect_intents is not None:
            intent = np.where(genuine, intent, self._prospect_intents.pick(u[7]))
        on_file = u[3] < self._known_number
        carrier = on_file
        device = on_file & (u[5] < self._device_match)
        spec = self.customers.fraud
        if spec is not None and self._fraud_intents is not None:
            intent = np.where(fraud, self._fraud_intents.pick(u[7]), intent)
            spoofed = u[3] < spec.spoof
            carrier = np.where(fraud, spoofed & (u[6] < spec.spoofed_carrier_match), carrier)
            device = np.where(fraud, spoofed & (u[5] < spec.device_match), device)
            on_file = np.where(fraud, spoofed, on_file)
        unique_number = on_file & (u[4] >= self._shared_number)
        passive: Iterable[_Passive | None] = repeat(None)
        if self._passive is not None:
            passive = map(self._passive.__getitem__,
                          _signal_code(unique_number, device, carrier).tolist())
        return zip(rows_of(rows), kind.tolist(), intent.tolist(), on_file.tolist(),
                   unique_number.tolist(), passive)

    def skip(self, contact_type: str) -> None:
        """Take the draws of a contact of ``contact_type`` that does not happen, so that the
        contacts after it keep theirs (common random numbers)."""
        self._draws[contact_type].next()

    def resolve(self, contact_type: str, channel: str, now: float,
                logged_in: bool = False, menu_intent: str | None = None) -> Caller:
        """Who calls, what the center sees, and how verification ends for one contact.

        ``logged_in``: the contact escalates from a web or app session whose login carries
        over (identity stitching): a genuine customer is then known for sure, before any
        check. Fraudsters and prospects gain nothing from it. ``menu_intent``: the intent
        the caller's path through an IVR menu chose, instead of one drawn by share."""
        # (the row of uniforms and what it says alone, IVR time, method times)
        draws = self._draws[contact_type].next()
        u, kind, intent, on_file, unique_number, passive = draws[0]
        # Neither Caller() nor Checks(...): see customers.snapshot.
        caller = _new_object(Caller)
        _init_caller(caller)
        caller.intent = intent
        population = self.population
        if kind == GENUINE:
            index = population.pick(channel, now, u[1], u[2])
        elif kind == FRAUD:
            caller.kind = FRAUD
            index = population.pick_victim(u[2])
        else:
            caller.kind = PROSPECT
            index = -1
        if index >= 0:
            caller.matched = unique_number or logged_in
            caller.customer, in_hours, own_channel = population.contact(index, channel, now)
            # Ints, not bools: 3.11 specialises int + int, not bool + int.
            caller.flags = flags = _FLAGS[(0 if on_file else 1) + (0 if in_hours else 2)
                                          + (0 if own_channel else 4)]
            if passive is not None:
                caller.confidence, caller.identified = passive[len(flags)]
            if logged_in and kind == GENUINE:
                caller.flags = ()
                caller.confidence = 1.0
                caller.identified = True
        if self.identity is None:
            return caller
        if menu_intent is not None:
            caller.intent = menu_intent
        risk, self_service, fraud_loss = self._intent_terms[caller.intent]
        caller.risk = risk
        caller.ivr_s = draws[1]
        caller.self_service = caller.kind != FRAUD and u[8] < self_service
        if caller.customer is not None and not caller.self_service:
            checks = _new_object(Checks)
            _init_checks(checks, self._methods, caller, u, draws, self._columns)
            caller.verified = bool(self._strategy.verify(caller, checks))  # type: ignore[attr-defined]
            # The fields, not the properties (a property's getter runs from C, as __init__).
            caller.refused_in_ivr = not caller.verified and not checks._with_agent
            caller.methods = tuple(checks._ran)
            if caller.kind == FRAUD:
                caller.loss = fraud_loss
        return caller


def check_group_checks(scenario: Scenario) -> None:
    """A group's ``manual_check`` verifies callers: the scenario needs an identity block."""
    if scenario.identity is not None:
        return
    for name, group in scenario.agents.items():
        if group.manual_check is not None:
            raise FieldError(("agents", name, "manual_check"), (
                "a group's check verifies callers, but the scenario has no identity block; "
                "allowed: add customers and identity, or remove manual_check"))


class GroupChecks:
    """Verification that depends on who answers: agent groups with a ``manual_check``.

    When an agent of such a group takes a caller who claims a customer's identity and is
    still verified, the group's check runs once for that caller: its time is agent time
    (verification time, like a method run with the agent), its fee is paid, and a
    fraudster passes with chance ``fraud_pass``, a genuine customer fails with chance
    ``genuine_fail``; who fails is refused. Routing decides who runs which check, so
    routing changes fraud caught and genuine customers refused.

    Common random numbers: one uniform per contact from ``group_check/<type>`` decides
    the outcome under every group (a check with lower rates catches every fraudster a
    worse one catches), and each checking group's time comes from
    ``group_check/<group>/<type>``; all are drawn at arrival, whoever answers.
    """

    def __init__(self, checks: tuple[ManualCheck | None, ...], group_names: tuple[str, ...],
                 streams: RandomStreams, type_names: tuple[str, ...]) -> None:
        """``checks``: each group's check (None: the group runs none), in group order."""
        self._checks = checks
        # Position of a group's time among the draws (after the uniform), -1: none.
        slots = []
        position = 1
        for check in checks:
            slots.append(position if check is not None else -1)
            position += check is not None
        self._slots = tuple(slots)
        self._draws = {t: ZippedStreams((
            streams.stream(f"group_check/{t}", _uniform_rows(1)),
            *(streams.stream(f"group_check/{name}/{t}", check.sample_time)
              for name, check in zip(group_names, checks) if check is not None)))
            for t in type_names}

    @classmethod
    def build(cls, scenario: Scenario, streams: RandomStreams,
              type_names: tuple[str, ...]) -> GroupChecks | None:
        """The scenario's group checks; None when no group has one."""
        checks = tuple(group.manual_check for group in scenario.agents.values())
        if all(check is None for check in checks):
            return None
        return cls(checks, tuple(scenario.agents), streams, type_names)

    def draw(self, caller: Caller, contact_type: str) -> None:
        """Take the contact's draws (at arrival, for every contact)."""
        row, *times = self._draws[contact_type].next()
        caller.group_draws = (float(row[0]), *times)

    def run(self, caller: Caller, group_index: int) -> float:
        """Run the group's check on the caller if it applies; the agent seconds it adds."""
        check = self._checks[group_index]
        if check is None or caller.verified is not True or caller.group_checked:
            return 0.0
        caller.group_checked = True
        seconds = caller.group_draws[self._slots[group_index]]
        caller.agent_verify_s += seconds
        caller.agent_fee += check.fee
        u = caller.group_draws[0]
        caller.verified = (u < check.fraud_pass if caller.kind == FRAUD
                           else u >= check.genuine_fail)
        return seconds


class _Chooser:
    """Picks names by share from uniforms."""

    __slots__ = ("_names", "_cumulative")

    def __init__(self, shares: dict[str, float]) -> None:
        self._names = np.array(tuple(shares), dtype=object)
        total = 0.0
        cumulative = []
        for share in shares.values():  # a running sum: the boundaries as 0.3.0 added them
            total += share
            cumulative.append(total)
        self._cumulative = np.array(cumulative)

    def pick(self, u: np.ndarray) -> np.ndarray:
        """For each uniform, the first name whose cumulative share exceeds it (the last one
        past the end)."""
        return self._names[categories(self._cumulative, u)]


def _uniform_rows(width: int):  # type: ignore[no-untyped-def]
    def draw(rng: np.random.Generator, size: int) -> np.ndarray:
        return rng.random((size, width))

    return draw
