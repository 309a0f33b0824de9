"""The README's quick start: ``make demo`` starts the example Django site on the embedded
``memory://`` engine (no Redis server), prints its address and serves until stopped.

The Makefile target is run through its own recipe (``$(PY)`` = this interpreter), so the
venv is not rebuilt; ``PORT`` picks a free port.
"""

from __future__ import annotations

import re
import shlex
import shutil
import socket
import subprocess
import sys
from pathlib import Path

from tests.e2e.e2e_helpers import DEMO, ROOT, Client, Site, base_env, free_port, start_site


def demo_recipe() -> list[str]:
    """The command lines of the Makefile's ``demo`` target."""
    lines = (ROOT / "Makefile").read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if re.match(r"^demo\s*:", line))
    recipe = []
    for line in lines[start + 1 :]:
        if not line.startswith("\t"):
            break
        recipe.append(line.strip())
    return recipe


def readme_quick_start() -> str:
    text = (ROOT / "README.md").read_text()
    section = text.split("## Quick start", 1)[1]
    return section.split("\n## ", 1)[0]


def exercise(site: Site, port: int) -> None:
    """What a visitor of the demo sees, on the embedded engine."""
    assert (
        f"Demo running at http://127.0.0.1:{port}/ (admin: http://127.0.0.1:{port}/admin/"
        in site.output()
    )
    assert "memory://" in site.output()
    client = Client(site.url)
    index = client.get("")
    assert index.status == 200 and "Redis streams as durable queues" in index.body
    assert "Celery tasks guide" in client.get("?q=idempotent").body
    top = client.get("top/").body
    assert top == client.get("top/").body  # cached: the same render twice
    rebuilt = client.post_form("maintenance/", {})
    assert "Search index rebuilt: 6 rows, 0 entries repaired." in rebuilt.body  # eager Celery
    client.login_admin()
    assert "Redis streams as durable queues" in client.get("admin/walrus/linkboard_link/").body


def run_and_stop(cmd: list[str]) -> None:
    port = free_port()
    env = base_env(WALRUS_URL=None, PORT=str(port))
    site = start_site(cmd, port, env, ready_text="Demo running at")
    try:
        exercise(site, port)
    finally:
        code = site.stop()
        output = site.output()
        site.close()
    assert code == 0, output[-3000:]
    assert "Demo stopped." in output


def test_readme_quick_start_names_make_demo() -> None:
    assert "make demo" in readme_quick_start()


def test_make_demo_runs_the_django_site() -> None:
    recipe = demo_recipe()
    assert len(recipe) == 1, recipe
    cmd = [sys.executable if part == "$(PY)" else part for part in shlex.split(recipe[0])]
    assert cmd[1:] == ["example_projects/django_site/demo.py"], recipe
    run_and_stop(cmd)


def test_demo_script_runs_the_django_site() -> None:
    run_and_stop([sys.executable, str(DEMO)])


def test_demo_rejects_a_bad_port() -> None:
    for env_port, args in (("http", []), ("8000", ["--port", "70000"])):
        proc = subprocess.run(
            [sys.executable, str(DEMO), *args],
            env=base_env(WALRUS_URL=None, PORT=env_port),
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert proc.returncode == 2
        assert "port must be" in proc.stderr


def test_flask_example_runs_on_the_embedded_engine() -> None:
    port = free_port()
    site = start_site(
        [sys.executable, "-m", "example_projects.flask_app", "--port", str(port)],
        port,
        base_env(WALRUS_URL=None),
        cwd=ROOT,
    )
    try:
        client = Client(site.url)
        assert client.get("").status == 200
        assert client.get("api/hello?name=Bo").json() == {"message": "Hello, Bo!"}
        assert client.get("report").body == client.get("report").body
    finally:
        site.close()


def test_example_readmes_show_the_commands() -> None:
    django_readme = (ROOT / "example_projects" / "django_site" / "README.md").read_text()
    for command in (
        "make demo",
        "walrus_flush",
        "celery -A linkboard worker",
        "manage.py runserver",
    ):
        assert command in django_readme, command
    flask_readme = (ROOT / "example_projects" / "flask_app" / "README.md").read_text()
    assert "flask --app example_projects.flask_app.app run" in flask_readme
    assert Path(ROOT / "example_projects" / "README.md").exists()


def test_demo_needs_no_redis_on_the_machine(tmp_path: Path) -> None:
    """A fresh machine has no redis-server: the demo runs with only the interpreter at hand
    (PATH holds nothing else), on the embedded engine."""
    empty = tmp_path / "bin"
    empty.mkdir()
    assert shutil.which("redis-server", path=str(empty)) is None
    port = free_port()
    env = base_env(WALRUS_URL=None, PORT=str(port), PATH=str(empty))
    site = start_site([sys.executable, str(DEMO)], port, env, ready_text="Demo running at")
    try:
        exercise(site, port)
    finally:
        code = site.stop()
        output = site.output()
        site.close()
    assert code == 0, output[-3000:]


def test_demo_reports_a_busy_port_clearly() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        env = base_env(WALRUS_URL=None, PORT=str(port))
        done = subprocess.run(
            [sys.executable, str(DEMO)], env=env, capture_output=True, text=True, timeout=120
        )
    assert done.returncode == 2, done.stdout + done.stderr
    assert f"Cannot listen on 127.0.0.1:{port}" in done.stderr
    assert "PORT=" in done.stderr and "Traceback" not in done.stderr
