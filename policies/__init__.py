"""Routing policies for ccsim. See ``policies.base`` for the protocol and
``policies.registry`` for the registries.

The names below load ``policies.base`` (and with it pydantic) on first use, so that a
command that only lists the plug-ins (``ccsim policies``) never loads it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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


def __getattr__(name: str) -> Any:
    if name in __all__:
        return getattr(importlib.import_module("policies.base"), name)
    raise AttributeError(f"module 'policies' has no attribute {name!r}")
