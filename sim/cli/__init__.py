"""The ``ccsim`` command line.

    ccsim run SCENARIO.yaml [--seed N] [--replications R] [--policy NAME]... [--json PATH]
              [--trace PATH] [--roster CSV] [--jobs N]
              [--by type|group|interval|tier|channel|campaign] [--no-limits] [--debug]
    ccsim erlang --rate 1176/h --aht 300s --agents 100 [--patience 180s] [--threshold 20s]
                 [--shrinkage 30%] [--max-occupancy 85%]
    ccsim schema [--output PATH]
    ccsim validate SCENARIO.yaml [--no-limits]
    ccsim policies
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import re
import signal
import sys
import warnings
from collections.abc import Sequence
from types import FrameType
from typing import NoReturn

from sim.cli.options import (
    add_limit_options, at_least, check_count_options, check_plugin_names, check_scopes,
    check_workload, checked_jobs, parse_flag, share_flag,
)
from sim.errors import (
    FewReplicationsWarning, FieldError, PolicyError, ScenarioError, UsageError, show_value,
)
from sim.files import check_output_file, write_atomic
from sim.model.units import format_duration, parse_duration, parse_rate, parse_share

# Sub-commands defined next to the code they drive, in modules that import scipy, the
# engine or pydantic: the help line is here so that ``ccsim --help`` lists them without
# importing those modules, and only the command being run has its module's
# ``configure(parser)`` add its arguments and handler.
LAZY_COMMANDS: dict[str, tuple[str, str]] = {
    "compare": ("reports.compare_cli",
                "compare policies on the same contacts, with paired CIs"),
    "sweep": ("sim.analysis.sweep",
              "run a grid of scenario variants (resumable; local processes or Dask)"),
    "staff": ("sim.analysis.staffing",
              "fewest agents meeting service targets (Erlang start, simulation refine)"),
    "roster": ("sim.analysis.roster",
               "cheapest shift roster meeting targets per interval (IP, verified by simulation)"),
    "calibrate": ("sim.analysis.calibrate",
                  "fit a scenario to a call log (Anonymous Bank format or mapped CSV)"),
    "reality": ("sim.analysis.reality",
                "calibrate from a call log, simulate the same days, compare per hour"),
}
"""Sub-command name -> (module with ``configure(parser)``, help line of ``ccsim --help``)."""


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised like Ctrl-C so that every cleanup runs on the way out: worker
    processes are terminated, temporary output files removed."""


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise Terminated


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``ccsim`` console script; returns the exit code."""
    words = _glue_negative_values(list(sys.argv[1:] if argv is None else argv))
    parser = _parser(_command_of(words))
    args = parser.parse_args(words)
    previous = signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", FewReplicationsWarning)
            code = int(args.handler(args))
        # After the results, each once: they qualify what was printed, and a command that
        # fails prints its error line alone.
        for text in dict.fromkeys(str(warning.message) for warning in caught):
            print(f"ccsim: warning: {text}", file=sys.stderr)
        sys.stdout.flush()  # here, so that a reader who left is noticed below
        return code
    except BrokenPipeError:
        # The reader of stdout left (``ccsim run ... | head``): the files are written, and
        # there is no one to tell anything. Python's exit would flush into the closed pipe
        # again and complain, unless stdout points elsewhere.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except (ScenarioError, UsageError, FieldError, PolicyError, ValueError, OSError) as exc:
        if getattr(args, "debug", False):
            raise
        if isinstance(exc, ScenarioError) and not exc.source and getattr(args, "scenario", None):
            exc = ScenarioError(str(args.scenario), exc.problems)  # found while running it
        print(_error_line(exc), file=sys.stderr)
        return 2
    except Terminated:
        print("ccsim: terminated", file=sys.stderr)
        return 143
    except KeyboardInterrupt:
        print("ccsim: interrupted", file=sys.stderr)
        return 130
    finally:
        signal.signal(signal.SIGTERM, previous)


def _error_line(exc: Exception) -> str:
    """What ``ccsim`` prints for an error that ends a command."""
    if isinstance(exc, ScenarioError):
        return str(exc)
    if isinstance(exc, OSError) and exc.strerror:  # e.g. a full disk while writing
        where = f"{exc.filename}: " if exc.filename else ""
        return f"ccsim: error: {where}{exc.strerror}"
    return f"ccsim: error: {exc}"


_NEGATIVE = re.compile(r"-\.?[0-9]")


def _glue_negative_values(words: list[str]) -> list[str]:
    """``--rate -5/h`` as ``--rate=-5/h``: argparse takes a word that starts with '-' and
    is not a plain number for an option and would only say "expected one argument"; glued,
    the value reaches the command, which says what is wrong with it."""
    glued: list[str] = []
    for word in words:
        if glued and glued[-1].startswith("--") and "=" not in glued[-1] and \
                _NEGATIVE.match(word):
            glued[-1] += f"={word}"
        else:
            glued.append(word)
    return glued


def _command_of(argv: Sequence[str]) -> str | None:
    """The sub-command ``argv`` names: its first word that is not an option (no option of
    the top-level parser takes a value)."""
    return next((word for word in argv if not word.startswith("-")), None)


MAX_ERROR_CHARS = 400
"""Longest argparse message shown (the user's value is quoted in it)."""


class OneLineParser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose errors are one line naming the flag, like every other
    ``ccsim`` error, instead of the usage block and the error; ``--help`` is unchanged.
    Sub-command parsers are of this class too (``add_subparsers`` uses the parent's)."""

    def error(self, message: str) -> NoReturn:
        """Print ``PROG: error: MESSAGE (see PROG --help)`` and exit with status 2."""
        # argparse's messages are one line but for a few long choice lists: fold them, and
        # shorten one that quotes a huge value, as show_value does.
        text = " ".join(message.split())
        text = text if len(text) <= MAX_ERROR_CHARS else text[:MAX_ERROR_CHARS - 3] + "..."
        self.exit(2, f"{self.prog}: error: {text} (see {self.prog} --help)\n")


def _parser(command: str | None) -> argparse.ArgumentParser:
    """The ``ccsim`` parser, complete for ``command``; the other ``LAZY_COMMANDS`` only
    carry their help line (their arguments are never parsed in this process)."""
    parser = OneLineParser(
        prog="ccsim", description="Contact-center simulator and routing-policy benchmark.")
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", help="simulate a scenario and print a table")
    run.add_argument("scenario", help="scenario YAML file")
    run.add_argument("--seed", type=int, help="root seed (overrides run.seed)")
    run.add_argument("--replications", type=int, help="replications (overrides run.replications)")
    run.add_argument("--policy", action="append", metavar="NAME",
                     help="routing policy; repeat to compare several on the same contacts")
    run.add_argument("--verification", action="append", metavar="NAME",
                     help="identity verification strategy; repeat to compare several on the "
                     "same callers (default: the scenario's identity.verification.strategy)")
    run.add_argument("--outbound", action="append", metavar="NAME",
                     help="outbound strategy; repeat to compare several on the same customers "
                     "(default: the scenario's outbound.strategies)")
    run.add_argument("--json", metavar="PATH",
                     help="write results as JSON ('-': print only the JSON on stdout, no table)")
    run.add_argument("--trace", metavar="PATH", help="write one CSV row per contact")
    run.add_argument("--roster", metavar="CSV", help="agents' shifts from a roster file "
                     "(agent,group,start,end; ccsim roster writes one): they replace the count, "
                     "staffing or shifts of the groups it names")
    run.add_argument("--jobs", type=int, default=1, help="parallel processes for replications")
    run.add_argument("--by", choices=["type", "group", "interval", "tier", "channel", "campaign",
                                      "agent", "weekday"],
                     action="append",
                     default=[],
                     help="also print a breakdown table (repeatable; agent: one column per "
                     "agent, handled, AHT, occupancy, agent-hours)")
    add_limit_options(run)
    run.add_argument("--debug", action="store_true", help="show tracebacks")
    run.set_defaults(handler=_cmd_run)

    erlang = commands.add_parser("erlang", help="exact Erlang C / Erlang A figures")
    erlang.add_argument("--rate", required=True, help="arrival rate, e.g. 1176/h")
    erlang.add_argument("--aht", required=True, help="mean handle time, e.g. 300s")
    erlang.add_argument("--agents", type=int, required=True, help="number of agents")
    erlang.add_argument("--patience", help="mean patience, e.g. 180s (Erlang A); omit for Erlang C")
    erlang.add_argument("--threshold", default="20s", help="service-level threshold T (default 20s)")
    erlang.add_argument("--target", default="0.8",
                        help="SL target for the staffing line, e.g. 0.8 or 80%% (default 0.8)")
    erlang.add_argument("--shrinkage", help="share of paid time off the phones (breaks, "
                        "meetings, training, absence), e.g. 30%%: adds the FTE to pay")
    erlang.add_argument("--max-occupancy", help="most occupancy allowed for the agents needed, "
                        "e.g. 85%%")
    erlang.add_argument("--debug", action="store_true", help="show tracebacks")
    erlang.set_defaults(handler=_cmd_erlang)

    schema = commands.add_parser("schema", help="print the JSON Schema of scenario files")
    schema.add_argument("--output", metavar="PATH", help="write to a file instead of stdout")
    schema.add_argument("--debug", action="store_true", help="show tracebacks")
    schema.set_defaults(handler=_cmd_schema)

    validate = commands.add_parser("validate", help="check a scenario file without running it")
    validate.add_argument("scenario")
    add_limit_options(validate)
    validate.add_argument("--debug", action="store_true", help="show tracebacks")
    validate.set_defaults(handler=_cmd_validate)

    policies = commands.add_parser(
        "policies", help="list registered routing policies and verification strategies")
    policies.set_defaults(handler=_cmd_policies)

    for name, (module, summary) in LAZY_COMMANDS.items():
        subparser = commands.add_parser(name, help=summary)
        if name == command:
            importlib.import_module(module).configure(subparser)
    return parser


def _cmd_run(args: argparse.Namespace) -> int:
    from policies import policy_spec
    from policies.outbound import outbound_spec
    from policies.verification import strategy_spec
    from reports.onoff import format_uplift, uplifts
    from reports.table import AGENT_ROWS, ALL_ROWS, format_comparison, format_per_key

    from sim.runner import run
    from sim.model.scenario import load_scenario

    check_count_options(args)
    if args.trace and args.jobs > 1:
        raise UsageError("--trace writes one file in order; allowed: --jobs 1 with --trace")
    if args.json and args.json != "-":  # '-' is stdout
        check_output_file(args.json, "--json")
    if args.trace:
        check_output_file(args.trace, "--trace")
    scenario = load_scenario(args.scenario, no_limits=args.no_limits)
    if args.roster:
        from sim.analysis.roster import apply_roster
        from sim.model.roster_file import read_roster
        from sim.limits import limits_for

        limits = limits_for(args.no_limits)
        scenario = apply_roster(scenario, read_roster(args.roster, limits), args.roster, limits)
    check_workload(scenario, args)
    check_scopes(scenario, args.by)
    for flag, names, lookup in (("--policy", args.policy, policy_spec),
                                ("--verification", args.verification, strategy_spec),
                                ("--outbound", args.outbound, outbound_spec)):
        check_plugin_names(flag, names, lookup)
    results = run(scenario, args.policy, replications=args.replications, seed=args.seed,
                  trace=args.trace, jobs=checked_jobs(args.jobs),
                  verifications=args.verification, outbounds=args.outbound,
                  per_agent="agent" in args.by, no_limits=args.no_limits,
                  by_weekday="weekday" in args.by)
    onoff = uplifts(results) if scenario.outcomes is not None else {}
    if args.json:
        document = results.to_json()
        if onoff:
            document["onoff"] = {label: uplift.as_json() for label, uplift in onoff.items()}
        text = json.dumps(document, indent=2, allow_nan=False)
        if args.json == "-":
            # stdout is the JSON document alone, for a pipe into jq or json.load.
            print(text)
            return 0
        # The file first: a reader of stdout that stops early (| head) must not cost it.
        write_atomic(args.json, text + "\n")
    reps = results.replications
    title = (f"{scenario.name}: {reps} replication{'s' if reps > 1 else ''}, seed {results.seed}"
             f", SL threshold {format_duration(scenario.service_level.threshold)}"
             + (" (channels: their own)" if scenario.channels is not None else "")
             + (" (± = 95% CI half-width)" if reps > 1 else ""))
    print(format_comparison(results.summary(), title, ALL_ROWS))
    for scope in args.by:
        breakdown = results.summary(f"by_{scope}")
        for policy, per_key in breakdown.items():
            print()
            print(format_per_key(per_key, f"{policy} by agent", "Agent", AGENT_ROWS)
                  if scope == "agent" else
                  format_comparison(per_key, f"{policy} by {scope}", ALL_ROWS))
    if scenario.outbound is not None and len(results.runs) > 1:
        from reports.compare import compare, to_text

        # The paired difference to the first label (same customers and tasks per replication).
        print()
        print(to_text([compare(results, list(OUTBOUND_EFFECTS))]).rstrip("\n"))
    for uplift in onoff.values():
        print()
        print(format_uplift(uplift))
    return 0


ERLANG_MAX_AGENTS = 100_000
"""Most agents of ``ccsim erlang`` (as in ``required_agents``'s search)."""

OUTBOUND_EFFECTS = ("outbound_hit_rate", "outbound_attempts_per_contact", "outbound_reached",
                    "service_level", "abandon_rate")
"""Metrics whose paired differences ``ccsim run`` prints when outbound strategies are compared."""


def _cmd_erlang(args: argparse.Namespace) -> int:
    from sim.analysis.analytics import full_time_equivalents, queue_figures, required_agents

    rate = parse_flag("--rate", parse_rate, args.rate)
    aht = parse_flag("--aht", _positive_duration, args.aht)
    threshold = parse_flag("--threshold", parse_duration, args.threshold)
    patience = parse_flag("--patience", _positive_duration, args.patience) if args.patience \
        else None
    at_least("--agents", args.agents, 1)
    if args.agents > ERLANG_MAX_AGENTS:
        raise UsageError(f"--agents must be <= {ERLANG_MAX_AGENTS} (the exact formulas take "
                         "time in proportion to it)")
    target = parse_flag("--target", parse_share, args.target)
    if not 0 < target < 1:
        raise UsageError("--target must be between 0 and 1 (0% and 100%), e.g. 0.8 or 80%")
    shrinkage = (share_flag("--shrinkage", args.shrinkage, below_one=True)
                 if args.shrinkage is not None else 0.0)
    max_occupancy = (share_flag("--max-occupancy", args.max_occupancy, below_one=False)
                     if args.max_occupancy is not None else None)
    figures = queue_figures(rate, aht, args.agents, threshold, patience)
    model = f"Erlang A (M/M/c+M, mean patience {format_duration(patience)})" if patience \
        else "Erlang C (M/M/c, no abandonment)"
    needed = required_agents(rate, aht, target, threshold, patience,
                             max_occupancy=max_occupancy)
    occupancy_cap = f", occupancy <= {max_occupancy:.0%}" if max_occupancy is not None else ""
    rows = [
        ("Model", model),
        ("Offered load", f"{figures.load_erlangs:.2f} Erlangs on {args.agents} agents"),
        ("P(wait)", f"{figures.p_wait:.4f}"),
        ("P(abandon)", f"{figures.p_abandon:.4f}"),
        ("ASA (answered)", f"{figures.asa_s:.2f} s"),
        ("Mean wait (all)", f"{figures.mean_wait_s:.2f} s"),
        (f"SL({format_duration(threshold)})", f"{figures.service_level:.4f}"),
        ("Occupancy", f"{figures.occupancy:.4f}"),
        ("Mean queue length", f"{figures.mean_queue_length:.3f}"),
        (f"Agents for SL >= {target:.0%}{occupancy_cap}", str(needed)),
    ]
    if args.shrinkage is not None:
        # Agents above are on the phones; FTE are the paid heads behind them.
        rows += [(f"FTE for {args.agents} agents (shrinkage {shrinkage:.0%})",
                  f"{full_time_equivalents(args.agents, shrinkage):.1f}"),
                 (f"FTE for SL >= {target:.0%}{occupancy_cap}",
                  f"{full_time_equivalents(needed, shrinkage):.1f}")]
    width = max(len(k) for k, _ in rows)
    print("\n".join(f"{k.ljust(width)}  {v}" for k, v in rows))
    return 0


def _positive_duration(text: str) -> float:
    """A duration above 0 s (a mean handle time or patience: the formulas divide by it)."""
    seconds = parse_duration(text)
    if seconds <= 0:
        raise ValueError(f"{show_value(text)} is not more than 0s; allowed: a duration above "
                         "0s, e.g. 300s")
    return seconds


def _cmd_schema(args: argparse.Namespace) -> int:
    from sim.model.scenario import scenario_json_schema

    text = scenario_json_schema()
    if args.output:
        check_output_file(args.output, "--output")
        write_atomic(args.output, text + "\n")
    else:
        print(text)
    return 0


def _cmd_validate(args: argparse.Namespace) -> int:
    from sim.model.scenario import load_scenario

    scenario = load_scenario(args.scenario, no_limits=args.no_limits)
    print(f"{args.scenario}: ok ({scenario.name}: {len(scenario.contact_types)} contact types, "
          f"{len(scenario.agents)} agent groups, policy {scenario.routing.policy})")
    return 0


def _cmd_policies(args: argparse.Namespace) -> int:
    from policies.registry import OUTBOUND_STRATEGIES, ROUTING_POLICIES, VERIFICATION_STRATEGIES

    for title, registry in (("Routing policies (routing.policy, --policy):", ROUTING_POLICIES),
                            ("Verification strategies (identity.verification.strategy, "
                             "--verification):", VERIFICATION_STRATEGIES),
                            ("Outbound strategies (outbound.strategies, --outbound):",
                             OUTBOUND_STRATEGIES)):
        print(title)
        # One line per plug-in with its whole summary (its docstring's first paragraph),
        # so that grep finds a plug-in with everything said about it.
        for name, summary in sorted(registry.summaries().items()):
            print(f"  {name:<15} {summary}")
    return 0

if __name__ == "__main__":
    raise SystemExit(main())
