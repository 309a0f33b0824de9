"""Model fields: validation, the bytes stored in the row hash, and which indexes they feed.

Stored formats (what upstream walrus writes, so rows read back in either library): text as
UTF-8, integers and floats as decimal strings, booleans as ``1``/``0``, UUIDs as 32 hex
digits, datetimes as seconds since the epoch (UTC) with microseconds, dates as the epoch
seconds of their UTC midnight, JSON as ``json.dumps``. ``None`` is stored as an absent field.
"""

from __future__ import annotations

import datetime
import json
import math
import os
import pickle
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

from ..containers import Hash, List, Set, ZSet
from ..search.plan import compile_query
from ..search.query import parse
from ..search.tokenizer import Tokenizer
from .errors import FieldTypeError, FieldValueError
from .expressions import OP_MATCH, Expression, Operators

if TYPE_CHECKING:  # pragma: no cover
    from .model import Model
    from .secondary import FieldIndex

__all__ = [
    "ABSOLUTE",
    "CONTINUOUS",
    "FTS",
    "LEX",
    "AutoIncrementField",
    "BooleanField",
    "ByteField",
    "DateField",
    "DateTimeField",
    "Field",
    "FloatField",
    "HashField",
    "IntegerField",
    "JSONField",
    "PickledField",
    "ListField",
    "SetField",
    "TextField",
    "UUIDField",
    "ZSetField",
]

# Index kinds, the word each puts in its keys (``P <field>.<kind>...``).
ABSOLUTE = "absolute"
"""Index kind: a set of row keys per stored value (equality, ``in_``)."""
CONTINUOUS = "continuous"
"""Index kind: one sorted set of row keys scored by value (ranges, order)."""
LEX = "lex"
"""Index kind: one lexicographic sorted set of ``value\\x00row key`` members, all scored 0
(``startswith`` and text ranges)."""
FTS = "fts"
"""Index kind: one sorted set per token of a full-text field."""

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
# A sorted-set score is a double: integers beyond 2**53 would compare wrongly in the index.
EXACT_INT = 2**53
_EPOCH = datetime.datetime(1970, 1, 1)


