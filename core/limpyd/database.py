"""``RedisDatabase``: the connection settings and the model registry of limpyd models."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from redis.connection import HIREDIS_AVAILABLE, HiredisRespSerializer

from walrus import Database

from .exceptions import ImplementationError
from .utils import ENCODING, ENCODING_ERRORS

if TYPE_CHECKING:  # pragma: no cover
    from .model import RedisModel

__all__ = ["RedisDatabase"]


class _SurrogateSafePacker:
    """Command packer encoding ``str`` arguments with ``surrogateescape`` before hiredis packs
    them (hiredis encodes str strictly, which would refuse binary values read back as str)."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    def pack(self, *args: Any) -> Any:
        return self._inner.pack(
            *(a.encode(ENCODING, ENCODING_ERRORS) if isinstance(a, str) else a for a in args)
        )


def _install_binary_safe_packer(connection: Database) -> None:
    """Make the (not yet connected) pool's connections send surrogate-escaped text as the
    original bytes. redis-py's pure-Python packer already does it through the encoder."""
    if HIREDIS_AVAILABLE:
        connection.connection_pool.connection_kwargs["command_packer"] = _SurrogateSafePacker(
            HiredisRespSerializer()
        )


class RedisDatabase:
    """Where limpyd models live: redis-py connection settings plus a registry of models.

    ``RedisDatabase(host=..., port=..., db=..., ...)`` takes the keyword arguments of
    ``redis.Redis``. Values are decoded to ``str`` (``decode_responses=True``) with the
    ``surrogateescape`` error handler, so binary values round-trip; asking for other decoding
    raises ``ValueError``. Creating it does not connect: the first command does.

    ``connection`` is the client fields talk to, a :class:`walrus.Database` (it also runs
    limpyd's Lua scripts). Two models with the same namespace and name cannot share a database.
    """

    def __init__(self, **connection_settings: Any) -> None:
        self._connection: Database | None = None
        self._lock = threading.Lock()
        self._models: dict[str, type[RedisModel]] = {}
        self.connection_settings: dict[str, Any] = {}
        self.connect(**connection_settings)

    # -- connection ---------------------------------------------------------------------

    def connect(self, **connection_settings: Any) -> Database:
        """Replace the connection settings; the new client connects on first use."""
        settings = dict(connection_settings)
        if not settings.pop("decode_responses", True):
            raise ValueError("RedisDatabase: decode_responses must stay True (limpyd returns str)")
        for name, wanted in (("encoding", ENCODING), ("encoding_errors", ENCODING_ERRORS)):
            given = settings.pop(name, wanted)
            if given != wanted:
                raise ValueError(
                    f"RedisDatabase: {name} must be {wanted!r} (binary values round-trip "
                    f"through it), got {given!r}"
                )
        if "connection_pool" in settings:
            raise ValueError("RedisDatabase: pass connection settings, not a connection_pool")
        self.connection_settings = settings
        with self._lock:
            old, self._connection = self._connection, None
        if old is not None:
            old.close()
        return self.direct_connection

    @property
    def direct_connection(self) -> Database:
        """The walrus ``Database`` client, never a pipeline (created on first access)."""
        connection = self._connection
        if connection is None:
            with self._lock:
                if self._connection is None:
                    connection = Database(
                        decode_responses=True,
                        encoding=ENCODING,
                        encoding_errors=ENCODING_ERRORS,
                        **self.connection_settings,
                    )
                    _install_binary_safe_packer(connection)
                    self._connection = connection
                connection = self._connection
        return connection

    @property
    def connection(self) -> Any:
        """The client field commands use: the walrus ``Database`` (a pipeline for
        :class:`limpyd.contrib.database.PipelineDatabase` inside ``pipeline()``)."""
        return self.direct_connection

    def has_pipeline(self) -> bool:
        """True when field commands of this thread are being queued in a pipeline."""
        return False

    def run_script(self, name: str, keys: list[Any], args: list[Any]) -> Any:
        """Run one of walrus' Lua scripts on the direct connection (one round trip)."""
        return self.direct_connection.run_script(name, keys=keys, args=args)

    def close(self) -> None:
        """Close the pooled connections (a later command reconnects)."""
        if self._connection is not None:
            self._connection.close()

    # -- models -------------------------------------------------------------------------

    def _add_model(self, model: type[RedisModel]) -> None:
        """Register a concrete model; its ``namespace:name`` must be free on this database."""
        name = model._name
        with self._lock:
            existing = self._models.get(name)
            if existing is not None:
                raise ImplementationError(
                    f"a model named {model.__name__!r} with namespace {model.namespace!r} is "
                    f"already defined on this database ({existing.__module__}."
                    f"{existing.__qualname__}); give one of them another namespace"
                )
            self._models[name] = model
        try:
            self._model_added(model)
        except Exception:
            self._remove_model(model)
            raise

    def _remove_model(self, model: type[RedisModel]) -> None:
        """Forget ``model`` (used when its declaration fails after registration)."""
        with self._lock:
            if self._models.get(model._name) is model:
                del self._models[model._name]

    def _model_added(self, model: type[RedisModel]) -> None:
        """Hook run after a model is registered (related fields resolve pending links here)."""
        for other in list(self._models.values()):
            if other is model:
                continue
            hook = getattr(other, "_on_model_registered", None)
            if hook is not None:
                hook(model)

    def get_model(self, name: str, namespace: str = "") -> type[RedisModel]:
        """The registered model ``name`` (case-insensitive) in ``namespace``; KeyError if none."""
        try:
            return self._models[f"{namespace}:{name.lower()}"]
        except KeyError:
            raise KeyError(
                f"no model {name!r} in namespace {namespace!r} on this database"
            ) from None

    @property
    def models(self) -> dict[str, type[RedisModel]]:
        """Registered models by ``namespace:name`` (a copy)."""
        return dict(self._models)
