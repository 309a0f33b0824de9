"""walrus_flush and walrus_info via call_command and a real manage.py subprocess."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import redis
from django.core.cache import cache
from django.core.management import call_command
from django.core.management.base import CommandError

from django_walrus.management.commands.walrus_flush import progress_bar
from tests.support.django_test_models import Article, Device, Plain

HERE = Path(__file__).resolve().parent


def _fill(raw: redis.Redis) -> redis.Redis:
    for i in range(700):
        raw.set(f"app:{i}", i)
    raw.set("foreign", 1)
    raw.set("other:1", 1)
    cache.set("cached", 1)
    return raw


def test_flush_default_scope_is_prefixes_and_caches(raw: redis.Redis) -> None:
    _fill(raw)
    out = io.StringIO()
    call_command("walrus_flush", "--noinput", stdout=out)
    assert "Deleted 701 key(s)" in out.getvalue()
    # A progress bar with the total counted beforehand: after the first batch, then at the end.
    assert "\r[" + "#" * 21 + "." * 9 + "] 500/701 key(s)" in out.getvalue()
    assert "\r[" + "#" * 30 + "] 701/701 key(s)" in out.getvalue()
    assert sorted(raw.keys()) == [b"foreign", b"other:1"]


def test_progress_bar() -> None:
    assert progress_bar(0, 10) == "[" + "." * 30 + "] 0/10 key(s)"
    assert progress_bar(5, 10) == "[" + "#" * 15 + "." * 15 + "] 5/10 key(s)"
    assert progress_bar(12, 10) == "[" + "#" * 30 + "] 12/12 key(s)"  # keys added meanwhile
    assert progress_bar(0, 0) == "[" + "#" * 30 + "] 0/0 key(s)"


def test_flush_nothing_to_delete_asks_nothing(monkeypatch: Any) -> None:
    monkeypatch.setattr("builtins.input", _no_prompt)
    out = io.StringIO()
    call_command("walrus_flush", stdout=out)
    assert "Nothing to delete" in out.getvalue()


def _no_prompt(prompt: str) -> str:
    raise AssertionError(f"unexpected prompt: {prompt}")


def test_flush_dry_run_lists_and_deletes_nothing(raw: redis.Redis) -> None:
    _fill(raw)
    out = io.StringIO()
    call_command("walrus_flush", "--dry-run", stdout=out)
    lines = out.getvalue().splitlines()
    assert lines[-1].startswith("Would delete 701 key(s) matching app:*")
    assert lines[-2] == "... and 651 more"
    listed = lines[:-2]
    assert len(listed) == 50
    assert all(key.startswith("app:") or key == ":1:cached" for key in listed)
    assert raw.dbsize() == 703


def test_flush_all_db_dry_run_lists_a_bounded_sample(raw: redis.Redis, walrus_url: str) -> None:
    _fill(raw)
    out = io.StringIO()
    call_command("walrus_flush", "--all-db", "--dry-run", stdout=out)
    lines = out.getvalue().splitlines()
    assert lines[-1] == f"Would flush the whole database {walrus_url} (703 key(s))."
    assert lines[-2] == "... and 653 more"
    assert len(lines[:-2]) == 50
    assert set(lines[:-2]) <= {k.decode() for k in raw.keys()}
    assert raw.dbsize() == 703


def test_flush_all_db_prompt(raw: redis.Redis, walrus_url: str, monkeypatch: Any) -> None:
    _fill(raw)
    prompts: list[str] = []
    monkeypatch.setattr("builtins.input", lambda prompt: prompts.append(prompt) or "no")
    with pytest.raises(CommandError, match="cancelled"):
        call_command("walrus_flush", "--all-db")
    assert prompts == [
        f"FLUSH the whole database {walrus_url} (703 key(s))? Type 'yes' to continue: "
    ]
    assert raw.dbsize() == 703
    monkeypatch.setattr("builtins.input", lambda prompt: "yes")
    out = io.StringIO()
    call_command("walrus_flush", "--all-db", stdout=out)
    assert "703 key(s) deleted" in out.getvalue()
    assert raw.dbsize() == 0


@pytest.mark.parametrize("extra", [[], ["--all-db"], ["--pattern", "other:*"]])
def test_flush_without_a_terminal_asks_for_noinput(
    raw: redis.Redis, monkeypatch: Any, extra: list[str]
) -> None:
    _fill(raw)
    monkeypatch.setattr("sys.stdin", io.StringIO(""))  # input() meets end of file
    with pytest.raises(CommandError, match="pass --noinput"):
        call_command("walrus_flush", *extra, stdout=io.StringIO())
    assert raw.dbsize() == 703


def test_flush_model_option(raw: redis.Redis) -> None:
    _fill(raw)
    Plain.create(name="a")
    Plain.create(name="b")
    Device.create(serial="d1", owner="ada", port=1)
    plain_keys = {k for k in raw.keys() if k.startswith(b"plain:")}
    assert plain_keys
    out = io.StringIO()
    call_command(
        "walrus_flush", "--model", "tests.support.django_test_models.Plain", "--noinput", stdout=out
    )
    assert f"Deleted {len(plain_keys)} key(s) matching plain:*." in out.getvalue()
    assert not [k for k in raw.keys() if k.startswith(b"plain:")]
    assert Device.load("d1").owner == "ada"
    assert raw.dbsize() == 703 + len([k for k in raw.keys() if k.startswith(b"device:")])
    with pytest.raises(CommandError, match="cannot import model"):
        call_command(
            "walrus_flush", "--model", "tests.support.django_test_models.Nope", "--noinput"
        )


def test_default_scope_includes_registered_models(raw: redis.Redis) -> None:
    _fill(raw)
    Device.create(serial="d1", owner="ada", port=1)
    Article.create(title="T", body="walrus", email="t@example.com")
    Plain.create(name="a")  # not registered in the admin: not in the default scope
    out = io.StringIO()
    call_command("walrus_flush", "--dry-run", stdout=out)
    summary = out.getvalue().splitlines()[-1]
    for pattern in ("app:*", "device:*", "tests|article:*", "token:*"):
        assert pattern in summary
    assert "plain:" not in summary
    call_command("walrus_flush", "--noinput", stdout=io.StringIO())
    left = sorted(k.decode() for k in raw.keys())
    assert [k for k in left if not k.startswith("plain:")] == ["foreign", "other:1"]
    assert [k for k in left if k.startswith("plain:")]


def test_models_under_a_prefix_are_not_scanned_twice(
    settings: Any, walrus_url: str, connection_options: dict[str, Any]
) -> None:
    prefixes = ["app:", "device:", "tests|"]
    settings.WALRUS = {
        "default": {"URL": walrus_url, "OPTIONS": connection_options, "PREFIXES": prefixes}
    }
    out = io.StringIO()
    call_command("walrus_flush", "--dry-run", stdout=out)
    summary = out.getvalue().splitlines()[-1]
    assert "device:*" in summary and "tests|*" in summary and "token:*" in summary
    assert "tests|article:*" not in summary


def test_flush_second_alias(raw: redis.Redis, raw_for: Any, second_alias: str) -> None:
    here = raw
    there = raw_for(second_alias)
    here.set("o:1", 1)
    there.mset({"o:1": 1, "o:2": 2, "kept": 3})
    out = io.StringIO()
    call_command("walrus_flush", "--alias", "other", "--noinput", stdout=out)
    assert "Deleted 2 key(s) matching o:*." in out.getvalue()
    assert there.keys() == [b"kept"]
    assert here.get("o:1") == b"1"  # the default alias' DB was not touched
    call_command("walrus_flush", "--alias", "other", "--all-db", "--noinput", stdout=io.StringIO())
    assert there.dbsize() == 0
    assert here.dbsize() == 1


def test_flush_pattern_and_confirmation(
    raw: redis.Redis, walrus_url: str, monkeypatch: Any
) -> None:
    _fill(raw)
    prompts: list[str] = []
    monkeypatch.setattr("builtins.input", lambda prompt: prompts.append(prompt) or "no")
    with pytest.raises(CommandError, match="cancelled"):
        call_command("walrus_flush", "--pattern", "other:*")
    assert prompts == [
        f"Delete 1 key(s) matching other:* on {walrus_url}? Type 'yes' to continue: "
    ]
    assert raw.exists("other:1")
    monkeypatch.setattr("builtins.input", lambda prompt: "yes")
    call_command("walrus_flush", "--pattern", "other:*", stdout=io.StringIO())
    assert not raw.exists("other:1")
    assert raw.exists("app:1")


def test_flush_all_db(raw: redis.Redis) -> None:
    _fill(raw)
    with pytest.raises(CommandError, match="cannot be combined"):
        call_command("walrus_flush", "--all-db", "--pattern", "x*", "--noinput")
    assert raw.dbsize() == 703
    call_command("walrus_flush", "--all-db", "--noinput", stdout=io.StringIO())
    assert raw.dbsize() == 0


def test_flush_without_configuration_refuses(
    settings: Any, walrus_url: str, connection_options: dict[str, Any]
) -> None:
    # No prefixes, no walrus cache, and the admin's walrus models live on another alias.
    alias = {"URL": walrus_url, "OPTIONS": connection_options}
    settings.WALRUS = {"default": alias, "bare": alias}
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    with pytest.raises(CommandError, match="nothing configured"):
        call_command("walrus_flush", "--alias", "bare", "--noinput")
    with pytest.raises(CommandError, match="no alias 'nope'"):
        call_command("walrus_flush", "--alias", "nope", "--noinput")


def test_info_json(raw: redis.Redis, walrus_url: str) -> None:
    _fill(raw)
    out = io.StringIO()
    call_command("walrus_info", "--json", stdout=out)
    data = json.loads(out.getvalue())
    assert data["server"]["keys"] == 703
    assert data["prefixes"]["app:"] == 700
    assert data["url"] == walrus_url


@pytest.mark.backends("resp2", reason="manage.py subprocesses: memory:// data is per process")
def test_manage_py_subprocess(raw: redis.Redis, redis_url: str) -> None:
    _fill(raw)
    env = dict(os.environ, WALRUS_DJANGO_URL=redis_url)
    env.pop("DJANGO_SETTINGS_MODULE", None)
    proc = subprocess.run(
        [sys.executable, str(HERE / "manage.py"), "walrus_flush", "--noinput"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert "Deleted 701 key(s)" in proc.stdout
    assert raw.exists("foreign")
    info = subprocess.run(
        [sys.executable, str(HERE / "manage.py"), "walrus_info"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert info.returncode == 0, info.stderr
    assert (
        "Prefix" in info.stdout
        and "Memory (est.)" in info.stdout
        and "Locks held: 0" in info.stdout
    )
    closed_stdin = subprocess.run(
        [sys.executable, str(HERE / "manage.py"), "walrus_flush", "--pattern", "foreign"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )
    assert closed_stdin.returncode == 1
    assert "pass --noinput" in closed_stdin.stderr and "Traceback" not in closed_stdin.stderr
    assert raw.exists("foreign")
    check = subprocess.run(
        [sys.executable, str(HERE / "manage.py"), "check", "--deploy", "--tag", "django_walrus"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert "django_walrus.W002" not in check.stdout + check.stderr


def test_info_shows_flushed_cache_and_rate_limit_totals(backend: str) -> None:
    from django_walrus import get_database
    from walrus.events import Tally

    db = get_database()
    tally = Tally().start()
    try:
        cache = db.cache("pages", signing_key="k")
        cache.get("a")
        cache.set("a", 1)
        cache.get("a")
        cache.get("a")
        limit = db.rate_limit("login", limit=1, per=60)
        limit.limit("ip")
        limit.limit("ip")
        assert db.lock("job:1", ttl=10_000).acquire(block=False)
        assert tally.flush(db)
    finally:
        tally.stop()
    out = io.StringIO()
    call_command("walrus_info", stdout=out)
    text = out.getvalue()
    assert re.search(r"pages\s+2\s+1\s+0\s+67%", text), text
    assert re.search(r"login\s+1\s+1", text), text
    assert "Locks held: 1" in text
    data = json.loads(_call_json())
    assert data["caches"]["pages"] == {"hit": 2, "miss": 1}
    assert data["rate_limits"]["login"] == {"allowed": 1, "refused": 1}
    assert data["locks_held"] == 1
    if backend == "memory":  # no MEMORY USAGE there: no estimate (walrus.keyspace)
        assert data["prefix_memory"]["pages:"] is None
    else:
        assert data["prefix_memory"]["pages:"] > 0  # MEMORY USAGE sampled


def _call_json() -> str:
    out = io.StringIO()
    call_command("walrus_info", "--json", stdout=out)
    return out.getvalue()
