"""Keyset pagination, shared by HTML lists and the API (DESIGN.md: fast at a million rows).

A page is "the next N rows after this row in this order": one indexed range scan whatever the
page number, never OFFSET. The cursor is the last (or first) row's ordering values, encoded; it
only ever narrows a queryset that is already scoped, so a forged cursor reveals nothing.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.db.models import F, QuerySet
from django.db.models.fields.tuple_lookups import Tuple, TupleGreaterThan, TupleLessThan

MAX_PAGE_SIZE = 200


class BadCursor(ValueError):
    pass


@dataclass(frozen=True)
class Page:
    items: list[Any]
    next_cursor: str | None
    previous_cursor: str | None
    size: int


def _encode(values: list[Any], direction: str) -> str:
    raw = json.dumps({"v": values, "d": direction}, default=str, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode(cursor: str, qs: QuerySet, fields: list[str]) -> tuple[list[Any], str]:
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        values, direction = data["v"], data["d"]
        if direction not in ("n", "p") or len(values) != len(fields):
            raise ValueError
        return [_to_python(qs, f, v) for f, v in zip(fields, values, strict=True)], direction
    except (ValueError, KeyError, TypeError, binascii.Error, ValidationError, json.JSONDecodeError) as exc:
        raise BadCursor("The page cursor is not valid; start from the first page.") from exc


def _to_python(qs: QuerySet, name: str, value: Any) -> Any:
    """A cursor value back to its Python type: through the model field, or as it is for an
    annotation (such as a lower-cased sort key), which JSON already carries faithfully."""
    try:
        field = qs.model._meta.get_field(name)
    except FieldDoesNotExist:
        if name not in qs.query.annotations or not isinstance(value, (str, int, float)):
            raise ValueError(name) from None
        return value
    return field.to_python(value)


def paginate(qs: QuerySet, *, ordering: tuple[str, ...], cursor: str | None = None, size: int = 50) -> Page:
    """One page of `qs` in `ordering` (all ascending or all descending; the last field unique)."""
    size = max(1, min(size, MAX_PAGE_SIZE))
    descending = ordering[0].startswith("-")
    if any(o.startswith("-") != descending for o in ordering):
        raise ValueError("Keyset ordering must be all ascending or all descending.")
    fields = [o.lstrip("-") for o in ordering]
    direction = "n"
    if cursor:
        values, direction = _decode(cursor, qs, fields)
        forward_lookup = TupleLessThan if descending else TupleGreaterThan
        backward_lookup = TupleGreaterThan if descending else TupleLessThan
        lookup = forward_lookup if direction == "n" else backward_lookup
        qs = qs.filter(lookup(Tuple(*(F(f) for f in fields)), tuple(values)))
    if direction == "p":
        reverse = tuple(f if o.startswith("-") else f"-{f}" for o, f in zip(ordering, fields, strict=True))
        rows = list(qs.order_by(*reverse)[: size + 1])
        more_before = len(rows) > size
        rows = rows[:size][::-1]
        has_next, has_previous = True, more_before
    else:
        rows = list(qs.order_by(*ordering)[: size + 1])
        has_next = len(rows) > size
        rows = rows[:size]
        has_previous = cursor is not None

    def key(row: Any) -> list[Any]:
        return [row[f] if isinstance(row, dict) else getattr(row, f) for f in fields]

    return Page(
        items=rows,
        next_cursor=_encode(key(rows[-1]), "n") if rows and has_next else None,
        previous_cursor=_encode(key(rows[0]), "p") if rows and has_previous else None,
        size=size,
    )
