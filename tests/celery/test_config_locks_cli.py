"""celery_walrus config, lock names, the locks API and the ``walrus locks`` commands."""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
import weakref
from importlib.metadata import entry_points
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from celery import Celery
from click.testing import CliRunner

import celery_walrus
from celery_walrus import (
    LockInfo,
    WalrusLockedTask,
    clear_locks,
    get_database,
    get_settings,
    list_locks,
    release_lock,
)
from celery_walrus.cli import walrus
from celery_walrus.config import LEASE_FACTOR, read_settings
from walrus import Database
from walrus.lock import LockNotOwned
from walrus.roundtrips import RoundTripCounter

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]


@pytest.fixture
def rdb(redis_url: str) -> Any:
    database = Database.from_url(redis_url)
    yield database
    database.close()


def test_settings_defaults_and_validation() -> None:
    settings = read_settings({})
    assert settings.prefix == "celery_walrus:" and settings.default_ttl == 60 and settings.renew
    assert read_settings({"WALRUS_LOCK_PREFIX": "x:"}).prefix == "x:"
    with pytest.raises(ValueError, match="walrus_lock_default_ttl must be a positive"):
        read_settings({"walrus_lock_default_ttl": 0})
    with pytest.raises(TypeError, match="walrus_lock_ttl_margin must be a number"):
        read_settings({"walrus_lock_ttl_margin": "5"})
    with pytest.raises(TypeError, match="walrus_url must be a redis://"):
        read_settings({"walrus_url": 5})
    # The URL is judged by walrus.urls, as Database.from_url will read it, password hidden.
    with pytest.raises(ValueError, match=r"walrus_url must be a redis://.*got 'ftp://"):
        read_settings({"walrus_url": "ftp://host/0"})
    with pytest.raises(ValueError, match="bad port") as caught:
        read_settings({"walrus_url": "redis+cluster://:s3cret@h1:7000,h2:x"})
    assert "s3cret" not in str(caught.value)
    with pytest.raises(ValueError, match="database number"):
        read_settings({"walrus_url": "redis://localhost/abc"})
    with pytest.raises(TypeError, match="walrus_lock_renew must be True or False"):
        read_settings({"walrus_lock_renew": "yes"})
    with pytest.raises(TypeError, match="walrus_connection_options must be a dict"):
        read_settings({"walrus_connection_options": []})


def test_renew_interval_sets_the_lease() -> None:
    settings = read_settings({"walrus_lock_renew_interval": 2})
    assert settings.renew_interval == 2 and settings.lease == 2 * LEASE_FACTOR
    assert read_settings({}).lease == 5 * LEASE_FACTOR
    with pytest.raises(ValueError, match="walrus_lock_renew_interval must be a positive"):
        read_settings({"walrus_lock_renew_interval": 0})
    with pytest.raises(TypeError, match="walrus_lock_renew_interval must be a number"):
        read_settings({"walrus_lock_renew_interval": True})


def test_unknown_walrus_lock_keys_are_rejected(make_app: Any) -> None:
    with pytest.raises(
        ValueError, match="unknown Celery config key 'walrus_lock_tll'.*walrus_lock_prefix"
    ):
        read_settings({"walrus_lock_tll": 5})
    with pytest.raises(ValueError, match="'WALRUS_LOCK_RENEW_EVERY'"):
        read_settings({"WALRUS_LOCK_RENEW_EVERY": 5})
    app = make_app(walrus_lock_enqueu_ttl=30)
    with pytest.raises(ValueError, match="walrus_lock_enqueu_ttl"):
        get_settings(app)

    @app.task(base=WalrusLockedTask)
    def t(x: int) -> int:
        return x

    with pytest.raises(ValueError, match="walrus_lock_enqueu_ttl"):
        t.delay(1)  # before anything is written or sent
    # Other walrus_* keys and non-lock keys are not ours to judge.
    assert (
        read_settings({"walrus_lock_prefix": "p:", "walrus_extra": 1, "lock_whatever": 2}).prefix
        == "p:"
    )


def test_config_namespace_is_read_as_celery_reads_it() -> None:
    class DjangoSettings:
        CELERY_WALRUS_LOCK_PREFIX = "ns:"
        CELERY_WALRUS_LOCK_RENEW_INTERVAL = 1
        WALRUS_URL = "redis://not-for-celery:6379/0"  # a project setting, not Celery config
        WALRUS_LOCK_SOMETHING = "a project setting, not Celery config"

    app = Celery("namespaced", set_as_current=False)
    app.config_from_object(DjangoSettings, namespace="CELERY")
    settings = read_settings(app.conf)
    assert settings.prefix == "ns:" and settings.renew_interval == 1 and settings.url is None

    class Typo(DjangoSettings):
        CELERY_WALRUS_LOCK_RENEW_INTERVALL = 1

    app = Celery("namespaced-typo", set_as_current=False)
    app.config_from_object(Typo, namespace="CELERY")
    with pytest.raises(ValueError, match="'CELERY_WALRUS_LOCK_RENEW_INTERVALL'"):
        read_settings(app.conf)


