"""The link board (example_projects/django_site) under Django's test client, in a subprocess.

The test suite's own process runs pytest-django on ``django_test_settings``; the example has
its own settings, so it runs in a child process: ``LinkboardClient`` starts
``python linkboard_testclient.py`` with the example's environment (``WALRUS_URL`` and so on)
and sends it requests as JSON lines on stdin; the child answers each with one JSON line
(status, headers, body) on its stdout. The child's stderr (the site's log) goes to a file
that ``log()`` reads. One client keeps its cookies (sessions) between requests.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
DJANGO_SITE = ROOT / "example_projects" / "django_site"

__all__ = ["LinkboardClient", "Reply"]


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: str

    @property
    def content_type(self) -> str:
        return self.headers.get("Content-Type", "")

    def json(self) -> Any:
        return json.loads(self.body)


class LinkboardClient:
    """Drives the child process. ``env`` overrides the environment (``None`` removes)."""

    def __init__(self, env: Mapping[str, str | None], seed: bool = True) -> None:
        child_env = {
            k: v for k, v in os.environ.items() if k not in ("DJANGO_SETTINGS_MODULE", "WALRUS_URL")
        }
        paths = [str(ROOT / "core"), str(ROOT / "integrations"), child_env.get("PYTHONPATH", "")]
        child_env["PYTHONPATH"] = os.pathsep.join(p for p in paths if p)
        child_env["PYTHONUNBUFFERED"] = "1"
        for key, value in env.items():
            if value is None:
                child_env.pop(key, None)
            else:
                child_env[key] = value
        self._workdir = tempfile.mkdtemp(prefix="walrus-linkboard-client-")
        child_env["LINKBOARD_SQLITE"] = os.path.join(self._workdir, "db.sqlite3")
        self._log_path = os.path.join(self._workdir, "stderr.log")
        self._log = open(self._log_path, "wb")  # noqa: SIM115 - closed in close()
        self.process = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), "--seed" if seed else "--no-seed"],
            cwd=str(DJANGO_SITE),
            env=child_env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log,
            text=True,
            encoding="utf-8",
        )
        ready = self._read()
        if ready.get("ready") is not True:  # pragma: no cover - a broken setup
            self.close()
            raise RuntimeError(f"the link board did not start: {ready}\n{self.log()[-4000:]}")

    def _read(self) -> dict[str, Any]:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"the link board process exited:\n{self.log()[-4000:]}")
        result: dict[str, Any] = json.loads(line)
        return result

    def request(
        self,
        method: str,
        path: str,
        data: Mapping[str, str] | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> Reply:
        """``environ``: extra WSGI environ, e.g. ``{"REMOTE_ADDR": "203.0.113.9"}``."""
        assert self.process.stdin is not None
        message = {
            "method": method,
            "path": path,
            "data": dict(data or {}),
            "environ": dict(environ or {}),
        }
        self.process.stdin.write(json.dumps(message) + "\n")
        self.process.stdin.flush()
        answer = self._read()
        if "error" in answer:
            raise RuntimeError(f"{method} {path} raised in the test client: {answer['error']}")
        return Reply(answer["status"], answer["headers"], answer["body"])

    def get(self, path: str, environ: Mapping[str, str] | None = None) -> Reply:
        return self.request("get", path, environ=environ)

    def post(
        self, path: str, data: Mapping[str, str], environ: Mapping[str, str] | None = None
    ) -> Reply:
        return self.request("post", path, data, environ)

    def log(self) -> str:
        """What the site wrote to stderr so far (its console log)."""
        self._log.flush()
        return Path(self._log_path).read_text(errors="replace")

    def close(self) -> None:
        if self.process.poll() is None:
            assert self.process.stdin is not None
            self.process.stdin.close()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:  # pragma: no cover
                self.process.kill()
                self.process.wait(timeout=15)
        if self.process.stdout is not None:
            self.process.stdout.close()
        self._log.close()
        for name in os.listdir(self._workdir):
            os.unlink(os.path.join(self._workdir, name))
        os.rmdir(self._workdir)


def _serve(seed: bool, out: IO[str]) -> None:
    """The child: set the example up under the test client, answer requests from stdin."""
    sys.path.insert(0, str(DJANGO_SITE))
    os.environ["DJANGO_SETTINGS_MODULE"] = "linkboard.settings"
    import django

    django.setup()
    from django.core.management import call_command
    from django.test import Client
    from django.test.utils import setup_test_environment

    setup_test_environment()
    call_command("migrate", verbosity=0, interactive=False)
    if seed:
        from links.seed import seed as seed_links

        seed_links()
    # Unhandled view errors become 500 responses, as on a real server (and are logged).
    client = Client(raise_request_exception=False)
    out.write(json.dumps({"ready": True}) + "\n")
    out.flush()
    for line in sys.stdin:
        message = json.loads(line)
        try:
            call = getattr(client, message["method"])
            response = call(message["path"], message["data"] or None, **message["environ"])
            body = b"".join(response) if response.streaming else response.content
            answer = {
                "status": response.status_code,
                "headers": dict(response.items()),
                "body": body.decode("utf-8", "replace"),
            }
        except Exception as exc:  # reported to the test, which fails with it
            answer = {"error": f"{type(exc).__name__}: {exc}"}
        out.write(json.dumps(answer) + "\n")
        out.flush()


if __name__ == "__main__":
    # Replies go to the real stdout; anything the site prints goes to stderr (the log).
    reply_stream = sys.stdout
    sys.stdout = sys.stderr
    _serve("--seed" in sys.argv[1:], reply_stream)