class Field(Operators):
    """A named attribute of a model, stored as one field of the row's hash.

    ``index=True`` keeps a secondary index so the field can be filtered on; ``unique=True``
    (implies ``index``) refuses a second row with the same value, checked atomically with
    the write; ``default`` is a value or a zero-argument callable used when the
    constructor is not given the field.
    """

    index_kinds: tuple[str, ...] = (ABSOLUTE,)
    # The index an equality filter reads: ABSOLUTE (a set per value) or CONTINUOUS.
    eq_index: str = ABSOLUTE

    def __init__(
        self,
        index: bool = False,
        primary_key: bool = False,
        default: Any = None,
        unique: bool = False,
    ) -> None:
        for option, value in (("index", index), ("primary_key", primary_key), ("unique", unique)):
            if not isinstance(value, bool):
                raise TypeError(f"{option} must be True or False, got {value!r}")
        self.primary_key = primary_key
        self.unique = unique
        self.index = index or primary_key or unique
        self._default = default
        self.name = ""
        self.model: type[Model] | None = None

    # -- binding ------------------------------------------------------------------------

    def bind(self, model: type[Model], name: str) -> None:
        """Attach the field to ``model`` under ``name`` (done by ModelMeta). No Redis work."""
        self.model = model
        self.name = name

    def __repr__(self) -> str:
        owner = self.model.__name__ if self.model is not None else "?"
        return f"<{type(self).__name__} {owner}.{self.name}>"

    def __get__(self, instance: Any, owner: Any = None) -> Any:
        if instance is None:
            return self
        return instance._data.get(self.name)

    def __set__(self, instance: Any, value: Any) -> None:
        instance._data[self.name] = self.validate(value)

    # -- values -------------------------------------------------------------------------

    @property
    def indexes(self) -> tuple[str, ...]:
        """Index kinds this field maintains (empty when it is not indexed)."""
        return compact_kinds(self, self.index_kinds) if self.index else ()

    def get_indexes(self) -> list[FieldIndex]:
        """The secondary indexes this field keeps, one object per index (see
        ``walrus.models.secondary``): an equality index for most fields, plus a range index
        for numbers, dates and datetimes. Empty when the field is not indexed. No round trip."""
        from .secondary import index_for

        return [index_for(self, kind) for kind in self.indexes]

    def default(self) -> Any:
        """The value of a new row not given this field (a callable default is called). No
        Redis work."""
        value = self._default
        return value() if callable(value) else value

    def _type_error(self, expected: str, value: Any) -> FieldTypeError:
        return FieldTypeError(
            f"field {self.name!r} expects {expected}, got {type(value).__name__}: {value!r:.80}"
        )

    def _value_error(self, message: str) -> FieldValueError:
        return FieldValueError(f"field {self.name!r}: {message}")

    def validate(self, value: Any) -> Any:
        """Check ``value`` and return its canonical Python form (None stays None). No Redis
        work."""
        if value is None:
            return None
        return self.coerce(value)

    def coerce(self, value: Any) -> Any:
        """Field-specific check of a non-None value. Base Field: str, bytes, int, float. No
        Redis work."""
        if isinstance(value, bytes):
            return _utf8(self, value)
        if isinstance(value, str):
            _check_text(self, value)
            return value
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            if isinstance(value, float) and math.isnan(value):
                raise self._value_error("NaN cannot be stored")
            return value
        raise self._type_error("str, bytes, int or float", value)

    def db_value(self, value: Any) -> bytes:
        """The bytes stored in the row hash for a validated, non-None value. No Redis
        work."""
        if isinstance(value, str):
            return value.encode("utf-8")
        if isinstance(value, float):
            return repr(value).encode()
        return str(value).encode()

    def python_value(self, raw: bytes) -> Any:
        """The Python value of the stored bytes. No Redis work."""
        return raw.decode("utf-8", "replace")

    def query_value(self, value: Any) -> bytes:
        """The stored form of a value used in a filter (validated like a write). No Redis
        work."""
        if value is None:
            from .errors import FilterError

            raise FilterError(
                f"cannot filter field {self.name!r} on None: a None value is not indexed"
            )
        return self.db_value(self.validate(value))

    def generate_key(self) -> Any:
        """A new primary key value, or None when the field cannot make one. No Redis work
        (an auto-increment key is allocated by the write script)."""
        return None

    def index_value(self, raw: bytes) -> bytes:
        """The text of a stored value inside its equality-index key ``P <field>.absolute.<text>``.

        Upstream walrus formats the Python value with ``str()``; this reproduces that text
        from the stored bytes so both libraries share index keys (the stored bytes as they
        are for text, bytes, booleans, UUIDs and JSON). No Redis work."""
        return raw


def _utf8(field: Field, value: bytes) -> str:
    try:
        text = value.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise FieldValueError(
            f"field {field.name!r}: bytes are not valid UTF-8 ({exc.reason} at {exc.start})"
        ) from None
    return text


def _check_text(field: Field, value: str) -> None:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise FieldValueError(
            f"field {field.name!r}: text cannot be encoded as UTF-8 ({exc.reason} at {exc.start})"
        ) from None
    if field.index and "\x00" in value:
        raise FieldValueError(f"field {field.name!r}: an indexed text value cannot contain NUL")


def compact_kinds(field: Field, kinds: tuple[str, ...]) -> tuple[str, ...]:
    """``kinds`` under the model's ``__compact_indexes__`` option: without it, unchanged
    (upstream's layout). With it, the equality sets (``P <field>.absolute.<value>``, one per
    distinct value: for unique-ish values one small set per row) are not kept when another
    index answers equality: a number's range index, a text's lexicographic index; a
    full-text-only field keeps only its full-text index. Fields of a ``__unique_together__``
    group and unique full-text-only fields keep their equality sets (their checks read them)."""
    model = field.model
    if ABSOLUTE not in kinds or model is None or not getattr(model, "__compact_indexes__", False):
        return kinds
    if any(field.name in group for group in getattr(model, "_unique_together", ())):
        return kinds
    if CONTINUOUS in kinds or LEX in kinds or (FTS in kinds and not field.unique):
        return tuple(k for k in kinds if k != ABSOLUTE)
    return kinds


STEM_CACHE_WORDS = 50_000


