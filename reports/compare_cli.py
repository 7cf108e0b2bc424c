"""``ccsim compare``: paired policy comparison with tables, plots and an HTML report.

    ccsim compare SCENARIO.yaml --policy A --policy B [--policy C]... [--verification S]...
                  [--replications R] [--seed N] [--jobs N] [--metric NAME]...
                  [--by type|group|interval|tier|channel|campaign]
                  [--format table|markdown|csv|json] [--output PATH] [--report DIR]
                  [--no-limits]

Registered in ``sim.cli.LAZY_COMMANDS`` through ``configure``; errors raised here reach
users as ``ccsim: error: ...`` with exit status 2.
"""

from __future__ import annotations

import argparse
import sys

from sim.cli.options import (
    add_limit_options, check_count_options, check_metric_names, check_plugin_names,
    check_scopes, check_workload, checked_jobs,
)
from sim.errors import UsageError
from sim.files import check_output_file, check_output_folder, write_atomic

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
                        help="also compare per contact type, agent group, interval, customer "
                             "tier, channel, outbound campaign or agent (repeatable)")
    parser.add_argument("--format", choices=list(FORMATS), default="table",
                        help="output format (default: table)")
    parser.add_argument("--output", metavar="PATH", help="write the output to a file")
    parser.add_argument("--report", metavar="DIR",
                        help="write a self-contained HTML report to DIR/index.html")
    add_limit_options(parser)
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    parser.set_defaults(handler=run_compare)


def run_compare(args: argparse.Namespace) -> int:
    """Handler of ``ccsim compare``; every argument is checked before the simulation starts."""
    from sim.runner import run
    from sim.model.scenario import load_scenario

    from policies import policy_spec
    from policies.verification import strategy_spec

    from .compare import breakdown_keys, compare

    for flag, names in (("--policy", args.policy), ("--verification", args.verification)):
        repeated = sorted({name for name in names or [] if names.count(name) > 1})
        if repeated:
            raise UsageError(f"{flag}: {', '.join(repeated)} given more than once; "
                             "allowed: each name once")
    check_count_options(args)
    check_plugin_names("--policy", args.policy, policy_spec)
    check_plugin_names("--verification", args.verification, strategy_spec)
    metrics = check_metric_names(args.metric) if args.metric else None
    if args.report:
        check_output_folder(args.report, "--report")
    if args.output:
        check_output_file(args.output, "--output")

    scenario = load_scenario(args.scenario, no_limits=args.no_limits)
    check_workload(scenario, args)
    check_scopes(scenario, args.by)
    policies = args.policy or [scenario.routing.policy]
    strategies = args.verification or (
        scenario.identity.verification.strategies if scenario.identity is not None else [None])
    if len(policies) * len(strategies) < 2:
        raise UsageError("nothing to compare: give two or more --policy (or, for a scenario "
                         "with an identity block, --verification), e.g. --policy fcfs "
                         "--policy priority")
    results = run(scenario, policies, replications=args.replications, seed=args.seed,
                  jobs=checked_jobs(args.jobs), verifications=args.verification,
                  per_agent="agent" in args.by, no_limits=args.no_limits,
                  by_weekday="weekday" in args.by)
    comparisons = [compare(results, metrics)]
    for scope in dict.fromkeys(args.by):
        comparisons += [compare(results, metrics, scope=f"by_{scope}", key=key)
                        for key in breakdown_keys(results, f"by_{scope}")]
    text = FORMATS[args.format](comparisons)
    # Files first: a reader of stdout that stops early (| head) must not cost them.
    if args.output:
        write_atomic(args.output, text if text.endswith("\n") else text + "\n")
    if args.report:
        from .html import write_report

        # The command that reproduces these numbers, with the seed and replications used.
        command = " ".join(["ccsim compare", args.scenario,
                            *(f"--policy {name}" for name in policies),
                            *(f"--verification {name}" for name in args.verification or []),
                            f"--replications {results.replications}", f"--seed {results.seed}"])
        index = write_report(results, args.report, metrics=metrics, command=command)
        print(f"report: {index}", file=sys.stderr)
    if not args.output:
        print(text.rstrip("\n"))
    return 0
