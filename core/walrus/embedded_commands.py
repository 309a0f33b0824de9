"""Commands the ``memory://`` engine adds to fakeredis, which lacks them.

Kept apart from ``embedded.py`` because it reaches into fakeredis internals: it is imported
only when a ``memory://`` pool is built, and only this module changes when fakeredis does.
"""

from __future__ import annotations

import hashlib
from typing import Any

import fakeredis

_hiredis_pack: Any
try:
    from hiredis import pack_command as _hiredis_pack
except ImportError:  # pragma: no cover - optional
    _hiredis_pack = None

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
    ("fakeredis._commands", ("COMMANDS_WITH_SUB",)),
    ("fakeredis._helpers", ("SimpleString",)),
    (
        "fakeredis.commands_mixins.scripting_mixin",
        (
            "LUA_MODULE",
            "_check_for_lua_globals",
            "_convert_redis_arg",
            "_get_lua_bad_command_arg_msg",
        ),
    ),
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

    from .embedded_scripts import ScriptRunner, script_runner
except ImportError as exc:  # a fakeredis release moved one of them
    raise ImportError(
        f"memory:// builds on fakeredis internals that fakeredis "
        f"{getattr(fakeredis, '__version__', '?')} does not have ({exc}); install a "
        "supported release: pip install 'fakeredis>=2.26,<3'"
    ) from exc

__all__ = ["PRIVATE_IMPORTS", "WalrusFakeAsyncConnection", "WalrusFakeConnection"]


class _Packed(bytes):
    """A command packed in RESP as redis-py writes it, carrying ``fields``: the arguments the
    server would parse back from it, which the in-process socket takes as they are."""

    fields: list[bytes]


def _pack(fields: list[bytes]) -> _Packed:
    """``fields`` (bytes each) packed in RESP, with ``fields`` attached. No Redis work."""
    if _hiredis_pack is not None:
        packed = _Packed(_hiredis_pack(tuple(fields)))
    else:  # pragma: no cover - hiredis is installed with redis-py's extra
        parts = [b"$%d\r\n%s\r\n" % (len(field), field) for field in fields]
        packed = _Packed(b"*%d\r\n" % len(fields) + b"".join(parts))
    packed.fields = fields
    return packed


class _WalrusFakeSocket(FakeSocket):
    """fakeredis' socket plus XSETID, WRONGTYPE (not a crash) from XREAD/XREADGROUP,
    scripts that start with a Redis 7 ``#!lua flags=...`` line, scripts run by
    ``embedded_scripts.ScriptRunner``, and commands taken as their arguments (``_Packed``)."""

    def _walrus_runner(self) -> ScriptRunner | None:
        return script_runner(self._server, self._get_server_runtime(self._server))

    def eval(self, script: bytes, numkeys: int, *keys_and_args: bytes) -> Any:
        runner = self._walrus_runner()
        if runner is not None:
            return runner.eval(self, script, numkeys, keys_and_args)
        # Lua itself does not skip a "#!" line in a string chunk: run it as a comment.
        if not script.startswith(b"#!"):
            return super().eval(script, numkeys, *keys_and_args)
        result = super().eval(b"--" + script, numkeys, *keys_and_args)
        # EVALSHA names the script by the SHA1 of its text as sent, shebang included.
        self._server.script_cache[hashlib.sha1(script).hexdigest().encode()] = script
        return result

    def evalsha(self, sha1: bytes, numkeys: int, *keys_and_args: bytes) -> Any:
        try:
            script = self._server.script_cache[sha1]
        except KeyError:
            raise SimpleError(msgs.NO_MATCHING_SCRIPT_MSG) from None
        return self.eval(script, numkeys, *keys_and_args)

    def sendall(self, data: Any) -> None:
        # A command packed by WalrusFakeConnection.send_command: its arguments are the ones
        # the parser would have read back from its RESP encoding.
        if type(data) is _Packed:
            if not self._server.connected or getattr(self, "_killed", False):
                raise self._connection_error_class(msgs.CONNECTION_ERROR_MSG)
            self._process_command(list(data.fields))
            return
        super().sendall(data)

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
    """A fakeredis connection whose server also understands the commands above.

    A command is packed in RESP as redis-py packs it (its own rules: a str command name
    split on spaces, memoryview and bytearray copied to bytes) and passes through
    ``send_packed_command`` as usual (connect, health check, round-trip counting, anything
    that reads the bytes), but the in-process socket takes its arguments as they are
    instead of parsing the RESP back. Pipelines send plain RESP, parsed as before."""

    def send_command(self, *args: Any, **kwargs: Any) -> None:
        """redis-py's ``send_command``: one command written (1 round trip with its reply,
        in process). A value redis-py cannot encode raises DataError before anything is sent."""
        first = args[0]
        if isinstance(first, str):
            args = tuple(first.encode().split()) + args[1:]
        elif b" " in first:
            args = tuple(first.split()) + args[1:]
        encode: Any = self.encoder.encode
        fields = [
            bytes(arg) if isinstance(arg, (bytearray, memoryview)) else encode(arg) for arg in args
        ]
        send: Any = self.send_packed_command
        send([_pack(fields)], check_health=kwargs.get("check_health", True))

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
