"""``celery -A proj walrus locks``: list and free task locks from the command line.

Registered as a Celery sub-command through the ``celery.commands`` entry point; without it,
``python -m celery_walrus --app proj locks`` runs the same commands.

::

    celery -A proj walrus locks                     # list: name, owner token / task id, ttl left
    celery -A proj walrus locks --task proj.sync    # only one task's locks
    celery -A proj walrus locks release NAME [--token TASK_ID]
    celery -A proj walrus locks clear [--task proj.sync] --yes
"""

from __future__ import annotations

import json
from typing import Any

import click
from redis.exceptions import RedisError

from walrus.lock import LockError

from .locks import clear_locks, list_locks, release_lock

__all__ = ["main", "walrus"]


def _app(ctx: click.Context) -> Any:
    app = getattr(ctx.obj, "app", None) if ctx.obj is not None else None
    if app is None:
        raise click.UsageError(
            "no Celery app: use celery -A proj walrus ... or python -m celery_walrus -A proj"
        )
    return app


@click.group(help="walrus task locks of this Celery app (celery_walrus).")
def walrus() -> None:
    """``celery -A proj walrus``: the lock commands as a Celery sub-command (the
    ``celery.commands`` entry point). No Redis work."""
    pass


@walrus.group("locks", invoke_without_command=True)
@click.option("--task", default=None, help="only the locks of this task name")
@click.option("--json", "as_json", is_flag=True, help="print JSON lines instead of a table")
@click.pass_context
def locks_group(ctx: click.Context, task: str | None, as_json: bool) -> None:
    """List held locks (default), or release / clear them."""
    if ctx.invoked_subcommand is not None:
        return
    try:
        infos = list_locks(_app(ctx), task=task)
    except (RedisError, ValueError, TypeError) as exc:
        raise click.ClickException(str(exc)) from None
    if as_json:
        for info in infos:
            click.echo(
                json.dumps(
                    {
                        "name": info.name,
                        "owner": info.owner,
                        "task_id": info.task_id,
                        "task": info.task,
                        "ttl": info.ttl,
                    }
                )
            )
        return
    if not infos:
        click.echo("no locks held")
        return
    click.echo(f"{'NAME':<60} {'OWNER / TASK ID':<36} TTL LEFT")
    for info in infos:
        ttl = "never" if info.ttl is None else f"{info.ttl:.1f}s"
        click.echo(f"{info.name:<60} {info.owner:<36} {ttl}")
    click.echo(f"{len(infos)} lock(s)")


@locks_group.command("release")
@click.argument("names", nargs=-1, required=True)
@click.option("--token", default=None, help="release only if this owner token (task id) holds it")
@click.pass_context
def release_command(ctx: click.Context, names: tuple[str, ...], token: str | None) -> None:
    """Release the named locks (force, unless --token is given)."""
    app = _app(ctx)
    for name in names:
        try:
            released = release_lock(name, app, token=token)
        except LockError as exc:
            raise click.ClickException(str(exc)) from None
        except RedisError as exc:
            raise click.ClickException(f"Redis error: {exc}") from None
        click.echo(f"{'released' if released else 'not held'}: {name}")


@locks_group.command("clear")
@click.option("--task", default=None, help="only the locks of this task name")
@click.option("--yes", is_flag=True, help="do it without asking")
@click.pass_context
def clear_command(ctx: click.Context, task: str | None, yes: bool) -> None:
    """Force free every task lock of the app (or of one task)."""
    app = _app(ctx)
    what = f"task {task}" if task else "every task"
    if not yes:
        click.confirm(f"Force free the locks of {what}?", abort=True)
    try:
        count = clear_locks(app, task=task)
    except RedisError as exc:
        raise click.ClickException(f"Redis error: {exc}") from None
    click.echo(f"cleared {count} lock(s)")


class _Obj:
    def __init__(self, app: Any) -> None:
        self.app = app


@click.group(help="celery_walrus lock tools (same commands as `celery -A proj walrus`).")
@click.option(
    "-A", "--app", "app_name", required=True, help="Celery app, e.g. proj or proj.celery:app"
)
@click.pass_context
def main(ctx: click.Context, app_name: str) -> None:
    """``python -m celery_walrus -A proj``: the same lock commands without the celery program. No
    Redis work."""
    from celery.app.utils import find_app

    try:
        ctx.obj = _Obj(find_app(app_name))
    except Exception as exc:
        raise click.UsageError(f"cannot load Celery app {app_name!r}: {exc}") from None


main.add_command(locks_group)
