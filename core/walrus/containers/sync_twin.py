"""The sync twin of a steps method: the same source, with each ``yield`` a direct call.

A ``@command`` method is written once as a generator of steps (``walrus.calls``). On an
asyncio client each step is awaited; on a sync client, running the generator costs a frame,
a ``send`` per step and a ``StopIteration`` per call: measured beside redis-py on a real
server, about 3 us more per container call than the same code written directly, 10% of a
loopback round trip. So for sync clients ``sync_twin`` compiles, once, at class creation, a
plain function from the method's own source in which ``(yield call.hget(k, f))`` is
``self.database.hget(k, f)`` (the code one would write for a sync client), any other
``(yield step)`` is ``_walrus_send_step_(self, step)`` and ``(yield from steps)`` is
``_walrus_drive_steps_(self, steps)``: one text, both behaviours (what ``unasync`` does for
async/sync pairs, done on the syntax tree). The twin keeps the method's file and line
numbers, so tracebacks point at the source as written.

When the source cannot be compiled so (no source file, a wrapped method, a closure, private
name mangling), ``sync_twin`` returns None and the method's steps are driven instead: the same
behaviour, a little slower. No Redis work here.
"""

from __future__ import annotations

import ast
import inspect
import textwrap
from collections.abc import Callable
from typing import Any

from redis.exceptions import ResponseError

from ..calls import call, send
from ..steps import drive

__all__ = ["sync_twin"]

_SEND = "_walrus_send_step_"
_DRIVE = "_walrus_drive_steps_"


def _send_step(target: Any, step: Any) -> Any:
    client = target.database
    if type(step) is tuple:  # the common step: one client method call
        name, args, kwargs = step
        return getattr(client, name)(*args, **kwargs)
    return send(client, step)


def _drive_steps(target: Any, steps: Any) -> Any:
    # A helper's steps (``yield from helper(...)`` in the method): driven as the generator
    # path would, a reply error going back into them.
    client = target.database
    return drive(steps, lambda step: send(client, step), (ResponseError,))


class _Unstep(ast.NodeTransformer):
    """``(yield call.name(...))`` -> ``self.database.name(...)`` (when ``call`` is
    ``walrus.calls.call``: the method as it would be written for a sync client); any other
    ``(yield X)`` -> ``_walrus_send_step_(self, X)``; ``yield from X`` ->
    ``_walrus_drive_steps_(self, X)``; nested functions are left alone."""

    def __init__(self, receiver: str, call_names: set[str]) -> None:
        self.receiver = receiver
        self.call_names = call_names
        self.depth = 0

    def _call(self, name: str, node: ast.expr, value: ast.expr | None) -> ast.expr:
        args: list[ast.expr] = [
            ast.Name(self.receiver, ast.Load()),
            value if value is not None else ast.Constant(None),
        ]
        return ast.copy_location(ast.Call(ast.Name(name, ast.Load()), args, []), node)

    def visit_Yield(self, node: ast.Yield) -> ast.expr:  # noqa: N802 - ast visitor API
        self.generic_visit(node)
        value = node.value
        if (
            isinstance(value, ast.Call)
            and isinstance(value.func, ast.Attribute)
            and isinstance(value.func.value, ast.Name)
            and value.func.value.id in self.call_names
        ):
            client = ast.Attribute(ast.Name(self.receiver, ast.Load()), "database", ast.Load())
            method = ast.Attribute(client, value.func.attr, ast.Load())
            return ast.copy_location(ast.Call(method, value.args, value.keywords), node)
        return self._call(_SEND, node, value)

    def visit_YieldFrom(self, node: ast.YieldFrom) -> ast.expr:  # noqa: N802
        self.generic_visit(node)
        return self._call(_DRIVE, node, node.value)

    def visit_FunctionDef(self, node: ast.FunctionDef) -> ast.AST:  # noqa: N802
        if self.depth:
            return node  # a nested function keeps its own meaning of yield
        self.depth += 1
        self.generic_visit(node)
        self.depth -= 1
        return node

    def visit_Lambda(self, node: ast.Lambda) -> ast.AST:  # noqa: N802
        return node

    def visit_AsyncFunctionDef(self, node: ast.AsyncFunctionDef) -> ast.AST:  # noqa: N802
        return node


def _mangled(tree: ast.AST) -> bool:
    # ``self.__name`` is mangled by the compiler inside a class body only.
    return any(
        isinstance(node, ast.Attribute)
        and node.attr.startswith("__")
        and not node.attr.endswith("__")
        for node in ast.walk(tree)
    )


def sync_twin(method: Callable[..., Any]) -> Callable[..., Any] | None:
    """The plain-function twin of the steps method ``method`` (see the module docstring),
    or None when it cannot be compiled from the source. No Redis work."""
    code = getattr(method, "__code__", None)
    if code is None or hasattr(method, "__wrapped__") or code.co_freevars:
        return None
    try:
        source = textwrap.dedent(inspect.getsource(method))
        filename = inspect.getsourcefile(method) or code.co_filename
    except (OSError, TypeError):
        return None
    tree = ast.parse(source)
    function = tree.body[0]
    if not isinstance(function, ast.FunctionDef) or _mangled(function) or not function.args.args:
        return None
    function.decorator_list = []
    function.returns = None  # the annotation names a generator; the twin returns the result
    call_names = {name for name, value in method.__globals__.items() if value is call}
    _Unstep(function.args.args[0].arg, call_names).visit(function)
    ast.fix_missing_locations(tree)
    ast.increment_lineno(tree, code.co_firstlineno - 1)
    namespace: dict[str, Any] = {}
    module_globals = method.__globals__
    module_globals.setdefault(_SEND, _send_step)
    module_globals.setdefault(_DRIVE, _drive_steps)
    exec(compile(tree, filename, "exec"), module_globals, namespace)  # noqa: S102
    twin: Callable[..., Any] = namespace[function.name]
    twin.__qualname__ = method.__qualname__
    return twin
