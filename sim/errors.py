"""Errors that reach users: each names where the problem is and what is allowed."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any


class FieldError(ValueError):
    """A problem that belongs to one field path of a scenario (``('routing', 'policy')``)."""

    def __init__(self, path: tuple[str | int, ...], message: str) -> None:
        super().__init__(message)
        self.path = path
        self.message = message


class FieldErrors(ValueError):
    """Several independent ``FieldError`` of one validation step, reported together so that
    a file with several mistakes needs one round of fixes, not one per mistake."""

    def __init__(self, errors: list[FieldError]) -> None:
        super().__init__("; ".join(error.message for error in errors))
        self.errors = errors


class Problems:
    """Collects the ``FieldError`` of independent checks: ``with problems.check(): ...``
    per check, then ``raise_any()``."""

    def __init__(self) -> None:
        self.errors: list[FieldError] = []

    @contextmanager
    def check(self, where: tuple[str | int, ...] = ()) -> Iterator[None]:
        """Run one check; a ``FieldError`` it raises is kept (its path under ``where``)."""
        try:
            yield
        except FieldErrors as group:
            self.errors += [FieldError(where + error.path, error.message)
                            for error in group.errors]
        except FieldError as error:
            self.errors.append(FieldError(where + error.path, error.message) if where
                               else error)

    def raise_any(self) -> None:
        """Raise what was collected: one ``FieldError`` alone, several as ``FieldErrors``."""
        if len(self.errors) == 1:
            raise self.errors[0]
        if self.errors:
            raise FieldErrors(self.errors)


class ScenarioError(Exception):
    """A scenario file or dict that cannot run, with every problem found.

    Each problem reads ``LINE: field.path: what is wrong; allowed: ...``, one
    per mistake; ``str()`` prefixes each with the source file.
    """

    SHOWN = 20
    """Problems shown in the message; the rest are counted (``problems`` has them all)."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = problems
        lines = [f"{source}:{p}" if source else p.lstrip() for p in problems[:self.SHOWN]]
        if len(problems) > self.SHOWN:
            lines.append(f"{source}: {len(problems) - self.SHOWN} more problems not shown; "
                         "allowed: fix the ones above first")
        super().__init__("\n".join(lines))


class PolicyError(RuntimeError):
    """A routing policy returned a decision the engine cannot apply."""


class UsageError(Exception):
    """A command-line argument that cannot be used; message says what is allowed.

    Here rather than in ``sim.cli`` so that the modules defining sub-commands
    (``sim.analysis.sweep``, ``reports.compare_cli``...) need not import the CLI.
    """


class FewReplicationsWarning(UserWarning):
    """A run with fewer replications than confidence intervals need (``sim.runner.run``);
    ``ccsim`` prints it as ``ccsim: warning: ...``."""


_LIST_TYPES = ("tuple_type", "list_type", "set_type", "frozen_set_type", "iterable_type")
_MAPPING_TYPES = ("dict_type", "model_type", "model_attributes_type", "dataclass_type")


def show_value(value: object) -> str:
    """A user's YAML value as quoted in messages (``'many'``, ``1.5``, ``an empty value``)."""
    if value is None:
        return "an empty value"
    if isinstance(value, bool):
        return str(value).lower()
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _bound(value: object, bound: object) -> str:
    """Show a numeric bound in the unit the user wrote ``value`` in (``0s``, ``24h``, ``0/h``)."""
    from sim.model.units import format_duration, parse_duration, parse_rate

    if isinstance(value, str) and isinstance(bound, (int, float)):
        try:
            parse_duration(value)
            return format_duration(float(bound))
        except ValueError:
            pass
        try:
            parse_rate(value)
            return f"{float(bound) * 3600:g}/h"
        except ValueError:
            pass
    return f"{bound:g}" if isinstance(bound, float) else str(bound)


def explain(error: Mapping[str, Any], value: object = ...) -> str:
    """Turn one pydantic error into ``what is wrong; allowed: ...``.

    ``value`` is the user's input as written (pydantic's ``input`` may already
    be converted, e.g. ``'0/h'`` into ``0.0``); it defaults to ``input``.
    """
    kind = error["type"]
    ctx = error.get("ctx") or {}
    if value is ...:
        value = error.get("input")
    shown = show_value(value)
    loc = tuple(error.get("loc") or ())
    key = loc[-1] if loc else ""
    context_error = ctx.get("error")
    if isinstance(context_error, FieldError):
        return context_error.message
    if kind == "missing":
        return f"missing required key {key!r}"
    if kind == "extra_forbidden":
        return f"unknown key {key!r}"
    if kind in ("int_parsing", "int_type", "int_from_float", "int_parsing_size"):
        return f"{shown} is not a whole number; allowed: a whole number, e.g. 3"
    if kind in ("float_parsing", "float_type", "finite_number"):
        return f"{shown} is not a number; allowed: a number, e.g. 1.5"
    if kind in ("bool_parsing", "bool_type"):
        return f"{shown} is not a yes/no value; allowed: true or false"
    if kind == "string_type":
        return f"{shown} is not text; allowed: text, e.g. a name (quote numbers: '42')"
    if kind in _LIST_TYPES:
        return f"{shown} is not a list; allowed: a list, e.g. [a, b] or one '- item' per line"
    if kind in _MAPPING_TYPES:
        return f"{shown} is not a mapping; allowed: a mapping of 'key: value' lines"
    if kind == "greater_than":
        return f"{shown} is too small; allowed: greater than {_bound(value, ctx.get('gt'))}"
    if kind == "greater_than_equal":
        return f"{shown} is too small; allowed: {_bound(value, ctx.get('ge'))} or more"
    if kind == "less_than":
        return f"{shown} is too large; allowed: less than {_bound(value, ctx.get('lt'))}"
    if kind == "less_than_equal":
        return f"{shown} is too large; allowed: {_bound(value, ctx.get('le'))} or less"
    if kind == "string_too_short":
        return "the text is empty; allowed: a non-empty text"
    if kind == "too_short":
        return (f"has {ctx.get('actual_length', 0)} items; "
                f"allowed: at least {ctx.get('min_length')}")
    if kind == "too_long":
        return (f"has {ctx.get('actual_length')} items; "
                f"allowed: at most {ctx.get('max_length')}")
    if kind == "literal_error":
        expected = str(ctx.get("expected", "")).replace("'", "").replace(" or ", ", ")
        return f"{shown} is not allowed; allowed: {expected}"
    if kind in ("value_error", "assertion_error"):
        return str(error["msg"]).removeprefix("Value error, ").removeprefix("Assertion failed, ")
    return str(error["msg"])
