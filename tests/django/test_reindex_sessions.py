"""walrus_reindex (call_command and a real manage.py) and sessions on the WalrusCache."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
import redis
from django.contrib.auth.models import User
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client

from tests.support.django_test_models import Article, Device, Plain

HERE = Path(__file__).resolve().parent


def _damage(raw: redis.Redis) -> None:
    """Three rows, then two index entries lost and one orphan entry added."""
    for i in range(3):
        Article.create(title=f"T{i}", body="walrus", email=f"e{i}@example.com", stars=i)
    Device.create(serial="d1", owner="ada", port=1)
    raw.srem(b"tests|article:title.absolute.T1", b"tests|article:id.2")
    raw.zrem(b"tests|article:stars.continuous", b"tests|article:id.3")
    raw.sadd(b"device:owner.absolute.ghost", b"device:id.zz")


def test_reindex_check_then_repair(raw: redis.Redis) -> None:
    _damage(raw)
    out = io.StringIO()
    with pytest.raises(CommandError, match="3 index problem"):
        call_command("walrus_reindex", "--check", stdout=out)
    text = out.getvalue()
    assert "[1/3]" in text and "[3/3] tests.support.django_test_models.Token: checking..." in text
    assert "2 problem(s) found: 2 missing" in text
    assert "1 problem(s) found: 1 orphan" in text
    assert not raw.sismember(
        b"tests|article:title.absolute.T1", b"tests|article:id.2"
    )  # --check repairs nothing
    out = io.StringIO()
    call_command("walrus_reindex", "-v", "2", stdout=out)
    assert "Repaired 3 index entries in 3 model(s)." in out.getvalue()
    assert "missing: tests|article:title.absolute.T1 tests|article:id.2" in out.getvalue()
    assert Article.check_indexes() == [] and Device.check_indexes() == []
    assert [a.title for a in Article.query(Article.title == "T1")] == ["T1"]
    out = io.StringIO()
    call_command("walrus_reindex", "--check", stdout=out)
    assert "Indexes of 3 model(s) are consistent." in out.getvalue()


def test_reindex_model_option(raw: redis.Redis) -> None:
    Plain.create(name="a")
    raw.delete(b"plain:name.absolute.a")
    out = io.StringIO()
    call_command("walrus_reindex", "--model", "tests.support.django_test_models.Plain", stdout=out)
    assert "[1/1] tests.support.django_test_models.Plain" in out.getvalue()
    assert "Repaired 1 index entry in 1 model(s)." in out.getvalue()
    assert raw.sismember(b"plain:name.absolute.a", b"plain:id.1")
    with pytest.raises(CommandError, match="cannot import model"):
        call_command("walrus_reindex", "--model", "tests.support.django_test_models.Nope")
    with pytest.raises(CommandError, match="is not a walrus Model"):
        call_command("walrus_reindex", "--model", "tests.support.django_test_models.AliasDatabase")


@pytest.mark.backends("resp2", reason="manage.py subprocesses: memory:// data is per process")
def test_reindex_manage_py_subprocess(raw: redis.Redis, redis_url: str) -> None:
    _damage(raw)
    env = dict(os.environ, WALRUS_DJANGO_URL=redis_url)
    env.pop("DJANGO_SETTINGS_MODULE", None)
    check = subprocess.run(
        [sys.executable, str(HERE / "manage.py"), "walrus_reindex", "--check"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert check.returncode == 1
    assert "3 index problem(s) found in 3 model(s)" in check.stderr
    repair = subprocess.run(
        [sys.executable, str(HERE / "manage.py"), "walrus_reindex"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert repair.returncode == 0, repair.stderr
    assert "Repaired 3 index entries" in repair.stdout
    assert Article.check_indexes() == []


@pytest.mark.django_db
def test_cache_sessions_keep_the_login(settings: object, raw: redis.Redis) -> None:
    assert settings.SESSION_ENGINE == "django.contrib.sessions.backends.cache"  # type: ignore[attr-defined]
    User.objects.create_superuser("root", "root@example.com", "pw")
    client = Client()
    response = client.post(
        "/admin/login/?next=/admin/", {"username": "root", "password": "pw", "next": "/admin/"}
    )
    assert response.status_code == 302 and response["Location"] == "/admin/"
    session_key = client.cookies["sessionid"].value
    stored = [k for k in raw.scan_iter(match="*django.contrib.sessions.cache*")]
    assert len(stored) == 1 and session_key in stored[0].decode()
    assert 0 < raw.ttl(stored[0]) <= 1209600  # SESSION_COOKIE_AGE
    for _ in range(2):  # later requests are authenticated through the session in Redis
        assert client.get("/admin/").status_code == 200
    assert Client().get("/admin/").status_code == 302
    client.post("/admin/logout/")
    assert not raw.exists(stored[0])
    assert client.get("/admin/").status_code == 302
