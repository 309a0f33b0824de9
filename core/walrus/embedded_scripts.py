"""How the ``memory://`` engine runs Lua scripts: fakeredis' semantics, fewer Python steps.

fakeredis runs a script by compiling its source, setting ``KEYS`` and ``ARGV`` through three
calls into Lua, running it, collecting Lua's garbage, and comparing the Lua globals with the
expected set from Python; each ``redis.call`` compares the globals again, decodes the
command name, looks it up and converts its arguments one Python call at a time. Here:

- a script's source is compiled once per engine (``ScriptRunner.MAX_SCRIPTS`` kept), and
  one Lua call (``RUN``) builds ``KEYS``/``ARGV``, runs the script and checks the globals;
- a full garbage collection runs every ``FULL_GC_EVERY`` scripts instead of after each;
- the globals check is a flag: ``_G`` gets a ``__newindex`` metamethod that raises the flag
  when a script creates a global, so ``redis.call`` runs fakeredis' own check (which names
  and removes the globals) only then; at the end of a script a Lua loop compares ``_G``
  with the expected names (it also sees a global created with ``rawset``);
- ``redis.call`` looks the command up once per name (the name bytes as the script wrote
  them) and then runs fakeredis' own command method through its own ``_run_command``:
  same argument checks, errors, types, expiry and keyspace bookkeeping;
- a script's table reply is read with one Lua call (``FLAT``) instead of one per item.

Commands with subcommands, unknown names and non-string names go through fakeredis'
generic ``redis.call`` unchanged.
"""

from __future__ import annotations

import hashlib
from typing import Any

from fakeredis import _msgs as msgs
from fakeredis._commands import COMMANDS_WITH_SUB
from fakeredis._helpers import SimpleError, SimpleString
from fakeredis.commands_mixins.scripting_mixin import (
    LUA_MODULE,
    _check_for_lua_globals,
    _convert_redis_arg,
    _get_lua_bad_command_arg_msg,
)

__all__ = ["ScriptRunner", "script_runner"]

_SETUP = """
local py_call, py_pcall, py_pcall_checked, py_check, expected_list = ...
local next, select, rawset, unpack, setmetatable = next, select, rawset, unpack, setmetatable
local G = _G
local dirty = false
local expected = {}
for _, name in ipairs(expected_list) do expected[name] = true end
setmetatable(G, {__newindex = function(t, k, v) dirty = true rawset(t, k, v) end})
redis.call = function(...)
    if dirty then dirty = false py_check() end
    return py_call(...)
end
redis.pcall = function(...)
    if dirty then dirty = false return py_pcall_checked(...) end
    return py_pcall(...)
end
local function finish(...)
    local bad = dirty
    if not bad then
        for name in next, G do
            if not expected[name] then bad = true break end
        end
    end
    if bad then dirty = false end
    return bad, ...
end
local run = function(fn, nkeys, ...)
    local all = {...}
    local keys, argv = {}, {}
    for i = 1, nkeys do keys[i] = all[i] end
    for i = nkeys + 1, select('#', ...) do argv[i - nkeys] = all[i] end
    KEYS = keys
    ARGV = argv
    return finish(fn())
end
local run_tables = function(fn, keys, argv)
    KEYS = keys
    ARGV = argv
    return finish(fn())
end
local flat = function(t)
    if t.ok ~= nil or t.err ~= nil or t.double ~= nil or t.map ~= nil then return false end
    local n = 0
    while t[n + 1] ~= nil do n = n + 1 end
    if n > 4000 then return false end
    return true, unpack(t, 1, n)
end
return run, run_tables, flat
"""

_PLAIN = frozenset((bytes, int))


