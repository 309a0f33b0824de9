"""What a client needs to run walrus's Lua scripts, without sending anything (sans-IO).

``ScriptHost`` is the part of ``Database`` (sync) and ``walrus.asyncio.AsyncDatabase`` that
loads script sources, registers them once per client, wraps write scripts with a request id
when asked, and says which command a run sends: ``EVALSHA`` once the source is known where
the call goes, ``EVAL`` otherwise. The clients only send (``run_script``), so both paths
build the same commands.
"""

from __future__ import annotations

import itertools
import threading
import uuid
import weakref
from collections.abc import Hashable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .exceptions import ScriptNotFound
from .retry import (
    mark_script_read_only,
    mark_script_resend_safe,
    name_script,
    script_flags,
)
from .scripts import load_script_source

__all__ = ["REQUEST_ID_TTL_MS", "ScriptCall", "ScriptHost"]

REQUEST_ID_TTL_MS = 30_000
"""How long the reply of a request-id script is kept for a resend, in milliseconds."""
_RESEND_SAFE_MARK = "-- resend: safe"


@dataclass(frozen=True)
class ScriptCall:
    """One run of a script, ready to send: ``evalsha_command`` when ``loaded`` (the source was
    sent where this call goes), else ``eval_command``; ``marker`` records that it was."""

    keys: list[Any]
    eval_command: tuple[Any, ...]
    evalsha_command: tuple[Any, ...]
    marker: tuple[str, Hashable]
    loaded: bool


