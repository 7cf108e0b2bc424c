"""The plug-in registries: YAML names to routing policies, verification and outbound strategies.

This module imports neither pydantic nor the plug-ins: ``ccsim policies`` lists every
plug-in from here by reading the plug-in modules' source (``Registry.summaries``), and
pays for the parameter models and the scenario model only when a plug-in is used.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import inspect
import pkgutil
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from importlib.metadata import EntryPoint

    from policies.base import PolicyParams, PolicySpec

P = TypeVar("P")


class Registry:
    """Names to plug-in specs for one kind of plug-in, discovered lazily.

    Every module of ``package`` is imported once on first use, and every entry
    point of ``entry_group``, so a plug-in registers itself by being there.
    ``decorator`` is the name the package's modules call ``register`` by: the
    listing of ``summaries`` finds the plug-ins by it without importing them.
    """

    def __init__(self, kind: str, package: str, entry_group: str, decorator: str) -> None:
        self.kind = kind
        self._package = package
        self._entry_group = entry_group
        self._decorator = decorator
        self._specs: dict[str, PolicySpec] = {}
        self._discovered = False

    def register(self, name: str,
                 params: type[PolicyParams] | None = None) -> Callable[[P], P]:
        """Class decorator: make a plug-in available under ``name``.

        The class is constructed as ``cls(params, scenario)`` with validated ``params``
        (an instance of ``params``; default ``PolicyParams``, which takes no parameters).
        """
        from policies.base import PolicyParams, PolicySpec  # a plug-in module loads them anyway

        def decorate(cls: P) -> P:
            if name in self._specs and self._specs[name].factory is not cls:
                raise ValueError(f"{self.kind} name {name!r} is already registered")
            summary = _summary(getattr(cls, "__doc__", None))
            self._specs[name] = PolicySpec(name, params or PolicyParams, cls,  # type: ignore[arg-type]
                                           summary)
            setattr(cls, "name", name)
            return cls

        return decorate

    def specs(self) -> dict[str, PolicySpec]:
        """Every known plug-in by name."""
        if not self._discovered:
            self._discovered = True
            for module in self._modules():
                importlib.import_module(f"{self._package}.{module.name}")
            for entry in _entry_points(self._entry_group):
                entry.load()
        return dict(self._specs)

    def summaries(self) -> dict[str, str]:
        """Every known plug-in's summary (the first paragraph of its docstring).

        The package's modules are read, not imported: importing them builds every
        parameter model and pulls in numpy and the scenario model, several times the
        cost of ``ccsim policies`` itself. So a plug-in there must be a module-level
        class decorated with ``@decorator("name", ...)``, the name a literal.
        Entry-point plug-ins are imported (their source is not ours to read).
        """
        if self._discovered:
            return {name: spec.summary for name, spec in self._specs.items()}
        found: dict[str, str] = {}
        for module in self._modules():
            # The module's own finder: ``importlib.util.find_spec`` would import the package.
            spec = module.module_finder.find_spec(  # type: ignore[call-arg]
                f"{self._package}.{module.name}", None)
            assert spec is not None and spec.origin is not None
            found.update(_declared(Path(spec.origin).read_text(encoding="utf-8"),
                                   self._decorator))
        for entry in _entry_points(self._entry_group):
            entry.load()
        # Plug-ins registered so far: entry points, and any registered at run time.
        found.update({name: spec.summary for name, spec in self._specs.items()})
        return found

    def spec(self, name: str, where: tuple[str | int, ...] = ()) -> PolicySpec:
        """The plug-in ``name``; unknown names raise an error listing the known ones."""
        from policies.base import PolicyConfigError, UnknownPolicyError

        known = self.specs()
        if name not in known:
            message = f"unknown {self.kind} {name!r}; known: {', '.join(sorted(known))}"
            raise PolicyConfigError(where, message) if where else UnknownPolicyError(message)
        return known[name]

    def _modules(self) -> list[pkgutil.ModuleInfo]:
        """The package's plug-in modules (every module but ``base`` and this one), found
        without running the package's own ``__init__``."""
        package = importlib.util.find_spec(self._package)
        assert package is not None and package.submodule_search_locations is not None
        return [module for module in pkgutil.iter_modules(package.submodule_search_locations)
                if module.name not in ("base", "registry")]


@cache
def _installed_entry_points() -> Any:
    """Every installed distribution's entry points, read once per process whichever
    registries ask (each read scans every distribution's metadata)."""
    from importlib.metadata import entry_points

    return entry_points()


def _entry_points(group: str) -> tuple[EntryPoint, ...]:
    # ``select`` on what entry_points() returns: groups (Python 3.11) or entry points (3.12+).
    return tuple(_installed_entry_points().select(group=group))


def _summary(doc: str | None) -> str:
    """The first paragraph of a plug-in class's docstring on one line, or ``""`` (a summary
    may run over several lines; the first alone would stop mid-sentence)."""
    paragraph = inspect.cleandoc(doc or "").split("\n\n", 1)[0]
    return " ".join(paragraph.split())


def _declared(source: str, decorator: str) -> dict[str, str]:
    """Name and summary of each module-level class of ``source`` decorated with
    ``@decorator("name", ...)``."""
    found: dict[str, str] = {}
    for node in ast.parse(source).body:
        if not isinstance(node, ast.ClassDef):
            continue
        for call in node.decorator_list:
            if (isinstance(call, ast.Call) and isinstance(call.func, ast.Name)
                    and call.func.id == decorator and call.args
                    and isinstance(call.args[0], ast.Constant)
                    and isinstance(call.args[0].value, str)):
                found[call.args[0].value] = _summary(ast.get_docstring(node))
    return found


ROUTING_POLICIES = Registry("routing policy", "policies", "ccsim.policies", "register_policy")
VERIFICATION_STRATEGIES = Registry(
    "verification strategy", "policies.verification", "ccsim.verification", "register_strategy")
OUTBOUND_STRATEGIES = Registry(
    "outbound strategy", "policies.outbound", "ccsim.outbound", "register_outbound")
