"""``WalrusCelery``: a ``Celery`` app whose ``send_task`` honours the enqueue locks of the
tasks it knows, as ``.delay()`` and ``.apply_async()`` do.

``app.send_task("name", ...)`` publishes by name and never calls the task's
``apply_async``, so a plain Celery app skips the enqueue lock of a ``WalrusLockedTask``.
Canvas primitives (chains, groups, chords) go through ``apply_async`` of each signature and
need nothing. A task the sending app does not have registered (sent to workers of another
code base) cannot be checked: it is sent as is.

``app.task(walrus_rate_limit="100/m")`` gives the task the ``WalrusRateLimitedTask`` base
(``celery_walrus.ratelimit``); on a plain ``Celery`` app pass ``base=WalrusRateLimitedTask``.
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any

from celery import Celery

__all__ = ["WalrusCelery"]

# Set while a WalrusLockedTask publishes its own message: Celery's apply_async ends in
# app.send_task, which must then send, not route back into apply_async.
publishing: ContextVar[bool] = ContextVar("celery_walrus_publishing", default=False)


class WalrusCelery(Celery):  # type: ignore[misc]
    """``Celery`` with lock-aware ``send_task`` (use it in place of ``Celery(...)``) whose
    ``task()`` gives a task with ``walrus_rate_limit`` the ``WalrusRateLimitedTask`` base."""

    def task(self, *args: Any, **opts: Any) -> Any:
        """``Celery.task``; with ``walrus_rate_limit`` the base defaults to
        ``WalrusRateLimitedTask`` (a base that is not one raises TypeError: the option would
        be ignored). No Redis work."""
        if opts.get("walrus_rate_limit") is None:
            return super().task(*args, **opts)
        from .ratelimit import WalrusRateLimitedTask, check_rate_options

        base = opts.get("base")
        if base is None:
            opts["base"] = WalrusRateLimitedTask
        elif not (isinstance(base, type) and issubclass(base, WalrusRateLimitedTask)):
            raise TypeError(
                f"walrus_rate_limit needs a task base derived from WalrusRateLimitedTask "
                f"(WalrusLockedTask is one), got base={base!r}"
            )

        def check(fun: Any) -> None:  # now, not when the app finalizes its lazy tasks
            label = str(opts.get("name") or getattr(fun, "__qualname__", repr(fun)))
            check_rate_options(label, opts["walrus_rate_limit"], opts.get("walrus_rate_limit_key"),
                               opts.get("walrus_rate_limit_strategy"))  # fmt: skip

        if len(args) == 1 and callable(args[0]):
            check(args[0])
            return super().task(*args, **opts)
        decorator = super().task(*args, **opts)

        def decorate(fun: Any) -> Any:
            check(fun)
            return decorator(fun)

        return decorate

    def send_task(self, name: str, args: Any = None, kwargs: Any = None, **options: Any) -> Any:
        """Send task ``name``; one registered here as a ``WalrusLockedTask`` with an
        enqueue lock (``lock="enqueue"`` or ``"both"``) goes through its ``apply_async``, so
        a duplicate is refused as ``on_duplicate`` says (1 round trip for the lock)."""
        if not publishing.get():
            from .task import WalrusLockedTask

            task = self.tasks.get(name)
            if isinstance(task, WalrusLockedTask) and task._walrus_mode in ("enqueue", "both"):
                return task.apply_async(args, kwargs, **options)
        return super().send_task(name, args, kwargs, **options)
