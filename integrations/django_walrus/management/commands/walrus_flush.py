"""``manage.py walrus_flush``: delete this project's Redis keys (prefix-scoped by default)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from walrus.keyspace import delete_matching, iter_matching

from ...conf import get_database, safe_url
from ...flushing import default_patterns, model_pattern


class Command(BaseCommand):
    help = (
        "Delete the keys this project stores in Redis: by default the alias' PREFIXES and the "
        "key spaces of its walrus caches. --all-db flushes the whole logical database (every "
        "primary of a Redis Cluster)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--alias", default="default", help="WALRUS alias (default: default)")
        parser.add_argument("--pattern", action="append", default=[], help="glob of keys to delete (repeatable)")
        parser.add_argument("--model", action="append", default=[], help="dotted path of a walrus Model (repeatable)")
        parser.add_argument("--all-db", action="store_true", help="FLUSHDB: delete every key of the alias' DB")
        parser.add_argument("--dry-run", action="store_true", help="list what would be deleted, delete nothing")
        parser.add_argument("--noinput", "--no-input", action="store_false", dest="interactive",
                            help="do not ask for confirmation")

    def handle(self, *args: Any, **options: Any) -> None:
        alias = options["alias"]
        try:
            database = get_database(alias)
            from ...conf import alias_settings

            url = safe_url(alias_settings(alias)["URL"])
            patterns = list(options["pattern"])
            for path in options["model"]:
                patterns.append(model_pattern(path))
        except (KeyError, ValueError) as exc:
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
                f"nothing configured to flush for alias {alias!r}: set WALRUS[{alias!r}]['PREFIXES'], "
                "use a walrus cache on it, or pass --pattern/--model/--all-db"
            )
        if options["dry_run"]:
            count = 0
            for key in iter_matching(database, patterns):
                count += 1
                if count <= 50:
                    self.stdout.write(key.decode(errors="backslashreplace"))
            if count > 50:
                self.stdout.write(f"... and {count - 50} more")
            self.stdout.write(f"Would delete {count} key(s) matching {', '.join(patterns)} on {url}.")
            return
        if options["interactive"]:
            answer = input(f"Delete every key matching {', '.join(patterns)} on {url}? Type 'yes' to continue: ")
            if answer.strip().lower() != "yes":
                raise CommandError("Flush cancelled.")

        def progress(total: int) -> None:
            self.stdout.write(f"\rdeleted {total} key(s)...", ending="")
            self.stdout.flush()

        total = delete_matching(database, patterns, on_progress=progress)
        self.stdout.write("")
        self.stdout.write(self.style.SUCCESS(f"Deleted {total} key(s) matching {', '.join(patterns)}."))

    def _flush_db(self, database: Any, url: str, options: dict[str, Any]) -> None:
        if database.is_cluster:  # DBSIZE answers for one node; FLUSHDB goes to every primary
            count = sum(int(database.dbsize(target_nodes=node)) for node in database.get_primaries())
        else:
            count = int(database.dbsize())
        if options["dry_run"]:
            self.stdout.write(f"Would flush the whole database {url} ({count} key(s)).")
            return
        if options["interactive"]:
            answer = input(f"FLUSH the whole database {url} ({count} key(s))? Type 'yes' to continue: ")
            if answer.strip().lower() != "yes":
                raise CommandError("Flush cancelled.")
        database.flushdb()
        self.stdout.write(self.style.SUCCESS(f"Flushed {url}: {count} key(s) deleted."))
