"""Commands the ``memory://`` engine adds to fakeredis, which lacks them.

Kept apart from ``embedded.py`` because it reaches into fakeredis internals: it is imported
only when a ``memory://`` pool is built, and only this module changes when fakeredis does.
"""

from __future__ import annotations

import hashlib
from typing import Any

import fakeredis

PRIVATE_IMPORTS = (
    ("fakeredis._msgs", ()),
    ("fakeredis._clients._sync", ("FakeRedisConnection",)),
    (
        "fakeredis._clients._async",
        ("AsyncFakeSocket", "FakeAsyncRedisConnection", "FakeReader", "FakeWriter"),
    ),
    ("fakeredis._commands", ("Key", "command")),
    ("fakeredis._helpers", ("OK", "SimpleError")),
    ("fakeredis._socket", ("FakeSocket",)),
    ("fakeredis.model", ("StreamEntryKey", "XStream")),
)
"""The fakeredis internals this module builds on, as (module, names) pairs. They are
private: they may move in any release; the embedded extra pins fakeredis below 3, and
tests/test_embedded_internals.py checks that each is still there."""

try:
    from fakeredis import _msgs as msgs
    from fakeredis._clients._async import FakeAsyncRedisConnection, FakeReader, FakeWriter
    from fakeredis._clients._sync import FakeRedisConnection
    from fakeredis._commands import Key, command
    from fakeredis._helpers import OK, SimpleError
    from fakeredis._socket import FakeSocket
    from fakeredis._socket._async import AsyncFakeSocket
    from fakeredis.model import StreamEntryKey, XStream
except ImportError as exc:  # a fakeredis release moved one of them
    raise ImportError(
        f"memory:// builds on fakeredis internals that fakeredis "
        f"{getattr(fakeredis, '__version__', '?')} does not have ({exc}); install a "
        "supported release: pip install 'fakeredis>=2.26,<3'"
    ) from exc

__all__ = ["PRIVATE_IMPORTS", "WalrusFakeAsyncConnection", "WalrusFakeConnection"]


class _CompiledScripts:
    """fakeredis' Lua runtime with a memory of compiled scripts.

    fakeredis compiles a script's source on every EVAL/EVALSHA and runs a full Lua garbage
    collection after it; for a model script of a few hundred lines that was most of the
    call. Here a source is compiled once (the chunk is a function: calling it is running
    the script), and the full collection after a script runs only every ``FULL_GC_EVERY``
    calls (Lua's own incremental collector runs meanwhile). Everything else goes to the
    runtime itself."""

    FULL_GC_EVERY = 200
    MAX_SCRIPTS = 512

    def __init__(self, runtime: Any) -> None:
        self.runtime = runtime
        self.compiled: dict[bytes, Any] = {}
        self.calls = 0

    def execute(self, source: Any) -> Any:
        if source == "collectgarbage()":
            self.calls += 1
            if self.calls % self.FULL_GC_EVERY:
                return None
            return self.runtime.execute(source)
        function = self.compiled.get(source)
        if function is None:
            if len(self.compiled) >= self.MAX_SCRIPTS:
                self.compiled.clear()
            function = self.runtime.compile(source)  # a syntax error raises as execute would
            self.compiled[source] = function
        return function()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.runtime, name)


class _WalrusFakeSocket(FakeSocket):
    """fakeredis' socket plus XSETID, WRONGTYPE (not a crash) from XREAD/XREADGROUP,
    scripts that start with a Redis 7 ``#!lua flags=...`` line, and compiled scripts kept
    (``_CompiledScripts``)."""

    def _get_server_runtime(self, server: Any) -> Any:
        runtime = super()._get_server_runtime(server)
        cached = getattr(server, "_walrus_compiled_scripts", None)
        if cached is None or cached.runtime is not runtime:
            cached = _CompiledScripts(runtime)
            server._walrus_compiled_scripts = cached
        return cached

    def eval(self, script: bytes, numkeys: int, *keys_and_args: bytes) -> Any:
        # Lua itself does not skip a "#!" line in a string chunk: run it as a comment. The
        # flags are not enforced here (fakeredis has no maxmemory, replicas or cluster).
        if not script.startswith(b"#!"):
            return super().eval(script, numkeys, *keys_and_args)
        result = super().eval(b"--" + script, numkeys, *keys_and_args)
        # EVALSHA names the script by the SHA1 of its text as sent, shebang included.
        self._server.script_cache[hashlib.sha1(script).hexdigest().encode()] = script
        return result

    def _check_stream_keys(self, args: tuple[bytes, ...]) -> None:
        # fakeredis 2.40 raises AttributeError on a non-stream key; Redis replies WRONGTYPE.
        for index, arg in enumerate(args):
            if isinstance(arg, bytes) and arg.upper() == b"STREAMS":
                rest = args[index + 1 :]
                for name in rest[: len(rest) // 2]:
                    value = self._db.get(name)
                    if value is not None and not isinstance(value.value, XStream):
                        raise SimpleError(msgs.WRONGTYPE_MSG)
                return

    def xread(self, *args: bytes) -> Any:
        self._check_stream_keys(args)
        return super().xread(*args)

    def xreadgroup(
        self, group_const: bytes, group_name: bytes, consumer_name: bytes, *args: bytes
    ) -> Any:
        self._check_stream_keys(args)
        return super().xreadgroup(group_const, group_name, consumer_name, *args)

    # FLAG_DO_NOT_CREATE: a missing key arrives as None, not as a new empty stream.
    @command(
        name="XSETID", fixed=(Key(XStream), bytes), repeat=(bytes,), flags=msgs.FLAG_DO_NOT_CREATE
    )
    def xsetid(self, key: Any, last_id: bytes, *options: bytes) -> Any:
        # Same checks and messages as Redis 7: the stream must exist and the new last id
        # may not go below its newest entry.
        stream = key.value
        if stream is None:
            raise SimpleError("ERR no such key")
        if options:
            raise SimpleError(msgs.SYNTAX_ERROR_MSG)
        new_id = StreamEntryKey.parse_str(last_id)
        newest = stream.last_item_key()
        if len(stream) and new_id < StreamEntryKey.parse_str(newest):
            raise SimpleError(
                "ERR The ID specified in XSETID is smaller than the target stream top item"
            )
        stream._last_id = new_id
        key.updated()
        return OK


class WalrusFakeConnection(FakeRedisConnection):
    """A fakeredis connection whose server also understands the commands above."""

    def _connect(self) -> FakeSocket:
        server = self._server
        if server is None or not server.connected:
            raise self._connection_error_class(msgs.CONNECTION_ERROR_MSG)
        return _WalrusFakeSocket(
            server,
            client_class=self._client_class,
            db=self.db,
            lua_modules=self._lua_modules,
            client_info=self._client_info,
        )


class _WalrusAsyncFakeSocket(_WalrusFakeSocket, AsyncFakeSocket):
    """The same server-side additions for an asyncio connection (fakeredis' async socket)."""


class WalrusFakeAsyncConnection(FakeAsyncRedisConnection):
    """The asyncio twin of ``WalrusFakeConnection``: an async client of the same in-process
    server, so sync and async clients of one ``memory://`` name share their data."""

    async def _connect(self) -> None:
        server = self._server
        if server is None or not server.connected:
            raise self._connection_error_class(msgs.CONNECTION_ERROR_MSG)
        self._sock = _WalrusAsyncFakeSocket(
            server,
            self.db,
            client_class=self._client_class,
            lua_modules=self._lua_modules,
            client_info=self._client_info,
        )
        self._reader = FakeReader(self._sock)
        self._writer = FakeWriter(self._sock)
