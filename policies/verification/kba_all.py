"""Everyone answers knowledge questions, whatever the risk and the passive signals."""

from __future__ import annotations

from . import ChainStrategy, MethodName, StrategyParams, register_strategy


class KbaAllParams(StrategyParams):
    """Which method everyone runs, and what to try when it fails."""

    method: MethodName = "knowledge_questions"
    escalate_to: tuple[MethodName, ...] = ()
    """Methods tried in order after a failure (e.g. [manual_check]); none: refuse."""

    def chain(self) -> tuple[str, ...]:
        return (self.method, *self.escalate_to)


@register_strategy("kba_all", KbaAllParams)
class KbaAll(ChainStrategy):
    """Legacy: every caller answers the knowledge questions; a failure is refused or escalated."""