def test_state_lives_on_the_app_object(make_app: Any) -> None:
    app = make_app()
    database = get_database(app)
    assert vars(app)["_celery_walrus"].database is database
    assert vars(app)["_celery_walrus"].settings is get_settings(app)
    gone = weakref.ref(database)
    del database
    celery_walrus.reset(app)
    assert "_celery_walrus" not in vars(app)
    gc.collect()
    assert gone() is None  # no module-level cache keeps it


def test_database_is_cached_per_app(make_app: Any, redis_url: str) -> None:
    one, two = make_app(), make_app()
    assert get_database(one) is get_database(one)
    assert get_database(one) is not get_database(two)
    assert get_settings(one) is get_settings(one)
    celery_walrus.reset(one)
    assert get_database(one).ping()


def test_walrus_database_takes_a_factory_such_as_django_walrus(
    settings: Any, redis_url: str
) -> None:
    """celery_walrus imports no Django: a Django project hands it django_walrus's factory,
    called on every use, so a settings change is followed."""
    settings.WALRUS = {
        "default": {"URL": redis_url},
        "locks": {"URL": redis_url.rsplit("/", 1)[0] + "/3"},
    }
    from django_walrus.conf import get_database as django_database

    app = Celery("django-config", set_as_current=False)
    app.conf.walrus_database = lambda: django_database("locks")
    assert get_database(app) is django_database("locks")
    assert get_database(app).connection_pool.connection_kwargs["db"] == 3
    settings.WALRUS = {"default": {"URL": redis_url}, "locks": {"URL": redis_url}}
    assert get_database(app).connection_pool.connection_kwargs["db"] != 3
    celery_walrus.reset(app)


def test_walrus_database_takes_a_database_and_refuses_bad_values(rdb: Any) -> None:
    app = Celery("given-database", set_as_current=False)
    app.conf.walrus_database = rdb
    assert get_database(app) is rdb
    with pytest.raises(TypeError, match="walrus_database must be a walrus Database"):
        read_settings({"walrus_database": "redis://localhost/0"})
    with pytest.raises(ValueError, match="walrus_url or walrus_database, not both"):
        read_settings({"walrus_database": rdb, "walrus_url": "redis://localhost/0"})
    with pytest.raises(ValueError, match="walrus_alias is no longer read"):
        read_settings({"walrus_alias": "locks"})
    broken = Celery("factory-returns-junk", set_as_current=False)
    broken.conf.walrus_database = lambda: "not a database"
    with pytest.raises(TypeError, match="returned str, not a walrus Database"):
        get_database(broken)


def test_lock_names_bind_arguments(make_app: Any) -> None:
    app = make_app(walrus_lock_prefix="p:")

    @app.task(base=WalrusLockedTask, name="proj.add")
    def add(x: int, y: int = 2, **extra: Any) -> int:
        return x + y

    @app.task(base=WalrusLockedTask, name="proj.user", unique_on=["user_id"])
    def user(user_id: int, payload: dict[str, Any]) -> None:
        return None

    @app.task(base=WalrusLockedTask, name="proj.whole", unique_on=[])
    def whole(x: int) -> None:
        return None

    name = add.lock_name_for(1)
    assert name.startswith("p:proj.add:") and len(name) == len("p:proj.add:") + 40
    assert add.lock_name_for(1) == add.lock_name_for(x=1, y=2) == add.lock_name_for(1, 2)
    assert add.lock_name_for(1, tag="a") == add.lock_name_for(tag="a", x=1)
    assert add.lock_name_for(1, 3) != name
    assert user.lock_name_for(1, {"a": 1}) == user.lock_name_for(1, {"b": 2})
    assert whole.lock_name_for(1) == whole.lock_name_for(2)
    assert add.lock_for(1).key == f"lock:{name}"


def test_list_release_and_clear_locks(make_app: Any, rdb: Database) -> None:
    app = make_app()

    @app.task(base=WalrusLockedTask, name="proj.a")
    def a(x: int) -> None:
        return None

    first = rdb.lock(a.lock_name_for(1), ttl=20_000, lock_id="id-1")
    second = rdb.lock(a.lock_name_for(2), lock_id="id-2")
    first.acquire()
    second.acquire()
    rdb.set("lock:elsewhere", "x")  # not under the prefix
    with RoundTripCounter() as rt:
        infos = list_locks(app)
    assert rt.count == 2  # one SCAN page, one pipelined GET + PTTL
    assert {i.name for i in infos} == {first.name, second.name}
    by_owner = {i.owner: i for i in infos}
    assert by_owner["id-1"].task == "proj.a" and by_owner["id-1"].task_id == "id-1"
    assert 19 < by_owner["id-1"].ttl <= 20 and by_owner["id-2"].ttl is None
    assert isinstance(infos[0], LockInfo) and infos[0].key.startswith("lock:celery_walrus:proj.a:")
    assert list_locks(app, task="proj.other") == []

    with pytest.raises(LockNotOwned):
        release_lock(first.name, app, token="someone-else")
    assert first.owned()
    assert release_lock(first.name, app, token="id-1") is True
    assert release_lock(second.name, app) is True  # force
    assert release_lock(second.name, app) is False
    first.acquire()
    second.acquire()
    assert clear_locks(app, task="proj.a") == 2
    assert list_locks(app) == [] and rdb.get("lock:elsewhere") == b"x"
    with pytest.raises(ValueError, match="lock name"):
        release_lock("", app)
    with pytest.raises(TypeError, match="Celery app or a walrus Database"):
        list_locks()


