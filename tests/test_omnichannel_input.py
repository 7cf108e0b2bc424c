"""Malformed omnichannel blocks (channels, agent capacity, blending, retrial, callback,
journey, outbound) fail with one readable message each:
``FILE:LINE: field.path: what is wrong; allowed: ...`` through ``ccsim validate`` and
``ccsim run``, like every other scenario mistake (see test_bad_input.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_bad_input import At, Case, check_case, edit

from sim.cli import main

OMNI_BASE = """\
name: omni-input
run:
  duration: 8h
  replications: 2
  seed: 1
  interval: 1h
channels:
  voice: {service_level: 20s}
  chat: {service_level: 60s, concurrency_factor: 0.25}
  email: {service_level: 4h, deferrable: true}
blending: {deferrable_max_share: 0.3}
contact_types:
  calls:
    channel: voice
    arrivals:
      rate: 300/h
    handle_time: {dist: exponential, mean: 3min}
    patience: {dist: exponential, mean: 5min}
    retrial:
      probability: 0.5
      delay: {dist: exponential, mean: 10min}
      switch: {chat: 0.3}
    callback:
      threshold: 90s
      accept: 0.5
    journey: {start: app, share: 0.2, recognised: 0.8}
  chat:
    channel: chat
    arrivals:
      rate: 200/h
    handle_time: {dist: exponential, mean: 6min}
    patience: {dist: exponential, mean: 3min}
  email:
    channel: email
    arrivals:
      rate: 50/h
    handle_time: {dist: exponential, mean: 5min}
agents:
  floor:
    count: 20
    skills: [calls, chat, email]
    capacity: [{voice: 1}, {chat: 3}, {chat: 2, email: 1}]
  digital:
    count: 10
    skills: [chat, email]
    capacity:
      - {chat: 3}
      - {email: 1}
  night:
    count: 0
    skills: [calls]
routing:
  policy: fcfs
customers:
  population: 1000
  tiers: {standard: 1.0}
  languages: {en: 1.0}
  channels: {voice: 0.6, app: 0.3, chat: 0.1}
  value: {mean: 20000}
outbound:
  strategies: [fixed_time, predicted_best_time]
  groups: [floor]
  max_share: 0.3
  campaigns:
    reminder:
      trigger: list
      per_day: 100
      channels: [voice, app]
      hours: [8, 21]
      handle_time: {dist: exponential, mean: 2min}
    follow_up:
      trigger: signal
      rate: 10/h
      channels: [voice]
      handle_time: {dist: exponential, mean: 4min}
