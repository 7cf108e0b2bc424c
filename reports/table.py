"""Plain-text tables of results: one column per policy, mean ± 95% CI half-width (an
interval clipped at its metric's range as ``mean [low, high]``)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

# (metric, label, format) in the order planners read them.
TABLE_ROWS: tuple[tuple[str, str, str], ...] = (
    ("offered", "Offered", "{:,.0f}"),
    ("answered", "Answered", "{:,.0f}"),
    ("abandoned", "Abandoned", "{:,.0f}"),
    ("short_abandons", "  of which short", "{:,.0f}"),
    ("blocked", "Blocked", "{:,.0f}"),
    ("service_level", "Service level", "{:.1%}"),
    ("asa_s", "ASA (s)", "{:.1f}"),
    ("mean_wait_s", "Mean wait, all (s)", "{:.1f}"),
    ("wait_p90_s", "Wait p90, answered (s)", "{:.1f}"),
    ("abandon_rate", "Abandonment rate", "{:.2%}"),
    ("p_wait", "P(wait)", "{:.1%}"),
    ("aht_s", "AHT (s)", "{:.1f}"),
    ("occupancy", "Occupancy", "{:.1%}"),
    ("utilisation", "Utilisation", "{:.1%}"),
    ("scheduled_agent_hours", "Scheduled agent-hours", "{:,.1f}"),
    ("productive_agent_hours", "Productive agent-hours", "{:,.1f}"),
    ("shrinkage", "Shrinkage realised", "{:.1%}"),
    ("break_adherence", "Breaks started in window", "{:.1%}"),
    ("break_lateness_s", "  mean lateness (s)", "{:.1f}"),
    ("mean_queue_length", "Mean queue length", "{:.2f}"),
)


# Matching, outcomes and mobile agents, shown when the scenario has them.
QUALITY_ROWS: tuple[tuple[str, str, str], ...] = (
    ("fcr", "First-contact resolution", "{:.1%}"),
    ("repeat_contacts", "Repeat contacts", "{:,.0f}"),
    ("match_hit_rate", "Match hit rate", "{:.1%}"),
    ("ring_offers", "Rings to mobile agents", "{:,.0f}"),
    ("direct_reach_rate", "  answered (direct reach)", "{:.1%}"),
    ("fallback_rate", "  fallback to the center", "{:.1%}"),
)

# Identity and verification rows, shown when the scenario has an identity block.
IDENTITY_ROWS: tuple[tuple[str, str, str], ...] = (
    ("self_service_rate", "Finished in IVR (self-service)", "{:.1%}"),
    ("passive_identified", "Passively identified", "{:.1%}"),
    ("asked_rate", "Asked to verify actively", "{:.1%}"),
    ("verify_ivr_s", "Verification in IVR (s/contact)", "{:.1f}"),
    ("verify_agent_s", "Verification with agent (s/handled)", "{:.1f}"),
    ("aht_without_verify_s", "AHT without verification (s)", "{:.1f}"),
    ("verify_cost", "Verification cost ($/contact)", "{:.3f}"),
    ("genuine_refused", "Genuine customers refused", "{:,.1f}"),
    ("genuine_refused_rate", "  share of genuine verified", "{:.2%}"),
    ("fraud_attempts", "Fraud attempts", "{:,.1f}"),
    ("fraud_caught", "  caught", "{:,.1f}"),
    ("fraud_let_through", "  let through", "{:,.1f}"),
    ("fraud_loss", "Fraud loss ($)", "{:,.0f}"),
    ("fraud_loss_per_contact", "Fraud loss ($/contact)", "{:.3f}"),
    ("flags_raised", "Contacts flagged", "{:,.0f}"),
    ("flag_precision", "  flag precision (fraud/flagged)", "{:.2%}"),
)


# Channels, retrials, callbacks and journeys, shown when the scenario has them.
OMNICHANNEL_ROWS: tuple[tuple[str, str, str], ...] = (
    ("arrivals", "Contacts (arrivals)", "{:,.0f}"),
    ("needs", "Customer needs (first contacts)", "{:,.0f}"),
    ("unique_customers", "Unique customers", "{:,.0f}"),
    ("retrials", "Retrials", "{:,.0f}"),
    ("customer_abandon_rate", "Abandonment per customer need", "{:.2%}"),
    ("callbacks_offered", "Callbacks offered", "{:,.0f}"),
    ("callbacks_accepted", "  accepted", "{:,.0f}"),
    ("callbacks_completed", "  completed (right party)", "{:,.0f}"),
    ("callback_reach_rate", "  right-party reach", "{:.1%}"),
    ("cross_channel_contacts", "Cross-channel contacts", "{:,.0f}"),
    ("cross_channel_recognised", "  recognised as the customer", "{:.1%}"),
)

# Proactive outbound, shown when the scenario has an outbound block.
OUTBOUND_ROWS: tuple[tuple[str, str, str], ...] = (
    ("outbound_attempts", "Outbound attempts", "{:,.0f}"),
    ("outbound_reached", "  right-party contacts", "{:,.0f}"),
    ("outbound_hit_rate", "Outbound hit rate", "{:.1%}"),
    ("outbound_attempts_per_contact", "Attempts per right-party contact", "{:.2f}"),
    ("outbound_agent_hours", "Agent hours on outbound", "{:,.1f}"),
    ("outbound_agent_share", "  share of logged-in time", "{:.1%}"),
)

# Money (costs block) and churn (churn block), shown when the scenario has them.
MONEY_ROWS: tuple[tuple[str, str, str], ...] = (
    ("agent_cost", "Agent cost ($)", "{:,.0f}"),
    ("telecom_cost", "Telephony cost ($)", "{:,.0f}"),
    ("dial_cost", "Dial cost ($)", "{:,.0f}"),
    ("verification_fees", "Verification fees ($)", "{:,.0f}"),
    ("total_cost", "Total cost ($)", "{:,.0f}"),
    ("cost_per_contact", "Cost per contact ($)", "{:,.2f}"),
    ("revenue", "Revenue ($)", "{:,.0f}"),
    ("churned", "Customers churned", "{:,.1f}"),
    ("value_lost", "Value lost to churn ($)", "{:,.0f}"),
    ("net_value", "Net value ($)", "{:,.0f}"),
)

# Transfers and escalation, shown when some contact type has a transfer block.
TRANSFER_ROWS: tuple[tuple[str, str, str], ...] = (
    ("transfers", "Legs by transfer", "{:,.0f}"),
    ("transfer_rate", "Transfer rate (contacts)", "{:.1%}"),
    ("legs_per_contact", "  legs per contact", "{:.3f}"),
    ("agent_time_per_contact_s", "  agent time per contact, all legs (s)", "{:.1f}"),
    ("chain_fcr", "  resolved at the last leg (FCR)", "{:.1%}"),
    ("hold_between_legs_s", "  caller on hold between legs (s)", "{:.1f}"),
    ("lost_between_legs", "  callers lost between legs", "{:,.1f}"),
)

# The IVR menu (sim.stages.ivr), shown when the scenario has an ivr block.
IVR_ROWS: tuple[tuple[str, str, str], ...] = (
    ("ivr_entries", "Callers in the IVR menu", "{:,.0f}"),
    ("ivr_hang_up_rate", "  hung up in the menu", "{:.1%}"),
    ("ivr_self_service_rate", "  self-served in the menu", "{:.1%}"),
    ("ivr_s_per_entry", "  menu time (s/caller)", "{:.1f}"),
    ("ivr_minutes", "IVR minutes", "{:,.0f}"),
)

# Needs served by their call or by outreach first, shown when the scenario has a needs block.
NEEDS_ROWS: tuple[tuple[str, str, str], ...] = (
    ("needs_arisen", "Needs arisen (needs block)", "{:,.0f}"),
    ("needs_served_inbound", "  served by the call", "{:,.0f}"),
    ("needs_served_outreach", "  served by outreach first", "{:,.0f}"),
    ("needs_open_at_end", "  open at the end", "{:,.0f}"),
    ("needs_outreach_share", "  share served by outreach", "{:.1%}"),
    ("needs_calls_avoided", "Calls avoided by outreach", "{:,.0f}"),
    ("needs_attempts_withdrawn", "Outreach attempts withdrawn", "{:,.0f}"),
)

ALL_ROWS = (TABLE_ROWS + QUALITY_ROWS + IDENTITY_ROWS + IVR_ROWS + OMNICHANNEL_ROWS
            + OUTBOUND_ROWS + NEEDS_ROWS + TRANSFER_ROWS + MONEY_ROWS)
"""Every row a run table may show, in reading order."""

AGENT_ROWS: tuple[tuple[str, str, str], ...] = (
    ("handled", "Handled", "{:,.0f}"),
    ("aht_s", "AHT (s)", "{:.1f}"),
    ("occupancy", "Occupancy", "{:.1%}"),
    ("utilisation", "Utilisation", "{:.1%}"),
    ("agent_hours", "Agent-hours", "{:,.1f}"),
)
"""The rows of a table per agent (``--by agent``)."""


def _cell(estimate: Any, fmt: str) -> str:
    return "-" if estimate is None else str(estimate.text(fmt))


def format_per_key(summary: dict[str, dict[str, Any]], title: str, key_name: str,
                   rows: Sequence[tuple[str, str, str]]) -> str:
    """Render ``{key: {metric: Estimate}}`` with one line per key (e.g. per agent, where
    keys are many) and one column per metric of ``rows`` that some key has."""
    columns = [(metric, label, fmt) for metric, label, fmt in rows
               if any(metric in figures for figures in summary.values())]
    header = [key_name, *(label for _, label, _ in columns)]
    body = [[key, *(_cell(figures.get(metric), fmt) for metric, _, fmt in columns)]
            for key, figures in summary.items()]
    return _aligned_table(title, header, body)


def _aligned_table(title: str, header: list[str], body: list[list[str]]) -> str:
    """An aligned text table: the first column to the left, the others to the right."""
    widths = [max(len(row[i]) for row in [header, *body]) for i in range(len(header))]
    lines = [title] if title else []
    lines.append("  ".join(h.ljust(w) if i == 0 else h.rjust(w) for i, (h, w) in enumerate(zip(header, widths))))
    lines.append("  ".join("-" * w for w in widths))
    for row in body:
        lines.append("  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths))))
    return "\n".join(lines)


def format_comparison(
    summary: dict[str, dict[str, Any]], title: str = "", rows: Sequence[tuple[str, str, str]] = TABLE_ROWS,
) -> str:
    """Render ``{policy: {metric: Estimate}}`` as an aligned text table; rows of metrics
    that no policy has (e.g. identity figures of a scenario without identity) are left out."""
    policies = list(summary)
    header = ["Metric", *policies]
    body = [[label, *(_cell(summary[p].get(metric), fmt) for p in policies)]
            for metric, label, fmt in rows if any(metric in summary[p] for p in policies)]
    return _aligned_table(title, header, body)
