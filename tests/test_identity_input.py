"""Malformed customers/identity blocks fail with one readable message each:
``FILE:LINE: field.path: what is wrong; allowed: ...`` through ``ccsim validate`` and
``ccsim run``, like every other scenario mistake (see test_bad_input.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_bad_input import BASE, At, Case, check_case, edit

from sim.cli import main

IDENTITY_BASE = BASE + """\
customers:
  population: 1000
  tiers: {standard: 0.9, vip: 0.1}
  languages: {en: 1.0}
  value: {mean: 20000}
  fraud:
    share: 0.01
    spoof: 0.4
    intents: {wire: 1.0}
identity:
  ivr_time: {dist: constant, value: 30s}
  intents:
    balance: {share: 0.6, risk: low, self_service: 0.5}
    wire: {share: 0.4, risk: high}
  methods:
    knowledge_questions:
      questions: 3
      time: {dist: constant, value: 20s}
      genuine_fail: 0.2
      fraud_pass: 0.6
    otp:
      time: {dist: constant, value: 40s}
      delivery_failure: 0.05
      fraud_pass: 0.05
  verification:
    strategy: [kba_all, passive_stepup]
    passive_stepup:
      step_up: {low: [otp], medium: [otp, knowledge_questions], high: [otp, knowledge_questions]}
  agent_cost_per_hour: 20
  loss_per_fraud: 1000
"""


def ident(old: str, new: str) -> str:
    return edit(old, new, IDENTITY_BASE)


CASES = [
    Case("probability above 1", ident("genuine_fail: 0.2", "genuine_fail: 1.2"),
         "identity.methods.knowledge_questions.genuine_fail", At("genuine_fail:"),
         "allowed: 1 or less"),
    Case("negative probability", ident("spoof: 0.4", "spoof: -0.1"),
         "customers.fraud.spoof", At("spoof:"), "allowed: 0 or more"),
    Case("tier shares do not sum to 1", ident("vip: 0.1}", "vip: 0.2}"),
         "customers.tiers", At("tiers:"), "shares that sum to 1", ("1.1",)),
    Case("intent shares do not sum to 1", ident("share: 0.4, risk: high", "share: 0.5, risk: high"),
         "identity.intents", At("  intents:\n".strip(), 2), "shares that sum to 1"),
    Case("intent without a risk level", ident("wire: {share: 0.4, risk: high}",
                                              "wire: {share: 0.4}"),
         "identity.intents.wire.risk", At("wire: {share"), "required here: share, risk",
         ("missing required key 'risk'",)),
    Case("unknown risk level", ident("risk: high", "risk: extreme"),
         "identity.intents.wire.risk", At("risk: extreme"), "allowed: low, medium, high"),
    Case("unknown verification strategy", ident("strategy: [kba_all, passive_stepup]",
                                                "strategy: [kba_all, face_id]"),
         "identity.verification.strategy.1", At("strategy:"), "known: biometric, kba_all",
         ("face_id",)),
    Case("strategy uses a method that is not configured",
         ident("strategy: [kba_all, passive_stepup]",
               "strategy: biometric\n    biometric: {fallback: [manual_check]}"),
         "identity.verification.biometric.method", At("biometric: {fallback"),
         "configured: knowledge_questions, otp", ("voice_biometrics",)),
    Case("strategy parameter names an unconfigured method",
         ident("strategy: [kba_all, passive_stepup]",
               "strategy: kba_all\n    kba_all: {escalate_to: [manual_check]}"),
         "identity.verification.kba_all.escalate_to.0", At("kba_all: {escalate_to"),
         "configured: knowledge_questions, otp", ("manual_check",)),
    Case("listed strategy whose default parameters name an unconfigured method",
         ident("      step_up: {low: [otp], medium: [otp, knowledge_questions], high: [otp, "
               "knowledge_questions]}\n", "      trusted: {low: [], medium: [], high: []}\n"),
         "identity.verification.passive_stepup.step_up.high.1", At("passive_stepup:"),
         "configured: knowledge_questions, otp", ("'manual_check' (default value)",)),
    Case("empty strategy list", ident("strategy: [kba_all, passive_stepup]", "strategy: []"),
         "identity.verification.strategy", At("strategy: []"), "at least 1"),
    Case("contact channel no customer uses", ident("  general:\n    arrivals:",
                                                   "  general:\n    channel: fax\n    arrivals:"),
         "contact_types.general.channel", At("channel: fax"), "allowed: voice"),
    Case("routing policy without its required parameters",
         ident("policy: fcfs", "policy: fraud_desk"), "routing.fraud_desk.desk",
         At("routing:"), "missing required key 'desk'"),
    Case("unknown method", ident("    otp:\n", "    sms_code:\n"),
         "identity.methods.sms_code", At("sms_code:"),
         "knowledge_questions, otp, voice_biometrics, manual_check"),
    Case("fraud intent not among intents", ident("intents: {wire: 1.0}",
                                                 "intents: {wire_transfer: 1.0}"),
         "customers.fraud.intents.wire_transfer", At("intents: {wire_transfer"),
         "an intent under identity.intents (balance, wire)"),
    Case("identity without customers",
         IDENTITY_BASE[:IDENTITY_BASE.index("customers:")] + IDENTITY_BASE[
             IDENTITY_BASE.index("identity:"):],
         "identity", At("identity:"), "add customers"),
    Case("habit window not whole hours", ident("  population: 1000\n",
                                               "  population: 1000\n  habit_window: 90min\n"),
         "customers.habit_window", At("habit_window:"), "whole hours"),
]


def test_identity_base_is_valid(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "ok.yaml"
    path.write_text(IDENTITY_BASE)
    assert main(["validate", str(path)]) == 0, capsys.readouterr().err


@pytest.mark.parametrize("command", ["validate", "run"])
@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_identity_input(
    case: Case, command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    check_case(case, command, tmp_path, capsys)


def test_verification_flag_rejects_unknown_strategy(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "ok.yaml"
    path.write_text(IDENTITY_BASE)
    assert main(["run", str(path), "--verification", "face_id"]) == 2
    error = capsys.readouterr().err
    assert "--verification" in error and "face_id" in error and "kba_all" in error


def test_verification_flag_needs_an_identity_block(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "plain.yaml"
    path.write_text(BASE)
    assert main(["run", str(path), "--verification", "kba_all"]) == 2
    assert "no identity block" in capsys.readouterr().err
