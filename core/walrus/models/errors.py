"""Errors of the model layer."""

from __future__ import annotations

from ..cluster import CrossSlotError
from ..exceptions import WalrusError

__all__ = [
    "ClusterTagError",
    "FieldTypeError",
    "FieldValueError",
    "FilterError",
    "MissingReferenceError",
    "ModelError",
    "PipelineError",
    "ProtectedError",
    "UniqueError",
    "WriteConflictError",
]


class ModelError(WalrusError):
    """Base class of the model layer's own errors."""


class FieldTypeError(ModelError, TypeError):
    """A value of the wrong Python type was given to a field (the message names the field)."""


class FieldValueError(ModelError, ValueError):
    """A value of the right type that a field cannot store (NaN, out of range, bad UTF-8...)."""


class UniqueError(ModelError, ValueError):
    """A write would give a ``unique=True`` field a value another row already has, or a
    ``__unique_together__`` group a combination another row already has.

    Nothing was written. ``field`` names the field (for a group: the names joined by
    ``", "``), ``fields`` is the tuple of names, ``value`` the refused value (a tuple for
    a group).
    """

    def __init__(
        self,
        message: str,
        field: str = "",
        value: object = None,
        fields: tuple[str, ...] | None = None,
    ) -> None:
        super().__init__(message)
        self.field = field
        self.value = value
        self.fields = fields if fields is not None else ((field,) if field else ())


class MissingReferenceError(ModelError, ValueError):
    """A ``ForeignKeyField`` or ``ManyToManyField`` names a row that does not exist.

    Checked atomically with the write; nothing was written. ``field`` names the field.
    """

    def __init__(self, message: str, field: str = "") -> None:
        super().__init__(message)
        self.field = field


class ProtectedError(ModelError):
    """A delete was refused because rows still refer to the deleted row through a relation
    declared with ``on_delete="protect"``. Nothing was deleted.

    ``protected`` lists ``(model name, field name, row key)`` of the referring rows.
    ``deleted``: rows an interrupted ``query_delete`` had already removed in earlier
    batches (0 otherwise; see ``ModelQuery.delete``).
    """

    def __init__(
        self, message: str, protected: list[tuple[str, str, bytes]] | None = None, deleted: int = 0
    ) -> None:
        super().__init__(message)
        self.protected = list(protected or ())
        self.deleted = deleted


class PipelineError(ModelError):
    """A model operation cannot be queued on a pipeline because it needs a read first
    (an auto-increment key, a row whose stored state is unknown, a delete that follows
    relations). Nothing was queued."""


class FilterError(ModelError, ValueError):
    """A query filters on a field without a suitable index, or with an unsupported operator."""


class WriteConflictError(ModelError):
    """A row kept changing under an optimistic write; it was retried and gave up."""


class ClusterTagError(ModelError, CrossSlotError):
    """On Redis Cluster, two models joined by a relation use different hash tags, so one
    write or delete touching both would span hash slots. Raised on first use on a cluster,
    before anything is sent; the message names both models and their tags. Fix it by giving
    both the same ``__cluster_tag__``."""
