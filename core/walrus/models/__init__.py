"""The walrus model layer: ``Model``, its fields, query expressions and errors."""

from .collection import ModelQuery
from .errors import (
    FieldTypeError,
    FieldValueError,
    FilterError,
    ModelError,
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

__all__ = [
    "AutoIncrementField",
    "BooleanField",
    "ByteField",
    "DateField",
    "DateTimeField",
    "Desc",
    "Expression",
    "Field",
    "FieldTypeError",
    "FieldValueError",
    "FilterError",
    "FloatField",
    "HashField",
    "IndexProblem",
    "IntegerField",
    "JSONField",
    "ListField",
    "Model",
    "ModelError",
    "ModelQuery",
    "SetField",
    "TextField",
    "UUIDField",
    "UniqueError",
    "WriteConflictError",
    "ZSetField",
]
