"""What ``Field.get_indexes()`` returns: one object per secondary index a field keeps.

Each object names its Redis key(s) and type; building one sends nothing to Redis. The
model writes and queries these indexes itself (see ``indexes.py`` and ``executor.py``):
the objects describe them, for tools and for code written against upstream walrus.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, cast

from .errors import ModelError
from .fields import ABSOLUTE, CONTINUOUS, FTS, LEX

if TYPE_CHECKING:  # pragma: no cover
    from ..search.tokenizer import Tokenizer
    from .fields import Field, TextField

__all__ = [
    "AbsoluteIndex",
    "ContinuousIndex",
    "FieldIndex",
    "FullTextIndex",
    "LexIndex",
    "index_for",
]


class FieldIndex:
    """A secondary index of one field. ``kind`` is the key-layout word (``absolute``,
    ``continuous``, ``lex`` or ``fts``), ``key_type`` the Redis type of its key(s)."""

    __slots__ = ("field",)
    kind: ClassVar[str] = ""
    key_type: ClassVar[str] = ""

    def __init__(self, field: Field) -> None:
        self.field = field

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.field!r}>"

    # Fields overload ==, so compare them by identity.
    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other.field is self.field

    def __hash__(self) -> int:
        return hash((type(self), id(self.field)))

    def _model(self) -> Any:
        model = self.field.model
        if model is None:
            raise ModelError(f"{self.field!r} is not bound to a model yet: its index has no key")
        return model

    def get_key(self, value: Any = None) -> bytes:
        """The index key (no round trip)."""
        return bytes(self._model()._make_key(self.field.name, self.kind))


class AbsoluteIndex(FieldIndex):
    """A set of row keys per stored value: ``P <field>.absolute.<value>`` (equality, in_)."""

    __slots__ = ()
    kind = ABSOLUTE
    key_type = "set"

    def get_key(self, value: Any = None) -> bytes:
        """The set holding the rows whose field equals ``value`` (validated like a write;
        FieldTypeError / FieldValueError for a value the field cannot store). No Redis
        work."""
        if value is None:
            raise ValueError(
                f"{self.field!r}: an equality index has one key per value; pass the value"
            )
        raw = self.field.db_value(self.field.validate(value))
        return bytes(
            self._model()._make_key(self.field.name, ABSOLUTE, self.field.index_value(raw))
        )


class ContinuousIndex(FieldIndex):
    """One sorted set ``P <field>.continuous`` of row keys scored by value (ranges, order)."""

    __slots__ = ()
    kind = CONTINUOUS
    key_type = "zset"


class LexIndex(FieldIndex):
    """One sorted set ``P <field>.lex`` of ``<value>\\0<row key>`` members, all scored 0
    (startswith and text ranges; not written by upstream walrus)."""

    __slots__ = ()
    kind = LEX
    key_type = "zset"


class FullTextIndex(FieldIndex):
    """One sorted set per token, ``P <field>.fts.<token>``, of row keys scored by minus the
    token's frequency in the text."""

    __slots__ = ()
    kind = FTS
    key_type = "zset"

    @property
    def tokenizer(self) -> Tokenizer:
        """The tokenizer of the field (stemmer, metaphone, stopwords, min_word_length)."""
        return cast("TextField", self.field).tokenizer

    def get_key(self, value: Any = None) -> bytes:
        """The sorted set of ``value``, a token as the tokenizer produces it (e.g. a
        stemmed word: see ``tokenizer.tokenize``). No Redis work."""
        if not isinstance(value, str) or not value:
            raise ValueError(
                f"{self.field!r}: a full-text index has one key per token; pass the token (a str)"
            )
        return bytes(self._model()._make_key(self.field.name, FTS, value))


_CLASSES: dict[str, type[FieldIndex]] = {
    ABSOLUTE: AbsoluteIndex,
    CONTINUOUS: ContinuousIndex,
    LEX: LexIndex,
    FTS: FullTextIndex,
}


def index_for(field: Field, kind: str) -> FieldIndex:
    """The index object of ``kind`` for ``field``. No Redis work."""
    return _CLASSES[kind](field)
