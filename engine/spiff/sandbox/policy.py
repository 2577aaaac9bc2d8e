"""The compile-time policy: what diagram code may contain, and how it is instrumented.

RestrictedPython's transformer, plus no imports, classes, ``global``, ``with``, ``print``,
slice assignment or bytes literals, and no risky attribute names.  A bare ``except:``
becomes ``except Exception:``.  A ``_tick_()`` call opens every loop, function and lambda
body.  ``** * << + %``, f-string fields and starred displays go through guards that refuse
oversized results before building them.  ``check_source`` and runs share ``_compile``.
"""

from __future__ import annotations

import ast
import types
from functools import lru_cache
from typing import Any, Literal, NamedTuple, cast

from RestrictedPython.transformer import (
    INSPECT_ATTRIBUTES,
    IOPERATOR_TO_STR,
    RestrictingNodeTransformer,
    copy_locations,
)

from engine.spiff.sandbox.limits import FILENAME, MAX_SOURCE_CHARS, Mode

DENIED_ATTRIBUTES = INSPECT_ATTRIBUTES | {
    "format", "format_map", "ljust", "rjust", "center", "zfill", "expandtabs",
    "translate", "encode", "to_bytes", "mro",
}  # fmt: skip
_UNCATCHABLE = {"BaseException", "SystemExit", "KeyboardInterrupt", "GeneratorExit"}
_CHECKED_OPS = {ast.Pow: "_pow_", ast.Mult: "_mul_", ast.LShift: "_lshift_",
                ast.Add: "_add_", ast.Mod: "_mod_"}  # fmt: skip


def _call(func: str, args: list[ast.expr], where: ast.stmt | ast.expr) -> ast.Call:
    node = ast.Call(func=ast.Name(func, ast.Load()), args=args, keywords=[])
    copy_locations(node, where)
    return node


class SandboxPolicy(RestrictingNodeTransformer):
    """RestrictedPython's policy, tightened and instrumented for PMOflow (see module doc)."""

    def __init__(self) -> None:
        super().__init__()
        self.problems: list[tuple[int | None, str]] = []
        self.names: set[str] = set()
        self.assigned: set[str] = set()

    def error(self, node: ast.AST, info: str) -> None:
        self.problems.append((getattr(node, "lineno", None), info))

    def visit_Import(self, node: ast.AST) -> ast.AST:
        self.error(node, "import statements are not allowed; use the provided helper functions")
        return node

    visit_ImportFrom = visit_Import

    def visit_ClassDef(self, node: ast.ClassDef) -> ast.AST:
        self.error(node, "class definitions are not allowed; use dicts and lists")
        return node

    def visit_Global(self, node: ast.Global) -> ast.AST:
        self.error(node, "global statements are not allowed")
        return node

    def visit_With(self, node: ast.With) -> ast.AST:
        self.error(node, "with statements are not allowed")
        return node

    def visit_Constant(self, node: ast.Constant) -> Any:
        if isinstance(node.value, bytes):
            self.error(node, "bytes literals are not allowed; task data is text")
        return super().visit_Constant(node)

    def visit_Name(self, node: ast.Name) -> Any:
        if node.id in ("print", "printed"):
            self.error(node, "print() is not available in scripts")
            return node
        self.names.add(node.id)
        if not isinstance(node.ctx, ast.Load):
            self.assigned.add(node.id)
        return super().visit_Name(node)

    def visit_Attribute(self, node: ast.Attribute) -> Any:
        if node.attr in DENIED_ATTRIBUTES - INSPECT_ATTRIBUTES:
            hint = " (use f-strings for formatting)" if "format" in node.attr else ""
            self.error(node, f'".{node.attr}" is not allowed in scripts{hint}')
        return super().visit_Attribute(node)

    def visit_Subscript(self, node: ast.Subscript) -> Any:
        if isinstance(node.ctx, ast.Store) and isinstance(node.slice, ast.Slice):
            self.error(node, "slice assignment is not allowed")
        return super().visit_Subscript(node)

    def visit_BinOp(self, node: ast.BinOp) -> Any:
        node = self.node_contents_visit(node)
        func = _CHECKED_OPS.get(type(node.op))
        return node if func is None else _call(func, [node.left, node.right], node)

    def visit_AugAssign(self, node: ast.AugAssign) -> Any:
        """``d[k] += v`` becomes a guarded read, a bounded in-place op and a guarded write."""
        target = node.target
        if not isinstance(target, ast.Subscript) or isinstance(target.slice, ast.Slice):
            return super().visit_AugAssign(node)
        obj, key = self.gen_tmp_name(), self.gen_tmp_name()
        value, index = self.visit(target.value), self.visit(target.slice)
        old = _call("_getitem_", [ast.Name(obj, ast.Load()), ast.Name(key, ast.Load())], node)
        op = ast.Constant(IOPERATOR_TO_STR[type(node.op)])
        new = _call("_inplacevar_", [op, old, self.visit(node.value)], node)
        slot = ast.Subscript(_call("_write_", [ast.Name(obj, ast.Load())], node),
                             ast.Name(key, ast.Load()), ast.Store())  # fmt: skip
        statements = [ast.Assign(targets=[ast.Name(obj, ast.Store())], value=value),
                      ast.Assign(targets=[ast.Name(key, ast.Store())], value=index),
                      ast.Assign(targets=[slot], value=new)]  # fmt: skip
        for statement in statements:
            copy_locations(statement, node)
        return statements

    def visit_FormattedValue(self, node: ast.FormattedValue) -> Any:
        node = self.node_contents_visit(node)
        spec = node.format_spec or ast.Constant("")
        node.value = _call("_format_", [node.value, ast.Constant(node.conversion), spec], node)
        node.conversion, node.format_spec = -1, None
        return node

    def _sized_display(self, node: ast.List | ast.Tuple) -> Any:
        node = self.node_contents_visit(node)
        starred = any(isinstance(elt, ast.Starred) for elt in node.elts)
        if starred and isinstance(node.ctx, ast.Load):
            return _call("_sized_", [node], node)
        return node

    visit_List = visit_Tuple = _sized_display

    def visit_ExceptHandler(self, node: ast.ExceptHandler) -> Any:
        if node.type is None:
            node.type = ast.Name("Exception", ast.Load())
            copy_locations(node.type, node)
        for name in ast.walk(node.type):
            if isinstance(name, ast.Name) and name.id in _UNCATCHABLE:
                self.error(node, f"catching {name.id} is not allowed")
        return super().visit_ExceptHandler(node)

    def _ticked(self, node: Any) -> Any:
        tick = ast.Expr(_call("_tick_", [], node.body[0]))
        copy_locations(tick, node.body[0])
        node.body.insert(0, tick)
        return node

    def visit_While(self, node: ast.While) -> Any:
        return self._ticked(super().visit_While(node))

    def visit_For(self, node: ast.For) -> Any:
        return self._ticked(super().visit_For(node))

    def visit_FunctionDef(self, node: ast.FunctionDef) -> Any:
        return self._ticked(super().visit_FunctionDef(node))

    def visit_Lambda(self, node: ast.Lambda) -> Any:
        # RestrictedPython visits the lambda's contents and returns the lambda itself
        node = cast(ast.Lambda, super().visit_Lambda(node))
        body = ast.BoolOp(op=ast.Or(), values=[_call("_tick_", [], node.body), node.body])
        copy_locations(body, node.body)
        node.body = body
        return node


