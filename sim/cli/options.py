"""Options shared by the commands that run simulations (run, compare, sweep, staff).

Each check raises ``UsageError`` naming the flag, before any work starts.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from sim.errors import UsageError, show_value
from sim.limits import limits_for, over_limit
from sim.model.units import parse_share

if TYPE_CHECKING:
    from sim.model.scenario import Scenario

T = TypeVar("T")


def add_limit_options(parser: argparse.ArgumentParser) -> None:
    """``--no-limits``: lift the judgement bounds of ``sim.limits``."""
    parser.add_argument("--no-limits", action="store_true",
                        help="lift the bounds on expected events, agents, population, "
                        "replications, grid points and data file sizes (see README)")


def at_least(flag: str, value: int | None, minimum: int, why: str = "") -> None:
    """``FLAG must be >= MINIMUM`` unless ``value`` is absent or large enough."""
    if value is not None and value < minimum:
        raise UsageError(f"{flag} must be >= {minimum}{why}")


def check_count_options(args: argparse.Namespace) -> None:
    """``--seed``, ``--replications`` and ``--jobs`` of a command that runs replications."""
    at_least("--seed", args.seed, 0)
    at_least("--replications", args.replications, 1)
    bound = limits_for(args.no_limits).replications
    if args.replications is not None and args.replications > bound:
        raise UsageError(f"--replications {args.replications}: " + over_limit(
            args.replications, bound, "replications", "fewer replications"))
    at_least("--jobs", args.jobs, 1)


def checked_jobs(jobs: int) -> int:
    """``--jobs``, capped at the usable cores with a warning on stderr."""
    from sim.workers import cap_jobs  # late: the pool machinery only for commands that run

    return cap_jobs(jobs, "--jobs")


def check_workload(scenario: Scenario, args: argparse.Namespace) -> None:
    """``--replications`` within the bound on expected events (the file's own
    ``run.replications`` was checked when the scenario was loaded)."""
    if args.replications is None:
        return
    problem = scenario.workload_problem(args.replications, limits_for(args.no_limits))
    if problem is not None:
        raise UsageError(f"--replications {args.replications}: {problem[1]}")


def check_scopes(scenario: Scenario, scopes: list[str]) -> None:
    """``--by`` names only scopes that a run of ``scenario`` produces figures for."""
    from sim.runner import scopes_of  # late: only commands that run simulations get here

    produced = scopes_of(scenario)
    missing = [scope for scope in scopes if scope not in produced]
    if missing:
        raise UsageError(f"--by {missing[0]}: scenario {scenario.name!r} has no {missing[0]} "
                         f"breakdown (tiers need customers, channels need channels or "
                         f"retrials/callbacks/journeys, campaigns need outbound); allowed: "
                         f"{', '.join(s for s in produced if s != 'overall')}")


def parse_flag(flag: str, parse: Callable[[str], T], text: str) -> T:
    """``parse(text)``, with a ``ValueError`` turned into a ``UsageError`` naming ``flag``."""
    try:
        return parse(text)
    except ValueError as exc:
        raise UsageError(f"{flag}: {exc}") from None



def share_flag(flag: str, text: str, *, below_one: bool) -> float:
    """A share given to ``flag`` (``0.3`` or ``30%``): in [0, 1) with ``below_one`` (a part
    of time given up, such as shrinkage), else in (0, 1] (a cap, such as occupancy)."""
    share = parse_flag(flag, parse_share, text)
    if below_one and not 0 <= share < 1:
        raise UsageError(f"{flag} {show_value(text)}: allowed: at least 0 and below 1 "
                         "(100%), e.g. 0.3 or 30%")
    if not below_one and not 0 < share <= 1:
        raise UsageError(f"{flag} {show_value(text)}: allowed: above 0 and at most 1 (100%), "
                         "e.g. 0.85 or 85%")
    return share


def check_metric_names(names: Sequence[str]) -> list[str]:
    """``--metric`` names without repeats (those of ``ccsim compare``); an unknown one is a
    ``UsageError`` naming the flag, before any run starts."""
    from reports.compare import check_metrics  # late: reports and numpy only when asked

    try:
        return check_metrics(names)
    except ValueError as exc:
        raise UsageError(f"--metric: {exc}") from None


def check_plugin_names(flag: str, names: Sequence[str] | None,
                       lookup: Callable[[str], Any]) -> None:
    """Each of ``names`` (``--policy``, ``--verification``, ``--outbound``) is registered with
    ``lookup`` (``policy_spec``...); an unknown one is a ``UsageError`` naming ``flag``."""
    from policies import UnknownPolicyError  # late: the plug-in registries only when asked

    for name in names or []:
        try:
            lookup(name)
        except UnknownPolicyError as exc:
            raise UsageError(f"{flag}: {exc}") from None
