"""Translate the JUEL subset Camunda 7 diagrams use into the engine's Python expressions.

Supported (one ``${...}`` or ``#{...}`` holding the whole value): variables, ``var.prop``
and ``var['key']`` (task data are dicts), string and number literals, ``true``,
``false``, ``null``, comparisons (``== != < > <= >=`` and ``eq ne lt gt le ge``),
``&& || !`` and ``and or not``, ``empty`` / ``not empty``, ``+ - * / %`` (``div``,
``mod``), parentheses and ``cond ? a : b``, and ``execution.getVariable("x")``.
Anything else (method calls on beans, ``execution``/``task`` objects, functions,
lambdas, text around the expression) raises :class:`OutsideSubset` naming what.

Every operation is parenthesised in the output, so JUEL's precedence is kept whatever
Python's is (``!a == b`` is ``(not a) == b`` in JUEL, ``not (a == b)`` in Python).
"""

from __future__ import annotations

import keyword
import re
from dataclasses import dataclass

__all__ = ["OutsideSubset", "is_expression", "translate", "translate_value"]


class OutsideSubset(ValueError):
    """The expression uses JUEL the importer does not translate; the message says what."""


_WRAPPED = re.compile(r"^\s*[$#]\{(.*)\}\s*$", re.S)
_TOKEN = re.compile(
    r"""\s*(?:
        (?P<number>\d+\.\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?|\d+(?:[eE][+-]?\d+)?)
      | (?P<string>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")
      | (?P<op>&&|\|\||==|!=|<=|>=|[<>!()\[\].?:+\-*/%,])
      | (?P<name>[A-Za-z_$][A-Za-z0-9_$]*)
    )""",
    re.X | re.S,
)
_WORD_OPS = {
    "and": "&&", "or": "||", "not": "!", "eq": "==", "ne": "!=",
    "lt": "<", "gt": ">", "le": "<=", "ge": ">=", "div": "/", "mod": "%",
}  # fmt: skip
_LITERALS = {"true": "True", "false": "False", "null": "None"}
_OBJECTS = {"execution", "task", "authenticatedUserId", "variables", "connector"}
_PY_OPS = {"&&": "and", "||": "or", "==": "==", "!=": "!=", "<": "<", ">": ">",
           "<=": "<=", ">=": ">=", "+": "+", "-": "-", "*": "*", "/": "/", "%": "%"}  # fmt: skip


def is_expression(text: str | None) -> bool:
    """Whether ``text`` holds a JUEL expression (``${...}`` or ``#{...}`` anywhere)."""
    return bool(text) and ("${" in text or "#{" in text)  # type: ignore[operator]


def translate(text: str) -> str:
    """The Python expression for a JUEL value expression (``${...}`` around the whole)."""
    match = _WRAPPED.match(text or "")
    if not match:
        if is_expression(text):
            raise OutsideSubset(
                "text around ${...} (a JUEL composite expression) is not translated"
            )
        raise OutsideSubset("not a JUEL expression (expected ${...})")
    inner = match.group(1)
    if "${" in inner or "#{" in inner:
        raise OutsideSubset("several ${...} in one value are not translated")
    return _Parser(_tokens(inner)).parse()


def translate_value(text: str) -> str:
    """A Python expression for a Camunda attribute value: JUEL translated, plain text quoted.

    ``${initiator}`` -> ``initiator``; ``demo`` -> ``'demo'``.
    """
    if is_expression(text):
        return translate(text)
    return repr(text.strip())


@dataclass(frozen=True)
class _Tok:
    kind: str  # number, string, op, name, end
    text: str


def _tokens(source: str) -> list[_Tok]:
    result: list[_Tok] = []
    pos = 0
    while pos < len(source):
        if source[pos:].strip() == "":
            break
        match = _TOKEN.match(source, pos)
        if not match or match.end() == pos:
            bad = source[pos:].strip()[:20]
            raise OutsideSubset(f"'{bad}' is outside the JUEL subset the importer translates")
        kind = match.lastgroup or "op"
        text = match.group(kind)
        if kind == "name" and text in _WORD_OPS:
            kind, text = "op", _WORD_OPS[text]
        elif kind == "name" and text == "empty":
            kind = "op"
        result.append(_Tok(kind, text))
        pos = match.end()
    result.append(_Tok("end", ""))
    return result


