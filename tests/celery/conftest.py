"""Fixtures of the celery_walrus tests: Celery apps on the test server, a real worker process."""

from __future__ import annotations

import importlib
import importlib.util
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("celery", reason="the celery_walrus tests need Celery (pip install celery)")

from celery import Celery  # noqa: E402

import celery_walrus  # noqa: E402

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
TEST_DB = int(os.environ.get("WALRUS_TEST_DB", "9"))


@pytest.fixture
def make_app(redis_url: str) -> Iterator[Any]:
    """``make_app(**conf)`` -> an eager Celery app whose locks live on the test DB."""
    apps: list[Celery] = []

    def factory(**conf: Any) -> Celery:
        app = Celery(f"eager-{uuid.uuid4().hex[:8]}", set_as_current=False)
        app.conf.update(
            broker_url="memory://",
            result_backend="cache+memory://",
            task_always_eager=True,
            task_eager_propagates=True,
            walrus_url=redis_url,
        )
        app.conf.update(conf)
        apps.append(app)
        return app

    yield factory
    for app in apps:
        celery_walrus.reset(app)


class Worker:
    """A ``celery worker`` subprocess in its own process group (so SIGKILL takes its children)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.process: subprocess.Popen[bytes] | None = None
        self.log = tempfile.NamedTemporaryFile(
            prefix="celery-walrus-worker-", suffix=".log", delete=False
        )

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        # The checkout (for ``tests.support``), not tests/ itself: its django, flask, celery and
        # limpyd packages would shadow the real ones.
        paths = [str(ROOT / "integrations"), str(HERE), str(ROOT), env.get("PYTHONPATH", "")]
        env["PYTHONPATH"] = os.pathsep.join(p for p in paths if p)
        if "DJANGO_SETTINGS_MODULE" in env:
            # pytest-django's settings (Celery's Django fixup loads them in the worker), by
            # the name they have with the checkout on sys.path.
            env["DJANGO_SETTINGS_MODULE"] = "tests.support.django_test_settings"
        env["CELERY_WALRUS_TEST_URL"] = self.url
        return env

    def start(self, app: Any, timeout: float = 30.0) -> None:
        cmd = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "celery_test_app",
            "worker",
            "--pool=prefork",
            "-c",
            "2",
            "-l",
            "INFO",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "-n",
            f"walrus-{uuid.uuid4().hex[:8]}@%h",
        ]
        self.process = subprocess.Popen(
            cmd,
            cwd=str(HERE),
            env=self.env(),
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"celery worker exited ({self.process.returncode}):\n{self.output()}"
                )
            try:
                app.tasks["celery_test_app.ping"].apply_async().get(timeout=2)
                return
            except Exception:
                if time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(
                        f"celery worker not ready after {timeout}s:\n{self.output()}"
                    ) from None

    def kill(self) -> None:
        """SIGKILL the whole process group we started (worker and pool children)."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.kill()

    def output(self) -> str:
        self.log.flush()
        return Path(self.log.name).read_text(errors="replace")[-6000:]


def load_celery_test_app() -> Any:
    """``celery_test_app`` under that top-level name, as the worker imports it (its task names
    are ``celery_test_app.<name>``): loaded from this folder once per session, without
    putting the folder on sys.path."""
    name = "celery_test_app"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, HERE / f"{name}.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        try:
            spec.loader.exec_module(module)
        except BaseException:
            del sys.modules[name]
            raise
    return sys.modules[name]


@pytest.fixture(scope="module")
def worker_url(redis_server: Any) -> Iterator[str]:
    """URL of the test DB for the worker module (flushed before and after the module)."""
    client = redis_server.client(TEST_DB)
    client.flushdb()
    yield redis_server.url(TEST_DB)
    client.flushdb()
    client.close()


@pytest.fixture(scope="module")
def test_app(worker_url: str) -> Any:
    """The ``celery_test_app`` module, imported on the test server's URL."""
    os.environ["CELERY_WALRUS_TEST_URL"] = worker_url
    module = load_celery_test_app()
    if module.URL != worker_url:
        module.__spec__.loader.exec_module(module)  # a reload: importlib.reload looks on sys.path
    return module


@pytest.fixture(scope="module")
def worker(worker_url: str, test_app: Any) -> Iterator[Worker]:
    """A running prefork worker (2 processes); stopped by its pid at teardown."""
    handle = Worker(worker_url)
    handle.start(test_app.app)
    try:
        yield handle
    finally:
        handle.stop()
        handle.log.close()
        os.unlink(handle.log.name)


@pytest.fixture(scope="module")
def second_worker(worker: Worker, worker_url: str, test_app: Any) -> Iterator[Worker]:
    """Another prefork worker (2 processes) beside ``worker``, on the same broker."""
    handle = Worker(worker_url)
    handle.start(test_app.app)
    try:
        yield handle
    finally:
        handle.stop()
        handle.log.close()
        os.unlink(handle.log.name)
