"""``WalrusLockedTask`` and ``@locked_task``: Celery tasks that do not run twice at once and
are not enqueued twice.

Options (class attributes, so ``@app.task(base=WalrusLockedTask, lock="both", ...)`` sets them):

- ``lock``: ``"execute"`` (default: one run at a time per key), ``"enqueue"`` (one *queued*
  message per key; the lock is handed back when the task starts), ``"both"`` (one message
  queued or running per key: taken at enqueue, kept through the run), or None/False (off).
- ``unique_on``: argument names that make up the key (default: all arguments; ``[]``: one lock
  for the whole task). ``lock_key``: a function of the task's arguments returning the key.
- ``on_duplicate``: ``"return"`` (default), ``"raise"``, ``"skip"`` or ``"retry"``; see
  docs/celery.md for what each does at enqueue and at execute time.
- ``lock_debounce``: seconds; with ``lock="execute"`` or ``"both"``, a run that succeeds keeps
  its lock until that long after it started, so the task runs at most once per window for the
  same key (later calls in the window are duplicates). A run that raises releases it at once.
- ``lock_ttl``, ``lock_enqueue_ttl``, ``lock_retry_countdown``: seconds (None: from the config).
  While a task runs with renewal on (the default) its lock is a short lease (``lock_ttl``, else
  3 x ``walrus_lock_renew_interval``) renewed every third of it, so a killed worker's lock
  lapses within the lease; with renewal off the ttl comes from the time limits instead.

The owner token of a lock is the task id: a worker only ever releases (owner-checked Lua) the
lock its own task holds, and ``self.retry()`` keeps or re-takes the lock under the same id.
"""

from __future__ import annotations

import datetime
import inspect
import logging
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from celery import shared_task, signals
from celery.utils import uuid
from redis.exceptions import RedisError

from walrus.exceptions import WalrusError
from walrus.lock import Lock, LockError

from .app import publishing
from .config import LockSettings, get_database, get_settings
from .keys import check_unique_on, lock_name, task_signature
from .ratelimit import WalrusRateLimitedTask
from .renewal import LockRenewer

__all__ = [
    "LOCK_HEADER",
    "MODES",
    "ON_DUPLICATE",
    "TaskLocked",
    "WalrusLockedTask",
    "connect_signals",
    "locked_task",
]

logger = logging.getLogger("celery_walrus")

MODES = ("enqueue", "execute", "both")
"""Values of a task's ``lock`` option: one queued message per key (``enqueue``), one run at a time
(``execute``), or one queued or running (``both``)."""
ON_DUPLICATE = ("return", "raise", "skip", "retry")
"""Values of a task's ``on_duplicate`` option: what a refused duplicate does (docs/celery.md)."""
LOCK_HEADER = "walrus_lock"
"""Message header carrying the lock name, so a revoke can release a queued task's lock."""


class TaskLocked(WalrusError):  # noqa: N818 (exported public name; a rename breaks callers)
    """A duplicate of a locked task was refused (``on_duplicate="raise"``).

    ``lock_name`` is the lock's name and ``holder`` the task id holding it (None if unknown).
    """

    def __init__(
        self, message: str, lock_name: str | None = None, holder: str | None = None
    ) -> None:
        super().__init__(message)
        self.lock_name = lock_name
        self.holder = holder

    def __reduce__(self) -> tuple[Any, ...]:  # keep the attributes through pickle
        return (type(self), (str(self), self.lock_name, self.holder))


@dataclass
class _Held:
    lock: Lock
    renewer: LockRenewer | None


