"""django_walrus on a real 3-primary Redis Cluster, configured by URL only: the cache backend,
the management commands, the system checks and a subset of Django's own cache tests."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.core.cache import caches
from django.core.management import call_command

from tests.support.cluster_server import LocalCluster
from walrus.cluster import key_slot
from walrus.database import ClusterDatabase

pytestmark = pytest.mark.cluster

ROOT = Path(__file__).resolve().parents[2]
CONFORMANCE = ROOT / "tests" / "django" / "conformance_runner.py"
# The parts of Django's BaseCacheTests that exercise what a cluster changes: many-key calls,
# clear, incr/decr (a script), expiry, versions and key functions.
SUBSET = (
    "simple,add,get_many,delete,has_key,incr,decr,expiration,touch,set_many,clear,zero_timeout,"
    "forever_timeout,cache_versioning,custom_key_func,get_or_set,prefix,binary_string,unicode"
)


@pytest.fixture
def on_cluster(
    settings: Any, cluster_db: ClusterDatabase, redis_cluster: LocalCluster
) -> ClusterDatabase:
    """settings.WALRUS and two caches pointing at the cluster (by alias and by LOCATION)."""
    from django_walrus.conf import reset_databases

    url = redis_cluster.url()
    settings.WALRUS = {"default": {"URL": url, "PREFIXES": ["app:"]}}
    settings.CACHES = {
        "default": {"BACKEND": "django_walrus.cache.WalrusCache", "OPTIONS": {"ALIAS": "default"}},
        "located": {
            "BACKEND": "django_walrus.cache.WalrusCache",
            "LOCATION": url,
            "KEY_PREFIX": "site2",
        },
    }
    reset_databases()
    return cluster_db


def test_the_alias_is_a_cluster_database(on_cluster: ClusterDatabase) -> None:
    from django_walrus.conf import get_database

    assert get_database("default").is_cluster
    assert caches["located"].database.is_cluster  # type: ignore[attr-defined]


@pytest.mark.parametrize("alias", ["default", "located"])
def test_cache_calls_across_slots(on_cluster: ClusterDatabase, alias: str) -> None:
    cache = caches[alias]
    items = {f"k{i}": {"n": i} for i in range(40)}
    made = [cache.make_key(k) for k in items]
    assert len({on_cluster.get_node_from_key(k).name for k in made}) == 3
    assert cache.set_many(items) == []
    assert cache.get_many([*items, "missing"]) == items
    assert cache.set_many({"a": 1, "b": 2}, timeout=30) == []
    assert 0 < cache.ttl("a") <= 30  # type: ignore[attr-defined]
    cache.set("n", 1)
    assert cache.incr("n", 5) == 6 and cache.decr("n") == 5
    with pytest.raises(ValueError):
        cache.incr("nope")
    cache.delete_many(["k1", "k2", "missing"])
    assert cache.get("k1") is None and cache.get("k3") == {"n": 3}
    assert cache.add("k3", "x") is False and cache.add("new", "x") is True
    assert cache.touch("new", 0) is True and cache.get("new") is None


def test_clear_delete_pattern_and_iter_keys_visit_every_primary(
    on_cluster: ClusterDatabase,
) -> None:
    default, located = caches["default"], caches["located"]
    default.set_many({f"user:{i}": i for i in range(30)})
    default.set_many({f"page:{i}": i for i in range(30)})
    located.set_many({f"user:{i}": i for i in range(30)})
    on_cluster.set("app:keep", "1")
    assert sorted(default.iter_keys("user:*"), key=lambda k: int(k.split(":")[1])) == [
        f"user:{i}" for i in range(30)
    ]  # type: ignore[attr-defined]
    assert default.delete_pattern("page:*") == 30  # type: ignore[attr-defined]
    assert default.keys("page:*") == []  # type: ignore[attr-defined]
    located.clear()  # only site2's keys
    assert located.get("user:1") is None
    assert default.get("user:1") == 1 and on_cluster.get("app:keep") == b"1"
    default.clear()
    assert default.keys("*") == [] and on_cluster.get("app:keep") == b"1"  # type: ignore[attr-defined]


def test_cache_lock_is_tagged(on_cluster: ClusterDatabase) -> None:
    lock = caches["default"].lock("job", timeout=5)  # type: ignore[attr-defined]
    assert lock.acquire(block=False)
    assert key_slot(lock.key) == key_slot(lock.event)
    assert not caches["default"].lock("job").acquire(block=False)  # type: ignore[attr-defined]
    assert lock.release()


def test_walrus_flush_and_info_visit_every_primary(on_cluster: ClusterDatabase) -> None:
    for i in range(30):
        on_cluster.set(f"app:{i}", i)
        on_cluster.set(f"other:{i}", i)
    caches["default"].set_many({f"c{i}": i for i in range(20)})
    out = io.StringIO()
    call_command("walrus_info", "--json", stdout=out)
    data = __import__("json").loads(out.getvalue())
    assert data["server"]["keys"] == 80
    assert data["prefixes"]["app:"] == 30 and data["prefixes"]["other:"] == 30
    out = io.StringIO()
    call_command("walrus_flush", "--dry-run", stdout=out)
    assert "Would delete 50 key(s)" in out.getvalue()
    call_command("walrus_flush", "--noinput", stdout=io.StringIO())
    assert sorted(on_cluster.scan_iter()) == sorted(f"other:{i}".encode() for i in range(30))
    out = io.StringIO()
    call_command("walrus_flush", "--all-db", "--noinput", stdout=out)
    assert "30 key(s) deleted" in out.getvalue()
    assert list(on_cluster.scan_iter()) == []


def test_walrus_flush_of_a_model_on_the_cluster(on_cluster: ClusterDatabase) -> None:
    from tests.support.django_test_models import Article

    Article.create(title="a", body="hello", email="a@x")
    on_cluster.set("tests|articlex", "keep")
    out = io.StringIO()
    call_command(
        "walrus_flush",
        "--model",
        "tests.support.django_test_models.Article",
        "--noinput",
        stdout=out,
    )
    assert "matching {tests|article}:*" in out.getvalue()
    assert [k for k in on_cluster.scan_iter()] == [b"tests|articlex"]


def test_system_checks_accept_cluster_and_sentinel_urls(settings: Any) -> None:
    from django_walrus.checks import check_settings

    settings.WALRUS = {
        "default": {"URL": "redis+cluster://10.0.0.1:7000,10.0.0.2:7000"},
        "ha": "redis+sentinel://s1:26379,s2:26379/mymaster/0",
        "tls": "rediss+cluster://h:7000",
    }
    assert check_settings() == []
    settings.WALRUS = {
        "default": "redis+cluster://h:7000/3",
        "ha": "redis+sentinel://:secret@s1:26379",
    }
    errors = check_settings()
    assert [e.id for e in errors] == ["django_walrus.E004", "django_walrus.E004"]
    assert "db 0" in errors[0].msg and "service name" in errors[1].msg
    assert "secret" not in errors[1].msg


def test_django_cache_conformance_subset(
    redis_cluster: LocalCluster, cluster_db: ClusterDatabase
) -> None:
    import django

    from tests.support.django_sources import django_cache_tests

    tests_dir = django_cache_tests(django.get_version(), python=sys.executable)
    env = dict(
        os.environ, PYTHONPATH=os.pathsep.join([str(ROOT / "core"), str(ROOT / "integrations")])
    )
    env.pop("DJANGO_SETTINGS_MODULE", None)
    proc = subprocess.run(
        [sys.executable, str(CONFORMANCE), str(tests_dir), redis_cluster.url(), SUBSET],
        capture_output=True, text=True, env=env, timeout=600,
    )  # fmt: skip
    output = proc.stdout + proc.stderr
    match = re.search(r"CONFORMANCE ran=(\d+) failures=(\d+) errors=(\d+) skipped=(\d+)", output)
    assert match, output[-6000:]
    ran, failures, errors, _skipped = map(int, match.groups())
    assert proc.returncode == 0 and failures == 0 and errors == 0, output[-8000:]
    assert ran >= 30, f"only {ran} tests ran"


@pytest.mark.parametrize("alias", ["default", "located"])
def test_async_cache_calls_run_natively_across_slots(
    on_cluster: ClusterDatabase, alias: str
) -> None:
    """The a* methods on a cluster: the loop's AsyncClusterDatabase (no thread), many-key
    calls split per slot, and the entries the sync methods read."""
    import asyncio
    import threading

    from walrus.asyncio import AsyncClusterDatabase

    cache: Any = caches[alias]
    items = {f"k{i}": {"n": i} for i in range(40)}

    async def main() -> tuple[list[Any], set[int]]:
        database = cache.async_database()
        assert isinstance(database, AsyncClusterDatabase)
        threads: set[int] = set()
        original, original_read = database.execute_command, database.execute_read

        async def spy(*args: Any, **kwargs: Any) -> Any:
            threads.add(threading.get_ident())
            return await original(*args, **kwargs)

        async def spy_read(*args: Any) -> Any:  # the reads batched with other tasks'
            threads.add(threading.get_ident())
            return await original_read(*args)

        database.execute_read = spy_read  # type: ignore[method-assign]
        database.execute_command = spy
        got: list[Any] = [await cache.aset_many(items)]
        got.append(await cache.aget_many([*items, "missing"]) == items)
        await cache.aset("n", 1)
        got += [await cache.aincr("n", 5), await cache.adecr("n")]
        await cache.adelete_many(["k1", "k2", "missing"])
        got += [await cache.aget("k1"), await cache.aget("k3"), await cache.ahas_key("k3")]
        got.append(await cache.aget_or_set("made", lambda: "fresh"))
        got.append(cache.get("made"))  # the sync method reads the async write
        await cache.aclear()
        got.append(await cache.aget("k3"))
        await cache.aclose()
        return got, threads

    got, threads = asyncio.run(main())
    assert got == [[], True, 6, 5, None, {"n": 3}, True, "fresh", "fresh", None]
    assert threads == {threading.get_ident()}
    assert cache.get_many(list(items)) == {}