class ScriptRunner:
    """The per-engine state of the fast script path: compiled scripts, the Lua helpers,
    and the ``redis.call`` dispatch table."""

    FULL_GC_EVERY = 200
    MAX_SCRIPTS = 512
    MAX_STACK_ARGS = 200

    def __init__(self, server: Any, runtime: Any) -> None:
        self.server = server
        self.runtime = runtime
        self.compiled: dict[bytes, tuple[bytes, Any]] = {}
        self.scripts_run = 0
        self.dispatch: dict[Any, tuple[Any, str]] = {}
        self.current: list[Any] = server._lua_current_socket
        expected = server._lua_expected_globals
        check = server._lua_redis_call_wrapper  # fakeredis' generic redis.call
        pcall = server._lua_redis_pcall_wrapper

        def check_globals() -> None:
            _check_for_lua_globals(runtime, expected)

        def pcall_checked(*args: Any) -> Any:
            try:
                check_globals()
            except Exception as exc:
                return runtime.table_from({b"err": str(exc)})
            return self.call(*args, pcall=True)

        def call(*args: Any) -> Any:
            return self.call(*args)

        def fast_pcall(*args: Any) -> Any:
            return self.call(*args, pcall=True)

        self.generic_call = check
        self.generic_pcall = pcall
        names = runtime.table_from(sorted(expected, key=repr))
        setup = runtime.execute(_SETUP, call, fast_pcall, pcall_checked, check_globals, names)
        self.run, self.run_tables, self.flat = setup
        self.lua_error = LUA_MODULE.LuaError
        self.lua_type = LUA_MODULE.lua_type

    # -- compiling ------------------------------------------------------------------------

    def function(self, script: bytes) -> tuple[bytes, Any]:
        """(SHA1 of the script as sent, compiled chunk). A syntax error raises LuaError."""
        found = self.compiled.get(script)
        if found is not None:
            return found
        if len(self.compiled) >= self.MAX_SCRIPTS:
            self.compiled.clear()
        sha = hashlib.sha1(script).hexdigest().encode()
        # Lua itself does not skip a "#!" line in a string chunk: run it as a comment. The
        # flags are not enforced here (fakeredis has no maxmemory, replicas or cluster).
        source = b"--" + script if script.startswith(b"#!") else script
        function = self.runtime.compile(source)
        self.compiled[script] = (sha, function)
        return sha, function

    # -- EVAL -----------------------------------------------------------------------------

    def eval(self, sock: Any, script: bytes, numkeys: int, keys_and_args: tuple[bytes, ...]) -> Any:
        """Run ``script`` for ``sock`` as fakeredis' EVAL would, replies and errors alike."""
        if numkeys > len(keys_and_args):
            raise SimpleError(msgs.TOO_MANY_KEYS_MSG)
        if numkeys < 0:
            raise SimpleError(msgs.NEGATIVE_KEYS_MSG)
        server = sock._server
        try:
            sha, function = self.function(script)
        except self.lua_error as exc:
            sha = hashlib.sha1(script).hexdigest().encode()
            server.script_cache[sha] = script
            raise SimpleError(msgs.SCRIPT_ERROR_MSG.format(sha.decode(), exc)) from None
        server.script_cache[sha] = script
        self.current[0] = sock
        # Every script starts at RESP2 whatever the calling client speaks.
        sock._script_resp = 2
        # A script sees none of the caller's HIMPORT fieldsets.
        caller_fieldsets, sock._fieldsets = sock._fieldsets, {}
        try:
            if len(keys_and_args) <= self.MAX_STACK_ARGS:
                out = self.run(function, numkeys, *keys_and_args)
            else:  # more values than Lua's C stack takes as arguments
                table_from = self.runtime.table_from
                keys = table_from(keys_and_args[:numkeys])
                argv = table_from(keys_and_args[numkeys:])
                out = self.run_tables(function, keys, argv)
        except SimpleError as exc:
            error_msg = exc.value
            if error_msg == msgs.LUA_COMMAND_ARG_MSG:
                error_msg = _get_lua_bad_command_arg_msg(server.server_type, sock.version)
            elif sock.version < (7,):
                error_msg = msgs.SCRIPT_ERROR_MSG.format(sha.decode(), error_msg)
            raise SimpleError(error_msg) from None
        except self.lua_error as exc:
            raise SimpleError(msgs.SCRIPT_ERROR_MSG.format(sha.decode(), exc)) from None
        finally:
            sock._script_resp = None
            sock._fieldsets = caller_fieldsets
            self.scripts_run += 1
            if self.scripts_run % self.FULL_GC_EVERY == 0:
                self.runtime.execute("collectgarbage()")
        if type(out) is tuple:
            bad = out[0]
            result = out[1] if len(out) == 2 else out[1:]
        else:
            bad, result = out, None
        if bad:
            _check_for_lua_globals(self.runtime, server._lua_expected_globals)
        return self.reply(sock, result)

    def reply(self, sock: Any, result: Any) -> Any:
        """A script's return value as fakeredis' ``_convert_lua_result(nested=False)``."""
        if self.lua_type(result) != "table":
            return sock._convert_lua_result(result, nested=False)
        flat = self.flat(result)
        if flat is False:  # a status or error reply, a double or a map, or a long array
            return sock._convert_lua_result(result, nested=False)
        items = flat[1:] if type(flat) is tuple else ()
        return [item if type(item) is bytes else self.item(sock, item) for item in items]

    def item(self, sock: Any, item: Any) -> Any:
        """One element of a script's array reply (fakeredis' nested conversion)."""
        if self.lua_type(item) == "table":
            return self.reply_nested(sock, item)
        return sock._convert_lua_result(item)

    def reply_nested(self, sock: Any, table: Any) -> Any:
        flat = self.flat(table)
        if flat is False:
            return sock._convert_lua_result(table)
        items = flat[1:] if type(flat) is tuple else ()
        return [item if type(item) is bytes else self.item(sock, item) for item in items]

    # -- redis.call -----------------------------------------------------------------------

    def call(self, *args: Any, pcall: bool = False) -> Any:
        """``redis.call(op, ...)`` (``redis.pcall`` with ``pcall``): the command method found
        once per name, run by fakeredis' ``_run_command``; the reply converted for Lua."""
        sock = self.current[0]
        entry = None
        if args:
            try:
                entry = self.dispatch.get(args[0])
            except TypeError:  # a table or function as the command name
                pass
            if entry is None:
                entry = self.resolve(sock, args[0])
        if entry is None:
            return (self.generic_pcall if pcall else self.generic_call)(*args)
        sig, func_name = entry
        try:
            new_args = [arg if type(arg) is bytes else _convert_redis_arg(arg) for arg in args[1:]]
            result = sock._run_command(getattr(sock, func_name), sig, new_args, True)
            if type(result) in _PLAIN:
                return result
            return self.to_lua(sock, result)
        except Exception as exc:
            if not pcall:
                raise
            return self.runtime.table_from({b"err": str(exc)})

    def to_lua(self, sock: Any, result: Any) -> Any:
        if type(result) is list and all(type(item) is bytes for item in result):
            return self.runtime.table_from(result)
        if type(result) is SimpleString:
            return self.runtime.table_from({b"ok": result.value})
        return sock._convert_redis_result(self.runtime, result)

    def resolve(self, sock: Any, op: Any) -> tuple[Any, str] | None:
        """The (signature, method name) of command ``op``, or None for the generic path."""
        if type(op) is not bytes:
            return None
        name = op.decode("utf-8", "replace").lower()
        if name in COMMANDS_WITH_SUB:
            return None
        try:
            func, sig = sock._name_to_func(name)
        except SimpleError:
            return None
        if func is None:
            return None
        entry = (sig, sig.func_name)
        self.dispatch[op] = entry
        return entry


def script_runner(server: Any, runtime: Any) -> ScriptRunner | None:
    """The server's ScriptRunner, made on first use; None when this fakeredis lacks the
    runtime attributes it builds on (fakeredis' own EVAL then runs). No Redis work."""
    runner: ScriptRunner | None = getattr(server, "_walrus_script_runner", None)
    if runner is not None and runner.runtime is runtime:
        return runner
    needed = (
        "_lua_current_socket",
        "_lua_expected_globals",
        "_lua_redis_call_wrapper",
        "_lua_redis_pcall_wrapper",
    )
    if not all(hasattr(server, name) for name in needed):
        return None
    runner = ScriptRunner(server, runtime)
    server._walrus_script_runner = runner
    return runner
