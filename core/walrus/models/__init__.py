"""The walrus model layer: ``Model``, its fields, query expressions and errors."""

from .collection import ModelQuery
from .errors import (
    ClusterTagError,
    FieldTypeError,
    FieldValueError,
    FilterError,
    MissingReferenceError,
    ModelError,
    PipelineError,
    ProtectedError,
    UniqueError,
    WriteConflictError,
)
from .expressions import Desc, Expression
from .fields import (
    AutoIncrementField,
    BooleanField,
    ByteField,
    DateField,
    DateTimeField,
    Field,
    FloatField,
    HashField,
    IntegerField,
    JSONField,
    ListField,
    SetField,
    TextField,
    UUIDField,
    ZSetField,
)
from .indexes import IndexProblem
from .model import Model
from .relations import ForeignKeyField, ManyToManyField, RelatedSet
from .secondary import AbsoluteIndex, ContinuousIndex, FieldIndex, FullTextIndex, LexIndex

__all__ = [
    "AbsoluteIndex",
    "AutoIncrementField",
    "BooleanField",
    "ByteField",
    "ClusterTagError",
    "ContinuousIndex",
    "DateField",
    "DateTimeField",
    "Desc",
    "Expression",
    "Field",
    "FieldIndex",
    "FieldTypeError",
    "FieldValueError",
    "FilterError",
    "FloatField",
    "ForeignKeyField",
    "FullTextIndex",
    "HashField",
    "IndexProblem",
    "IntegerField",
    "JSONField",
    "LexIndex",
    "ListField",
    "ManyToManyField",
    "MissingReferenceError",
    "Model",
    "ModelError",
    "ModelQuery",
    "PipelineError",
    "ProtectedError",
    "RelatedSet",
    "SetField",
    "TextField",
    "UUIDField",
    "UniqueError",
    "WriteConflictError",
    "ZSetField",
]
