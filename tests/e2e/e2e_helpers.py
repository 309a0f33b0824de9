"""Helpers of the end-to-end tests: run an example site as a subprocess, talk HTTP to it.

The sites run in their own process group (started here), are waited for with a bounded
timeout, and are stopped by their pid: SIGTERM, then SIGKILL if they do not exit.
"""

from __future__ import annotations

import http.cookiejar
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from email.message import Message
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DJANGO_SITE = ROOT / "example_projects" / "django_site"
DEMO = DJANGO_SITE / "demo.py"
ADMIN_USER = "admin"
ADMIN_PASSWORD = "walrus-demo"
READY_TIMEOUT = 40.0

__all__ = [
    "ADMIN_PASSWORD",
    "ADMIN_USER",
    "DEMO",
    "DJANGO_SITE",
    "ROOT",
    "Client",
    "Response",
    "Site",
    "base_env",
    "csrf_token",
    "free_port",
    "start_demo",
    "start_flask",
    "start_site",
]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def base_env(**overrides: str | None) -> dict[str, str]:
    """The test process's environment with the repository's packages importable, without
    a WALRUS_URL of the caller's; ``name=None`` removes a variable."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("WALRUS_URL", "PORT", "DJANGO_SETTINGS_MODULE")
    }
    paths = [str(ROOT / "core"), str(ROOT / "integrations"), env.get("PYTHONPATH", "")]
    env["PYTHONPATH"] = os.pathsep.join(p for p in paths if p)
    env["PYTHONUNBUFFERED"] = "1"
    for key, value in overrides.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


@dataclass
class Site:
    """A running example site: ``url`` ends with ``/``."""

    process: subprocess.Popen[bytes]
    url: str
    log_path: str
    stopped: bool = False

    def output(self) -> str:
        return Path(self.log_path).read_text(errors="replace")

    def stop(self, timeout: float = 10.0) -> int:
        """SIGTERM our process group, SIGKILL it after ``timeout``; returns the exit code."""
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGTERM)
            except ProcessLookupError:  # pragma: no cover - exited meanwhile
                pass
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=timeout)
        self.stopped = True
        return int(self.process.returncode)

    def close(self) -> None:
        self.stop()
        try:
            os.unlink(self.log_path)
        except OSError:  # pragma: no cover
            pass


def _port_open(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def start_site(
    cmd: list[str],
    port: int | None,
    env: Mapping[str, str],
    cwd: Path = ROOT,
    ready_text: str | None = None,
    timeout: float = READY_TIMEOUT,
) -> Site:
    """Start ``cmd`` in a new process group; return once ``port`` accepts connections (when
    given) and ``ready_text`` appeared in its output (when given). Raises with the output
    otherwise, after stopping the process."""
    log = tempfile.NamedTemporaryFile(prefix="walrus-e2e-", suffix=".log", delete=False)
    process = subprocess.Popen(
        cmd,
        cwd=str(cwd),
        env=dict(env),
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    log.close()
    site = Site(process, f"http://127.0.0.1:{port}/" if port else "", log.name)
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            raise RuntimeError(
                f"{cmd!r} exited with {process.returncode}:\n{site.output()[-4000:]}"
            )
        if (port is None or _port_open(port)) and (
            ready_text is None or ready_text in site.output()
        ):
            return site
        if time.monotonic() > deadline:
            site.close()
            raise RuntimeError(
                f"{cmd!r} not ready (port {port}, text {ready_text!r}) after {timeout} s:\n"
                f"{site.output()[-4000:]}"
            )
        time.sleep(0.1)


@dataclass
class Response:
    status: int
    headers: Message
    body: str
    url: str

    def json(self) -> object:
        import json

        return json.loads(self.body)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


@dataclass
class Client:
    """A small urllib browser: cookies kept, HTTP errors returned as responses."""

    base: str
    jar: http.cookiejar.CookieJar = field(default_factory=http.cookiejar.CookieJar)

    def _opener(self, follow: bool) -> urllib.request.OpenerDirector:
        handlers: list[urllib.request.BaseHandler] = [urllib.request.HTTPCookieProcessor(self.jar)]
        if not follow:
            handlers.append(_NoRedirect())
        return urllib.request.build_opener(*handlers)

    def request(
        self,
        method: str,
        path: str,
        data: Mapping[str, str] | None = None,
        follow: bool = True,
        headers: Mapping[str, str] | None = None,
    ) -> Response:
        url = urllib.parse.urljoin(self.base, path)
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        req = urllib.request.Request(url, data=body, method=method, headers=dict(headers or {}))
        try:
            with self._opener(follow).open(req, timeout=15) as resp:
                return Response(
                    resp.status, resp.headers, resp.read().decode("utf-8", "replace"), resp.url
                )
        except urllib.error.HTTPError as exc:
            text = exc.read().decode("utf-8", "replace")
            return Response(exc.code, exc.headers, text, exc.url)

    def get(self, path: str, follow: bool = True) -> Response:
        return self.request("GET", path, follow=follow)

    def post(self, path: str, data: Mapping[str, str], follow: bool = True) -> Response:
        return self.request("POST", path, data=data, follow=follow)

    def post_form(
        self, page: str, data: Mapping[str, str], action: str | None = None, follow: bool = True
    ) -> Response:
        """GET ``page`` for its CSRF token, then POST ``data`` to ``action`` (default ``page``)."""
        token = csrf_token(self.get(page).body)
        return self.post(action or page, {"csrfmiddlewaretoken": token, **data}, follow=follow)

    def login_admin(self, username: str = ADMIN_USER, password: str = ADMIN_PASSWORD) -> Response:
        response = self.post_form(
            "admin/login/?next=/admin/",
            {"username": username, "password": password, "next": "/admin/"},
        )
        assert response.status == 200 and "Site administration" in response.body, response.body[
            :2000
        ]
        return response


def csrf_token(html: str) -> str:
    match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
    assert match, f"no CSRF token in the page: {html[:500]}"
    return match.group(1)


def start_demo(walrus_url: str | None, **env: str) -> Site:
    """The Django demo (``example_projects/django_site/demo.py``) on a free port."""
    port = free_port()
    site = start_site(
        [sys.executable, str(DEMO)],
        port,
        base_env(WALRUS_URL=walrus_url, PORT=str(port), **env),
        ready_text="Demo running at",
    )
    return site


def start_flask(walrus_url: str | None) -> Site:
    """The Flask example, run the way its README says (``flask --app ... run``)."""
    port = free_port()
    cmd = [
        sys.executable,
        "-m",
        "flask",
        "--app",
        "example_projects.flask_app.app",
        "run",
        "--port",
        str(port),
        "--no-reload",
    ]
    return start_site(cmd, port, base_env(WALRUS_URL=walrus_url), cwd=ROOT)
