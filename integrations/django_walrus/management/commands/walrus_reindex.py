"""``manage.py walrus_reindex``: check and repair the secondary indexes of walrus models."""

from __future__ import annotations

from collections import Counter
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.module_loading import import_string
from redis.exceptions import RedisError

from walrus.models import Model


def _registered_models() -> list[type[Model]]:
    """Walrus models registered in the admin: admin modules are imported by the admin's
    autodiscover; loading the URLconf imports the ones it uses (as ``check`` does)."""
    from django.apps import apps

    if not apps.is_installed("django.contrib.admin"):
        return []
    from ...admin.registry import load_registrations, registry_for

    load_registrations()
    return [model_admin.model for model_admin in registry_for().admins()]


class Command(BaseCommand):  # type: ignore[misc]  # Django ships no types: Any base
    help = (
        "Check and rebuild the secondary indexes of walrus models: the models registered in "
        "the admin, or those given with --model. --check only reports (exit status 1 when "
        "something is wrong)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--model",
            action="append",
            default=[],
            help="dotted path of a walrus Model (repeatable; default: the admin's models)",
        )
        parser.add_argument("--check", action="store_true", help="report problems, repair nothing")

    def handle(self, *args: Any, **options: Any) -> None:
        models = [self._import(path) for path in options["model"]] or _registered_models()
        if not models:
            raise CommandError(
                "no walrus models: register some in the admin or pass --model dotted.path.Model"
            )
        check_only = options["check"]
        verbosity = int(options["verbosity"])
        total = 0
        for position, model in enumerate(models, 1):
            label = f"{model.__module__}.{model.__qualname__}"
            self.stdout.write(
                f"[{position}/{len(models)}] {label}: "
                f"{'checking' if check_only else 'rebuilding'}..."
            )
            self.stdout.flush()
            try:
                problems = model.check_indexes() if check_only else model.rebuild_indexes()
            except RedisError as exc:
                raise CommandError(f"{label}: Redis error: {exc}") from None
            total += len(problems)
            kinds = Counter(problem.kind for problem in problems)
            summary = ", ".join(f"{count} {kind}" for kind, count in sorted(kinds.items())) or "ok"
            verb = "found" if check_only else "repaired"
            self.stdout.write(
                f"    {len(problems)} problem(s) {verb}{': ' + summary if problems else ''}"
            )
            if verbosity >= 2:
                for problem in problems:
                    key = problem.key.decode("utf-8", "backslashreplace")
                    member = problem.member.decode("utf-8", "backslashreplace")
                    detail = f" ({problem.detail})" if problem.detail else ""
                    self.stdout.write(f"      {problem.kind}: {key} {member}{detail}")
        if check_only:
            if total:
                raise CommandError(
                    f"{total} index problem(s) found in {len(models)} model(s); "
                    "run walrus_reindex to repair"
                )
            self.stdout.write(
                self.style.SUCCESS(f"Indexes of {len(models)} model(s) are consistent.")
            )
        else:
            self.stdout.write(
                self.style.SUCCESS(
                    f"Repaired {total} index entr{'y' if total == 1 else 'ies'} "
                    f"in {len(models)} model(s)."
                )
            )

    def _import(self, path: str) -> type[Model]:
        try:
            model = import_string(path)
        except ImportError as exc:
            raise CommandError(f"cannot import model {path!r}: {exc}") from None
        if not (isinstance(model, type) and issubclass(model, Model) and model is not Model):
            raise CommandError(f"{path!r} is not a walrus Model class")
        return model