class _Compiled(NamedTuple):
    code: types.CodeType | None
    mode: str
    names: frozenset[str]  # every variable name the code mentions
    assigned: frozenset[str]  # names it stores or deletes
    problem: tuple[int | None, str] | None


@lru_cache(maxsize=4096)
def _compile(source: str, mode: Mode) -> _Compiled:
    """Compile under the sandbox policy (cached per source and mode)."""
    if mode not in ("eval", "exec"):
        raise ValueError(f"mode must be 'eval' or 'exec', not {mode!r}")
    nothing: frozenset[str] = frozenset()
    if len(source) > MAX_SOURCE_CHARS:
        return _Compiled(None, mode, nothing, nothing, (None, "the code is too long"))
    policy = SandboxPolicy()
    try:
        tree = policy.visit(ast.parse(source, FILENAME, mode))
        if policy.problems:
            first = min(policy.problems, key=lambda p: (p[0] is None, p[0] or 0))
            return _Compiled(None, mode, nothing, nothing, first)
        code = compile(tree, FILENAME, mode, dont_inherit=True)
    except SyntaxError as exc:
        return _Compiled(None, mode, nothing, nothing, (exc.lineno, f"SyntaxError: {exc.msg}"))
    except (RecursionError, MemoryError, ValueError):
        return _Compiled(None, mode, nothing, nothing, (None, "the code is nested too deeply"))
    return _Compiled(code, mode, frozenset(policy.names), frozenset(policy.assigned), None)


def check_source(source: str, mode: Literal["eval", "exec"]) -> tuple[int | None, str] | None:
    """Compile ``source`` under the sandbox policy without running it.

    Returns ``None`` when it compiles, else ``(line, message)`` describing the first
    problem (a syntax error or a construct the sandbox forbids, such as ``import``).
    """
    return _compile(source, mode).problem
