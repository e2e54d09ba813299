"""The FHIR R4 facade's plumbing, shared by the apps that expose resources under /fhir/.

A FHIR view is a DRF view (the same sign-in, API tokens and actor as /api/v1/) that answers
`application/fhir+json`: a resource, a searchset Bundle paged by keyset (`_count`, and the
`next` link's cursor), or an OperationOutcome for every error (404 for anything outside the
caller's scope, as everywhere else). Each app maps its own rows to resources (e.g. sdoh/fhir.py).
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404
from rest_framework import exceptions
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.urls import replace_query_param
from rest_framework.views import APIView

from core import context
from core.api import ActorMixin
from core.pagination import BadCursor, Page, paginate

log = logging.getLogger(__name__)

FHIR_JSON = "application/fhir+json"
MAX_COUNT = 200
DEFAULT_COUNT = 50


class FhirRenderer(JSONRenderer):
    media_type = FHIR_JSON
    format = "fhir"


def operation_outcome(code: str, diagnostics: str, *, expression: list[str] | None = None) -> dict[str, Any]:
    issue: dict[str, Any] = {"severity": "error", "code": code, "diagnostics": diagnostics}
    if expression:
        issue["expression"] = expression
    return {"resourceType": "OperationOutcome", "issue": [issue]}


# What an error is called in FHIR (the IssueType value set), by HTTP status.
_ISSUE = {400: "invalid", 401: "login", 403: "forbidden", 404: "not-found", 405: "not-supported", 429: "throttled"}


class FhirView(ActorMixin, APIView):
    renderer_classes = [FhirRenderer, JSONRenderer]
    schema = None  # described by /fhir/metadata (a CapabilityStatement), not by the /api/v1/ OpenAPI schema

    def handle_exception(self, exc: Exception) -> Response:
        if isinstance(exc, Http404):
            exc = exceptions.NotFound("No such resource, or not one you may see.")
        elif isinstance(exc, DjangoPermissionDenied):
            exc = exceptions.PermissionDenied(str(exc) or None)
        if not isinstance(exc, exceptions.APIException):
            log.exception("FHIR %s failed", self.request.path)
            text = "The server could not answer this request."
            if request_id := context.request_id.get():
                text = f"{text} (request {request_id})"
            return Response(operation_outcome("exception", text), status=500)
        detail = exc.detail  # read before DRF's handler adds the request id to it
        expression = list(detail) if isinstance(detail, dict) else None
        text = (
            "; ".join(f"{k}: {' '.join(map(str, v if isinstance(v, list) else [v]))}" for k, v in detail.items())
            if isinstance(detail, dict)
            else str(detail)
        )
        response = super().handle_exception(exc)
        status = response.status_code
        if request_id := context.request_id.get():
            text = f"{text} (request {request_id})"  # so a user's error report can be traced
        response.data = operation_outcome(_ISSUE.get(status, "processing"), text, expression=expression)
        return response


def count_arg(request: Request) -> int:
    raw = request.query_params.get("_count", str(DEFAULT_COUNT))
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 3) or not 1 <= int(raw) <= MAX_COUNT:
        raise exceptions.ValidationError({"_count": [f"Must be a whole number from 1 to {MAX_COUNT}."]})
    return int(raw)


def search_page(request: Request, qs, *, ordering: tuple[str, ...]) -> Page:
    """One page of a search, by keyset: `_count` rows after the `_cursor` of a `next` link."""
    try:
        return paginate(qs, ordering=ordering, cursor=request.query_params.get("_cursor"), size=count_arg(request))
    except BadCursor as exc:
        raise exceptions.ValidationError({"_cursor": [str(exc)]}) from exc


def searchset(request: Request, page: Page, resources: list[dict[str, Any]], *, full_url) -> dict[str, Any]:
    """A searchset Bundle of `resources` (each with its `fullUrl` from `full_url(resource)`), with
    `self` and, where there is more, `next` links. No `total`: counting every match would cost
    what keyset paging saves."""
    here = request.build_absolute_uri()
    links = [{"relation": "self", "url": here}]
    if page.next_cursor:
        links.append({"relation": "next", "url": replace_query_param(here, "_cursor", page.next_cursor)})
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "link": links,
        "entry": [
            {"fullUrl": full_url(resource), "resource": resource, "search": {"mode": "match"}} for resource in resources
        ],
    }


def capability_statement(resources: list[dict[str, Any]], *, url: str) -> dict[str, Any]:
    """What this server answers (FHIR's /metadata): R4, JSON, the resources the apps register."""
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": "2026-12-03",
        "kind": "instance",
        "software": {"name": "CareCoord"},
        "implementation": {"description": "CareCoord's FHIR facade", "url": url},
        "fhirVersion": "4.0.1",
        "format": [FHIR_JSON, "json"],
        "rest": [
            {
                "mode": "server",
                "security": {"description": "Signed-in staff (session) or an API token: Authorization: Token <key>."},
                "resource": resources,
            }
        ],
    }


class NotFound(FhirView):
    """Any other path under /fhir/: an OperationOutcome 404, never the site's HTML page."""

    authentication_classes: list = []
    permission_classes: list = []

    def get(self, request: Request, rest: str = "") -> Response:
        raise exceptions.NotFound(f"This server has no {request.path}.")

    post = put = patch = delete = get
