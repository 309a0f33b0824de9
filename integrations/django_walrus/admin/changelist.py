"""The list page's state: search, filters, ordering and one page of rows.

Nothing loads every row: the page is a slice of the lazy ``Model.query`` (one query script
plus one pipelined HGETALL batch for the page's rows), the total is ``count()`` (one round
trip) and the unfiltered total ``Model.count()`` (SCARD, one round trip).
"""

from __future__ import annotations

from functools import reduce
from typing import Any

from django.contrib.admin.utils import display_for_value, quote
from django.core.paginator import Paginator
from django.http import HttpRequest, QueryDict
from django.urls import reverse

from walrus.models import Expression, TextField

from . import introspect
from .forms import form_value, parse_value
from .options import FilterSpec, WalrusModelAdmin

__all__ = ["ChangeList", "SEARCH_VAR", "PAGE_VAR", "ORDER_VAR"]

SEARCH_VAR = "q"
"""Query-string parameter of the change list's search box."""
PAGE_VAR = "p"
"""Query-string parameter of the page number (from 1)."""
ORDER_VAR = "o"
"""Query-string parameter of the sort field (``-`` in front: descending)."""


class _NoMatchError(Exception):
    """The search or a filter cannot match any row (e.g. a word for an integer field)."""


class ChangeList:
    """Everything the list template shows, computed from the request."""

    def __init__(self, request: HttpRequest, model_admin: WalrusModelAdmin) -> None:
        self.request = request
        self.model_admin = model_admin
        self.model = model_admin.model
        self.params: QueryDict = request.GET
        self.query = self.params.get(SEARCH_VAR, "").strip()
        self.search_fields = model_admin.get_search_fields()
        self.errors: list[str] = []
        self.filters: list[dict[str, Any]] = []
        self.current_app = getattr(model_admin.admin_site, "name", "admin")
        expressions: list[Expression] = []
        no_match = False
        try:
            if self.query and self.search_fields:
                expressions.append(self._search_expression(self.query))
        except _NoMatchError:
            no_match = True
        except ValueError as exc:
            self.errors.append(f"Search: {exc}")
        for spec in model_admin.filter_specs:
            try:
                expressions.extend(self._filter(spec))
            except ValueError as exc:
                self.errors.append(f"Filter {spec.title}: {exc}")
        self.order = self._ordering()
        self.full_count = int(self.model.count())
        expression = reduce(lambda a, b: a & b, expressions) if expressions else None
        self.has_active_filters = expression is not None or no_match or bool(self.errors)
        if self.errors or no_match:
            self.result_count = 0
            rows: list[Any] = []
            self.paginator = Paginator(range(0), model_admin.list_per_page)
            self.page = self.paginator.get_page(1)
        else:
            query = self.model.query(expression, order_by=self.order)
            self.result_count = self.full_count if expression is None else int(query.count())
            self.paginator = Paginator(range(self.result_count), model_admin.list_per_page)
            self.page = self.paginator.get_page(self.params.get(PAGE_VAR))
            start = self.page.start_index() - 1 if self.result_count else 0
            rows = (
                list(query[start : start + model_admin.list_per_page]) if self.result_count else []
            )
        self.rows = rows
        self.columns = self._columns()
        self.results = [self._cells(row) for row in rows]

    # -- query string ---------------------------------------------------------------------

    def url_with(self, **changes: Any) -> str:
        """The current query string with ``changes`` (None removes a parameter); any
        change but the page goes back to page 1. No Redis work."""
        params = self.params.copy()
        if PAGE_VAR not in changes:
            params.pop(PAGE_VAR, None)
        for name, value in changes.items():
            if value is None:
                params.pop(name, None)
            else:
                params[name] = str(value)
        encoded = params.urlencode()
        return f"?{encoded}" if encoded else "?"

    def hidden_params(self, *exclude: str) -> list[tuple[str, str]]:
        """No Redis work."""
        return [(k, v) for k, v in self.params.items() if k not in exclude and k != PAGE_VAR]

    # -- search and filters ---------------------------------------------------------------

    def _search_expression(self, text: str) -> Expression:
        found: list[Expression] = []
        for entry in self.search_fields:
            prefix = entry.startswith("^")
            field = introspect.field(self.model, entry.lstrip("^"))
            if prefix:
                found.append(field.startswith(text))
            elif isinstance(field, TextField) and field.fts:
                expression = field.search(text)
                if expression is not None:  # None is for a blank query, never searched here
                    found.append(expression)
            else:
                try:
                    found.append(field == parse_value(field, text))
                except ValueError:
                    continue  # not a value of this field: it cannot match there
        if not found:
            raise _NoMatchError
        return reduce(lambda a, b: a | b, found)

    def _filter(self, spec: FilterSpec) -> list[Expression]:
        field = spec.field
        exact_param, gte_param, lte_param = (
            f"{spec.name}__exact",
            f"{spec.name}__gte",
            f"{spec.name}__lte",
        )
        info: dict[str, Any] = {"title": spec.title, "kind": spec.kind, "name": spec.name}
        self.filters.append(info)
        expressions: list[Expression] = []
        if spec.kind == "choices":
            current = self.params.get(exact_param)
            links = [
                {
                    "label": "All",
                    "url": self.url_with(**{exact_param: None}),
                    "selected": current is None,
                }
            ]
            by_text = {}
            for label, value in spec.choices:
                text = "1" if value is True else "0" if value is False else str(value)
                by_text[text] = value
                links.append(
                    {
                        "label": label,
                        "url": self.url_with(**{exact_param: text}),
                        "selected": current == text,
                    }
                )
            info["links"] = links
            if current is not None:
                if current not in by_text:
                    raise ValueError(f"{current!r} is not one of the choices")
                expressions.append(field == by_text[current])
        elif spec.kind == "exact":
            current = self.params.get(exact_param, "")
            info.update(param=exact_param, value=current)
            if current != "":
                expressions.append(field == parse_value(field, current))
        else:
            low, high = self.params.get(gte_param, ""), self.params.get(lte_param, "")
            info.update(low_param=gte_param, high_param=lte_param, low=low, high=high)
            if low != "":
                expressions.append(field >= parse_value(field, low))
            if high != "":
                expressions.append(field <= parse_value(field, high))
        return expressions

    @property
    def filter_params(self) -> list[str]:
        names = []
        for spec in self.model_admin.filter_specs:
            names += [f"{spec.name}__exact", f"{spec.name}__gte", f"{spec.name}__lte"]
        return names

    @property
    def clear_filters_url(self) -> str:
        return self.url_with(**dict.fromkeys(self.filter_params, None))

    # -- ordering and columns -------------------------------------------------------------

    def _ordering(self) -> str | None:
        stored = introspect.stored_fields(self.model)
        wanted = self.params.get(ORDER_VAR) or self.model_admin.ordering
        if wanted and wanted.lstrip("-") in stored:
            return wanted
        return None

    def _columns(self) -> list[dict[str, Any]]:
        columns = []
        stored = set(introspect.stored_fields(self.model))
        for item in self.model_admin.get_list_display():
            column: dict[str, Any] = {
                "label": self.model_admin.column_label(item),
                "sortable": False,
            }
            if isinstance(item, str) and item in stored:
                ascending = self.order == item
                descending = self.order == f"-{item}"
                column.update(
                    sortable=True,
                    sorted="ascending" if ascending else "descending" if descending else "",
                    url=self.url_with(**{ORDER_VAR: f"-{item}" if ascending else item}),
                )
            columns.append(column)
        return columns

    def detail_url(self, row: Any) -> str:
        """No Redis work."""
        url: str = reverse(
            "admin:walrus_detail",
            args=[self.model_admin.slug, quote(row.get_id())],
            current_app=self.current_app,
        )
        return url

    def _cells(self, row: Any) -> dict[str, Any]:
        cells = []
        for item in self.model_admin.get_list_display():
            value = form_value(self.model_admin.column_value(row, item))
            cells.append(
                display_for_value(
                    value, self.model_admin.empty_value_display, boolean=isinstance(value, bool)
                )
            )
        return {"url": self.detail_url(row), "cells": cells}

    @property
    def page_links(self) -> list[dict[str, Any]]:
        if self.paginator.num_pages <= 1:
            return []
        links = []
        for number in self.paginator.get_elided_page_range(self.page.number):
            if number == Paginator.ELLIPSIS:
                links.append({"label": number, "url": None, "current": False})
            else:
                links.append(
                    {
                        "label": number,
                        "url": self.url_with(**{PAGE_VAR: number}),
                        "current": number == self.page.number,
                    }
                )
        return links