def _remember_stems(tokenizer: Tokenizer) -> None:
    """Give ``tokenizer`` a memory of the stems it computed (up to ``STEM_CACHE_WORDS``
    words, then it starts over): stemming is most of the Python cost of writing a row with
    a full-text field, and the words of a corpus repeat."""
    stem = getattr(tokenizer, "_stem", None)
    if stem is None:
        return
    known: dict[str, str] = {}

    def remembered(words: list[str]) -> list[str]:
        stems = [known.get(w) for w in words]
        missing = [w for w, s in zip(words, stems, strict=True) if s is None]
        if not missing:
            return cast("list[str]", stems)  # every word was known
        found = dict(zip(missing, stem(missing), strict=True))
        if len(known) > STEM_CACHE_WORDS:
            known.clear()
        known.update(found)  # read through the local copies: another thread may clear it
        return [found[w] if s is None else s for w, s in zip(words, stems, strict=True)]

    tokenizer._stem = remembered


class TextField(Field):
    """Unicode text stored as UTF-8; returned as ``str``.

    ``fts=True`` adds a full-text index (and implies ``index``) using the shared tokenizer:
    ``stemmer`` (True = Porter, or a Snowball algorithm name), ``metaphone``,
    ``stopwords_file`` and ``min_word_length``. Query it with ``field.search(...)``.
    Indexed text supports ==, !=, in_, <, <=, >, >=, between and startswith.
    """

    index_kinds: tuple[str, ...] = (ABSOLUTE, LEX)

    def __init__(
        self,
        fts: bool = False,
        stemmer: bool | str = True,
        metaphone: bool = False,
        stopwords_file: str | os.PathLike[str] | None | bool = None,
        min_word_length: int | None = None,
        *args: Any,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        if not isinstance(fts, bool):
            raise TypeError(f"fts must be True or False, got {fts!r}")
        self.fts = fts
        # The lexicographic index (startswith, text ranges) is kept when indexing was asked
        # for; fts=True alone implies only upstream's equality index.
        self._lex = self.index
        if fts:
            self.index = True
        self._tokenizer_options: dict[str, Any] = {
            "stemmer": stemmer,
            "metaphone": metaphone,
            "stopwords_file": stopwords_file,
            "min_word_length": min_word_length,
        }
        self._tokenizer: Tokenizer | None = None
        if fts:
            self._tokenizer = Tokenizer(**self._tokenizer_options)
            _remember_stems(self._tokenizer)

    @property
    def indexes(self) -> tuple[str, ...]:
        if not self.index:
            return ()
        kinds = self.index_kinds if self._lex else (ABSOLUTE,)
        return compact_kinds(self, (*kinds, FTS) if self.fts else kinds)

    def get_indexes(self) -> list[FieldIndex]:
        """The secondary indexes of this text field: equality and lexicographic indexes
        when ``index=True``, plus a ``FullTextIndex`` when ``fts=True`` (which alone keeps
        the equality index too). Empty when not indexed. No round trip."""
        return super().get_indexes()

    @property
    def tokenizer(self) -> Tokenizer:
        if self._tokenizer is None:
            raise TypeError(f"field {self.name!r} has no full-text index (pass fts=True)")
        return self._tokenizer

    def coerce(self, value: Any) -> str:
        """A str (bytes are decoded as UTF-8; an indexed value cannot contain NUL). No Redis
        work."""
        if isinstance(value, bytes):
            text = _utf8(self, value)
        elif isinstance(value, str):
            text = value
        else:
            raise self._type_error("str", value)
        _check_text(self, text)
        return text

    def python_value(self, raw: bytes) -> str:
        """The stored UTF-8 as str (undecodable bytes replaced). No Redis work."""
        return raw.decode("utf-8", "replace")

    def search(
        self, query: str, default_conjunction: str = "and", lenient: bool = False
    ) -> Expression | None:
        """Full-text expression: words, "phrases", AND, OR and parentheses; side-by-side
        words are joined with ``default_conjunction``. An empty query gives None, which
        ``Model.query`` reads as every row (upstream's contract). Raises QueryError (a
        ValueError) for a malformed query, or reads it as plain words with ``lenient=True``.
        Results are ordered best match first unless ordered. No Redis work: builds an
        expression (``Model.query`` runs it)."""
        if isinstance(query, str) and not query.strip():
            return None
        compiled = compile_query(parse(query, default_conjunction, lenient), self.tokenizer)
        return Expression(self, OP_MATCH, compiled)

    def match(self, query: str) -> Expression | None:
        """``search`` with side-by-side words joined by AND. No Redis work: builds an
        expression."""
        return self.search(query, "and")


class _NumberMixin:
    # Upstream keeps both an equality set per value and the range sorted set for numbers,
    # dates and datetimes; the equality set is written for compatibility (eq queries on
    # floats, dates and datetimes use the range index, which compares numerically).
    index_kinds: tuple[str, ...] = (ABSOLUTE, CONTINUOUS)
    eq_index: str = CONTINUOUS

    def index_value(self, raw: bytes) -> bytes:
        # str() of the float upstream computes: "3.0", "1577836800.0", "1e+16", "-0.5".
        try:
            return repr(float(raw)).encode()
        except ValueError:
            return raw


class IntegerField(_NumberMixin, Field):
    """An ``int`` (bools refused). Indexed values must lie within +-2**53 (the precision of
    the index's scores); others within the 64-bit range Redis increments support."""

    eq_index = ABSOLUTE

    def index_value(self, raw: bytes) -> bytes:
        """The decimal integer text upstream puts in equality-index keys. No Redis work."""
        text = raw.strip()
        if text.lstrip(b"-").isdigit():
            return str(int(text)).encode()
        try:
            return str(int(float(text))).encode()
        except (ValueError, OverflowError):
            return raw

    def coerce(self, value: Any) -> int:
        """An int (bools refused) within the 64-bit range, and +-2**53 when indexed. No
        Redis work."""
        if isinstance(value, bool) or not isinstance(value, int):
            raise self._type_error("int", value)
        limit = EXACT_INT if self.index else None
        if limit is not None and not -limit <= value <= limit:
            raise self._value_error(
                f"{value} is outside +-2**53, the range an indexed integer keeps exactly"
            )
        if not INT64_MIN <= value <= INT64_MAX:
            raise self._value_error(f"{value} does not fit in a signed 64-bit integer")
        return int(value)

    def python_value(self, raw: bytes) -> int:
        """The stored decimal as int (a float text is truncated). No Redis work."""
        text = raw.decode("ascii", "replace")
        try:
            return int(text)
        except ValueError:
            return int(float(text))


class AutoIncrementField(IntegerField):
    """Integer primary key taken from the counter ``P <field>._sequence`` when not given."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("primary_key", True)
        super().__init__(*args, **kwargs)


class FloatField(_NumberMixin, Field):
    """A ``float`` (ints accepted); NaN refused (it cannot be indexed or compared)."""

    def coerce(self, value: Any) -> float:
        """A float (ints converted; NaN and too-large ints refused). No Redis work."""
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self._type_error("float or int", value)
        try:
            result = float(value)
        except OverflowError:
            raise self._value_error(f"{value} is too large for a float") from None
        if math.isnan(result):
            raise self._value_error("NaN cannot be stored")
        return result

    def db_value(self, value: Any) -> bytes:
        """``repr`` of the float. No Redis work."""
        return repr(float(value)).encode()

    def python_value(self, raw: bytes) -> float:
        """The stored text as float. No Redis work."""
        return float(raw)


class ByteField(Field):
    """Arbitrary bytes (a str is stored as its UTF-8); returned as ``bytes``."""

    def coerce(self, value: Any) -> bytes:
        """Bytes (bytearray and memoryview copied, str encoded as UTF-8). No Redis work."""
        if isinstance(value, (bytearray, memoryview)):
            value = bytes(value)
        elif isinstance(value, str):
            _check_text(self, value)
            value = value.encode("utf-8")
        if not isinstance(value, bytes):
            raise self._type_error("bytes", value)
        return value

    def db_value(self, value: Any) -> bytes:
        """The bytes as they are. No Redis work."""
        return bytes(value)

    def python_value(self, raw: bytes) -> bytes:
        """The stored bytes as they are. No Redis work."""
        return raw


class BooleanField(Field):
    """``True``/``False``, stored as ``1``/``0``."""

    def coerce(self, value: Any) -> bool:
        """A bool (no other type is read as one). No Redis work."""
        if not isinstance(value, bool):
            raise self._type_error("bool", value)
        return value

    def db_value(self, value: Any) -> bytes:
        """``1`` or ``0``. No Redis work."""
        return b"1" if value else b"0"

    def python_value(self, raw: bytes) -> bool:
        """True for ``1`` (or ``True``/``true``), else False. No Redis work."""
        return raw in (b"1", b"True", b"true")


class UUIDField(Field):
    """A ``uuid.UUID`` (a UUID string is accepted), stored as 32 hex digits. As a primary
    key, a new ``uuid4()`` is generated when none is given."""

    def coerce(self, value: Any) -> uuid.UUID:
        """A ``uuid.UUID`` (its text as str or bytes accepted). No Redis work."""
        if isinstance(value, uuid.UUID):
            return value
        if isinstance(value, (str, bytes)):
            text = value.decode("ascii", "replace") if isinstance(value, bytes) else value
            try:
                return uuid.UUID(text)
            except ValueError:
                hint = (
                    " (bytes must hold its text; wrap 16 raw bytes in uuid.UUID(bytes=...))"
                    if isinstance(value, bytes)
                    else ""
                )
                raise self._value_error(f"{value!r:.80} is not a UUID{hint}") from None
        raise self._type_error("uuid.UUID", value)

    def db_value(self, value: Any) -> bytes:
        """The 32 hex digits of the UUID. No Redis work."""
        digits: str = value.hex
        return digits.encode()

    def python_value(self, raw: bytes) -> uuid.UUID:
        """The stored hex digits as ``uuid.UUID``. No Redis work."""
        return uuid.UUID(raw.decode("ascii"))

    def generate_key(self) -> uuid.UUID:
        """A new ``uuid4()``. No Redis work."""
        return uuid.uuid4()


def _micros_text(micros: int) -> bytes:
    sign = "-" if micros < 0 else ""
    seconds, fraction = divmod(abs(micros), 1_000_000)
    return f"{sign}{seconds}.{fraction:06d}".encode()


class DateTimeField(_NumberMixin, Field):
    """A ``datetime``. Naive values are taken as UTC; aware ones keep their instant. Values
    come back as naive UTC datetimes. Stored as epoch seconds with microseconds."""

    def coerce(self, value: Any) -> datetime.datetime:
        """A naive UTC datetime (an aware one converted to UTC). No Redis work."""
        if not isinstance(value, datetime.datetime):
            raise self._type_error("datetime.datetime", value)
        moment: datetime.datetime = value
        if moment.tzinfo is not None and moment.utcoffset() is not None:
            moment = moment.astimezone(datetime.timezone.utc).replace(tzinfo=None)
        elif moment.tzinfo is not None:
            moment = moment.replace(tzinfo=None)
        return moment

    def db_value(self, value: Any) -> bytes:
        """Epoch seconds with six decimals (microseconds). No Redis work."""
        delta = value - _EPOCH
        return _micros_text((delta.days * 86400 + delta.seconds) * 1_000_000 + delta.microseconds)

    def python_value(self, raw: bytes) -> datetime.datetime:
        """The stored epoch seconds as a naive UTC datetime. No Redis work."""
        text = raw.decode("ascii")
        whole, _, fraction = text.partition(".")
        if (
            len(fraction) <= 6
            and whole.lstrip("-").isdigit()
            and (not fraction or fraction.isdigit())
        ):
            micros = abs(int(whole)) * 1_000_000 + int((fraction + "000000")[:6])
            if whole.startswith("-"):
                micros = -micros
        else:
            micros = round(float(text) * 1_000_000)
        return _EPOCH + datetime.timedelta(microseconds=micros)


class DateField(_NumberMixin, Field):
    """A ``date`` (a datetime is refused: pick its date explicitly), stored as the epoch
    seconds of its UTC midnight."""

    def coerce(self, value: Any) -> datetime.date:
        """A ``date`` (a datetime refused). No Redis work."""
        if isinstance(value, datetime.datetime) or not isinstance(value, datetime.date):
            raise self._type_error("datetime.date", value)
        return value

    def db_value(self, value: Any) -> bytes:
        """The epoch seconds of the date's UTC midnight. No Redis work."""
        return str((value - _EPOCH.date()).days * 86400).encode()

    def python_value(self, raw: bytes) -> datetime.date:
        """The date of the stored epoch seconds (UTC). No Redis work."""
        seconds = float(raw)
        return _EPOCH.date() + datetime.timedelta(days=math.floor(seconds / 86400))


class JSONField(Field):
    """Any JSON-serialisable value (NaN and infinities refused), stored as ``json.dumps``
    with sorted keys. Values come back as JSON gives them: tuples as lists, non-str dict
    keys as str."""

    def coerce(self, value: Any) -> Any:
        """The value unchanged, once it is known to encode as JSON. No Redis work."""
        self._encode(value)  # refuse at assignment what the write would refuse
        return value

    def _encode(self, value: Any) -> bytes:
        try:
            encoded = json.dumps(value, allow_nan=False, ensure_ascii=False, sort_keys=True)
        except TypeError as exc:
            # Also raised by sort_keys for dict keys of mixed types ({1: .., "a": ..}).
            raise self._type_error(f"a JSON-serialisable value ({exc})", value) from None
        except ValueError as exc:
            raise self._value_error(f"value is not valid JSON: {exc}") from None
        if "\x00" in encoded and self.index:
            raise self._value_error("an indexed value cannot contain NUL")
        try:
            return encoded.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise self._value_error(f"text cannot be encoded as UTF-8 ({exc.reason})") from None

    def db_value(self, value: Any) -> bytes:
        """``json.dumps`` with sorted keys, as UTF-8. No Redis work."""
        return self._encode(value)

    def python_value(self, raw: bytes) -> Any:
        """``json.loads`` of the stored text. No Redis work."""
        return json.loads(raw)


class PickledField(Field):
    """Any picklable Python object, stored as a pickle (highest protocol), as upstream does.

    Loading a row unpickles this field: anyone who can write to the Redis database can make
    the loading process run code. Use it only where Redis is trusted; prefer ``JSONField``.
    Cannot be indexed (pickles of equal objects may differ)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.index or self.primary_key:
            raise TypeError("PickledField cannot be indexed or a primary key")

    def coerce(self, value: Any) -> Any:
        """The value unchanged, once it is known to pickle. No Redis work."""
        self.db_value(value)  # refuse at assignment what the write would refuse
        return value

    def db_value(self, value: Any) -> bytes:
        """The pickle of the value (highest protocol). No Redis work."""
        try:
            return pickle.dumps(value, pickle.HIGHEST_PROTOCOL)
        except (pickle.PicklingError, TypeError, AttributeError) as exc:
            raise self._type_error(f"a picklable value ({exc})", value) from None

    def python_value(self, raw: bytes) -> Any:
        """The unpickled value (runs code a crafted pickle holds). No Redis work."""
        return pickle.loads(raw)  # noqa: S301 - documented: the database must be trusted


class _ContainerField(Field):
    """A field whose value is a Redis container on ``P container.<field>.<row key>``.

    Reading it on an instance returns the container (the row needs a primary key). It is
    not stored in the row hash, cannot be indexed, and is deleted with the row.
    """

    container_class: Callable[..., Any] = Hash

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.index or self.primary_key:
            raise TypeError(f"{type(self).__name__} cannot be indexed or a primary key")

    def __get__(self, instance: Any, owner: Any = None) -> Any:
        if instance is None:
            return self
        assert self.model is not None
        row_key = instance.get_hash_id()
        if row_key is None:
            raise ValueError(
                f"{self.model.__name__}.{self.name} needs the row's primary key: save it first"
            )
        return self.container_class(
            self.model.__database__, self.model._container_key(self.name, row_key)
        )

    def __set__(self, instance: Any, value: Any) -> None:
        raise AttributeError(
            f"container field {self.name!r} cannot be assigned; change its contents instead"
        )

    def coerce(self, value: Any) -> Any:
        raise self._type_error("no value (it is a container)", value)


class HashField(_ContainerField):
    """Store values in a Redis hash (``walrus.Hash``)."""

    container_class = Hash


class ListField(_ContainerField):
    """Store values in a Redis list (``walrus.List``)."""

    container_class = List


class SetField(_ContainerField):
    """Store values in a Redis set (``walrus.Set``)."""

    container_class = Set


class ZSetField(_ContainerField):
    """Store values in a Redis sorted set (``walrus.ZSet``)."""

    container_class = ZSet
