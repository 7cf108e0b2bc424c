"""A small, safe expression language for the ``workflow`` policy's filters and targets.

``tier == 'vip' and intent in ['wealth', 'mortgage']``, ``level >= 8``,
``languages has 'es'``, ``not (group == 'trainees')``. A tokenizer and a
recursive-descent parser turn the text into nested closures once, when a policy is
built; nothing is ever handed to Python's ``eval``, ``exec`` or ``ast``, and a
decision only calls the closures.

Grammar (keywords in any case, as in TaskRouter's ``AND``/``OR``)::

    expression := conjunction ("or" conjunction)*
    conjunction := negation ("and" negation)*
    negation   := "not" negation | comparison
    comparison := operand [("==" | "!=" | "<" | "<=" | ">" | ">=") operand
                          | ["not"] "in" (list | name) | "has" operand]
    operand    := number | 'text' | "text" | true | false | name | "(" expression ")"
    list       := "[" literal ("," literal)* "]"

Names come from a fixed set of attributes, each with a kind (text, number, flag or
set of texts); the parser checks kinds (``level == 'high'`` is an error) and, where
the scenario knows the values (groups, tiers, intents, ...), the literals too.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any, Literal

Kind = Literal["text", "number", "flag", "set"]
Compiled = Callable[[Any, Any], Any]
"""A compiled expression or operand: called with the two subjects of its namespace
(a contact and nothing, or an agent and its level for the contact)."""


@dataclass(frozen=True)
class Attribute:
    """A name an expression may use: its kind, how to read it from the subjects, and
    what it means (for error messages and docs)."""

    kind: Kind
    read: Compiled
    about: str


class ExpressionError(ValueError):
    """A mistake in an expression, naming the token at fault and what is allowed there."""

    def __init__(self, message: str, token: str) -> None:
        super().__init__(message)
        self.token = token


@dataclass(frozen=True)
class _Token:
    kind: str
    """``number``, ``text``, ``name``, ``op`` or ``end``."""
    text: str
    value: Any = None


_TOKEN = re.compile(r"""\s*(?:
    (?P<number>\d+(?:\.\d*)?(?:[eE][-+]?\d+)?|\.\d+(?:[eE][-+]?\d+)?)
  | '(?P<single>[^']*)'
  | "(?P<double>[^"]*)"
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<op>==|!=|<=|>=|<|>|\(|\)|\[|\]|,)
)""", re.VERBOSE)

_KEYWORDS = frozenset({"and", "or", "not", "in", "has", "true", "false"})
_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "==": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
    "<": lambda a, b: a is not None and b is not None and a < b,
    "<=": lambda a, b: a is not None and b is not None and a <= b,
    ">": lambda a, b: a is not None and b is not None and a > b,
    ">=": lambda a, b: a is not None and b is not None and a >= b,
}


def tokenize(text: str) -> list[_Token]:
    """The tokens of ``text``, ending with an ``end`` token; an unknown character or an
    unclosed quote raises ``ExpressionError``."""
    tokens: list[_Token] = []
    position = 0
    text = text.rstrip()
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            rest = text[position:].strip()
            quote = rest[:1] in ("'", '"')
            bad = rest if quote else rest[:1]
            hint = "an unclosed quote" if quote else "a character the language lacks"
            raise ExpressionError(
                f"{bad!r}: {hint}; allowed: names, numbers, 'text', == != < <= > >=, and, "
                "or, not, in, has, ( ) [ ]", bad)
        position = match.end()
        if match["number"] is not None:
            tokens.append(_Token("number", match["number"], float(match["number"])))
        elif match["single"] is not None or match["double"] is not None:
            value = match["single"] if match["single"] is not None else match["double"]
            tokens.append(_Token("text", match.group(0).strip(), value))
        elif match["name"] is not None:
            word = match["name"]
            tokens.append(_Token("op" if word.lower() in _KEYWORDS else "name",
                                 word.lower() if word.lower() in _KEYWORDS else word))
        else:
            tokens.append(_Token("op", match["op"]))
    tokens.append(_Token("end", "end of expression"))
    return tokens


@dataclass(frozen=True)
class _Operand:
    """A parsed operand: its closure, kind, the literal value when it is one, and the
    attribute name when it is one (to check literals against the known values)."""

    read: Compiled
    kind: Kind
    literal: bool = False
    value: Any = None
    name: str | None = None


class _Parser:
    """Recursive descent over the tokens, building closures as it goes."""

    def __init__(self, text: str, names: Mapping[str, Attribute],
                 known: Mapping[str, Collection[str]]) -> None:
        self._tokens = tokenize(text)
        self._at = 0
        self._names = names
        self._known = known

    def parse(self) -> Compiled:
        result = self._expression()
        token = self._peek()
        if token.kind != "end":
            raise ExpressionError(f"{token.text!r} after a complete expression; allowed: and, "
                                  "or, or the end", token.text)
        if result.kind != "flag":
            raise ExpressionError(f"{self._tokens[0].text!r} is a {result.kind}, not a "
                                  "condition; allowed: a comparison, e.g. group == 'sales'",
                                  self._tokens[0].text)
        return result.read

    # -------------------------------------------------------------- tokens
    def _peek(self) -> _Token:
        return self._tokens[self._at]

    def _take(self) -> _Token:
        token = self._tokens[self._at]
        self._at += 1
        return token

    def _accept(self, op: str) -> bool:
        token = self._peek()
        if token.kind == "op" and token.text == op:
            self._at += 1
            return True
        return False

    def _expect(self, op: str) -> None:
        if not self._accept(op):
            token = self._peek()
            raise ExpressionError(f"{token.text!r} where {op!r} belongs", token.text)

    # -------------------------------------------------------------- grammar
    def _expression(self) -> _Operand:
        parts = [self._flag(self._conjunction())]
        while self._accept("or"):
            parts.append(self._flag(self._conjunction()))
        if len(parts) == 1:
            return parts[0]
        reads = tuple(part.read for part in parts)
        return _Operand(lambda x, y: any(read(x, y) for read in reads), "flag")

    def _conjunction(self) -> _Operand:
        first = self._negation()
        if self._peek().text != "and":
            return first
        parts = [self._flag(first)]
        while self._accept("and"):
            parts.append(self._flag(self._negation()))
        reads = tuple(part.read for part in parts)
        return _Operand(lambda x, y: all(read(x, y) for read in reads), "flag")

    def _negation(self) -> _Operand:
        if self._accept("not"):
            inner = self._flag(self._negation()).read
            return _Operand(lambda x, y: not inner(x, y), "flag")
        return self._comparison()

    def _flag(self, operand: _Operand) -> _Operand:
        """``operand`` as a condition: flags only (a bare ``tier`` means nothing)."""
        if operand.kind != "flag":
            token = self._tokens[self._at - 1].text
            raise ExpressionError(
                f"{token!r} is a {operand.kind}, not a condition; allowed: a comparison "
                "(==, !=, <, in, has) or a yes/no attribute", token)
        return operand

    def _comparison(self) -> _Operand:
        left = self._operand()
        token = self._peek()
        if token.kind != "op":
            return left
        if token.text in _COMPARE:
            self._take()
            right = self._operand()
            return self._compare(left, token.text, right)
        negate = token.text == "not" and self._tokens[self._at + 1].text == "in"
        if negate:
            self._take()
        if self._accept("in"):
            return self._membership(left, negate)
        if self._accept("has"):
            return self._membership(self._operand(), False, container=left)
        return left

    def _compare(self, left: _Operand, op: str, right: _Operand) -> _Operand:
        if left.kind != right.kind or left.kind == "set":
            raise ExpressionError(
                f"{op!r} compares a {left.kind} with a {right.kind}; allowed: two numbers, "
                "two texts or two yes/no values (sets: has, in)", op)
        if op not in ("==", "!=") and left.kind != "number":
            raise ExpressionError(f"{op!r} orders {left.kind}s; allowed: == or != (order "
                                  "compares numbers only)", op)
        self._check_known(left, right)
        self._check_known(right, left)
        compare = _COMPARE[op]
        if right.literal:
            read, value = left.read, right.value
            return _Operand(lambda x, y: compare(read(x, y), value), "flag")
        a, b = left.read, right.read
        return _Operand(lambda x, y: compare(a(x, y), b(x, y)), "flag")

    def _membership(self, item: _Operand, negate: bool,
                    container: _Operand | None = None) -> _Operand:
        if container is None:
            if self._accept("["):
                return self._in_list(item, negate)
            container = self._operand()
        if container.kind != "set":
            raise ExpressionError(f"{self._tokens[self._at - 1].text!r} is a {container.kind}, "
                                  "not a set; allowed: a list [...] or a set attribute "
                                  "(languages, dialects, skills)", self._tokens[self._at - 1].text)
        if item.kind != "text":
            raise ExpressionError(f"a {item.kind} in a set of texts; allowed: a text",
                                  self._tokens[self._at - 1].text)
        self._check_known(container, item)
        held, read = container.read, item.read
        if negate:
            return _Operand(lambda x, y: read(x, y) not in held(x, y), "flag")
        return _Operand(lambda x, y: read(x, y) in held(x, y), "flag")

    def _in_list(self, item: _Operand, negate: bool) -> _Operand:
        values = []
        while True:
            literal = self._operand()
            if not literal.literal or literal.kind != item.kind:
                token = self._tokens[self._at - 1].text
                raise ExpressionError(f"{token!r} in a list of {item.kind}s; allowed: "
                                      f"{item.kind} literals", token)
            self._check_known(item, literal)
            values.append(literal.value)
            if not self._accept(","):
                break
        self._expect("]")
        members, read = frozenset(values), item.read
        if negate:
            return _Operand(lambda x, y: read(x, y) not in members, "flag")
        return _Operand(lambda x, y: read(x, y) in members, "flag")

    def _operand(self) -> _Operand:
        token = self._take()
        if token.kind == "number":
            value = token.value
            return _Operand(lambda x, y: value, "number", True, value)
        if token.kind == "text":
            value = token.value
            return _Operand(lambda x, y: value, "text", True, value)
        if token.kind == "op" and token.text in ("true", "false"):
            value = token.text == "true"
            return _Operand(lambda x, y: value, "flag", True, value)
        if token.kind == "op" and token.text == "(":
            inner = self._expression()
            self._expect(")")
            return inner
        if token.kind == "name":
            attribute = self._names.get(token.text)
            if attribute is None:
                raise ExpressionError(f"{token.text!r} is not a name here; allowed: "
                                      f"{', '.join(sorted(self._names))}", token.text)
            return _Operand(attribute.read, attribute.kind, name=token.text)
        raise ExpressionError(f"{token.text!r} where a value belongs; allowed: a name, a "
                              "number, 'text', true, false or ( ... )", token.text)

    def _check_known(self, attribute: _Operand, literal: _Operand) -> None:
        """A text literal compared with an attribute whose values the scenario knows must
        be one of them (a misspelt group would otherwise match nobody, silently)."""
        if attribute.name is None or not literal.literal or literal.kind != "text":
            return
        known = self._known.get(attribute.name)
        if known is not None and literal.value not in known:
            raise ExpressionError(f"{literal.value!r} is not a known {attribute.name}; "
                                  f"allowed: {', '.join(sorted(known)) or '(none)'}",
                                  repr(literal.value))


def compile_expression(text: str, names: Mapping[str, Attribute],
                       known: Mapping[str, Collection[str]] | None = None) -> Compiled:
    """The closure of the condition ``text`` over the attributes ``names``.

    ``known`` lists, per attribute, the values a literal compared with it may take
    (e.g. the scenario's groups). Raises ``ExpressionError`` naming the token at fault.
    """
    return _Parser(text, names, known or {}).parse()


def names_in(text: str) -> set[str]:
    """The attribute names ``text`` mentions (e.g. whether a target reads ``level``)."""
    return {token.text for token in tokenize(text) if token.kind == "name"}
