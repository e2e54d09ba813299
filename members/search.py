"""Find a member by name, date of birth or member id, forgiving typos in names.

A query is split into tokens: a date (1961-04-09, 04/09/1961, 4/9/1961) filters by date of birth;
a token with a digit in it is a member id (exact, case-insensitive); the rest is a name matched
with pg_trgm word similarity against Member.search_name through a GIN index, best match first.
On a server without pg_trgm (the embedded demo fallback) names match on their first four letters.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from functools import cache

from django.contrib.postgres.search import TrigramWordSimilarity
from django.db import connection
from django.db.models import Q, QuerySet

MAX_RESULTS = 50
_DATE_FORMATS = ("%Y-%m-%d", "%m/%d/%Y", "%m-%d-%Y")


@dataclass(frozen=True)
class Terms:
    name: str = ""
    date_of_birth: dt.date | None = None
    member_number: str = ""

    def __bool__(self) -> bool:
        return bool(self.name or self.date_of_birth or self.member_number)


def parse(query: str) -> Terms:
    query = query.replace("\x00", "")  # PostgreSQL text cannot hold NUL
    name_tokens: list[str] = []
    dob: dt.date | None = None
    number = ""
    for token in query.split():
        parsed = _as_date(token)
        if parsed is not None:
            dob = parsed
        elif any(ch.isdigit() for ch in token):
            number = token.upper()[:32]
        else:
            name_tokens.append(token)
    name = re.sub(r"[^\w' -]", "", " ".join(name_tokens)).strip().lower()
    return Terms(name=name, date_of_birth=dob, member_number=number)


def _as_date(token: str) -> dt.date | None:
    for fmt in _DATE_FORMATS:
        try:
            return dt.datetime.strptime(token, fmt).date()
        except ValueError:
            continue
    return None


@cache
def has_trigram() -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'")
        return cursor.fetchone() is not None


def search(qs: QuerySet, terms: Terms) -> QuerySet:
    """Narrow an already scoped member queryset; best name matches first, at most MAX_RESULTS."""
    if terms.member_number:
        qs = qs.filter(member_number=terms.member_number)
    if terms.date_of_birth:
        qs = qs.filter(date_of_birth=terms.date_of_birth)
    if not terms.name:
        return qs.order_by("last_name", "first_name", "id")[:MAX_RESULTS]
    if has_trigram():
        return (
            qs.filter(search_name__trigram_word_similar=terms.name)
            .annotate(match=TrigramWordSimilarity(terms.name, "search_name"))
            .order_by("-match", "last_name", "first_name", "id")[:MAX_RESULTS]
        )
    for token in terms.name.split():
        stem = token[:4]  # no trigrams here: a shared beginning is the best typo tolerance left
        qs = qs.filter(Q(first_name__istartswith=stem) | Q(last_name__istartswith=stem))
    return qs.order_by("last_name", "first_name", "id")[:MAX_RESULTS]
