"""Predictive (behavioural) pairing: learn online how well each agent resolves each kind of
contact, assign to the best predicted pair, and measure it by switching it ON and OFF."""

from __future__ import annotations

from fractions import Fraction
from typing import TYPE_CHECKING, Literal

from pydantic import Field

from sim.model.fields import Duration, Int, Number, Probability
from sim.model.units import DAY, format_duration

from .base import PolicyConfigError, PolicyParams, make_policy, policy_spec, register_policy
from .contextual import idle_candidates, waiting_candidates

if TYPE_CHECKING:
    import numpy as np

    from sim.model.profile import InteractionPredictor
    from sim.model.scenario import Scenario
    from sim.state import AgentView, ContactView, RoutingState

    from .base import RoutingPolicy


class BetaPrior(PolicyParams):
    """Beta prior of every pair's resolution probability, in pseudo-contacts."""

    successes: Number = Field(default=1.0, gt=0, description="Prior resolved contacts.")
    failures: Number = Field(default=1.0, gt=0, description="Prior unresolved contacts.")


OnOffObjective = Literal["fcr", "aht_s", "match_hit_rate", "net_value"]
"""Metrics an ON/OFF experiment can measure its uplift in: means over handled contacts, or
net value per handled contact (with a costs block)."""


class OnOff(PolicyParams):
    """Benchmark mode: alternate the model (ON) with a baseline policy (OFF) in time slots."""

    baseline: str = Field(default="fcfs", description="Registered policy run in OFF slots.")
    slot: Duration = Field(default=1800.0, gt=0, description=(
        "Length of one ON or OFF slot; a multiple of run.interval that divides 24h. ON slots "
        "start at midnight."))
    on_share: Probability = Field(default=0.5, gt=0, lt=1, description=(
        "Share of the day's slots that are ON, spread evenly (0.8: four ON slots, then one "
        "OFF); 0.5 alternates."))
    objective: OnOffObjective = Field(default="fcr", description=(
        "The metric the uplift is measured in: fcr, aht_s (handle time; lower is better), "
        "match_hit_rate, or net_value (per handled contact; needs a costs block)."))

    def day_slots(self) -> tuple[bool, ...]:
        """ON (True) or OFF of each slot of the day: slot ``i`` is ON when it completes one
        more ON slot of the share, ceil((i + 1) x share) > ceil(i x share), so the day starts
        ON and ON slots are spread evenly (0.5 alternates ON, OFF)."""
        share = Fraction(str(self.on_share))  # exact: 0.7 x 10 is 7, not 7.000000000000001
        return tuple(-(-(i + 1) * share // 1) > -(-i * share // 1)
                     for i in range(round(DAY / self.slot)))


class PredictiveParams(PolicyParams):
    """Parameters of the ``predictive`` policy."""

    key: Literal["intent", "segment", "preferred_channel"] = Field(default="intent", description=(
        "What the model tells apart per agent: the caller's intent (the contact type without "
        "an identity block), the customer's segment (tier; 'unknown' without a profile), or "
        "the intent and the customer's preferred channel as the interaction predictor saw it "
        "when the contact arrived (digital-first and voice customers may suit different "
        "agents; needs customer profiles: a predictor or outbound block)."))
    prior: BetaPrior = Field(default_factory=BetaPrior)
    explore: Literal["thompson", "epsilon"] = Field(default="thompson", description=(
        "thompson: score each pair by a draw from its posterior; epsilon: posterior mean, "
        "and a random candidate with probability epsilon."))
    epsilon: Probability = Field(default=0.05, description="Exploration share of explore: epsilon.")
    handle_time_penalty: Number = Field(default=0.0, ge=0, description=(
        "Resolution probability traded for one minute of predicted handle time; 0: "
        "maximise first-contact resolution alone."))
    candidates: Int = Field(default=32, ge=1, description=(
        "Idle agents (longest idle first), or waiting contacts (the oldest of each of the "
        "agent's skills, shared evenly), considered per decision: bounds its cost in large "
        "centers."))
    onoff: OnOff | None = Field(default=None, description=(
        "Alternate with a baseline policy to measure the uplift (reports.onoff); absent: "
        "always ON."))

    def check_against(self, scenario: Scenario) -> None:
        """Outcomes to learn from, customers for segments, a usable baseline and slot."""
        if scenario.outcomes is None:
            raise PolicyConfigError((), (
                "predictive learns first-contact resolution, but the scenario has no outcomes "
                "block; allowed: add outcomes: {resolution_at_lowest, resolution_at_highest}"))
        if self.key == "segment" and scenario.customers is None:
            raise PolicyConfigError(("key",), (
                "segment is the customer's tier, but the scenario has no customers block; "
                "allowed: intent, or add customers"))
        if self.key == "preferred_channel" and (
                scenario.customers is None
                or (scenario.predictor is None and scenario.outbound is None)):
            raise PolicyConfigError(("key",), (
                "preferred_channel comes from customer profiles, which this scenario does not "
                "keep; allowed: intent or segment, or add customers and a predictor block"))
        if self.explore != "epsilon" and "epsilon" in self.model_fields_set:
            raise PolicyConfigError(("epsilon",), (
                "epsilon applies only to explore: epsilon; allowed: remove it, or set "
                "explore: epsilon"))
        if self.onoff is not None:
            _check_onoff(self.onoff, scenario)


def _check_onoff(onoff: OnOff, scenario: Scenario) -> None:
    """The baseline must be another policy that builds on ``scenario``; slots must tile the
    day in whole intervals, so that per-interval results split into ON and OFF."""
    where = ("onoff", "baseline")
    if onoff.baseline == "predictive":
        raise PolicyConfigError(where, (
            "the baseline is what predictive is compared with; allowed: another registered "
            "policy, e.g. fcfs"))
    spec = policy_spec(onoff.baseline, where)
    try:
        spec.parse_params(scenario.routing.params_for(onoff.baseline), scenario)
    except PolicyConfigError as exc:
        raise PolicyConfigError(where, (
            f"baseline {onoff.baseline!r} cannot run on this scenario: "
            f"{'.'.join(map(str, ('routing', onoff.baseline, *exc.path)))}: {exc.message}"
        )) from None
    interval = scenario.run.interval
    if not (_whole(onoff.slot / interval) and _whole(DAY / onoff.slot)):
        raise PolicyConfigError(("onoff", "slot"), (
            f"{format_duration(onoff.slot)} is not a whole number of run.interval "
            f"({format_duration(interval)}) that divides 24h; allowed: e.g. the interval "
            "itself"))
    if onoff.objective == "net_value" and scenario.costs is None:
        raise PolicyConfigError(("onoff", "objective"), (
            "net_value needs money figures, but the scenario has no costs block; allowed: "
            "fcr, aht_s, match_hit_rate, or add costs (docs/costs.md)"))
    slots = onoff.day_slots()
    if all(slots):
        raise PolicyConfigError(("onoff", "on_share"), (
            f"{onoff.on_share} leaves no OFF slot in a day of {len(slots)} slots of "
            f"{format_duration(onoff.slot)}; allowed: a share of at most "
            f"{(len(slots) - 1) / len(slots):.4g}, or shorter slots"))


def _whole(ratio: float) -> bool:
    return ratio >= 1.0 and abs(ratio - round(ratio)) < 1e-9


class _Arm:
    """What one (agent, key) pair, or one key over all agents, has shown so far."""

    __slots__ = ("handle_sum", "resolved", "unresolved")

    def __init__(self) -> None:
        self.resolved = 0
        self.unresolved = 0
        self.handle_sum = 0.0


@register_policy("predictive", PredictiveParams)
class PredictivePolicy:
    """Learns agents' resolution per intent or segment online and pairs to maximise it; ON/OFF mode.

    Model: per pair a Beta posterior of the resolution probability (``prior`` plus
    the pair's resolved and unresolved contacts) and a mean handle time shrunk
    towards the key's mean with the prior's weight. It learns only in ``observe``,
    from finished contacts, so it never sees an outcome before it happens.

    Value of a pair = P(resolved) - ``handle_time_penalty`` x predicted minutes,
    with P drawn from the posterior (Thompson sampling) or its mean (epsilon
    greedy). An arriving contact takes the idle agent of highest value among the
    ``candidates`` longest idle (ties: longest idle). A freed agent looks at the
    oldest waiting contact of each key among about ``candidates`` oldest it can
    serve (shared among its skills) and takes the one where it beats the key's
    average agent by most (its advantage), so within a key contacts are served in
    arrival order and no key is preferred merely for being easy.

    With ``onoff``, slots of the day are ON (the model decides; the first slot
    after midnight, then ``on_share`` of them spread evenly) or OFF (the baseline
    decides); the model learns from
    every finished contact either way. ``reports.onoff.onoff_uplift`` turns the
    per-interval results into the uplift and its confidence interval.
    """

    work_conserving = True  # in ON slots; in OFF slots as its baseline (set per instance)
    decision_cost = "scoring"

    def __init__(self, params: PredictiveParams, scenario: Scenario) -> None:
        self._by_segment = params.key == "segment"
        self._by_channel = params.key == "preferred_channel"
        self._predictor: InteractionPredictor | None = None
        self._a0 = params.prior.successes
        self._b0 = params.prior.failures
        self._thompson = params.explore == "thompson"
        self._epsilon = params.epsilon
        self._penalty = params.handle_time_penalty / 60.0  # per second of handle time
        self._candidates = params.candidates
        self._arms: dict[str, dict[int, _Arm]] = {}
        """Per key, per agent id."""
        self._keys: dict[str, _Arm] = {}
        """Per key, over all agents: the average agent."""
        self._baseline: RoutingPolicy | None = None
        self._slot = DAY
        self._slots_on: tuple[bool, ...] = ()
        """ON (True) or OFF of each slot of the day, with ``onoff``."""
        if params.onoff is not None:
            self._baseline = make_policy(params.onoff.baseline, scenario)
            self._slot = params.onoff.slot
            self._slots_on = params.onoff.day_slots()
            self.work_conserving = getattr(self._baseline, "work_conserving", False) is True
            # Only a baseline that re-checks waiting contacts needs the engine to ask:
            # the engine calls the hook only when the policy has it.
            recheck = getattr(self._baseline, "recheck_after", None)
            if recheck is not None:
                self.recheck_after = recheck
        self._baseline_observe = getattr(self._baseline, "observe", None)

    def key(self, contact: ContactView) -> str:
        """What the model tells this contact apart by."""
        if self._by_segment:
            customer = contact.customer
            return customer.tier if customer is not None else "unknown"
        caller = contact.identity
        intent = caller.intent if caller is not None else contact.type
        if self._by_channel:
            customer, predictor = contact.customer, self._predictor
            # As of the arrival: fixed while the contact waits, and no later interaction seen.
            preferred = (predictor.preferred_channel(customer.id, contact.arrival)
                         if customer is not None and predictor is not None else "unknown")
            return f"{intent}|{preferred}"
        return intent

    def on(self, now: float) -> bool:
        """Whether the model decides at time ``now`` (always, without ``onoff``)."""
        return self._baseline is None or self._slots_on[int(now % DAY // self._slot)]

    # ------------------------------------------------------------------ model
    def _values(self, arms: list[_Arm | None], keys: list[str],
                rng: np.random.Generator) -> list[float]:
        """Value of each pair (its arm, None when never seen, and its key), drawn from the
        posterior or its mean as ``explore`` says."""
        a0, b0 = self._a0, self._b0
        if self._thompson:
            # One scalar draw per pair: the same draws, in the same order, as one call on
            # arrays, without numpy's per-call overhead on a handful of candidates (it was
            # most of this policy's time).
            beta = rng.beta
            values = [beta(a0, b0) if arm is None else beta(a0 + arm.resolved, b0 + arm.unresolved)
                      for arm in arms]
        else:
            a = [a0 + arm.resolved if arm is not None else a0 for arm in arms]
            b = [b0 + arm.unresolved if arm is not None else b0 for arm in arms]
            values = [x / (x + y) for x, y in zip(a, b)]
        penalty = self._penalty
        if penalty:
            values = [value - penalty * self._handle_time(arm, key)
                      for value, arm, key in zip(values, arms, keys)]
        return values

    def _handle_time(self, arm: _Arm | None, key: str) -> float:
        """Predicted handle time: the pair's mean shrunk towards the key's mean."""
        total = self._keys.get(key)
        if total is None:
            return 0.0  # nothing known about this key: no agent is predicted faster
        prior_mean = total.handle_sum / (total.resolved + total.unresolved)
        if arm is None:
            return prior_mean
        weight = self._a0 + self._b0
        return (arm.handle_sum + weight * prior_mean) / (arm.resolved + arm.unresolved + weight)

    def _average(self, key: str) -> float:
        """Value of the key's average agent (posterior mean over all agents)."""
        total = self._keys.get(key)
        if total is None:
            return self._a0 / (self._a0 + self._b0)
        mean = (self._a0 + total.resolved) / (
            self._a0 + self._b0 + total.resolved + total.unresolved)
        return mean - self._penalty * self._handle_time(None, key)

    def _pick(self, values: list[float], rng: np.random.Generator) -> int:
        """Index of the chosen candidate: the best value, or a random one when exploring."""
        if not self._thompson and rng.random() < self._epsilon:
            return int(rng.integers(len(values)))
        # The first of equal values (max keeps the first): longest idle, oldest.
        return max(range(len(values)), key=values.__getitem__)

    # ---------------------------------------------------------------- decisions
    def select_agent(self, contact: ContactView, state: RoutingState) -> AgentView | None:
        self._predictor = state.predictor
        # ``on`` inlined for the usual case, no ON/OFF slots: two calls less per decision.
        if self._baseline is not None and not self.on(state.now):
            return self._baseline.select_agent(contact, state)
        agents = list(idle_candidates(contact, state, self._candidates))
        if len(agents) <= 1:
            return agents[0] if agents else None
        key = self.key(contact)
        table = self._arms.get(key, {})
        values = self._values([table.get(agent.id) for agent in agents], [key] * len(agents),
                              state.random)
        return agents[self._pick(values, state.random)]

    def select_contact(self, agent: AgentView, state: RoutingState) -> ContactView | None:
        self._predictor = state.predictor
        if self._baseline is not None and not self.on(state.now):
            return self._baseline.select_contact(agent, state)
        oldest: dict[str, ContactView] = {}
        for contact in waiting_candidates(agent, state, self._candidates):
            key = self.key(contact)
            known = oldest.get(key)
            if known is None or contact.arrival < known.arrival:
                oldest[key] = contact
        if len(oldest) <= 1:
            return next(iter(oldest.values()), None)
        # Arrival order first, so that equal advantages go to the oldest contact.
        contacts = sorted(oldest.values(), key=lambda c: c.arrival)
        keys = [self.key(c) for c in contacts]
        arms = [self._arms.get(key, {}).get(agent.id) for key in keys]
        advantage = [value - self._average(key)
                     for value, key in zip(self._values(arms, keys, state.random), keys)]
        return contacts[self._pick(advantage, state.random)]

    def observe(self, contact: ContactView, agent: AgentView, handle_time: float,
                state: RoutingState) -> None:
        """Learn from a finished contact (and let a learning baseline learn too)."""
        key = self.key(contact)
        for arm in (self._arms.setdefault(key, {}).setdefault(agent.id, _Arm()),
                    self._keys.setdefault(key, _Arm())):
            if contact.resolved:
                arm.resolved += 1
            else:
                arm.unresolved += 1
            arm.handle_sum += handle_time
        if self._baseline_observe is not None:
            self._baseline_observe(contact, agent, handle_time, state)