class ScriptHost:
    """Script registry and call planning shared by the sync and async clients (a mixin).

    The client class provides ``register_script`` (redis-py's, sync or async: only the
    returned object's ``sha`` and ``script`` are used), ``is_cluster`` and ``is_embedded``.
    """

    is_cluster: bool = False
    script_dir: str | Path | None
    request_ids: bool

    if TYPE_CHECKING:  # pragma: no cover - provided by the redis-py client class

        def register_script(self, script: Any) -> Any:
            """redis-py's: no Redis work until the script runs."""
            ...

    @property
    def is_embedded(self) -> bool:
        """True when this client runs on the in-process ``memory://`` engine."""
        return False

    def _init_scripts(self, script_dir: str | Path | None, request_ids: bool = False) -> None:
        self.script_dir = script_dir
        #: Write scripts carry a request id, so a resend after a lost reply returns the
        #: first run's reply (see docs/reliability.md). Off on the memory:// engine.
        self.request_ids = bool(request_ids) and not self.is_embedded
        self._rid_scripts: dict[str, Any] = {}
        self._rid_prefix = f"walrus:rid:{uuid.uuid4().hex[:12]}:"
        self._rid_counter = itertools.count()
        self._scripts: dict[str, Any] = {}
        self._loaded_scripts: set[tuple[str, Hashable]] = set()
        self._scripts_lock = threading.Lock()

    def get_script(self, script_name: str) -> Any:
        """The registered script object for ``script_name`` (loaded once per client; it
        calls this client while the client lives: it holds it weakly).
        No Redis work: the source is sent on the script's first run."""
        script = self._scripts.get(script_name)
        if script is None:
            with self._scripts_lock:
                script = self._scripts.get(script_name)
                if script is None:
                    script = self._register(script_name)
        return script

    def _register(self, script_name: str) -> Any:
        source = load_script_source(script_name, self.script_dir)
        if source is None:
            raise ScriptNotFound(f"no Lua script named {script_name!r}")
        script = self._unbound(self.register_script(source))
        name_script(script.sha, script_name)
        if _resend_safe_source(source):
            mark_script_read_only(script.sha)
        elif self.request_ids:
            # run_script sends this form instead (with one more key, the request id);
            # get_script's callers keep the plain script and its KEYS.
            wrapped = self._unbound(self.register_script(_with_request_id(source)))
            name_script(wrapped.sha, script_name)
            mark_script_resend_safe(wrapped.sha)
            self._rid_scripts[script_name] = wrapped
        self._scripts[script_name] = script
        return script

    def _unbound(self, script: Any) -> Any:
        """``script`` calling this client through a weak reference. redis-py's script keeps
        the client it was registered on, and the client keeps its scripts here: a cycle, so
        a client dropped without ``close()`` went to the garbage collector, whose finalizers
        run in no set order and could finalize a pooled socket before the pool closed it (an
        unclosed socket, and a ResourceWarning). Without the cycle, dropping the last
        reference closes the pool at once."""
        script.registered_client = weakref.proxy(self)
        return script

    def _request_id_key(self, keys: list[Any]) -> Any:
        """A fresh request-id key (in the slot of ``keys[0]`` on a cluster)."""
        name = f"{self._rid_prefix}{next(self._rid_counter)}"
        if not self.is_cluster or not keys:
            return name
        first = keys[0]
        text = first.decode("latin-1") if isinstance(first, bytes) else str(first)
        start = text.find("{")
        end = text.find("}", start + 1) if start >= 0 else -1
        tag = text[start + 1 : end] if start >= 0 and end > start + 1 else text
        tagged = f"{{{tag}}}{name}"
        return tagged.encode("latin-1") if isinstance(first, bytes) else tagged

    def init_scripts(self, script_dir: str | Path | None = None) -> None:
        """Forget the registered scripts; from now on look them up in ``script_dir`` first,
        then among the packaged ones (upstream's name). No Redis call: scripts load on use."""
        with self._scripts_lock:
            self.script_dir = script_dir
            self._scripts = {}
            self._rid_scripts = {}
            self._loaded_scripts = set()

    def _prepare_script(self, script_name: str, keys: Any, args: Any) -> ScriptCall:
        """The commands one run of ``script_name`` sends (no Redis work)."""
        script = self._scripts.get(script_name) or self.get_script(script_name)
        key_list = list(keys) if keys else []
        if self.request_ids:
            wrapped = self._rid_scripts.get(script_name)
            if wrapped is not None:  # a write script: resent safely with a request id
                script = wrapped
                key_list.append(self._request_id_key(key_list))
                script_name += "#rid"  # its own loaded-script marker (another SHA)
        argv = args or ()
        marker = (script_name, self._script_scope(script_name, key_list))
        return ScriptCall(
            key_list,
            ("EVAL", script.script, len(key_list), *key_list, *argv),
            ("EVALSHA", script.sha, len(key_list), *key_list, *argv),
            marker,
            marker in self._loaded_scripts,
        )

    def _pipeline_script_options(self, keys: list[Any]) -> dict[str, Any]:
        """Options of a script call queued on a pipeline (none on one server)."""
        return {}

    def _script_scope(self, script_name: str, keys: list[Any]) -> Hashable:
        """Where a script call runs, for remembering where its source was sent: one server
        here; the node of the first key's slot on a cluster."""
        return None


def _resend_safe_source(source: str) -> bool:
    """A script that may be resent as it is: declared read-only (``no-writes``), or marked
    ``-- resend: safe`` in its header (e.g. it writes only temporaries it deletes)."""
    flags = script_flags(source)
    return (flags is not None and "no-writes" in flags) or _RESEND_SAFE_MARK in source


def _with_request_id(source: str) -> str:
    """Wrap a write script: its last KEYS entry is a request-id key; the first run stores
    its reply there (msgpack, 30 s), a rerun with the same id returns that reply unchanged.
    The script itself sees KEYS without that entry."""
    shebang = ""
    if source.startswith("#!"):
        shebang, _, source = source.partition("\n")
    return (
        f"{shebang}\n"
        "local __rid = KEYS[#KEYS]\n"
        "local __done = redis.call('GET', __rid)\n"
        "if __done then return cmsgpack.unpack(__done) end\n"
        "local __keys = {}\n"
        "for i = 1, #KEYS - 1 do __keys[i] = KEYS[i] end\n"
        "local __result = (function(KEYS)\n"
        f"{source}\n"
        "end)(__keys)\n"
        f"redis.call('SET', __rid, cmsgpack.pack(__result), 'PX', {REQUEST_ID_TTL_MS})\n"
        "return __result\n"
    )
