"""Django forms generated from walrus Model fields (add/edit pages, search and filter parsing).

Each stored field maps to a form field of its type; ``None`` (an absent hash field) is an
empty input. Values are checked by the form field first, then by the walrus field itself
(``Field.validate``), whose ``FieldTypeError``/``FieldValueError`` become errors on that
field; a ``UniqueError`` raised by the save becomes an error on the unique field.
"""

from __future__ import annotations

import datetime
from typing import Any

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone

from walrus.models import (
    BooleanField,
    ByteField,
    DateField,
    DateTimeField,
    Field,
    FloatField,
    IntegerField,
    JSONField,
    Model,
    TextField,
    UniqueError,
    UUIDField,
    WriteConflictError,
)

from . import introspect

__all__ = ["WalrusModelForm", "form_value", "formfield_for", "make_form_class", "parse_value"]


class BytesFormField(forms.CharField):  # type: ignore[misc]  # Django ships no types: Any base
    """Bytes edited as UTF-8 text."""

    def to_python(self, value: Any) -> bytes | None:
        text = super().to_python(value)
        return None if text in (None, "") else str(text).encode("utf-8")

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, bytes):
            return value.decode("utf-8", "backslashreplace")
        return value


def formfield_for(model_field: Field, *, label: str | None = None) -> forms.Field:
    """A form field of the type of ``model_field`` (never required: empty means None,
    except for a primary key, which the add form requires unless it is generated). No Redis work."""
    options: dict[str, Any] = {"required": False, "label": label}
    if isinstance(model_field, BooleanField):
        return forms.NullBooleanField(**options)
    if isinstance(model_field, DateTimeField):
        return forms.DateTimeField(**options)
    if isinstance(model_field, DateField):
        return forms.DateField(**options)
    if isinstance(model_field, IntegerField):
        return forms.IntegerField(**options)
    if isinstance(model_field, FloatField):
        return forms.FloatField(**options)
    if isinstance(model_field, UUIDField):
        return forms.UUIDField(**options)
    if isinstance(model_field, JSONField):
        return forms.JSONField(**options)
    if isinstance(model_field, ByteField):
        return BytesFormField(strip=False, **options)
    if isinstance(model_field, TextField) and getattr(model_field, "fts", False):
        return forms.CharField(
            widget=forms.Textarea(attrs={"rows": 6, "cols": 80}), empty_value=None, **options
        )
    return forms.CharField(empty_value=None, **options)


def form_value(value: Any) -> Any:
    """A stored Python value as a form/display value (naive UTC datetimes made aware). No Redis
    work."""
    if isinstance(value, datetime.datetime) and settings.USE_TZ and timezone.is_naive(value):
        return value.replace(tzinfo=datetime.timezone.utc)
    return value


def parse_value(model_field: Field, text: str) -> Any:
    """``text`` (a search term or filter value) as a value of ``model_field``: ValueError
    when it is not one. No Redis work."""
    formfield = formfield_for(model_field)
    try:
        value = formfield.clean(text)
        if value is None or value == "":
            raise ValueError(f"empty value for {model_field.name!r}")
        return model_field.validate(value)
    except ValidationError as exc:
        raise ValueError("; ".join(exc.messages)) from None
    except TypeError as exc:
        raise ValueError(str(exc)) from None


class WalrusModelForm(forms.Form):  # type: ignore[misc]  # Django ships no types: Any base
    """Base of the generated forms: validates with the walrus fields, saves one row."""

    walrus_model: type[Model]
    editable: tuple[str, ...] = ()

    def __init__(self, *args: Any, instance: Model | None = None, **kwargs: Any) -> None:
        self.instance = instance
        if "initial" not in kwargs:
            if instance is not None:
                kwargs["initial"] = {
                    name: form_value(getattr(instance, name)) for name in self.editable
                }
            else:  # the add form starts from the fields' defaults
                model = self.walrus_model
                kwargs["initial"] = {
                    name: form_value(introspect.field(model, name).default())
                    for name in self.editable
                }
        super().__init__(*args, **kwargs)

    def clean(self) -> dict[str, Any]:
        """Validate each editable value with its walrus field (errors added to the form). No Redis
        work."""
        cleaned = super().clean() or {}
        model = self.walrus_model
        for name in self.editable:
            if name not in cleaned or name in self.errors:
                continue
            try:
                cleaned[name] = introspect.field(model, name).validate(cleaned[name])
            except (TypeError, ValueError) as exc:
                self.add_error(name, str(exc))
        return cleaned

    def save(self) -> Model | None:
        """Write the row (one atomic walrus save). Returns it, or None after adding the
        refusal (a unique value taken, a lasting write conflict) to the form's errors;
        nothing is written then. 1 round trip (the model's atomic save)."""
        if not self.is_valid():
            raise ValueError("save() called on an invalid form")
        model = self.walrus_model
        values = {name: self.cleaned_data.get(name) for name in self.editable}
        try:
            if self.instance is None:
                pk = introspect.pk_name(model)
                if values.get(pk) is None:
                    values.pop(pk, None)
                    generated = introspect.field(model, pk).generate_key()
                    if generated is not None:
                        values[pk] = generated
                instance = model(**values)
            else:
                instance = self.instance
                for name, value in values.items():
                    setattr(instance, name, value)
            instance.save()
        except UniqueError as exc:
            self.add_error(exc.field if exc.field in self.fields else None, str(exc))
            return None
        except WriteConflictError as exc:
            self.add_error(None, str(exc))
            return None
        except (TypeError, ValueError) as exc:
            self.add_error(None, str(exc))
            return None
        self.instance = instance
        return instance


def make_form_class(
    model: type[Model], editable: list[str], *, adding: bool
) -> type[WalrusModelForm]:
    """A form class with one field per name in ``editable``. On the add form a primary key
    that cannot be generated is required. No Redis work."""
    attrs: dict[str, Any] = {"walrus_model": model, "editable": tuple(editable)}
    pk = introspect.pk_name(model)
    for name in editable:
        model_field = introspect.field(model, name)
        formfield = formfield_for(model_field, label=introspect.label(model, name))
        if adding and name == pk and model_field.generate_key() is None:
            formfield.required = True
        elif adding and name == pk:
            formfield.help_text = "Leave empty to generate one."
        attrs[name] = formfield
    return type(f"{model.__name__}WalrusForm", (WalrusModelForm,), attrs)