"""

CHANNELS_BLOCK = OMNI_BASE[OMNI_BASE.index("channels:\n"):OMNI_BASE.index("contact_types:")]
FLOOR_CAPACITY = "[{voice: 1}, {chat: 3}, {chat: 2, email: 1}]"


def omni(old: str, new: str) -> str:
    return edit(old, new, OMNI_BASE)


def without(start: str, end: str, text: str = OMNI_BASE) -> str:
    """``text`` without the lines from ``start`` up to (not including) ``end``."""
    return text[:text.index(start)] + text[text.index(end):]


CASES = [
    # --- capacity mixes -----------------------------------------------------------
    Case("capacity 0 for a channel the group serves",
         omni("      - {chat: 3}\n      - {email: 1}", "      - {chat: 0}\n      - {email: 1}"),
         "agents.digital.capacity", At("capacity:", 2), "allowed: a mix with chat of 1 or more",
         ("capacity 0 for channel 'chat'", "serves 'chat'")),
    Case("capacity that allows no work", omni(FLOOR_CAPACITY, "[{voice: 0}]"),
         "agents.floor.capacity", At("capacity: [{voice: 0}]"),
         "allowed: a list of mixes with counts of 1 or more", ("no mix allows any contact",)),
    Case("negative count in a mix", omni("      - {email: 1}", "      - {email: -1}"),
         "agents.digital.capacity.1.email", At("- {email: -1}"),
         "allowed: a whole number of 0 or more", ("-1 contacts",)),
    Case("negative count that cancels a positive one",
         omni(FLOOR_CAPACITY, "[{voice: 1, chat: -1}]"), "agents.floor.capacity.0.chat",
         At("capacity: [{voice: 1, chat: -1}]"), "allowed: a whole number of 0 or more",
         ("-1 contacts",)),
    Case("count in a mix not a whole number", omni(FLOOR_CAPACITY, "[{voice: many}]"),
         "agents.floor.capacity.0.voice", At("capacity: [{voice: many}]"),
         "allowed: a whole number", ("'many'",)),
    Case("unknown channel in a mix", omni("{chat: 2, email: 1}", "{chat: 2, fax: 1}"),
         "agents.floor.capacity.2.fax", At("fax: 1"), "allowed: voice, chat, email",
         ("unknown channel 'fax'",)),
    Case("unknown channel in a mix without a channels block",
         edit("{chat: 2, email: 1}", "{chat: 2, fax: 1}", OMNI_BASE.replace(CHANNELS_BLOCK, "")),
         "agents.floor.capacity.2.fax", At("fax: 1"), "allowed: voice, chat, email",
         ("unknown channel 'fax'",)),
    Case("mobile agents holding several contacts",
         omni("    count: 0\n    skills: [calls]\n",
              "    count: 0\n    skills: [calls]\n    capacity: [{voice: 2}]\n"
              "    mobile: {ring: {dist: constant, value: 10s}, answer: 0.8}\n"),
         "agents.night.capacity", At("capacity: [{voice: 2}]"),
         "allowed: mixes of one contact each", ("one call at a time",)),
    # --- channels and blending ----------------------------------------------------
    Case("contact type channel not among channels", omni("    channel: chat\n",
                                                         "    channel: sms\n"),
         "contact_types.chat.channel", At("channel: sms"),
         "allowed: a channel under channels (voice, chat, email)", ("unknown channel 'sms'",)),
    Case("negative concurrency factor", omni("concurrency_factor: 0.25", "concurrency_factor: -1"),
         "channels.chat.concurrency_factor", At("concurrency_factor:"), "allowed: 0 or more"),
    Case("unknown key in a channel", omni("deferrable: true}", "deferable: true}"),
         "channels.email.deferable", At("deferable:"),
         "allowed here: service_level, concurrency_factor, deferrable",
         ("did you mean 'deferrable'?",)),
    Case("deferrable share above 1", omni("deferrable_max_share: 0.3", "deferrable_max_share: 1.3"),
         "blending.deferrable_max_share", At("blending:"), "allowed: 1 or less"),
    # --- callback, journey, retrial -----------------------------------------------
    Case("negative callback threshold", omni("threshold: 90s", "threshold: -5s"),
         "contact_types.calls.callback.threshold", At("threshold: -5s"),
         "allowed: a duration", ("'-5s' is negative",)),
    Case("callback accept above 1", omni("accept: 0.5", "accept: 1.5"),
         "contact_types.calls.callback.accept", At("accept: 1.5"), "allowed: 1 or less"),
    Case("unknown callback mode", omni("      accept: 0.5\n", "      accept: 0.5\n      mode: later\n"),
         "contact_types.calls.callback.mode", At("mode: later"),
         "allowed: virtual_hold, scheduled", ("'later'",)),
    Case("journey share above 1", omni("share: 0.2, recognised", "share: 1.2, recognised"),
         "contact_types.calls.journey.share", At("journey:"), "allowed: 1 or less"),
    Case("retrial switch to an unknown contact type",
         omni("switch: {chat: 0.3}", "switch: {chatbot: 0.3}"),
         "contact_types.calls.retrial.switch.chatbot", At("switch:"),
         "allowed: calls, chat, email", ("unknown contact type 'chatbot'",)),
    Case("retrial switch shares above 1",
         omni("switch: {chat: 0.3}", "switch: {chat: 0.6, email: 0.5}"),
         "contact_types.calls.retrial.switch", At("switch:"), "allowed: a sum of at most 1",
         ("sum to 1.1",)),
    # --- outbound: who dials ------------------------------------------------------
    Case("outbound max_share 0", omni("  max_share: 0.3", "  max_share: 0"),
         "outbound.max_share", At("  max_share:"), "allowed: 1/20 (0.05) or more",
         ("less than one agent", "'floor'")),
    Case("outbound max_share below one agent", omni("  max_share: 0.3", "  max_share: 0.04"),
         "outbound.max_share", At("  max_share:"), "allowed: 1/20 (0.05) or more",
         ("0.04 of at most 20 agents",)),
    Case("unknown group in outbound.groups", omni("groups: [floor]", "groups: [floor, backoffice]"),
         "outbound.groups.1", At("groups: [floor, backoffice]"),
         "allowed: floor, digital, night", ("unknown agent group 'backoffice'",)),
    Case("outbound groups with 0 agents all day", omni("groups: [floor]", "groups: [night]"),
         "outbound.groups", At("groups: [night]"),
         "allowed: groups with agents on duty (floor, digital)",
         ("group 'night' has 0 agents on duty all day",)),
    Case("empty outbound.groups", omni("groups: [floor]", "groups: []"), "outbound.groups",
         At("groups: []"), "allowed: at least 1"),
    # --- outbound: customers, strategies, run -------------------------------------
    Case("outbound without customers", without("customers:", "outbound:"), "outbound",
         At("outbound:"), "allowed: add customers, or remove outbound",
         ("no customers block",)),
    Case("unknown outbound strategy", omni("strategies: [fixed_time, predicted_best_time]",
                                           "strategies: [fixed_time, best_hour]"),
         "outbound.strategies.1", At("strategies:"), "known: fixed_time, predicted_best_time",
         ("'best_hour'",)),
    Case("bad outbound strategy parameter",
         omni("  max_share: 0.3\n", "  max_share: 0.3\n  predicted_best_time: {horizon: -1h}\n"),
         "outbound.predicted_best_time.horizon", At("predicted_best_time: {horizon"),
         "allowed: a duration", ("'-1h' is negative",)),
    # --- outbound: campaigns ------------------------------------------------------
    Case("list campaign without per_day", omni("      per_day: 100\n", ""),
         "outbound.campaigns.reminder.per_day", At("reminder:"),
         "allowed: a whole number of customers per day", ("needs per_day",)),
    Case("signal campaign without rate", omni("      rate: 10/h\n", ""),
         "outbound.campaigns.follow_up.rate", At("follow_up:"), "allowed: a rate",
         ("needs rate",)),
    Case("campaign hours that wrap midnight", omni("hours: [8, 21]", "hours: [21, 8]"),
         "outbound.campaigns.reminder.hours", At("hours: [21, 8]"),
         "allowed: [start, end] with 0 <= start < end <= 24", ("[21, 8]",)),
    Case("campaign hours past the day", omni("hours: [8, 21]", "hours: [8, 30]"),
         "outbound.campaigns.reminder.hours", At("hours: [8, 30]"),
         "allowed: [start, end] with 0 <= start < end <= 24", ("[8, 30]",)),
    Case("campaign fixed hour past the day",
         omni("      hours: [8, 21]\n", "      hours: [8, 21]\n      fixed_hour: 24\n"),
         "outbound.campaigns.reminder.fixed_hour", At("fixed_hour:"), "allowed: 23 or less"),
    Case("unknown campaign trigger", omni("trigger: list", "trigger: schedule"),
         "outbound.campaigns.reminder.trigger", At("trigger: schedule"),
         "allowed: list, signal", ("'schedule'",)),
    Case("campaign channel no customer uses",
         omni("channels: [voice, app]", "channels: [voice, email]"),
         "outbound.campaigns.reminder.channels.1", At("channels: [voice, email]"),
         "allowed: voice, app, chat", ("not among customers.channels",)),
    Case("no campaigns", omni("  campaigns:\n", "  campaigns: {}\n  old_campaigns:\n"),
         "outbound.campaigns", At("campaigns: {}"), "allowed: at least 1"),
]


def test_omnichannel_base_is_valid(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "ok.yaml"
    path.write_text(OMNI_BASE)
    assert main(["validate", str(path)]) == 0, capsys.readouterr().err


def test_cases_are_distinct() -> None:
    assert len({c.id for c in CASES}) == len(CASES)
    assert len({c.yaml for c in CASES}) == len(CASES)


@pytest.mark.parametrize("command", ["validate", "run"])
@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_omnichannel_input(
    case: Case, command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    check_case(case, command, tmp_path, capsys)


def test_max_share_counts_the_dialling_groups_together(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # 0.04 of floor's 20 agents is less than one, of floor and digital's 30 it is 1.2:
    # the engine adds up the dialling groups' agents on duty, so this one may dial.
    path = tmp_path / "ok.yaml"
    path.write_text(edit("groups: [floor]", "groups: [floor, digital]",
                         omni("  max_share: 0.3", "  max_share: 0.04")))
    assert main(["validate", str(path)]) == 0, capsys.readouterr().err


@pytest.mark.parametrize("name", ["omnichannel_bank.yaml", "outbound_best_time.yaml"])
def test_shipped_omnichannel_scenarios_are_valid(
        name: str, capsys: pytest.CaptureFixture[str]) -> None:
    path = Path(__file__).parent.parent / "scenarios" / name
    assert main(["validate", str(path)]) == 0, capsys.readouterr().err
