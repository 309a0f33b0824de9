"""Configuration of celery_walrus: its Celery config keys and the Database the locks use.

Celery config keys (lowercase, as Celery's own; the uppercase spelling is accepted too)::

    app.conf.walrus_url = "redis://localhost:6379/1"     # where the locks live
    app.conf.walrus_connection_options = {"socket_timeout": 2}
    app.conf.walrus_database = get_database       # or: a Database, or a function returning one
    app.conf.walrus_lock_prefix = "celery_walrus:"  # lock names: <prefix><task name>:<digest>
    app.conf.walrus_lock_renew = True             # hold a short lease, renewed while the task runs
    app.conf.walrus_lock_renew_interval = 5       # seconds between renewals; lease = 3 intervals
    app.conf.walrus_lock_default_ttl = 60         # seconds; renewal off, task without time limits
    app.conf.walrus_lock_ttl_margin = 10          # seconds added to a time limit (renewal off)
    app.conf.walrus_lock_enqueue_ttl = 600        # seconds an enqueue lock waits for a worker
    app.conf.walrus_lock_retry_countdown = 5      # seconds, on_duplicate="retry"
    app.conf.walrus_rate_limit_prefix = "celery_walrus:rl:"  # <prefix><task name>:<key>
    app.conf.walrus_rate_limit_strategy = "moving-window"  # fixed-window, gcra, ...
    app.conf.walrus_rate_limit_on_error = "allow"  # Redis down: "allow" (run) or "deny"

A ``walrus_lock_*`` or ``walrus_rate_limit_*`` key that is not one of these raises ValueError
naming it (a typo would otherwise be ignored silently). With a config namespace
(``config_from_object(..., namespace="CELERY")``) the keys are read as Celery reads its own
(``CELERY_WALRUS_LOCK_PREFIX``).

``walrus_database`` hands celery_walrus a Database the project already has, instead of a URL:
a ``walrus.Database`` or a function called with no argument that returns one (each time the
locks need it, so a factory that follows settings changes, such as Django's
``django_walrus.get_database``, stays the judge). Without either key the locks live on
``redis://localhost:6379/0``. Settings and the Database are made on first use and kept on the
Celery app object itself (``reset(app)`` drops them).
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, cast

from walrus import Database
from walrus.database import DatabaseBase
from walrus.urls import check_url

__all__ = [
    "DEFAULTS",
    "DEFAULT_URL",
    "LEASE_FACTOR",
    "LockSettings",
    "get_database",
    "get_settings",
    "read_settings",
    "reset",
]

DEFAULT_URL = "redis://localhost:6379/0"
"""The Redis URL used when the app's config names none."""

LEASE_FACTOR = 3
"""A running task's lease is this many renewal intervals: two renewals may fail (a slow or briefly
unreachable server) before the lock lapses."""

DEFAULTS: dict[str, Any] = {
    "walrus_url": None,
    "walrus_connection_options": {},
    "walrus_database": None,
    "walrus_lock_prefix": "celery_walrus:",
    "walrus_lock_renew": True,
    "walrus_lock_renew_interval": 5.0,
    "walrus_lock_default_ttl": 60.0,
    "walrus_lock_ttl_margin": 10.0,
    "walrus_lock_enqueue_ttl": 600.0,
    "walrus_lock_retry_countdown": 5.0,
    "walrus_rate_limit_prefix": "celery_walrus:rl:",
    "walrus_rate_limit_strategy": "moving-window",
    "walrus_rate_limit_on_error": "allow",
}
"""Every ``walrus_*`` config key the package reads, with the value used when the app's config
leaves it out (times in seconds; docs/celery.md)."""

_LOCK_KEYS = "walrus_lock_"
_CHECKED_KEYS = (_LOCK_KEYS, "walrus_rate_limit_")


@dataclass(frozen=True)
class LockSettings:
    """The validated configuration of one Celery app (times in seconds)."""

    url: str | None
    connection_options: dict[str, Any]
    database: DatabaseBase | Callable[[], DatabaseBase] | None
    prefix: str
    default_ttl: float
    ttl_margin: float
    enqueue_ttl: float
    retry_countdown: float
    renew: bool
    renew_interval: float = DEFAULTS["walrus_lock_renew_interval"]
    rate_limit_prefix: str = DEFAULTS["walrus_rate_limit_prefix"]
    rate_limit_strategy: str = DEFAULTS["walrus_rate_limit_strategy"]
    rate_limit_on_error: str = DEFAULTS["walrus_rate_limit_on_error"]

    @property
    def lease(self) -> float:
        """Seconds a running task's lock lives past its last renewal (renewal on)."""
        return self.renew_interval * LEASE_FACTOR