def _positive_seconds(task_name: str, option: str, value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(
            f"task {task_name}: {option} must be a number of seconds or None, got {value!r}"
        )
    if not math.isfinite(value) or value < 0 or (value == 0 and option != "lock_retry_countdown"):
        raise ValueError(
            f"task {task_name}: {option} must be a positive number of seconds, got {value!r}"
        )
    return float(value)


def _check_options(
    task_name: str,
    lock: Any,
    on_duplicate: Any,
    lock_key: Any,
    ttls: dict[str, Any],
) -> str | None:
    """Validate the lock options of a task; returns the mode (None: no lock)."""
    if lock is True:
        mode: str | None = "execute"
    elif lock is None or lock is False:
        mode = None
    elif isinstance(lock, str) and lock in MODES:
        mode = lock
    else:
        raise ValueError(
            f"task {task_name}: lock must be one of {', '.join(MODES)} or None, got {lock!r}"
        )
    if on_duplicate not in ON_DUPLICATE:
        raise ValueError(
            f"task {task_name}: on_duplicate must be one of {', '.join(ON_DUPLICATE)},"
            f" got {on_duplicate!r}"
        )
    if on_duplicate == "retry" and mode == "enqueue":
        raise ValueError(
            f"task {task_name}: on_duplicate='retry' needs lock='execute' or 'both' (an enqueue "
            "lock refuses duplicates before they reach a worker)"
        )
    debounce = ttls.get("lock_debounce")
    if debounce is not None and mode not in ("execute", "both"):
        raise ValueError(
            f"task {task_name}: lock_debounce needs lock='execute' or 'both', got lock={lock!r}"
        )
    if lock_key is not None and not callable(lock_key):
        raise TypeError(
            f"task {task_name}: lock_key must be a function of the task arguments, got {lock_key!r}"
        )
    for option, value in ttls.items():
        _positive_seconds(task_name, option, value)
    return mode


def _decode(value: Any) -> str | None:
    if value is None:
        return None
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def _quiet_release(lock: Lock) -> None:
    try:
        lock.release()
    except LockError:
        pass
    except RedisError as exc:
        logger.warning(
            "celery_walrus: could not release lock %r (it expires by itself): %s", lock.name, exc
        )


def _take_or_adopt(lock: Lock) -> str | None:
    """One MULTI/EXEC of: owner-checked renew (Lua), SET NX PX, GET. Whichever of the first
    two applies takes effect, so a free lock is taken, one this token holds is adopted with
    its ttl reset, and GET names a foreign holder; all atomically, with no retry loop.
    None when the lock is ours, else the holder ("" when unknown). Cost: 1 round trip."""
    database = lock.database
    pipe = database.pipeline(transaction=True)
    database.run_script(
        "lock_extend", keys=[lock.key], args=[lock._lock_id, lock.ttl, "set"], client=pipe
    )
    pipe.set(lock.key, lock._lock_id, nx=True, px=lock.ttl)
    pipe.get(lock.key)
    adopted, taken, holder = pipe.execute()
    if int(adopted) > 0 or taken:
        return None
    return _decode(holder) or ""


def _delay_seconds(options: dict[str, Any]) -> float:
    countdown = options.get("countdown")
    if isinstance(countdown, (int, float)) and not isinstance(countdown, bool):
        return max(float(countdown), 0.0)
    eta = options.get("eta")
    if isinstance(eta, datetime.datetime):
        now = datetime.datetime.now(eta.tzinfo or datetime.timezone.utc)
        if eta.tzinfo is None:
            now = now.replace(tzinfo=None)
        return max((eta - now).total_seconds(), 0.0)
    return 0.0


class WalrusLockedTask(WalrusRateLimitedTask):
    """Celery task base with walrus locks (see the module docstring for the options) and
    ``walrus_rate_limit`` (``celery_walrus.ratelimit``: decided before the lock is taken)."""

    lock: str | bool | None = "execute"
    unique_on: Sequence[str] | None = None
    lock_key: Callable[..., str] | None = None
    on_duplicate: str = "return"
    lock_ttl: float | None = None
    lock_enqueue_ttl: float | None = None
    lock_retry_countdown: float | None = None
    lock_debounce: float | None = None

    _walrus_mode: str | None = "execute"
    _walrus_unique_on: tuple[str, ...] | None = None
    _walrus_signature: inspect.Signature | None = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        label = cls.__dict__.get("name") or cls.__qualname__
        key_fn = cls.__dict__.get("lock_key")
        if inspect.isfunction(key_fn):  # keep it a plain function, not a method of the task
            cls.lock_key = staticmethod(key_fn)
        cls._walrus_mode = _check_options(
            label,
            cls.lock,
            cls.on_duplicate,
            cls.lock_key,
            {
                "lock_ttl": cls.lock_ttl,
                "lock_enqueue_ttl": cls.lock_enqueue_ttl,
                "lock_retry_countdown": cls.lock_retry_countdown,
                "lock_debounce": cls.lock_debounce,
            },
        )
        run = inspect.getattr_static(cls, "run")
        if isinstance(run, staticmethod):
            signature = task_signature(run.__func__, bound=False)
        else:
            signature = task_signature(run, bound=True)
        cls._walrus_signature = signature
        cls._walrus_unique_on = check_unique_on(label, signature, cls.unique_on)
        connect_signals()

    # -- helpers ---------------------------------------------------------------------------

    def _walrus_settings(self) -> LockSettings:
        return get_settings(self._get_app())

    def lock_name_for(self, *args: Any, **kwargs: Any) -> str:
        """The lock name of this task called with these arguments (no Redis work)."""
        return self._walrus_name(self._walrus_settings(), args, kwargs)

    def lock_for(self, *args: Any, **kwargs: Any) -> Lock:
        """The ``walrus.Lock`` of this task called with these arguments, e.g. to ask
        ``.locked()`` or ``.time_left()`` (no Redis work until you do)."""
        return get_database(self._get_app()).lock(self.lock_name_for(*args, **kwargs))

    def _walrus_name(self, settings: LockSettings, args: Any, kwargs: Any) -> str:
        key_fn = self.lock_key
        return lock_name(
            settings.prefix,
            self.name,
            self._walrus_signature,
            args,
            kwargs,
            self._walrus_unique_on,
            key_fn,
        )

    def _walrus_run_ttl_ms(self, settings: LockSettings, request: Any) -> int:
        """The ttl of a running task's lock. Renewal on: a short lease (``lock_ttl``, else
        ``LEASE_FACTOR`` renewal intervals), so a dead worker's lock lapses soon. Renewal off:
        nothing extends it, so it must outlast the run: ``lock_ttl``, else the task's time
        limit plus the margin, else ``walrus_lock_default_ttl``."""
        if self.lock_ttl is not None:
            return math.ceil(self.lock_ttl * 1000)
        if settings.renew:
            return math.ceil(settings.lease * 1000)
        timelimit = getattr(request, "timelimit", None) or (None, None)
        hard, soft = (list(timelimit) + [None, None])[:2]
        conf = self._get_app().conf
        hard = (
            hard
            if hard is not None
            else self.time_limit
            if self.time_limit is not None
            else conf.task_time_limit
        )
        soft = (
            soft
            if soft is not None
            else self.soft_time_limit
            if self.soft_time_limit is not None
            else conf.task_soft_time_limit
        )
        limits = [float(v) for v in (hard, soft) if isinstance(v, (int, float)) and v > 0]
        seconds = max(limits) + settings.ttl_margin if limits else settings.default_ttl
        return math.ceil(seconds * 1000)

    def _walrus_enqueue_ttl_ms(self, settings: LockSettings, options: dict[str, Any]) -> int:
        base = self.lock_enqueue_ttl if self.lock_enqueue_ttl is not None else settings.enqueue_ttl
        seconds = base + _delay_seconds(options)
        expires = options.get("expires")
        if isinstance(expires, datetime.datetime):
            now = datetime.datetime.now(expires.tzinfo or datetime.timezone.utc)
            expires = (
                expires - (now if expires.tzinfo else now.replace(tzinfo=None))
            ).total_seconds()
        if isinstance(expires, (int, float)) and not isinstance(expires, bool) and expires > 0:
            seconds = min(seconds, float(expires))
        return max(1, math.ceil(seconds * 1000))

    # -- enqueue ---------------------------------------------------------------------------

    def apply_async(
        self,
        args: Any = None,
        kwargs: Any = None,
        task_id: str | None = None,
        producer: Any = None,
        link: Any = None,
        link_error: Any = None,
        shadow: Any = None,
        **options: Any,
    ) -> Any:
        """Send the task; with an enqueue lock, refuse a duplicate of a queued (or, for
        ``lock="both"``, running) one as ``on_duplicate`` says.

        Cost with an enqueue lock: 1 round trip (SET NX PX) before the send; a refused
        duplicate costs 1 more (GET of the holder's task id) unless ``on_duplicate="skip"``.
        """
        mode = self._walrus_mode
        if mode is None:
            return super().apply_async(
                args, kwargs, task_id, producer, link, link_error, shadow, **options
            )
        settings = self._walrus_settings()
        name = self._walrus_name(settings, args, kwargs)  # bad arguments fail before any write
        options["headers"] = {**(options.get("headers") or {}), LOCK_HEADER: name}
        send = self._walrus_sender(args, kwargs, producer, link, link_error, shadow, options)
        request = self.request
        if task_id is not None and not request.called_directly and request.id == task_id:
            return self._walrus_resend(settings, name, task_id, options, send)
        if mode == "execute":
            return send(task_id)
        task_id = task_id or uuid()
        database = get_database(self._get_app())
        lock = database.lock(
            name, ttl=self._walrus_enqueue_ttl_ms(settings, options), lock_id=task_id
        )
        holder: str | None = None
        for _ in range(3):
            if lock.acquire(block=False):
                try:
                    return send(task_id)
                except BaseException:
                    _quiet_release(lock)
                    raise
            if self.on_duplicate == "skip":
                break
            holder = _decode(database.get(lock.key))
            if holder is not None:
                break
        return self._walrus_enqueue_duplicate(name, holder)

    def _walrus_sender(
        self,
        args: Any,
        kwargs: Any,
        producer: Any,
        link: Any,
        link_error: Any,
        shadow: Any,
        options: dict[str, Any],
    ) -> Callable[[str | None], Any]:
        parent = super().apply_async

        def send(task_id: str | None) -> Any:
            token = publishing.set(True)  # WalrusCelery.send_task: send, do not lock again
            try:
                return parent(args, kwargs, task_id, producer, link, link_error, shadow, **options)
            finally:
                publishing.reset(token)

        return send

    def _walrus_resend(
        self,
        settings: LockSettings,
        name: str,
        task_id: str,
        options: dict[str, Any],
        send: Callable[[str | None], Any],
    ) -> Any:
        """``self.retry()`` from inside the running task: never refused as a duplicate.
        ``lock="both"`` hands the lock to the retried message; ``"execute"`` frees it first."""
        mode = self._walrus_mode
        held: _Held | None = getattr(self.request, "_walrus_held", None)
        if mode == "both" and held is not None:
            # Hand our lock to the retried message (same task id): it waits for the countdown.
            if held.renewer is not None:
                held.renewer.stop()
            try:
                held.lock.renew(self._walrus_enqueue_ttl_ms(settings, options))
            except LockError:
                held = None
            result = send(task_id)
            if held is not None:
                self.request._walrus_transferred = True
            return result
        if mode == "execute" and held is not None:
            # Free the lock before the retried message exists: were it delivered first, it
            # would adopt our lock (same task id) and this attempt's release would free it
            # under the retried run.
            if held.renewer is not None:
                held.renewer.stop()
            _quiet_release(held.lock)
            self.request._walrus_transferred = True
            return send(task_id)
        if mode == "enqueue":
            database = get_database(self._get_app())
            lock = database.lock(
                name, ttl=self._walrus_enqueue_ttl_ms(settings, options), lock_id=task_id
            )
            taken = lock.acquire(block=False)  # best effort: a retry is sent either way
            try:
                return send(task_id)
            except BaseException:
                if taken:
                    _quiet_release(lock)
                raise
        return send(task_id)

    def _walrus_enqueue_duplicate(self, name: str, holder: str | None) -> Any:
        action = self.on_duplicate
        if action == "skip":
            logger.info("celery_walrus: %s not enqueued: %s is locked", self.name, name)
            return None
        if action == "raise":
            raise TaskLocked(
                f"task {self.name} is already queued or running as {holder or '?'} (lock {name})",
                name,
                holder,
            )
        # "return" and "retry": the caller gets the result of the task already queued.
        if holder is None:
            raise TaskLocked(
                f"task {self.name} is locked (lock {name}) by an unknown holder", name, None
            )
        return self.AsyncResult(holder)

    # -- execute ---------------------------------------------------------------------------

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        mode = self._walrus_mode
        request = self.request
        if (
            self._walrus_rates
            and not request.called_directly
            and not getattr(request, "_walrus_rate_checked", False)
        ):
            self._walrus_rate_gate(args, kwargs)  # over the budget: sent again later, never run now
        if mode is None or request.called_directly or getattr(request, "_walrus_handled", False):
            return super().__call__(*args, **kwargs)
        request._walrus_handled = True
        app = self._get_app()
        settings = get_settings(app)
        database = get_database(app)
        name = self._walrus_name(settings, args, kwargs)
        if mode == "enqueue":
            # Hand the dedupe lock back: one more message may now be queued beside this run.
            _quiet_release(database.lock(name, lock_id=request.id))
            return self.run(*args, **kwargs)
        lock = database.lock(
            name, ttl=self._walrus_run_ttl_ms(settings, request), lock_id=request.id
        )
        holder = self._walrus_take(lock, adopt_first=mode == "both")
        if holder is not None:
            return self._walrus_execute_duplicate(name, holder)
        renewer = LockRenewer(lock).start() if settings.renew else None
        request._walrus_held = _Held(lock, renewer)
        started = time.monotonic()
        succeeded = False
        try:
            result = self.run(*args, **kwargs)
            succeeded = True
            return result
        finally:
            if renewer is not None:
                renewer.stop()
            request._walrus_held = None
            if not getattr(request, "_walrus_transferred", False):
                try:
                    if not (succeeded and self._walrus_keep_for_debounce(lock, started)):
                        lock.release()
                except LockError as exc:
                    logger.warning(
                        "celery_walrus: %s[%s] lost its lock %r: %s",
                        self.name,
                        request.id,
                        name,
                        exc,
                    )
                except RedisError as exc:
                    logger.warning(
                        "celery_walrus: could not release %r (it expires by itself): %s", name, exc
                    )

    def _walrus_keep_for_debounce(self, lock: Lock, started: float) -> bool:
        """With ``lock_debounce``: make the lock expire ``lock_debounce`` seconds after the run
        started (1 round trip, owner-checked) and return True; False when there is nothing
        left of the window (the caller releases)."""
        if self.lock_debounce is None:
            return False
        left_ms = math.ceil((self.lock_debounce - (time.monotonic() - started)) * 1000)
        if left_ms <= 0:
            return False
        lock.renew(ttl=left_ms)
        return True

    def _walrus_take(self, lock: Lock, adopt_first: bool) -> str | None:
        """Take ``lock``, or adopt it when this task id already holds it (``lock="both"``:
        taken at enqueue; or a redelivery of this very task), setting its ttl either way.
        None when it is ours, else the holder's id ("" when unknown).

        Cost: 1 round trip on the usual path (``adopt_first``: an owner-checked renew of
        the enqueue lock; else SET NX PX); when that fails, 1 more to settle it atomically.
        """
        if adopt_first:
            try:
                lock.renew()
                return None
            except LockError:
                pass
        elif lock.acquire(block=False):
            return None
        return _take_or_adopt(lock)

    def _walrus_execute_duplicate(self, name: str, holder: str) -> Any:
        action = self.on_duplicate
        if action == "raise":
            raise TaskLocked(
                f"task {self.name} is already running as {holder or '?'} (lock {name})",
                name,
                holder or None,
            )
        if action == "retry":
            countdown = self.lock_retry_countdown
            if countdown is None:
                countdown = self._walrus_settings().retry_countdown
            raise self.retry(countdown=countdown)
        logger.info(
            "celery_walrus: %s[%s] skipped: %s is running it",
            self.name,
            self.request.id,
            holder or "?",
        )
        return None


# -- release where the task's own process could not ---------------------------------------


def _release_by_token(
    task: Any, task_id: Any, name: str | None, args: Any = None, kwargs: Any = None
) -> None:
    if not isinstance(task, WalrusLockedTask) or task._walrus_mode is None or not task_id:
        return
    try:
        app = task._get_app()
        if name is None:
            if args is None and kwargs is None:
                return
            name = task._walrus_name(get_settings(app), args, kwargs)
        get_database(app).lock(name, lock_id=str(task_id)).release()
    except LockError:
        pass
    except Exception as exc:  # a signal handler must not break the worker
        logger.warning(
            "celery_walrus: could not release the lock of %s[%s]: %s", task.name, task_id, exc
        )


def _on_task_failure(
    sender: Any = None, task_id: Any = None, args: Any = None, kwargs: Any = None, **_: Any
) -> None:
    """Hard time limit or lost worker: the worker's main process frees the dead run's lock."""
    request = getattr(sender, "request", None)
    if request is not None and getattr(request, "_walrus_handled", False) and request.id == task_id:
        return  # released by __call__ in this process
    header = (
        getattr(request, LOCK_HEADER, None)
        if request is not None and request.id == task_id
        else None
    )
    _release_by_token(sender, task_id, header, args, kwargs)


def _on_task_revoked(sender: Any = None, request: Any = None, **_: Any) -> None:
    """A revoked (queued, expired or terminated) task frees its lock."""
    if request is None:
        return
    name = getattr(request, LOCK_HEADER, None)
    if name is None:
        headers = getattr(request, "headers", None) or {}
        name = headers.get(LOCK_HEADER) if isinstance(headers, dict) else None
    _release_by_token(
        sender,
        getattr(request, "id", None),
        name,
        getattr(request, "args", None),
        getattr(request, "kwargs", None),
    )


def connect_signals() -> None:
    """Connect the task_failure / task_revoked receivers (idempotent; done on first task class). No
    Redis work."""
    signals.task_failure.connect(
        _on_task_failure, weak=False, dispatch_uid="celery_walrus.task_failure"
    )
    signals.task_revoked.connect(
        _on_task_revoked, weak=False, dispatch_uid="celery_walrus.task_revoked"
    )


def locked_task(
    *fun: Callable[..., Any],
    app: Any = None,
    lock: str | bool | None = "execute",
    unique_on: Sequence[str] | None = None,
    key: Callable[..., str] | None = None,
    on_duplicate: str = "return",
    ttl: float | None = None,
    enqueue_ttl: float | None = None,
    retry_countdown: float | None = None,
    debounce: float | None = None,
    base: type[WalrusLockedTask] | None = None,
    **options: Any,
) -> Any:
    """Decorator making a locked task on ``app`` (or a ``shared_task`` when app is None).

    ``@locked_task`` alone gives an execute lock on all arguments. Other keyword arguments
    are Celery task options (``bind``, ``name``, ``max_retries``...). Bad lock options
    raise ValueError/TypeError here, naming the option.
    No Redis work when decorating; what each send and run costs is on `WalrusLockedTask`.
    """
    if base is None:
        base = WalrusLockedTask
    elif not (isinstance(base, type) and issubclass(base, WalrusLockedTask)):
        raise TypeError(f"base must be a subclass of WalrusLockedTask, got {base!r}")
    ttls = {"lock_ttl": ttl, "lock_enqueue_ttl": enqueue_ttl,
            "lock_retry_countdown": retry_countdown, "lock_debounce": debounce}  # fmt: skip
    task_options = dict(
        options,
        base=base,
        lock=lock,
        unique_on=unique_on,
        lock_key=key,
        on_duplicate=on_duplicate,
        **ttls,
    )

    def decorate(function: Callable[..., Any]) -> Any:
        label = str(options.get("name") or getattr(function, "__qualname__", repr(function)))
        _check_options(label, lock, on_duplicate, key, ttls)
        check_unique_on(label, task_signature(function, bound=bool(options.get("bind"))), unique_on)
        if app is None:
            return shared_task(**task_options)(function)
        return app.task(**task_options)(function)

    if fun:
        if len(fun) != 1 or not callable(fun[0]):
            raise TypeError(
                "locked_task takes keyword options only: @locked_task(lock='both', ...)"
            )
        return decorate(fun[0])
    return decorate
