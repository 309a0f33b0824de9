"""``Database.run_script`` is the only way a Lua script runs (#23): no module of the suite sends
EVAL/EVALSHA itself or registers a script with redis-py, so the script cache, NOSCRIPT
recovery, request ids, cluster routing and events live in one place."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCES = [ROOT / "core", ROOT / "integrations"]
# The one script path: the registry and call planning (script_host.py, sans-IO) and the two
# clients that send what it plans (sync and asyncio).
RUNNERS = {
    ROOT / "core" / "walrus" / "script_host.py",
    ROOT / "core" / "walrus" / "database.py",
    ROOT / "core" / "walrus" / "asyncio" / "database.py",
}
# The embedded engine's server side: its EVAL/EVALSHA *answer* scripts, they send none.
SERVER_SIDE = ROOT / "core" / "walrus" / "embedded_commands.py"
SCRIPT_COMMANDS = {"EVAL", "EVALSHA", "EVAL_RO", "EVALSHA_RO", "FCALL", "FCALL_RO", "SCRIPT"}
SCRIPT_METHODS = {"eval", "evalsha", "eval_ro", "evalsha_ro", "register_script", "script_load"}


def _script_calls(path: Path) -> list[str]:
    """``execute_command("EVALSHA", ...)``-style calls and redis-py script methods in ``path``."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
            continue
        name = node.func.attr
        first = node.args[0] if node.args else None
        command = first.value if isinstance(first, ast.Constant) else None
        if name in SCRIPT_METHODS or (
            name == "execute_command" and str(command).upper() in SCRIPT_COMMANDS
        ):
            found.append(f"{path.name}:{node.lineno} {ast.unparse(node)[:60]}")
    return found


def test_only_run_script_sends_scripts() -> None:
    paths = [
        p
        for root in SOURCES
        for p in sorted(root.rglob("*.py"))
        if p not in RUNNERS and p != SERVER_SIDE
    ]
    assert len(paths) > 100
    assert [call for path in paths for call in _script_calls(path)] == []


def test_the_check_finds_script_calls() -> None:
    """The check sees the calls it looks for: the registry registers scripts with redis-py,
    and a module sending EVALSHA itself is caught."""
    assert any(
        "register_script" in call
        for call in _script_calls(ROOT / "core" / "walrus" / "script_host.py")
    )


def test_a_bypass_would_be_caught(tmp_path: Path) -> None:
    bypass = tmp_path / "bypass.py"
    bypass.write_text(
        "def incr(db, sha, key):\n    return db.execute_command('EVALSHA', sha, 1, key)\n"
    )
    calls = _script_calls(bypass)
    assert len(calls) == 1 and "'EVALSHA'" in calls[0]
