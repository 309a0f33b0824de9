"""Run the link board demo: ``python example_projects/django_site/demo.py [--port N]``.

On a fresh machine it needs no Redis server: walrus data lives in the embedded ``memory://``
engine inside this one process (set ``WALRUS_URL=redis://host:6379/0`` for a real server).
It creates a throwaway SQLite database for Django's users (removed on exit), a superuser
``admin`` / ``walrus-demo``, a few sample links when the board is empty, and serves the site
with a threaded WSGI server on 127.0.0.1 until Ctrl+C (or SIGTERM). On ``memory://``
everything runs in this one process, Celery tasks included (eager); with a real server tasks
go to a worker unless ``LINKBOARD_CELERY_EAGER=1``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import sys
import tempfile
from pathlib import Path
from types import FrameType

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

ADMIN_USER = "admin"
ADMIN_PASSWORD = "walrus-demo"


def _port(value: str) -> int:
    try:
        port = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"port must be an integer, got {value!r}") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"port must be between 0 and 65535, got {port}")
    return port


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Run the walrus link board demo (Django).")
    parser.add_argument(
        "--port",
        type=_port,
        default=None,
        help="TCP port on 127.0.0.1 (default: $PORT or 8000; 0 picks a free one)",
    )
    parser.add_argument("--no-seed", action="store_true", help="do not add the sample links")
    args = parser.parse_args(argv)
    if args.port is None:
        try:
            args.port = _port(os.environ.get("PORT") or "8000")
        except argparse.ArgumentTypeError as exc:
            parser.error(f"$PORT: {exc}")
    return args


def prepare(workdir: str, seed_links: bool = True) -> int:
    """Set Django up on a fresh SQLite file in ``workdir``: migrate, the demo superuser, the
    sample links. Returns how many links were added."""
    os.environ["LINKBOARD_SQLITE"] = os.path.join(workdir, "db.sqlite3")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "linkboard.settings")
    os.environ.setdefault("LINKBOARD_DEBUG", "0")
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)
    user_model = get_user_model()
    user, _ = user_model.objects.get_or_create(
        username=ADMIN_USER,
        defaults={"email": "admin@example.com", "is_staff": True, "is_superuser": True},
    )
    user.set_password(ADMIN_PASSWORD)
    user.save()
    if not seed_links:
        return 0
    from links.seed import seed

    return seed()


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    workdir = tempfile.mkdtemp(prefix="walrus-linkboard-")

    def stop(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    server = None
    try:
        added = prepare(workdir, seed_links=not args.no_seed)
        from django.conf import settings
        from django.contrib.staticfiles.handlers import StaticFilesHandler
        from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler
        from django.core.wsgi import get_wsgi_application

        from django_walrus.conf import safe_url

        try:
            server = ThreadedWSGIServer(("127.0.0.1", args.port), WSGIRequestHandler)
        except OSError as exc:
            print(
                f"Cannot listen on 127.0.0.1:{args.port}: {exc.strerror or exc}. "
                "Pick another port: PORT=8001 make demo (or --port 0 for any free port).",
                file=sys.stderr,
                flush=True,
            )
            return 2
        server.set_app(StaticFilesHandler(get_wsgi_application()))
        port = server.server_address[1]
        url = f"http://127.0.0.1:{port}/"
        engine = (
            "embedded memory:// engine, no server needed" if settings.EMBEDDED else "Redis server"
        )
        print(
            f"Walrus data: {safe_url(settings.WALRUS_URL)} ({engine}); {added} sample links added."
        )
        eager = settings.CELERY_TASK_ALWAYS_EAGER
        print(f"Celery tasks: {'eager, in this process' if eager else 'sent to a worker'}.")
        print(
            f"Demo running at {url} (admin: {url}admin/ user {ADMIN_USER!r}, "
            f"password {ADMIN_PASSWORD!r})"
        )
        print("Press Ctrl+C to stop.", flush=True)
        server.serve_forever()
    except KeyboardInterrupt:
        print("\nDemo stopped.", flush=True)
    finally:
        if server is not None:
            server.server_close()
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