def test_cli_lists_releases_and_clears(make_app: Any, rdb: Database) -> None:
    app = make_app()

    @app.task(base=WalrusLockedTask, name="proj.cli")
    def c(x: int) -> None:
        return None

    lock = rdb.lock(c.lock_name_for(1), ttl=30_000, lock_id="task-1")
    lock.acquire()
    runner = CliRunner()
    obj = SimpleNamespace(app=app)
    out = runner.invoke(walrus, ["locks"], obj=obj)
    assert out.exit_code == 0, out.output
    assert lock.name in out.output and "task-1" in out.output and "1 lock(s)" in out.output
    out = runner.invoke(walrus, ["locks", "--json", "--task", "proj.cli"], obj=obj)
    assert '"task_id": "task-1"' in out.output
    out = runner.invoke(walrus, ["locks", "release", lock.name, "--token", "nope"], obj=obj)
    assert out.exit_code != 0 and "another owner" in out.output and lock.owned()
    out = runner.invoke(walrus, ["locks", "release", lock.name], obj=obj)
    assert out.exit_code == 0 and "released" in out.output and not lock.locked()
    lock.acquire()
    out = runner.invoke(walrus, ["locks", "clear"], obj=obj, input="n\n")
    assert out.exit_code != 0 and lock.locked()
    out = runner.invoke(walrus, ["locks", "clear", "--yes"], obj=obj)
    assert "cleared 1 lock(s)" in out.output and not lock.locked()
    out = runner.invoke(walrus, ["locks"], obj=obj)
    assert "no locks held" in out.output


def _cli_env(redis_url: str) -> dict[str, str]:
    env = dict(os.environ)
    env["CELERY_WALRUS_TEST_URL"] = redis_url
    env["PYTHONPATH"] = os.pathsep.join(
        [str(ROOT / "integrations"), str(HERE), env.get("PYTHONPATH", "")]
    )
    return env


def test_python_m_celery_walrus(redis_url: str, rdb: Database) -> None:
    """``python -m celery_walrus -A app locks`` against celery_test_app."""
    rdb.set("lock:celery_walrus:celery_test_app.exclusive:abc", "tid-9", px=50_000)
    proc = subprocess.run(
        [sys.executable, "-m", "celery_walrus", "-A", "celery_test_app", "locks"],
        cwd=str(HERE),
        env=_cli_env(redis_url),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert "celery_test_app.exclusive:abc" in proc.stdout and "tid-9" in proc.stdout


def test_celery_script_finds_walrus_through_the_entry_point(redis_url: str, rdb: Database) -> None:
    """The installed ``celery`` script, unaided: ``walrus`` comes from the distribution's
    ``celery.commands`` entry point."""
    points = entry_points(group="celery.commands")
    assert [p.value for p in points if p.name == "walrus"] == ["celery_walrus.cli:walrus"]
    script = Path(sys.executable).with_name("celery")
    assert script.is_file(), f"no celery script beside {sys.executable}"
    rdb.set("lock:celery_walrus:celery_test_app.exclusive:abc", "tid-9", px=600_000)
    env = _cli_env(redis_url)

    def celery(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(script), "-A", "celery_test_app", "walrus", "locks", *args],
            cwd=str(HERE),
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )

    proc = celery()
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].split() == ["NAME", "OWNER", "/", "TASK", "ID", "TTL", "LEFT"]
    row = lines[1].split()
    assert row[:2] == ["celery_walrus:celery_test_app.exclusive:abc", "tid-9"]
    assert row[2].endswith("s") and 0 < float(row[2][:-1]) <= 600
    assert lines[2:] == ["1 lock(s)"]
    proc = celery("--json")
    assert proc.returncode == 0, proc.stderr
    listed = json.loads(proc.stdout)
    assert 0 < listed.pop("ttl") <= 600
    assert listed == {
        "name": "celery_walrus:celery_test_app.exclusive:abc",
        "owner": "tid-9",
        "task_id": "tid-9",
        "task": "celery_test_app.exclusive",
    }
    proc = celery("release", "celery_walrus:celery_test_app.exclusive:abc", "--token", "tid-9")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "released: celery_walrus:celery_test_app.exclusive:abc"
    assert rdb.get("lock:celery_walrus:celery_test_app.exclusive:abc") is None
