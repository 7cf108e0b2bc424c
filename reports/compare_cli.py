"""``ccsim compare``: paired policy comparison with tables, plots and an HTML report.

    ccsim compare SCENARIO.yaml --policy A --policy B [--policy C]... [--verification S]...
                  [--replications R] [--seed N] [--jobs N] [--metric NAME]...
                  [--by type|group|interval]
                  [--format table|markdown|csv|json] [--output PATH] [--report DIR]

Registered in ``sim.cli.LAZY_COMMANDS`` through ``configure``; errors raised here reach
users as ``ccsim: error: ...`` with exit status 2.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from sim.errors import UsageError

from .compare import BREAKDOWN_SCOPES, FORMATS


def configure(parser: argparse.ArgumentParser) -> None:
    """Give ``ccsim compare``'s parser (help line in ``sim.cli.LAZY_COMMANDS``) its
    description, arguments and handler."""
    parser.description = ("Run every policy on the same contacts (common random numbers) and "
                          "report each metric per policy with a 95%% CI and its difference to "
                          "the first policy with a paired 95%% CI.")
    parser.add_argument("scenario", help="scenario YAML file")
    parser.add_argument("--policy", action="append", metavar="NAME",
                        help="routing policy (repeatable; default: the scenario's); the first "
                             "policy (under the first verification strategy) is the baseline")
    parser.add_argument("--verification", action="append", metavar="NAME",
                        help="identity verification strategy (repeatable; default: the "
                             "scenario's identity.verification.strategy); results are then "
                             "labelled POLICY/STRATEGY")
    parser.add_argument("--replications", type=int,
                        help="replications (overrides run.replications; 10+ for tight CIs)")
    parser.add_argument("--seed", type=int, help="root seed (overrides run.seed)")
    parser.add_argument("--jobs", type=int, default=1, help="parallel processes for replications")
    parser.add_argument("--metric", action="append", metavar="NAME",
                        help="metric to compare (repeatable; default: the usual table)")
    parser.add_argument("--by", choices=[s.removeprefix("by_") for s in BREAKDOWN_SCOPES],
                        action="append", default=[],
                        help="also compare per contact type, agent group or interval")
    parser.add_argument("--format", choices=list(FORMATS), default="table",
                        help="output format (default: table)")
    parser.add_argument("--output", metavar="PATH", help="write the output to a file")
    parser.add_argument("--report", metavar="DIR",
                        help="write a self-contained HTML report to DIR/index.html")
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    parser.set_defaults(handler=run_compare)


def run_compare(args: argparse.Namespace) -> int:
    """Handler of ``ccsim compare``; every argument is checked before the simulation starts."""
    from sim.runner import run
    from sim.model.scenario import load_scenario

    from .compare import breakdown_keys, check_metrics, compare

    for flag, names in (("--policy", args.policy), ("--verification", args.verification)):
        repeated = sorted({name for name in names or [] if names.count(name) > 1})
        if repeated:
            raise UsageError(f"{flag}: {', '.join(repeated)} given more than once; "
                             "allowed: each name once")
    if args.replications is not None and args.replications < 1:
        raise UsageError("--replications must be >= 1")
    if args.jobs < 1:
        raise UsageError("--jobs must be >= 1")
    try:
        metrics = check_metrics(args.metric) if args.metric else None
    except ValueError as exc:
        raise UsageError(f"--metric: {exc}") from None
    if args.report and Path(args.report).exists() and not Path(args.report).is_dir():
        raise UsageError(f"--report {args.report}: is a file; allowed: a folder "
                         "(created if missing)")
    if args.output and Path(args.output).is_dir():
        raise UsageError(f"--output {args.output}: is a folder; allowed: a file path")

    scenario = load_scenario(args.scenario)
    policies = args.policy or [scenario.routing.policy]
    strategies = args.verification or (
        scenario.identity.verification.strategies if scenario.identity is not None else [None])
    if len(policies) * len(strategies) < 2:
        raise UsageError("nothing to compare: give two or more --policy (or, for a scenario "
                         "with an identity block, --verification), e.g. --policy fcfs "
                         "--policy priority")
    results = run(scenario, policies, replications=args.replications, seed=args.seed,
                  jobs=args.jobs, verifications=args.verification)
    comparisons = [compare(results, metrics)]
    for scope in args.by:
        comparisons += [compare(results, metrics, scope=f"by_{scope}", key=key)
                        for key in breakdown_keys(results, f"by_{scope}")]
    text = FORMATS[args.format](comparisons)
    if args.output:
        Path(args.output).write_text(text if text.endswith("\n") else text + "\n")
    else:
        print(text.rstrip("\n"))
    if args.report:
        from .html import write_report

        # The command that reproduces these numbers, with the seed and replications used.
        command = " ".join(["ccsim compare", args.scenario,
                            *(f"--policy {name}" for name in policies),
                            *(f"--verification {name}" for name in args.verification or []),
                            f"--replications {results.replications}", f"--seed {results.seed}"])
        index = write_report(results, args.report, metrics=metrics, command=command)
        print(f"report: {index}", file=sys.stderr)
    return 0
