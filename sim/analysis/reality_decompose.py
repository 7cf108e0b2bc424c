"""Which assumption costs how much error: the reality check rerun with one assumption changed.

``ccsim reality LOG --decompose`` runs the check as asked, then once more
for each assumption the data can replace or question, everything else equal
(same days, seed, replications):

* replayed arrivals: talk times drawn from the fits -> the log's recorded
  talk times (or back); fits per hour band -> one fit per type (or the other
  way); recorded arrival times -> Poisson at each day's hourly counts;
* forecast arrivals -> the scored days' recorded arrivals; planned staffing
  -> the days' own staffing inferred from their talks; and both at once;
* staffing per 15 minutes -> per 5 minutes (closer to the agents' own
  comings and goings);
* the staffing inference itself: ``--away-after`` halved and doubled (a
  sensitivity, not a truth: the log has no logins to replace it with).

Each line reports the overall relative errors and the busy hours within 10%,
and the change from the check as asked; the difference is what the
assumption costs (or, for a sensitivity, how much the answer hangs on it).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sim.analysis.calllog import CallLog
    from sim.analysis.reality import RealityCheck

COMPARED = ("abandon_rate", "service_level", "asa_s")
FINE_STAFFING = 300.0
"""The staffing interval of the finer variant: 5 minutes (January: 43 s of CPU against 25 s
at 15 minutes and 72 s at 1 minute)."""
SHORT = {"abandon_rate": "aband.", "service_level": "SL", "asa_s": "ASA"}


@dataclass(frozen=True)
class Variant:
    """One assumption, what replaces it, and the ``reality_check`` options that do so."""

    assumption: str
    replaced_by: str
    options: dict[str, Any]
    sensitivity: bool = False
    """The replacement is another guess, not the log's truth."""


@dataclass(frozen=True)
class VariantResult:
    """A variant's overall relative errors and busy hours within 10% per compared figure."""

    variant: Variant
    overall: dict[str, float]
    within_10: dict[str, int]


def summarise(check: RealityCheck) -> tuple[dict[str, float], dict[str, int]]:
    """Overall relative errors and busy hours within 10% of a check, per compared figure."""
    summary, card = check.summary(), check.scorecard()
    return ({m: summary[m]["relative_error"] for m in COMPARED},
            {m: card[m]["simulated_within_10"] for m in COMPARED})


def variants(options: dict[str, Any]) -> list[Variant]:
    """The variants worth running beside a check made with ``options`` (the keyword
    arguments of ``reality_check`` after its defaults are resolved)."""
    found = []
    if options["arrivals"] == "replay":
        found.append(Variant("talk times drawn from the fits", "the recorded talk times",
                             {"recorded_service": True}) if not options["recorded_service"] else
                     Variant("the recorded talk times", "talk times drawn from the fits",
                             {"recorded_service": False}))
        found.append(Variant("recorded arrival times", "Poisson at each day's hourly counts",
                             {"arrivals": "poisson", "recorded_service": False}))
    else:
        found.append(Variant(f"{options['arrivals']} arrivals", "the days' recorded arrivals",
                             {"arrivals": "replay"}))
    if options["staffing"] != "actual":
        found.append(Variant(f"{options['staffing']} staffing",
                             "the days' own staffing (inferred)", {"staffing": "actual"}))
        if options["arrivals"] != "replay":
            found.append(Variant(f"{options['arrivals']} arrivals and "
                                 f"{options['staffing']} staffing",
                                 "the days' recorded arrivals and own staffing",
                                 {"arrivals": "replay", "staffing": "actual"}))
    found.append(Variant(f"fits by time of day ({', '.join(options['by_band'])})",
                         "one fit per type", {"by_band": []}) if options["by_band"] else
                 Variant("one fit per type", "patience and handle time per hour band",
                         {"by_band": ["patience", "handle"]}))
    interval = options.get("staffing_interval", 900.0)
    if interval > FINE_STAFFING:
        found.append(Variant(f"staffing per {interval / 60:g} min",
                             f"per {FINE_STAFFING / 60:g} min",
                             {"staffing_interval": FINE_STAFFING}))
    away = options["away_after"]
    for factor in (0.5, 2.0):
        found.append(Variant(f"staffing inferred with --away-after {away:g}s",
                             f"--away-after {away * factor:g}s",
                             {"away_after": away * factor}, sensitivity=True))
    return found


@dataclass
class Decomposition:
    """The check as asked and its variants, for the text, the JSON and the page."""

    base_overall: dict[str, float]
    base_within_10: dict[str, int]
    results: list[VariantResult]

    def to_json(self) -> list[dict[str, Any]]:
        """One entry per variant: what it replaced, its options, errors and hours, and the
        change from the check as asked."""
        return [{"assumption": r.variant.assumption, "replaced_by": r.variant.replaced_by,
                 "sensitivity": r.variant.sensitivity, "options": r.variant.options,
                 "overall_relative_error": {m: _number(v) for m, v in r.overall.items()},
                 "busy_hours_within_10": r.within_10,
                 "change_in_relative_error": {
                     m: _number(abs(r.overall[m]) - abs(self.base_overall[m]))
                     for m in COMPARED}} for r in self.results]

    def rows(self) -> list[list[str]]:
        """Per line (the check as asked first): assumption, replacement, overall errors,
        busy hours within 10%."""
        lines = [["(as asked)", "", *(_percent(self.base_overall[m]) for m in COMPARED),
                  *(str(self.base_within_10[m]) for m in COMPARED)]]
        for r in self.results:
            label = r.variant.replaced_by + (" (sensitivity)" if r.variant.sensitivity else "")
            lines.append([r.variant.assumption, label,
                          *(_percent(r.overall[m]) for m in COMPARED),
                          *(str(r.within_10[m]) for m in COMPARED)])
        return lines

    def header(self) -> list[str]:
        """Column titles of ``rows``."""
        return ["Assumption", "Replaced by", *(f"{SHORT[m]} error" for m in COMPARED),
                *(f"{SHORT[m]} hours within 10%" for m in COMPARED)]

    def format_text(self) -> str:
        """The decomposition as a table of text."""
        table = [self.header(), *self.rows()]
        widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
        lines = ["which assumption costs how much (each line changes one, all else equal):"]
        for row in table:
            lines.append("  ".join(cell.ljust(w) if i < 2 else cell.rjust(w)
                                   for i, (cell, w) in enumerate(zip(row, widths))))
        return "\n".join(lines)


def decompose(log: CallLog, options: dict[str, Any], check: RealityCheck) -> Decomposition:
    """Rerun the check of ``log`` (made with the resolved ``options``) once per variant."""
    from sim.analysis.reality import reality_check

    results = []
    for variant in variants(options):
        varied = reality_check(log, **{**options, **variant.options})
        results.append(VariantResult(variant, *summarise(varied)))
    return Decomposition(*summarise(check), results)


def _number(value: float) -> float | None:
    return None if math.isnan(value) else round(value, 4)


def _percent(value: float) -> str:
    return "-" if math.isnan(value) else f"{value:+.0%}"
