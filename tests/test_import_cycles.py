"""No import cycle among ccsim's modules (``sim``, ``policies``, ``reports``).

A cycle makes the result of an import depend on which module happens to be
imported first (a partly initialised module), and it forces the others to import
late. The graph is read from the source with ``ast``: imports that run when a module
is loaded count; those inside functions and under ``if TYPE_CHECKING:`` do not.
"""

from __future__ import annotations

import ast
import graphlib
from collections.abc import Collection, Iterator, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("sim", "policies", "reports")


def _modules(root: Path, packages: Sequence[str]) -> dict[str, Path]:
    """Dotted module name -> source file, for every module of ``packages`` under ``root``."""
    found: dict[str, Path] = {}
    for package in packages:
        for path in sorted((root / package).rglob("*.py")):
            parts = path.relative_to(root).with_suffix("").parts
            found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def _is_type_checking(test: ast.expr) -> bool:
    """``TYPE_CHECKING`` or ``typing.TYPE_CHECKING``."""
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _load_time_imports(body: list[ast.stmt]) -> Iterator[ast.Import | ast.ImportFrom]:
    """The import statements of ``body`` that run when the module is loaded."""
    for node in body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue  # runs when called
        elif isinstance(node, ast.If) and _is_type_checking(node.test):
            yield from _load_time_imports(node.orelse)  # the body is for type checkers
        else:  # class bodies, if/try/with/for/match blocks run at load time
            for child in ast.iter_child_nodes(node):
                if isinstance(child, (ast.ExceptHandler, ast.match_case)):
                    yield from _load_time_imports(child.body)
                elif isinstance(child, ast.stmt):
                    yield from _load_time_imports([child])


def _imported(node: ast.Import | ast.ImportFrom, module: str, is_package: bool,
              modules: Collection[str]) -> set[str]:
    """The modules that ``node`` (in ``module``) names: for ``from X import n``, ``X.n``
    if that is a module, else ``X`` (whose code defines ``n``)."""
    if isinstance(node, ast.Import):
        return {alias.name for alias in node.names}
    base = node.module or ""
    if node.level:
        package = module if is_package else module.rpartition(".")[0]
        for _ in range(node.level - 1):
            package = package.rpartition(".")[0]
        base = f"{package}.{base}" if base else package
    return {f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base
            for alias in node.names}


def _enclosing(module: str) -> set[str]:
    """The packages that hold ``module``: ``a.b.c`` -> ``{a, a.b}``."""
    parts = module.split(".")
    return {".".join(parts[:i]) for i in range(1, len(parts))}


def import_graph(root: Path, packages: Sequence[str]) -> dict[str, set[str]]:
    """Module -> the project modules it imports at load time.

    Importing ``a.b.c`` also runs ``a`` and ``a.b``: those count too, except the
    importer's own enclosing packages, which are already loading when it runs
    (unless it imports a name from one of them).
    """
    modules = _modules(root, packages)
    graph: dict[str, set[str]] = {}
    for module, path in modules.items():
        is_package = path.name == "__init__.py"
        own = _enclosing(module) | ({module} if is_package else set())
        edges: set[str] = set()
        for node in _load_time_imports(ast.parse(path.read_text(), str(path)).body):
            for target in _imported(node, module, is_package, modules):
                edges |= {target, *(_enclosing(target) - own)}
        graph[module] = {target for target in edges if target in modules} - {module}
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle of ``graph`` as ``[a, b, ..., a]``, or None."""
    try:
        graphlib.TopologicalSorter(graph).prepare()
    except graphlib.CycleError as exc:
        cycle: list[str] = exc.args[1]
        return cycle
    return None


def test_no_import_cycle() -> None:
    graph = import_graph(ROOT, PACKAGES)
    assert {"sim", "sim.cli", "sim.kernel.trace", "policies.base", "reports.compare"} <= set(graph)
    cycle = find_cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_the_check_sees_load_time_cycles_only(tmp_path: Path) -> None:
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("from .a import A\n")
    (package / "a.py").write_text("from pkg import b\nA = 1\n")
    (package / "b.py").write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from pkg.a import A\n"
        "def late() -> None:\n    from . import a\n")
    assert find_cycle(import_graph(tmp_path, ["pkg"])) is None

    (package / "b.py").write_text("try:\n    from . import a\nexcept ImportError:\n    pass\n")
    cycle = find_cycle(import_graph(tmp_path, ["pkg"]))
    assert cycle is not None and {"pkg.a", "pkg.b"} <= set(cycle)
