"""Errors that reach users: each names where the problem is and what is allowed."""

from __future__ import annotations


class FieldError(ValueError):
    """A problem that belongs to one field path of a scenario (``('routing', 'policy')``)."""

    def __init__(self, path: tuple[str | int, ...], message: str) -> None:
        super().__init__(message)
        self.path = path
        self.message = message


class ScenarioError(Exception):
    """A scenario file or dict that cannot run, with every problem found.

    Each problem reads ``LINE: field.path: what is wrong; what is allowed``;
    ``str()`` prefixes each with the source file.
    """

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = problems
        super().__init__("\n".join(f"{source}:{p}" if source else p.lstrip() for p in problems))


class PolicyError(RuntimeError):
    """A routing policy returned a decision the engine cannot apply."""
