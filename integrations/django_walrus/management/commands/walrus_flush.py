"""``manage.py walrus_flush``: delete this project's Redis keys (prefix-scoped by default)."""

from __future__ import annotations

from itertools import islice
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError, CommandParser

from walrus.keyspace import delete_matching, iter_matching

from ...conf import alias_settings, get_database, safe_url
from ...flushing import default_patterns, model_pattern

LISTED = 50  # keys a dry run prints before "... and N more"
BAR_WIDTH = 30


def progress_bar(done: int, total: int) -> str:
    """``[#####.....] done/total key(s)``; keys added since counting grow the total."""
    total = max(total, done)
    filled = BAR_WIDTH * done // total if total else BAR_WIDTH
    return f"[{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {done}/{total} key(s)"


class Command(BaseCommand):  # type: ignore[misc]  # Django ships no types: Any base
    help = (
        "Delete the keys this project stores in Redis: by default the alias' PREFIXES, the "
        "key spaces of its walrus caches and of the walrus models registered in the admin. "
        "--all-db flushes the whole logical database (every primary of a Redis Cluster)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--alias", default="default", help="WALRUS alias (default: default)")
        parser.add_argument(
            "--pattern", action="append", default=[], help="glob of keys to delete (repeatable)"
        )
        parser.add_argument(
            "--model",
            action="append",
            default=[],
            help="dotted path of a walrus Model (repeatable)",
        )
        parser.add_argument(
            "--all-db", action="store_true", help="FLUSHDB: delete every key of the alias' DB"
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="list what would be deleted, delete nothing"
        )
        parser.add_argument(
            "--noinput",
            "--no-input",
            action="store_false",
            dest="interactive",
            help="do not ask for confirmation",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        alias = options["alias"]
        try:
            database = get_database(alias)
            url = safe_url(alias_settings(alias)["URL"])
            patterns = list(options["pattern"])
            for path in options["model"]:
                patterns.append(model_pattern(path))
        except (KeyError, ValueError, ImproperlyConfigured) as exc:
            raise CommandError(str(exc.args[0] if exc.args else exc)) from None
        if options["all_db"]:
            if patterns:
                raise CommandError("--all-db cannot be combined with --pattern or --model")
            self._flush_db(database, url, options)
            return
        if not patterns:
            patterns = default_patterns(alias)
        if not patterns:
            raise CommandError(
                f"nothing configured to flush for alias {alias!r}: "
                f"set WALRUS[{alias!r}]['PREFIXES'], "
                "use a walrus cache on it, register walrus models in the admin, or pass "
                "--pattern/--model/--all-db"
            )
        described = f"{', '.join(patterns)} on {url}"
        # Counting first is one SCAN pass more; it gives the prompt its number and the bar its end.
        total = self._count(iter_matching(database, patterns), show=options["dry_run"])
        if options["dry_run"]:
            self.stdout.write(f"Would delete {total} key(s) matching {described}.")
            return
        if total == 0:
            self.stdout.write(f"Nothing to delete: no key matches {described}.")
            return
        self._confirm(
            options, f"Delete {total} key(s) matching {described}? Type 'yes' to continue: "
        )

        def progress(done: int) -> None:
            self.stdout.write("\r" + progress_bar(done, total), ending="")
            self.stdout.flush()

        deleted = delete_matching(database, patterns, on_progress=progress)
        self.stdout.write("")
        self.stdout.write(
            self.style.SUCCESS(f"Deleted {deleted} key(s) matching {', '.join(patterns)}.")
        )

    def _count(self, keys: Any, show: bool) -> int:
        """Count ``keys``, printing the first LISTED of them when ``show``."""
        count = 0
        for key in keys:
            count += 1
            if show and count <= LISTED:
                self.stdout.write(key.decode(errors="backslashreplace"))
        if show and count > LISTED:
            self.stdout.write(f"... and {count - LISTED} more")
        return count

    def _confirm(self, options: dict[str, Any], prompt: str) -> None:
        if not options["interactive"]:
            return
        try:
            answer = input(prompt)
        except EOFError:
            raise CommandError(
                "cannot ask for confirmation: standard input ended before an answer "
                "(no terminal?); pass --noinput to delete without asking"
            ) from None
        if answer.strip().lower() != "yes":
            raise CommandError("Flush cancelled.")

    def _flush_db(self, database: Any, url: str, options: dict[str, Any]) -> None:
        if database.is_cluster:  # DBSIZE answers for one node; FLUSHDB goes to every primary
            count = sum(
                int(database.dbsize(target_nodes=node)) for node in database.get_primaries()
            )
        else:
            count = int(database.dbsize())
        if options["dry_run"]:
            # A bounded listing: SCAN stops after LISTED keys; DBSIZE gave the count.
            for key in islice(database.scan_iter(count=500), LISTED):
                self.stdout.write(key.decode(errors="backslashreplace"))
            if count > LISTED:
                self.stdout.write(f"... and {count - LISTED} more")
            self.stdout.write(f"Would flush the whole database {url} ({count} key(s)).")
            return
        self._confirm(
            options, f"FLUSH the whole database {url} ({count} key(s))? Type 'yes' to continue: "
        )
        database.flushdb()
        self.stdout.write(self.style.SUCCESS(f"Flushed {url}: {count} key(s) deleted."))
