"""Shared API plumbing: keyset pagination, the actor of a request, uniform error bodies."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import exceptions
from rest_framework.pagination import BasePagination
from rest_framework.response import Response
from rest_framework.utils.urls import replace_query_param
from rest_framework.views import exception_handler as drf_exception_handler

from core import context
from core.pagination import BadCursor, paginate
from organizations.access import Actor, get_actor


def service_error(error: DjangoValidationError) -> exceptions.ValidationError:
    """A service's ValidationError as a 400 body keyed by the fields it names."""
    return exceptions.ValidationError(
        error.message_dict if hasattr(error, "error_dict") else {"detail": error.messages}
    )


class ActorMixin:
    """API views resolve who is asking through the same helper as HTML views."""

    @property
    def actor(self) -> Actor:
        return get_actor(self.request)


class KeysetPagination(BasePagination):
    """`{"next": url|null, "previous": url|null, "results": [...]}` by keyset, never OFFSET.

    The view names its order in `keyset_ordering` (the last field unique). `page_size` may be
    asked for up to 200.
    """

    page_size = 50
    max_page_size = 200

    def paginate_queryset(self, queryset, request, view=None) -> list[Any]:
        ordering = getattr(view, "keyset_ordering", ("-id",))
        raw_size = request.query_params.get("page_size", str(self.page_size))
        if not (raw_size.isascii() and raw_size.isdigit() and len(raw_size) <= 3) or not (
            1 <= int(raw_size) <= self.max_page_size
        ):
            raise exceptions.ValidationError({"page_size": [f"Must be a whole number from 1 to {self.max_page_size}."]})
        try:
            self.page = paginate(
                queryset, ordering=ordering, cursor=request.query_params.get("cursor"), size=int(raw_size)
            )
        except BadCursor as exc:
            raise exceptions.ValidationError({"cursor": [str(exc)]}) from exc
        self.request = request
        return self.page.items

    def _link(self, cursor: str | None) -> str | None:
        if cursor is None:
            return None
        return replace_query_param(self.request.build_absolute_uri(), "cursor", cursor)

    def get_paginated_response(self, data) -> Response:
        return Response(
            {
                "next": self._link(self.page.next_cursor),
                "previous": self._link(self.page.previous_cursor),
                "results": data,
            }
        )

    def get_paginated_response_schema(self, schema: dict) -> dict:
        link = {"type": "string", "format": "uri", "nullable": True}
        return {
            "type": "object",
            "required": ["next", "previous", "results"],
            "properties": {"next": link, "previous": link, "results": schema},
        }

    def get_schema_operation_parameters(self, view) -> list[dict]:
        return [
            {
                "name": "cursor",
                "in": "query",
                "required": False,
                "schema": {"type": "string"},
                "description": "Opaque position from a previous response's next/previous link.",
            },
            {
                "name": "page_size",
                "in": "query",
                "required": False,
                "schema": {"type": "integer", "minimum": 1, "maximum": self.max_page_size},
            },
        ]


def exception_handler(exc: Exception, ctx: dict[str, Any]) -> Response | None:
    """DRF's handler, plus the request id so a user's error report can be traced."""
    response = drf_exception_handler(exc, ctx)
    if response is not None and isinstance(response.data, dict):
        response.data.setdefault("request_id", context.request_id.get())
    return response
