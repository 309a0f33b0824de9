"""walrus_flush and walrus_info via call_command and a real manage.py subprocess."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import redis
from django.core.cache import cache
from django.core.management import call_command
from django.core.management.base import CommandError

HERE = Path(__file__).resolve().parent


def _fill(redis_url: str) -> redis.Redis:
    raw = redis.Redis.from_url(redis_url)
    for i in range(700):
        raw.set(f"app:{i}", i)
    raw.set("foreign", 1)
    raw.set("other:1", 1)
    cache.set("cached", 1)
    return raw


def test_flush_default_scope_is_prefixes_and_caches(redis_url: str) -> None:
    raw = _fill(redis_url)
    out = io.StringIO()
    call_command("walrus_flush", "--noinput", stdout=out)
    assert "Deleted 701 key(s)" in out.getvalue()
    assert "deleted 500 key(s)" in out.getvalue()  # progress after the first batch
    assert sorted(raw.keys()) == [b"foreign", b"other:1"]


def test_flush_dry_run_deletes_nothing(redis_url: str) -> None:
    raw = _fill(redis_url)
    out = io.StringIO()
    call_command("walrus_flush", "--dry-run", stdout=out)
    assert "Would delete 701 key(s)" in out.getvalue()
    assert raw.dbsize() == 703


def test_flush_pattern_and_confirmation(redis_url: str, monkeypatch: Any) -> None:
    raw = _fill(redis_url)
    monkeypatch.setattr("builtins.input", lambda prompt: "no")
    with pytest.raises(CommandError, match="cancelled"):
        call_command("walrus_flush", "--pattern", "other:*")
    assert raw.exists("other:1")
    monkeypatch.setattr("builtins.input", lambda prompt: "yes")
    call_command("walrus_flush", "--pattern", "other:*", stdout=io.StringIO())
    assert not raw.exists("other:1")
    assert raw.exists("app:1")


def test_flush_all_db(redis_url: str) -> None:
    raw = _fill(redis_url)
    with pytest.raises(CommandError, match="cannot be combined"):
        call_command("walrus_flush", "--all-db", "--pattern", "x*", "--noinput")
    assert raw.dbsize() == 703
    call_command("walrus_flush", "--all-db", "--noinput", stdout=io.StringIO())
    assert raw.dbsize() == 0


def test_flush_without_configuration_refuses(settings: Any, redis_url: str) -> None:
    settings.WALRUS = {"default": {"URL": redis_url}}
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    with pytest.raises(CommandError, match="nothing configured"):
        call_command("walrus_flush", "--noinput")
    with pytest.raises(CommandError, match="no alias 'nope'"):
        call_command("walrus_flush", "--alias", "nope", "--noinput")


def test_info_json(redis_url: str) -> None:
    _fill(redis_url)
    out = io.StringIO()
    call_command("walrus_info", "--json", stdout=out)
    data = json.loads(out.getvalue())
    assert data["server"]["keys"] == 703
    assert data["prefixes"]["app:"] == 700
    assert data["url"] == redis_url


def test_manage_py_subprocess(redis_url: str) -> None:
    raw = _fill(redis_url)
    env = dict(os.environ, WALRUS_DJANGO_URL=redis_url)
    env.pop("DJANGO_SETTINGS_MODULE", None)
    proc = subprocess.run(
        [sys.executable, str(HERE / "manage.py"), "walrus_flush", "--noinput"],
        capture_output=True, text=True, env=env, timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert "Deleted 701 key(s)" in proc.stdout
    assert raw.exists("foreign")
    info = subprocess.run(
        [sys.executable, str(HERE / "manage.py"), "walrus_info"],
        capture_output=True, text=True, env=env, timeout=120,
    )
    assert info.returncode == 0, info.stderr
    assert "Keys per prefix:" in info.stdout
    check = subprocess.run(
        [sys.executable, str(HERE / "manage.py"), "check", "--deploy", "--tag", "django_walrus"],
        capture_output=True, text=True, env=env, timeout=120,
    )
    assert "django_walrus.W002" not in check.stdout + check.stderr