class _Parser:
    """Recursive descent over JUEL's grammar, emitting fully parenthesised Python."""

    def __init__(self, tokens: list[_Tok]):
        self.tokens = tokens
        self.pos = 0

    def parse(self) -> str:
        result = self.ternary()
        if self.peek().kind != "end":
            raise OutsideSubset(f"unexpected '{self.peek().text}' in the expression")
        return result

    def peek(self) -> _Tok:
        return self.tokens[self.pos]

    def take(self, *ops: str) -> str | None:
        tok = self.peek()
        if tok.kind == "op" and tok.text in ops:
            self.pos += 1
            return tok.text
        return None

    def expect(self, op: str) -> None:
        if not self.take(op):
            found = self.peek().text or "the end"
            raise OutsideSubset(f"expected '{op}' but found '{found}'")

    def ternary(self) -> str:
        cond = self.binary(0)
        if self.take("?"):
            yes = self.ternary()
            self.expect(":")
            no = self.ternary()
            return f"({yes} if {cond} else {no})"
        return cond

    _LEVELS: tuple[tuple[str, ...], ...] = (
        ("||",),
        ("&&",),
        ("==", "!="),
        ("<", ">", "<=", ">="),
        ("+", "-"),
        ("*", "/", "%"),
    )

    def binary(self, level: int) -> str:
        if level == len(self._LEVELS):
            return self.unary()
        left = self.binary(level + 1)
        while op := self.take(*self._LEVELS[level]):
            right = self.binary(level + 1)
            left = f"({left} {_PY_OPS[op]} {right})"
        return left

    def unary(self) -> str:
        if self.take("!"):
            return f"(not {self.unary()})"
        if self.take("empty"):
            value = self.unary()
            return f"({value} is None or {value} == '' or {value} == [] or {value} == {{}})"
        if self.take("-"):
            return f"(-{self.unary()})"
        return self.postfix()

    def postfix(self) -> str:
        tok = self.peek()
        if tok.kind == "name" and tok.text == "execution":
            return self.get_variable()
        value = self.primary()
        while True:
            if self.take("."):
                name = self.peek()
                if name.kind != "name":
                    raise OutsideSubset(f"expected a property name after '.', found '{name.text}'")
                self.pos += 1
                if self.peek().text == "(":
                    raise OutsideSubset(f"method call '.{name.text}(...)' is not translated")
                value = f"{value}[{name.text!r}]"
            elif self.take("["):
                value = f"{value}[{self.ternary()}]"
                self.expect("]")
            elif self.peek().text == "(" and self.peek().kind == "op":
                raise OutsideSubset(f"function call '{value}(...)' is not translated")
            else:
                return value

    def get_variable(self) -> str:
        """``execution.getVariable("x")`` is the variable ``x``; other uses are refused."""
        self.pos += 1
        parts = (
            [self.tokens[self.pos + i] for i in range(4)] if self.pos + 4 < len(self.tokens) else []
        )
        if (
            parts
            and [p.text for p in parts[:2]] == [".", "getVariable"]
            and parts[2].text == "("
            and parts[3].kind == "string"
            and self.tokens[self.pos + 4].text == ")"
        ):
            self.pos += 5
            return _name(_unquote(parts[3].text))
        raise OutsideSubset("the 'execution' object (Camunda's Java API) is not translated")

    def primary(self) -> str:
        tok = self.peek()
        self.pos += 1
        if tok.kind == "number":
            return tok.text
        if tok.kind == "string":
            return repr(_unquote(tok.text))
        if tok.kind == "name":
            if tok.text in _LITERALS:
                return _LITERALS[tok.text]
            if tok.text in _OBJECTS:
                raise OutsideSubset(
                    f"the '{tok.text}' object (Camunda's Java API) is not translated"
                )
            return _name(tok.text)
        if tok.kind == "op" and tok.text == "(":
            inner = self.ternary()
            self.expect(")")
            return inner
        raise OutsideSubset(f"unexpected '{tok.text or 'end of expression'}'")


def _unquote(text: str) -> str:
    body = text[1:-1]
    return re.sub(r"\\(.)", r"\1", body)


def _name(name: str) -> str:
    """A JUEL identifier as a Python name the sandbox accepts."""
    if not name.isidentifier() or keyword.iskeyword(name) or name.startswith("_"):
        raise OutsideSubset(f"variable name '{name}' cannot be used in the engine's expressions")
    return name
