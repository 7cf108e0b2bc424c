"""Features as stages: each module adds one feature to the kernel through a narrow interface.

A stage is built from the scenario and ``install``s itself by wrapping or replacing the
few kernel steps its feature changes (``sim.kernel.kernel`` lists them: ``admit``,
``route``, ``hold``, ``enqueue``, ``start_service``, ``assign``, ``answered``,
``service_time``, ``completed``, ``release``, ``on_free``, ``pick_contact``,
``pick_among``, ``rest``, ``dial``, ``abandoned``, ``new_agent``, ``rejoin``, ``leaving``,
and for duty changes ``set_staff``, ``log_on``, ``log_off``; the per-agent figures wrap
the methods ``agent_done`` and ``end_busy`` too, and transfers the end of service
``_on_finish``).
A wrapper keeps the step it replaced and calls it, so stages compose; the order of
``assemble`` below fixes who wraps whom. Around the run a stage may ``start`` (schedule its
own events), say it still holds contacts (``pending``, for runs by a count of arrivals),
count what it holds at the end (``finish_run``) and add figures (``report``).

``assemble`` builds only the stages the scenario uses: a plain scenario gets none.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sim.kernel.cells import ReplicationResult
    from sim.kernel.kernel import Simulation
    from sim.state import Contact


class Stage:
    """Base of every stage: the lifecycle hooks a stage may override (all optional)."""

    def __init__(self, kernel: Simulation) -> None:
        self.kernel = kernel

    def start(self) -> None:
        """The run starts: schedule the stage's own events."""

    def pending(self) -> bool:
        """Whether the stage still holds a contact that will come back to the kernel."""
        return False

    def finish_run(self, end: float) -> None:
        """The run ends at ``end``: count what the stage still holds."""

    def report(self, result: ReplicationResult) -> None:
        """Add the stage's figures to the replication's result."""


def listen_abandoned(kernel: Simulation,
                     listener: Callable[[Contact, float, float], None]) -> None:
    """Call ``listener(contact, now, waited)`` after every abandonment, after the listeners
    added before it."""
    before = kernel.abandoned

    def abandoned(contact: Contact, now: float, waited: float) -> None:
        before(contact, now, waited)
        listener(contact, now, waited)

    kernel.abandoned = abandoned


def assemble(kernel: Simulation, verification: str | None, outbound: str | None,
             per_agent: bool = False) -> list[Any]:
    """Build and install the stages ``kernel.scenario`` uses, in wrapping order, and the
    per-agent figures when ``per_agent``."""
    from sim.stages.agent_figures import AgentFigures
    from sim.stages.blending import Blending
    from sim.stages.callbacks import Callbacks
    from sim.stages.capacity import Capacity
    from sim.stages.churn import Churn
    from sim.stages.costs import Costs
    from sim.stages.feedback import PolicyFeedback
    from sim.stages.followups import FollowUps
    from sim.stages.identity import IdentityStage
    from sim.stages.ivr import IvrMenuStage
    from sim.stages.learning import LearningCurves
    from sim.stages.mobile import MobileRings
    from sim.stages.named_agents import NamedAgents
    from sim.stages.needs import NeedsStage
    from sim.stages.outbound import Outbound
    from sim.stages.outcomes import Outcomes
    from sim.stages.profiles import Profiles
    from sim.stages.queue_patience import QueuePatience
    from sim.stages.service import ServiceShape
    from sim.stages.shrinkage import Shrinkage
    from sim.stages.trace import Tracing
    from sim.stages.transfers import Transfers
    from sim.stages.waiting_room import WaitingRoom

    scenario = kernel.scenario
    if verification is not None and scenario.identity is None:
        raise ValueError(f"verification strategy {verification!r} given, but scenario "
                         f"{scenario.name!r} has no identity block")
    if outbound is not None and scenario.outbound is None:
        raise ValueError(f"outbound strategy {outbound!r} given, but scenario "
                         f"{scenario.name!r} has no outbound block")
    stages: list[Stage] = []
    identity = profiles = None
    if scenario.customers is not None:
        identity = IdentityStage(kernel, verification)
        stages.append(identity)
        if scenario.predictor is not None or scenario.outbound is not None:
            profiles = Profiles(kernel, identity)
            stages.append(profiles)
        if scenario.needs is not None:  # next to identity: a call it takes away is never resolved
            stages.append(NeedsStage(kernel, identity))
    for stage_type in (IvrMenuStage, NamedAgents, Outcomes, Capacity, Blending, ServiceShape,
                       LearningCurves, MobileRings, Transfers, FollowUps, PolicyFeedback,
                       Shrinkage, Churn, Costs):
        stage = stage_type.build(kernel, identity)
        if stage is not None:
            stages.append(stage)
    kernel.hold = kernel.enqueue  # holding a contact queues it, wrapped as stages add above
    for stage_type in (QueuePatience, Callbacks, WaitingRoom):
        stage = stage_type.build(kernel, identity)
        if stage is not None:
            stages.append(stage)
    if scenario.outbound is not None:
        assert profiles is not None and identity is not None
        stages.append(Outbound(kernel, outbound, identity, profiles))
    if kernel.trace is not None:
        stages.append(Tracing(kernel))
    if per_agent:
        stages.append(AgentFigures(kernel))
    return stages
