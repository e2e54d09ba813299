"""The referral queue page and API list served from one hand-written SQL query each (issue 3:
"beside the same page fetched by one hand-written SQL query").

Each view answers the same request as its product twin, behind the same sign-in, session,
middleware, permission checks, time zone and template or JSON shape. Only the rows (and, for the
page, the per-status counts) come from one SELECT written by hand for that case, registered by
the benchmark under a key, instead of the ORM and the filter and pagination code; everything
else is shared, including the page's filter form (its practice choices are an ORM query on both).
The raw API takes its filters and page size from the case, not from the query string. The
benchmark checks that each raw page shows the very rows (and counts) of its product twin before
it times either.

Bench-only: reached through bench.urls (the product's URLconf with these two routes in front),
which the benchmark makes ROOT_URLCONF in its own process. The product never routes here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.core.exceptions import PermissionDenied
from django.db import connection
from django.http import Http404, HttpRequest, HttpResponse
from rest_framework.response import Response
from rest_framework.utils.urls import replace_query_param
from rest_framework.views import APIView

from core.api import ActorMixin
from core.http import render_page, staff_view
from core.pagination import Page, _encode
from referrals import selectors
from referrals.api.serializers import list_row
from referrals.filters import QueueFilter
from referrals.models import OPEN, Referral
from referrals.views import queue_context

if TYPE_CHECKING:
    from bench.referral_queue import RawPage


REGISTERED: dict[str, RawPage] = {}  # filled by bench.referral_queue, one per case


def _fetch(key: str) -> tuple[RawPage, list[dict], dict[str, int]]:
    raw = REGISTERED.get(key)
    if raw is None:
        raise Http404("No raw page under this key.")
    with connection.cursor() as cursor:
        cursor.execute(raw.sql, raw.as_params())
        names = [column.name for column in cursor.description]
        rows = [dict(zip(names, values, strict=True)) for values in cursor.fetchall()]
    counts = dict.fromkeys(OPEN, 0)
    items = []
    for row in rows:
        if row.get("count_status") is not None:
            counts[row["count_status"]] = row["count_n"]
        else:
            items.append(row)
    return raw, items, counts


def _page(raw: RawPage, items: list[dict]) -> Page:
    def position(row: dict, direction: str) -> str:
        return _encode([row["queue_rank"], row["submitted_at"], row["id"]], direction)

    more = len(items) > raw.size
    items = items[: raw.size]
    return Page(
        items=items,
        next_cursor=position(items[-1], "n") if more and items else None,
        previous_cursor=position(items[0], "p") if raw.after_cursor and items else None,
        size=raw.size,
    )


@staff_view
def queue(request: HttpRequest, key: str) -> HttpResponse:
    actor = request.actor
    if not actor.is_plan_staff:  # as the product page
        raise PermissionDenied("The referral queue is the plan's.")
    selectors.referrals(actor)  # the same permission check; builds no query
    raw, items, counts = _fetch(key)
    page = _page(raw, items)
    filterset = QueueFilter(request.GET, queryset=Referral.objects.none(), request=request)
    filterset.is_valid()  # the form shows what was asked, as on the product page
    context = queue_context(actor, filterset, page, counts)
    return render_page(request, "referrals/queue.html", context, partial="queue-rows")


class ReferralList(ActorMixin, APIView):
    def get(self, request, key: str) -> Response:
        selectors.referrals(self.actor)
        raw, items, _ = _fetch(key)
        page = _page(raw, items)

        def link(cursor: str | None) -> str | None:
            return replace_query_param(request.build_absolute_uri(), "cursor", cursor) if cursor else None

        return Response(
            {
                "next": link(page.next_cursor),
                "previous": link(page.previous_cursor),
                "results": [list_row(row) for row in page.items],
            }
        )
