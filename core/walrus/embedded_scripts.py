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
from fakeredis._commands import COMMANDS_WITH_SUB, Key
from fakeredis._core import CommandItem
from fakeredis._helpers import SimpleError, SimpleString
from fakeredis._socket._resp import convert_to_resp2, valid_response_type
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
local finish = function()
    local bad = dirty
    if not bad then
        for name in next, G do
            if not expected[name] then bad = true break end
        end
    end
    if bad then dirty = false end
    return bad
end
local prepare = function(nkeys, ...)
    local all = {...}
    local keys, argv = {}, {}
    for i = 1, nkeys do keys[i] = all[i] end
    for i = nkeys + 1, select('#', ...) do argv[i - nkeys] = all[i] end
    KEYS = keys
    ARGV = argv
end
local prepare_tables = function(keys, argv)
    KEYS = keys
    ARGV = argv
end
local flat = function(t)
    if t.ok ~= nil or t.err ~= nil or t.double ~= nil or t.map ~= nil then return false end
    local n = 0
    while t[n + 1] ~= nil do n = n + 1 end
    if n > 4000 then return false end
    return true, unpack(t, 1, n)
end
return prepare, prepare_tables, finish, flat
"""

_PLAIN = frozenset((bytes, int))
_MISSING = object()


def _valid(result: Any, resp_version: int) -> bool:
    """fakeredis' check of a command's reply type (a flat array of strings and integers
    passes without walking it item by item)."""
    if type(result) is list and _PLAIN.issuperset(map(type, result)):
        return True
    return bool(valid_response_type(result, resp_version))


class _Command:
    """A command as the fast ``redis.call`` runs it: fakeredis' signature and method name,
    its flags read once, and per argument count the plan of fakeredis' ``Signature.apply``:
    the positions it converts or probes (in order) and the positions it reads as keys."""

    __slots__ = (
        "create",
        "func_name",
        "in_pubsub",
        "leave_empty",
        "name",
        "no_script",
        "plans",
        "sig",
        "skip_resp2",
    )

    def __init__(self, sig: Any, accepted_in_pubsub: Any) -> None:
        flags = sig.flags
        self.sig = sig
        self.func_name: str = sig.func_name
        self.name: bytes = sig.name.encode()
        self.no_script = msgs.FLAG_NO_SCRIPT in flags
        self.leave_empty = msgs.FLAG_LEAVE_EMPTY_VAL in flags
        self.skip_resp2 = msgs.FLAG_SKIP_CONVERT_TO_RESP2 in flags
        self.create = msgs.FLAG_DO_NOT_CREATE not in flags
        self.in_pubsub = sig.name in accepted_in_pubsub
        self.plans: dict[int, tuple[tuple[Any, ...], tuple[Any, ...]]] = {}

    def plan(self, count: int, version: Any) -> tuple[tuple[Any, ...], tuple[Any, ...]] | None:
        """(steps, keys) for ``count`` arguments; None when the count is refused."""
        found = self.plans.get(count)
        if found is not None:
            return found
        sig = self.sig
        try:
            sig.check_arity(range(count), version)
        except SimpleError:
            return None
        types = list(sig.fixed)
        types.extend(sig.repeat[i % len(sig.repeat)] for i in range(count - len(types)))
        steps = []
        keys = []
        for index, type_ in enumerate(types):
            if isinstance(type_, Key):
                if type_.missing_return is not Key.UNSPECIFIED:
                    steps.append((index, type_, True))
                keys.append((index, type_.type_))
            elif type_ is not bytes:
                steps.append((index, type_, False))
        found = (tuple(steps), tuple(keys))
        self.plans[count] = found
        return found


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
        self.dispatch: dict[Any, _Command] = {}
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
        self.prepare, self.prepare_tables, self.finish, self.flat = setup
        self.lua_error = LUA_MODULE.LuaError
        self.lua_type = LUA_MODULE.lua_type

    # -- compiling ------------------------------------------------------------------------

    def _function(self, script: bytes) -> tuple[bytes, Any]:
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

    def _loaded(self, server: Any, script: bytes) -> tuple[bytes, Any]:
        """``_function(script)``, the script kept in the server's cache (SCRIPT EXISTS, EVALSHA)
        even when it does not compile; a syntax error is fakeredis' EVAL error."""
        try:
            sha, function = self._function(script)
        except self.lua_error:
            sha = hashlib.sha1(script).hexdigest().encode()
            server.script_cache[sha] = script
            try:  # fails again, loading: the message fakeredis' EVAL gives
                self.runtime.execute(b"--" + script if script.startswith(b"#!") else script)
            except self.lua_error as exc:
                raise SimpleError(msgs.SCRIPT_ERROR_MSG.format(sha.decode(), exc)) from None
            raise
        server.script_cache[sha] = script
        return sha, function

    def eval(self, sock: Any, script: bytes, numkeys: int, keys_and_args: tuple[bytes, ...]) -> Any:
        """Run ``script`` for ``sock`` as fakeredis' EVAL would, replies and errors alike.
        Cost: the script's own commands, in process (no round trip of its own)."""
        if numkeys > len(keys_and_args):
            raise SimpleError(msgs.TOO_MANY_KEYS_MSG)
        if numkeys < 0:
            raise SimpleError(msgs.NEGATIVE_KEYS_MSG)
        server = sock._server
        sha, function = self._loaded(server, script)
        self.current[0] = sock
        # Every script starts at RESP2 whatever the calling client speaks.
        sock._script_resp = 2
        # A script sees none of the caller's HIMPORT fieldsets.
        caller_fieldsets, sock._fieldsets = sock._fieldsets, {}
        try:
            if len(keys_and_args) <= self.MAX_STACK_ARGS:
                self.prepare(numkeys, *keys_and_args)
            else:  # more values than Lua's C stack takes as arguments
                table_from = self.runtime.table_from
                keys = table_from(keys_and_args[:numkeys])
                argv = table_from(keys_and_args[numkeys:])
                self.prepare_tables(keys, argv)
            # Called from Python, not from a Lua helper: an error's traceback is the one
            # fakeredis gives ("in main chunk").
            result = function()
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
        if self.finish():
            _check_for_lua_globals(self.runtime, server._lua_expected_globals)
        if type(result) is tuple:  # several values returned: Redis replies with the first
            result = result[0]
        return self._reply(sock, result)

    def _reply(self, sock: Any, result: Any) -> Any:
        """A script's return value as fakeredis' ``_convert_lua_result(nested=False)``."""
        if self.lua_type(result) != "table":
            return sock._convert_lua_result(result, nested=False)
        flat = self.flat(result)
        if flat is False:  # a status or error reply, a double or a map, or a long array
            return sock._convert_lua_result(result, nested=False)
        items = flat[1:] if type(flat) is tuple else ()
        return [item if type(item) is bytes else self._item(sock, item) for item in items]

    def _item(self, sock: Any, item: Any) -> Any:
        """One element of a script's array reply (fakeredis' nested conversion)."""
        if self.lua_type(item) == "table":
            return self._reply_nested(sock, item)
        return sock._convert_lua_result(item)

    def _reply_nested(self, sock: Any, table: Any) -> Any:
        flat = self.flat(table)
        if flat is False:
            return sock._convert_lua_result(table)
        items = flat[1:] if type(flat) is tuple else ()
        return [item if type(item) is bytes else self._item(sock, item) for item in items]

    # -- redis.call -----------------------------------------------------------------------

    def call(self, *args: Any, pcall: bool = False) -> Any:
        """``redis.call(op, ...)`` (``redis.pcall`` with ``pcall``): the command method found
        once per name, run as fakeredis' ``_run_command`` runs it; the reply converted for
        Lua. As Redis (where fakeredis' generic path fails with a Python error): no command
        is ERR, a number names a command by its digits, a table or boolean is refused, and
        an unknown name is "Unknown Redis command called from script". Cost: one command,
        in process."""
        sock = self.current[0]
        try:
            if not args:
                raise SimpleError(msgs.LUA_CALL_NO_ARGS_MSG)
            op = args[0]
            command = self.dispatch.get(op) if type(op) is bytes else None
            if command is None:
                command = self._resolve(sock, _convert_redis_arg(op))
                if command is None:  # a command with subcommands
                    return (self.generic_pcall if pcall else self.generic_call)(*args)
            new_args = [arg if type(arg) is bytes else _convert_redis_arg(arg) for arg in args[1:]]
            result = self._run_command(sock, command, new_args)
            if type(result) in _PLAIN:
                return result
            return self._to_lua(sock, result)
        except Exception as exc:
            if not pcall:
                raise
            return self.runtime.table_from({b"err": str(exc)})

    def _run_command(self, sock: Any, command: _Command, args: list[Any]) -> Any:
        """fakeredis' ``_run_command(func, sig, args, from_script=True)`` on a server of type
        redis, step by step, with the argument plan of ``command`` instead of rebuilding it."""
        plan = command.plan(len(args), sock.version)
        if plan is None:  # wrong number of arguments: fakeredis' own path and message
            func = getattr(sock, command.func_name)
            return sock._run_command(func, command.sig, args, True)
        sock._subkey_events = []
        items: list[Any] = []
        try:
            result, read = self._apply(sock._db, command, plan, args)
            if command.no_script:
                raise SimpleError(msgs.COMMAND_IN_SCRIPT_MSG)
            if sock._pubsub and not command.in_pubsub:
                raise SimpleError(msgs.BAD_COMMAND_IN_PUBSUB_MSG)
            if result is _MISSING:
                items = read
                result = getattr(sock, command.func_name)(*args)
                if not command.skip_resp2:
                    resp_version = sock._resp_version
                    if resp_version == 2:
                        result = convert_to_resp2(result, sock.server_type, keep_doubles=False)
                    if type(result) not in _PLAIN and not _valid(result, resp_version):
                        raise AssertionError(f"Invalid response type for {result}")
        except SimpleError as exc:
            result = exc
        remove_empty = not command.leave_empty
        for command_item in items:
            command_item.writeback(remove_empty_val=remove_empty)
        sock._keyspace_notifications(items, command.name)
        sock._subkey_notifications(items)
        return result

    @staticmethod
    def _apply(
        db: Any, command: _Command, plan: tuple[tuple[Any, ...], tuple[Any, ...]], args: list[Any]
    ) -> tuple[Any, list[Any]]:
        """fakeredis' ``Signature.apply`` along ``plan``: (a key's missing-key reply, []) or
        (``_MISSING``, the keys' CommandItems), ``args`` converted and keys wrapped in place."""
        steps, keys = plan
        for index, type_, is_key in steps:
            if is_key:
                if args[index] not in db:
                    return type_.missing_return, []
            else:
                args[index] = type_.decode(args[index])
        read = []
        for index, key_type in keys:
            key = args[index]
            item = db.get(key)
            default = None
            if key_type is not None:
                if item is not None and type(item.value) is not key_type:
                    raise SimpleError(msgs.WRONGTYPE_MSG)
                if command.create and item is None and key_type is not bytes:
                    default = key_type()
            args[index] = command_item = CommandItem(key, db, item, default=default)
            read.append(command_item)
        return _MISSING, read

    def _to_lua(self, sock: Any, result: Any) -> Any:
        if type(result) is list and _PLAIN.issuperset(map(type, result)):
            return self.runtime.table_from(result)
        if type(result) is SimpleString:
            return self.runtime.table_from({b"ok": result.value})
        return sock._convert_redis_result(self.runtime, result)

    def _resolve(self, sock: Any, op: bytes) -> _Command | None:
        """Command ``op`` (its name as the script wrote it); None for a command with
        subcommands (fakeredis' generic path). An unknown name raises Redis' error."""
        command = self.dispatch.get(op)
        if command is not None:
            return command
        name = op.decode("utf-8", "replace").lower()
        if name in COMMANDS_WITH_SUB:
            return None
        try:
            func, sig = sock._name_to_func(name)
        except SimpleError:
            raise SimpleError(msgs.SCRIPT_UNKNOWN_COMMAND_MSG) from None
        if func is None:
            raise SimpleError(msgs.WRONG_ARGS_MSG7)
        command = _Command(sig, sock.ACCEPTED_COMMANDS_WHILE_PUBSUB)
        self.dispatch[op] = command
        return command


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
    if server.server_type != "redis" or not all(hasattr(server, name) for name in needed):
        return None
    runner = ScriptRunner(server, runtime)
    server._walrus_script_runner = runner
    return runner