@dataclass
class _AppState:
    """What celery_walrus keeps on a Celery app object (attribute ``_celery_walrus``)."""

    settings: LockSettings
    database: Database | None = None


_STATE = "_celery_walrus"
_lock = threading.Lock()  # guards creating an app's state and Database, not the state itself


def _namespace(conf: Any) -> str | None:
    """The config namespace prefix (``"CELERY_"``) of a Celery ``app.conf``; None for dicts."""
    prefix = getattr(conf, "prefix", None)
    return prefix if isinstance(prefix, str) and prefix else None


def _raw(conf: Mapping[str, Any], key: str) -> Any:
    # Under a namespace Celery maps "walrus_url" to "CELERY_WALRUS_URL" itself; the bare
    # uppercase name would then be some unrelated (e.g. Django) setting, so it is not read.
    names = (key,) if _namespace(conf) else (key, key.upper())
    for name in names:
        try:
            value = conf.get(name)
        except Exception:  # pragma: no cover - exotic conf objects
            value = None
        if value is not None:
            return value
    return DEFAULTS.get(key)


def _check_unknown_keys(conf: Mapping[str, Any]) -> None:
    """Reject ``walrus_lock_*`` and ``walrus_rate_limit_*`` keys celery_walrus does not know
    (typos)."""
    try:
        keys = list(conf.keys())
    except Exception:  # pragma: no cover - exotic conf objects
        return
    namespace = _namespace(conf)  # after keys(): a lazy config sets its namespace on loading
    for key in keys:
        if not isinstance(key, str):
            continue
        name = key
        if namespace is not None:
            if key.upper().startswith(namespace.upper()):
                name = key[len(namespace) :]
            elif key != key.lower():
                continue  # not Celery config under a namespace (e.g. a Django setting)
        lowered = name.lower()
        if lowered.startswith(_CHECKED_KEYS) and lowered not in DEFAULTS:
            family = next(p for p in _CHECKED_KEYS if lowered.startswith(p))
            known = ", ".join(k for k in DEFAULTS if k.startswith(family))
            raise ValueError(f"unknown Celery config key {key!r}: celery_walrus knows {known}")


def _seconds(conf: Mapping[str, Any], key: str, *, allow_zero: bool = False) -> float:
    value = _raw(conf, key)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(
            f"Celery config {key} must be a number of seconds, got {type(value).__name__}"
        )
    if not math.isfinite(value) or value < 0 or (value == 0 and not allow_zero):
        wanted = "a non-negative" if allow_zero else "a positive"
        raise ValueError(f"Celery config {key} must be {wanted} number of seconds, got {value!r}")
    return float(value)


