"""Voice biometrics for enrolled customers, with a fallback chain."""

from __future__ import annotations

from . import ChainStrategy, MethodName, StrategyParams, register_strategy


class BiometricParams(StrategyParams):
    """The biometric method and what runs when it cannot (not enrolled) or rejects."""

    method: MethodName = "voice_biometrics"
    fallback: tuple[MethodName, ...] = ("knowledge_questions",)

    def chain(self) -> tuple[str, ...]:
        return (self.method, *self.fallback)


@register_strategy("biometric", BiometricParams)
class Biometric(ChainStrategy):
    """Voice print first; callers not enrolled or rejected fall back (default: questions)."""
