"""Routing policies for ccsim. See ``policies.base`` for the protocol and registry."""

from .base import (
    PolicyConfigError,
    PolicyParams,
    PolicySpec,
    RoutingPolicy,
    UnknownPolicyError,
    make_policy,
    policy_spec,
    register_policy,
    registered_policies,
)

__all__ = [
    "PolicyConfigError",
    "PolicyParams",
    "PolicySpec",
    "RoutingPolicy",
    "UnknownPolicyError",
    "make_policy",
    "policy_spec",
    "register_policy",
    "registered_policies",
]