def read_settings(conf: Mapping[str, Any]) -> LockSettings:
    """Validate the ``walrus_*`` keys of a Celery ``app.conf``; TypeError/ValueError name the
    key (an unknown ``walrus_lock_*`` or ``walrus_rate_limit_*`` key is a ValueError).
    No Redis work."""
    _check_unknown_keys(conf)
    url = _raw(conf, "walrus_url")
    if url is not None:
        check_url(url, "Celery config walrus_url")
    database = _database_setting(conf, url)
    options = _raw(conf, "walrus_connection_options")
    if not isinstance(options, Mapping):
        raise TypeError(
            f"Celery config walrus_connection_options must be a dict, got {type(options).__name__}"
        )
    prefix = _raw(conf, "walrus_lock_prefix")
    if not isinstance(prefix, str):
        raise TypeError(
            f"Celery config walrus_lock_prefix must be a string, got {type(prefix).__name__}"
        )
    renew = _raw(conf, "walrus_lock_renew")
    if not isinstance(renew, bool):
        raise TypeError(f"Celery config walrus_lock_renew must be True or False, got {renew!r}")
    rl_prefix = _raw(conf, "walrus_rate_limit_prefix")
    if not isinstance(rl_prefix, str) or not rl_prefix:
        raise TypeError(
            f"Celery config walrus_rate_limit_prefix must be a non-empty string, got {rl_prefix!r}"
        )
    from walrus.rate_limit import check_on_error, check_strategy

    strategy = _raw(conf, "walrus_rate_limit_strategy")
    try:
        check_strategy(strategy)
    except ValueError as exc:
        raise ValueError(f"Celery config walrus_rate_limit_strategy: {exc}") from None
    on_error = check_on_error(
        _raw(conf, "walrus_rate_limit_on_error"), "Celery config walrus_rate_limit_on_error"
    )
    return LockSettings(
        url=url,
        connection_options=dict(options),
        database=database,
        prefix=prefix,
        default_ttl=_seconds(conf, "walrus_lock_default_ttl"),
        ttl_margin=_seconds(conf, "walrus_lock_ttl_margin", allow_zero=True),
        enqueue_ttl=_seconds(conf, "walrus_lock_enqueue_ttl"),
        retry_countdown=_seconds(conf, "walrus_lock_retry_countdown", allow_zero=True),
        renew=renew,
        renew_interval=_seconds(conf, "walrus_lock_renew_interval"),
        rate_limit_prefix=rl_prefix,
        rate_limit_strategy=strategy,
        rate_limit_on_error=on_error,
    )


def _state(app: Any) -> _AppState:
    state = getattr(app, _STATE, None)
    if isinstance(state, _AppState):
        return state
    settings = read_settings(app.conf)  # outside the lock: may load a lazy config module
    with _lock:
        state = getattr(app, _STATE, None)
        if not isinstance(state, _AppState):
            state = _AppState(settings)
            setattr(app, _STATE, state)
    return state


def get_settings(app: Any) -> LockSettings:
    """The validated settings of Celery ``app``, read on first use and kept on the app. No Redis
    work."""
    return _state(app).settings


def _database_setting(
    conf: Mapping[str, Any], url: str | None
) -> DatabaseBase | Callable[[], DatabaseBase] | None:
    """``walrus_database``: a Database or a function returning one; not beside ``walrus_url``.
    ``walrus_alias`` (celery_walrus 1.x read Django's setting itself) is refused with the
    replacement spelled out."""
    if _raw(conf, "walrus_alias") is not None:
        raise ValueError(
            "Celery config walrus_alias is no longer read: set walrus_database to "
            "django_walrus.get_database (or lambda: get_database('<alias>')) instead"
        )
    database = _raw(conf, "walrus_database")
    if database is None:
        return None
    if not (isinstance(database, DatabaseBase) or callable(database)):
        raise TypeError(
            "Celery config walrus_database must be a walrus Database or a function returning "
            f"one, got {type(database).__name__}"
        )
    if url is not None:
        raise ValueError("Celery config: set walrus_url or walrus_database, not both")
    return cast("DatabaseBase | Callable[[], DatabaseBase]", database)


def _from_factory(factory: Callable[[], Any]) -> Database:
    database = factory()
    if not isinstance(database, DatabaseBase):
        raise TypeError(
            "Celery config walrus_database returned "
            f"{type(database).__name__}, not a walrus Database"
        )
    return cast(Database, database)


def get_database(app: Any) -> Database:
    """The ``walrus.Database`` holding ``app``'s locks; does not connect until used.

    ``walrus_database`` set: that Database, or what its factory returns now. Else one
    Database per app from ``walrus_url`` (or the default local URL), kept on the app object
    (it goes away with the app). No Redis work.
    """
    state = _state(app)
    database = state.database
    if database is not None:
        return database
    settings = state.settings
    if isinstance(settings.database, DatabaseBase):
        return cast(Database, settings.database)
    if settings.database is not None:
        return _from_factory(settings.database)
    with _lock:
        if state.database is None:
            state.database = Database.from_url(
                settings.url or DEFAULT_URL, **settings.connection_options
            )
        return state.database


def reset(app: Any) -> None:
    """Forget ``app``'s settings and Database (its pool is disconnected). No Redis command: the
    pool's connections are closed."""
    with _lock:
        state = getattr(app, _STATE, None)
        if state is not None:
            delattr(app, _STATE)
    if isinstance(state, _AppState) and state.database is not None:
        state.database.disconnect()
