"""The golden runs: every shipped scenario under the policies and strategies its header
names, with its own seed, and its shipped replications (fewer for the slow ones).

``python tests/golden/cases.py [NAME...]`` records them (``--check`` compares instead);
``tests/test_golden.py`` checks that every figure is still identical. Re-record only when
an issue asks for a change in behaviour, and say in the commit which numbers moved and why.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = Path(__file__).resolve().parent

# name -> (scenario file, policies, replications or None for the file's own)
CASES: dict[str, tuple[str, tuple[str, ...], int | None]] = {
    "quickstart": ("quickstart.yaml", ("fcfs", "priority"), None),
    "bank-day": ("bank-day.yaml", ("fcfs", "priority"), None),
    "blocking": ("blocking.yaml", ("fcfs",), None),
    "erlang-a-check": ("erlang-a-check.yaml", ("fcfs",), 2),
    "bank_vip": ("bank_vip.yaml", ("fcfs", "skills", "vip", "contextual", "predictive",
                                   "bullseye", "preferred_agent"), 2),
    "identity_bank": ("identity_bank.yaml", ("fcfs",), 2),
    "mobile_advisers": ("mobile_advisers.yaml", ("fcfs", "mobile_advisers"), 2),
    "omnichannel_bank": ("omnichannel_bank.yaml", ("fcfs", "contextual"), 2),
    "outbound_best_time": ("outbound_best_time.yaml", ("fcfs",), 2),
    "bank_week": ("bank_week.yaml", ("fcfs",), 2),
    "transfers_bank": ("transfers_bank.yaml", ("fcfs", "priority"), 2),
    "ivr_bank": ("ivr_bank.yaml", ("fcfs", "priority"), 2),
    "workflow_taskrouter": ("workflow_taskrouter.yaml", ("workflow", "fcfs"), 2),
    "workflow_connect": ("workflow_connect.yaml", ("workflow", "fcfs"), 2),
    "workflow_genesys": ("workflow_genesys.yaml", ("workflow", "bullseye"), 2),
    "customer_value": ("customer_value.yaml", ("fcfs", "contextual", "predictive"), 2),
}


def results_of(name: str) -> dict[str, Any]:
    """The JSON document (as ``ccsim run --json`` writes it) of one golden run."""
    from sim import load_scenario, run

    file, policies, replications = CASES[name]
    scenario = load_scenario(ROOT / "scenarios" / file)
    document = run(scenario, list(policies), replications=replications, progress=False).to_json()
    # Round-trip through JSON text so that the comparison sees what a file holds.
    return json.loads(json.dumps(document, allow_nan=False))


def golden_path(name: str) -> Path:
    return GOLDEN / f"{name}.json"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", default=list(CASES))
    parser.add_argument("--check", action="store_true", help="compare instead of recording")
    args = parser.parse_args(argv)
    failed = 0
    for name in args.names:
        document = results_of(name)
        if args.check:
            same = json.loads(golden_path(name).read_text()) == document
            failed += not same
            print(f"{name}: {'identical' if same else 'DIFFERENT'}")
        else:
            golden_path(name).write_text(json.dumps(document, indent=1, sort_keys=True) + "\n")
            print(f"{name}: recorded")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    raise SystemExit(main())
