"""Lock names of tasks: ``<prefix><task name>:<sha1 of the canonical JSON of the arguments>``.

Arguments are bound to the task's signature with defaults applied, so ``add.delay(1, 2)``,
``add.delay(y=2, x=1)`` and ``add.delay(1)`` (when ``y`` defaults to 2) share one lock.
``unique_on`` picks the arguments that count; ``[]`` gives one lock for the whole task.
A custom key function replaces all of this: its string follows the prefix as is.
No Redis work happens here.
"""

from __future__ import annotations

import hashlib
import inspect
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from walrus.keys import bind_arguments, canonical_json

__all__ = ["check_unique_on", "lock_name", "task_signature"]


def task_signature(run: Any, bound: bool) -> inspect.Signature | None:
    """Signature of a task body as callers pass arguments (``self`` dropped when ``bound``). No
    Redis work."""
    try:
        signature = inspect.signature(run)
    except (TypeError, ValueError):
        return None
    if bound:
        params = list(signature.parameters.values())[1:]
        signature = signature.replace(parameters=params)
    return signature


def check_unique_on(
    task_name: str, signature: inspect.Signature | None, unique_on: Any
) -> tuple[str, ...] | None:
    """Validate ``unique_on`` (None, or a list of argument names the task takes). No Redis work."""
    if unique_on is None:
        return None
    if isinstance(unique_on, str) or not isinstance(unique_on, Sequence):
        raise TypeError(
            f"task {task_name}: unique_on must be a list of argument names or None,"
            f" got {unique_on!r}"
        )
    names = tuple(unique_on)
    for name in names:
        if not isinstance(name, str) or not name:
            raise TypeError(
                f"task {task_name}: unique_on entries must be argument names, got {name!r}"
            )
    if signature is not None:
        params = signature.parameters
        takes_kwargs = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
        for name in names:
            param = params.get(name)
            if param is None and not takes_kwargs:
                raise ValueError(
                    f"task {task_name}: unique_on names {name!r}, which is not one of its "
                    f"arguments ({', '.join(params) or 'none'})"
                )
            if param is not None and param.kind is inspect.Parameter.VAR_KEYWORD:
                raise ValueError(f"task {task_name}: unique_on cannot name **{name}; name its keys")
    return names


def _arguments(
    task_name: str,
    signature: inspect.Signature | None,
    args: Sequence[Any],
    kwargs: Mapping[str, Any],
) -> dict[str, Any]:
    if signature is None:
        return {"args": list(args), "kwargs": dict(kwargs)}
    try:
        # **kwargs items count as arguments of their own, so unique_on can name them
        return bind_arguments(signature, args, kwargs, flatten_kwargs=True)
    except TypeError as exc:
        raise TypeError(f"task {task_name}: {exc}") from None


def lock_name(
    prefix: str,
    task_name: str,
    signature: inspect.Signature | None,
    args: Sequence[Any] | None,
    kwargs: Mapping[str, Any] | None,
    unique_on: Sequence[str] | None = None,
    key_fn: Callable[..., Any] | None = None,
) -> str:
    """The lock name (the Redis key is ``lock:<name>``) of one call of a task.

    Raises TypeError when the arguments do not fit the task, when an argument cannot be
    turned into a stable key, or when ``key_fn`` does not return a non-empty string.
    No Redis work.
    """
    args = tuple(args or ())
    kwargs = dict(kwargs or {})
    if key_fn is not None:
        custom = key_fn(*args, **kwargs)
        if not isinstance(custom, str) or not custom:
            raise TypeError(
                f"task {task_name}: lock_key must return a non-empty str, got {custom!r}"
            )
        return prefix + custom
    arguments = _arguments(task_name, signature, args, kwargs)
    if unique_on is not None:
        arguments = {name: arguments[name] for name in unique_on if name in arguments}
    payload = canonical_json(arguments).encode("utf-8")
    digest = hashlib.sha1(payload, usedforsecurity=False).hexdigest()
    return f"{prefix}{task_name}:{digest}"
