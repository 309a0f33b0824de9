"""The Django example's management commands, as its README shows them, on the real server:
``seed_links``, ``walrus_info``, ``walrus_reindex --check`` and the prefix-scoped
``walrus_flush``."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import redis

from tests.e2e.e2e_helpers import DJANGO_SITE, base_env

E2E_DB = 14


def manage(url: str, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = base_env(WALRUS_URL=url, LINKBOARD_SQLITE=str(tmp_path / "db.sqlite3"))
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=str(DJANGO_SITE),
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_seed_info_reindex_and_flush(flushed_db: tuple[str, redis.Redis], tmp_path: Path) -> None:
    url, raw = flushed_db
    raw.set("someone-else:key", "kept")  # not the project's: walrus_flush leaves it alone

    seeded = manage(url, tmp_path, "seed_links")
    assert seeded.returncode == 0, seeded.stderr
    assert "Added 5 links." in seeded.stdout
    assert (
        manage(url, tmp_path, "seed_links").stdout.strip()
        == "The board already has links; nothing added."
    )
    assert raw.scard("linkboard|link:all") == 5

    info = manage(url, tmp_path, "walrus_info")
    assert info.returncode == 0, info.stderr
    assert "linkboard|" in info.stdout

    check = manage(url, tmp_path, "walrus_reindex", "--check")
    assert check.returncode == 0, check.stdout + check.stderr

    dry = manage(url, tmp_path, "walrus_flush", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    project_keys = len(list(raw.scan_iter("linkboard*")))
    assert f"Would delete {project_keys} key(s) matching linkboard|*" in dry.stdout
    assert raw.scard("linkboard|link:all") == 5  # a dry run deletes nothing

    flushed = manage(url, tmp_path, "walrus_flush", "--noinput")
    assert flushed.returncode == 0, flushed.stderr
    assert f"Deleted {project_keys} key(s)" in flushed.stdout
    assert not list(raw.scan_iter("linkboard*"))
    assert raw.get("someone-else:key") == b"kept"
