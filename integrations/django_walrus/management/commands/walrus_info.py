"""``manage.py walrus_info``: server summary and key counts per prefix."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from redis.exceptions import RedisError

from walrus.keyspace import prefix_counts, server_summary

from ...conf import alias_settings, get_database, safe_url


class Command(BaseCommand):
    help = "Show the Redis server behind a WALRUS alias and how many keys each prefix holds."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--alias", default="default")
        parser.add_argument("--json", action="store_true", help="machine-readable output")
        parser.add_argument("--sample", type=int, default=None,
                            help="count at most this many keys (for large databases)")

    def handle(self, *args: Any, **options: Any) -> None:
        alias = options["alias"]
        try:
            url = safe_url(alias_settings(alias)["URL"])
            database = get_database(alias)
            summary = server_summary(database)
            counts = prefix_counts(database, limit=options["sample"])
        except KeyError as exc:
            raise CommandError(str(exc.args[0])) from None
        except RedisError as exc:
            raise CommandError(f"cannot reach {url}: {exc}") from None
        data = {"alias": alias, "url": url, "server": summary, "prefixes": counts}
        if options["json"]:
            self.stdout.write(json.dumps(data, indent=2, default=str))
            return
        self.stdout.write(f"Alias {alias}: {url}")
        for name, value in summary.items():
            self.stdout.write(f"  {name}: {value}")
        self.stdout.write("Keys per prefix:")
        for prefix, count in counts.items():
            self.stdout.write(f"  {prefix:<40} {count}")
