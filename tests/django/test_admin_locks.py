"""The admin's locks page: who holds which walrus lock (Celery task locks included), and
forcing one free, with its own permissions."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client

from django_walrus import get_database
from django_walrus.admin import create_permissions

pytestmark = pytest.mark.django_db

PAGE = "/admin/walrus/locks/"


def _client(name: str, *codenames: str, superuser: bool = False) -> Client:
    create_permissions()
    if superuser:
        user = User.objects.create_superuser(name, f"{name}@example.com", "pw")
    else:
        user = User.objects.create_user(name, f"{name}@example.com", "pw", is_staff=True)
        for codename in codenames:
            user.user_permissions.add(
                Permission.objects.get(content_type__app_label="django_walrus", codename=codename)
            )
    client = Client()
    client.force_login(user)
    return client


def test_lists_held_locks_and_forces_one_free() -> None:
    db = get_database()
    task_lock = db.lock("celery_walrus:proj.tasks.report:abc", ttl=60_000, lock_id="task-id-1")
    other = db.lock("nightly", lock_id="owner-2")
    assert task_lock.acquire() and other.acquire()
    root = _client("root", superuser=True)
    page = root.get(PAGE).content.decode()
    assert "Held locks (2)" in page
    assert "celery_walrus:proj.tasks.report:abc" in page and "task-id-1" in page
    assert "no expiry" in page and "Force free" in page
    assert "nightly" not in root.get(PAGE + "?prefix=celery_walrus:").content.decode()
    assert "Locks" in root.get("/admin/walrus/").content.decode()

    response = root.post(PAGE, {"release": "nightly", "alias": "default"})
    assert response.status_code == 302
    assert not other.locked() and task_lock.locked()
    assert "Held locks (1)" in root.get(PAGE).content.decode()
    assert root.get(PAGE + "?alias=nope").status_code == 404


def test_permissions() -> None:
    db = get_database()
    lock = db.lock("guarded", lock_id="owner")
    assert lock.acquire()
    nobody = _client("nobody")
    assert nobody.get(PAGE).status_code == 403
    assert nobody.post(PAGE, {"release": "guarded"}).status_code == 403
    viewer = _client("viewer", "view_locks")
    page = viewer.get(PAGE).content.decode()
    assert "guarded" in page and "Force free" not in page
    assert viewer.post(PAGE, {"release": "guarded"}).status_code == 403
    assert lock.locked()
    releaser = _client("releaser", "view_locks", "release_locks")
    assert releaser.post(PAGE, {"release": "guarded"}).status_code == 302
    assert not lock.locked()
    anonymous = Client()
    assert anonymous.get(PAGE).status_code == 302  # to the login page
