"""YAML input with fixed bounds: size, nesting depth and alias expansion.

A scenario is a few kilobytes; these bounds are far above that and protect the reader
from hostile input, which PyYAML alone does not: a "billion laughs" file (each alias
list repeating the previous one ten times) composes into a small graph but expands
exponentially in everything that walks it, and a few thousand nested brackets exhaust
the recursion of the composer. Both are detected while composing, in time linear in the
file. No flag lifts these bounds.
"""

from __future__ import annotations

from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

MAX_YAML_BYTES = 512 * 1024
MAX_DEPTH = 50
"""Nested lists and mappings; scenarios need about ten."""
MAX_NODES = 500_000
"""Values of a document with every alias expanded (a 512 KB file without aliases has
fewer)."""


class YamlLimitError(ValueError):
    """YAML beyond a fixed bound; ``line`` (1-based) is where it was found, if known."""

    def __init__(self, line: int | None, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.message = message


class _BoundedLoader(yaml.SafeLoader):
    """A safe loader whose composer counts nesting depth and expanded size."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self._depth = 0
        self._sizes: dict[int, int] = {}
        """id(node) -> its value count with aliases expanded, once the node is complete."""

    def compose_node(self, parent: Node | None, index: Any) -> Node:
        event = self.peek_event()
        line = event.start_mark.line + 1
        if isinstance(event, yaml.AliasEvent):
            node = super().compose_node(parent, index)
            if id(node) not in self._sizes:
                raise YamlLimitError(line, (
                    f"alias *{event.anchor} is used inside the value it names, which would "
                    "make it endless; allowed: aliases of values defined before them"))
            return node
        self._depth += 1
        if self._depth > MAX_DEPTH:
            raise YamlLimitError(line, (
                f"YAML nested deeper than {MAX_DEPTH} levels; allowed: at most {MAX_DEPTH} "
                "levels of lists and mappings inside one another"))
        try:
            node = super().compose_node(parent, index)
        finally:
            self._depth -= 1
        children: list[Node] = (
            [part for pair in node.value for part in pair] if isinstance(node, MappingNode)
            else node.value if isinstance(node, SequenceNode) else [])
        size = 1 + sum(self._sizes[id(child)] for child in children)
        if size > MAX_NODES:
            raise YamlLimitError(line, (
                f"YAML with aliases (*name) expanded holds more than {MAX_NODES} values; "
                f"allowed: at most {MAX_NODES} values once every alias is expanded"))
        self._sizes[id(node)] = size
        return node


def compose(text: str) -> Node | None:
    """The YAML node tree of ``text`` (``None`` when empty), within the bounds.

    Raises ``YamlLimitError`` beyond a bound and ``yaml.YAMLError`` on a syntax error.
    """
    if len(text.encode("utf-8")) > MAX_YAML_BYTES:
        raise YamlLimitError(None, (
            f"YAML larger than {MAX_YAML_BYTES // 1024} KB; allowed: at most "
            f"{MAX_YAML_BYTES // 1024} KB (put long lists of samples in an empirical file:)"))
    loader = _BoundedLoader(text)
    try:
        return loader.get_single_node()
    finally:
        loader.dispose()


def construct(root: Node | None) -> Any:
    """The Python data of a tree from ``compose``, as ``yaml.safe_load`` would give.

    Builds from a copy: resolving merge keys (``<<: *base``) rewrites mappings in place,
    and the caller's tree must keep the lines as written for its messages.
    """
    if root is None:
        return None
    loader = yaml.SafeLoader("")
    try:
        return loader.construct_document(_copy(root, {}))
    finally:
        loader.dispose()


def load(text: str) -> Any:
    """``yaml.safe_load(text)`` within the bounds (raises as ``compose``)."""
    return construct(compose(text))


def _copy(node: Node, copies: dict[int, Node]) -> Node:
    """A copy of the tree at ``node`` that shares what the original shares (aliases);
    recursion is as deep as the nesting, which ``compose`` bounded."""
    done = copies.get(id(node))
    if done is not None:
        return done
    if isinstance(node, ScalarNode):
        copy: Node = ScalarNode(node.tag, node.value, node.start_mark, node.end_mark,
                                style=node.style)
        copies[id(node)] = copy
    elif isinstance(node, SequenceNode):
        copy = SequenceNode(node.tag, [], node.start_mark, node.end_mark,
                            flow_style=node.flow_style)
        copies[id(node)] = copy
        copy.value = [_copy(item, copies) for item in node.value]
    else:
        copy = MappingNode(node.tag, [], node.start_mark, node.end_mark,
                           flow_style=node.flow_style)
        copies[id(node)] = copy
        copy.value = [(_copy(key, copies), _copy(value, copies)) for key, value in node.value]
    return copy
