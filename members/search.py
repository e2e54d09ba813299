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

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.search import TrigramSimilarity, TrigramWordSimilarity
from django.db import connection
from django.db.models import CharField, Func, Q, QuerySet, Value
from django.db.models.functions import Lower

from members.models import NamePart

MAX_RESULTS = 50
MAX_NAMES = 200  # dictionary names considered per typed word
EXACT_WORD_SIMILARITY = 0.5  # when the typed word is a known name, how close its variants must be
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


NAME_ORDER = (Lower("last_name"), Lower("first_name"), "id")  # as the list pages (member_*name indexes)


def search(qs: QuerySet, terms: Terms) -> list:
    """Narrow an already scoped member queryset to at most MAX_RESULTS, best matches first.

    Names are found in steps, each only when the ones before found too little, so the common
    searches touch few rows even at a million members. Every step goes through a btree index on
    (lower(last_name), lower(first_name)); the only trigram index is on the small name dictionary.
    1. one word: exact last-name matches, in name order;
    2. each word is looked up in the name dictionary (NamePart: trigram similarity, so typos are
       forgiven) and members are fetched by exact names: (first, last) pairs of the candidates
       for two of the words, or, for one word, last names;
    3. members with any candidate name as first or last name (a first name alone, a name of
       several words), best whole-name match first.
    """
    if terms.member_number:
        qs = qs.filter(member_number=terms.member_number)
    if terms.date_of_birth:
        qs = qs.filter(date_of_birth=terms.date_of_birth)
    if not terms.name:
        return list(qs.order_by(*NAME_ORDER)[:MAX_RESULTS])
    if not has_trigram():
        for token in terms.name.split():
            stem = token[:4]  # no trigrams here: a shared beginning is the best typo tolerance left
            qs = qs.filter(Q(first_name__istartswith=stem) | Q(last_name__istartswith=stem))
        return list(qs.order_by(*NAME_ORDER)[:MAX_RESULTS])

    words = terms.name.split()[:4]
    similar = _dictionary(words)
    found: list = []
    if len(words) == 1:
        found = list(qs.alias(last=Lower("last_name")).filter(last=words[0]).order_by(*NAME_ORDER)[:MAX_RESULTS])
    if len(found) < MAX_RESULTS:
        found += list(
            dictionary_matches(qs, terms.name, words, similar).exclude(pk__in=[_pk(m) for m in found])[
                : MAX_RESULTS - len(found)
            ]
        )
    if not found:
        names = sorted({name for candidates in similar.values() for name in candidates})
        found = list(
            qs.alias(first=Lower("first_name"), last=Lower("last_name"))
            .filter(Q(first__in=names) | Q(last__in=names))
            .annotate(match=TrigramWordSimilarity(terms.name, "search_name"))
            .order_by("-match", *NAME_ORDER)[:MAX_RESULTS]
        )
    return found


def _dictionary(words: list[str]) -> dict[str, list[str]]:
    """For each word, the dictionary names close to it, closest first: one small query for all
    the words (the `%` operator finds candidates through the trigram index; a similarity per word
    tells which word each candidate belongs to)."""
    unique = list(dict.fromkeys(words))
    condition = Q()
    for word in unique:
        condition |= Q(value__trigram_similar=word)
    closeness = {f"c{i}": TrigramSimilarity("value", word) for i, word in enumerate(unique)}
    rows = NamePart.objects.filter(condition).annotate(**closeness).values("value", *closeness)
    similar: dict[str, list[str]] = {}
    for i, word in enumerate(unique):
        # A word that is itself a known name was most likely typed right: only its near variants
        # (maria → marie, mario) are worth looking at, not everything sharing a syllable.
        exact = any(row["value"] == word for row in rows)
        threshold = EXACT_WORD_SIMILARITY if exact else settings.SEARCH_NAME_SIMILARITY
        close = sorted((-row[f"c{i}"], row["value"]) for row in rows if row[f"c{i}"] >= threshold)
        similar[word] = [value for _, value in close[:MAX_NAMES]]
    return similar


def dictionary_matches(qs: QuerySet, name: str, words: list[str], similar: dict[str, list[str]]) -> QuerySet:
    """Members whose first and last names are dictionary candidates of two of the words, in
    either order; for one word, whose last name is. Best match first. The candidates arrive as
    literal lists, which the (lower(last_name), lower(first_name)) index serves."""
    qs = qs.alias(first=Lower("first_name"), last=Lower("last_name"))
    if len(words) == 1:
        # One word is a last name (a first name alone finds too many people to be a useful
        # search; step 3 still catches it). Every member with the same name is as close as any
        # other: rank by the name's own closeness, then in name order, without scoring members.
        names = similar[words[0]]
        rank = Func(Value(names, output_field=ArrayField(CharField())), Lower("last_name"), function="array_position")
        return qs.filter(last__in=names).order_by(rank, *NAME_ORDER)
    condition = Q(pk__in=[])
    for i, first in enumerate(words):
        for j, last in enumerate(words):
            if i != j and similar[first] and similar[last]:
                condition |= Q(first__in=similar[first], last__in=similar[last])
    return (
        qs.filter(condition).annotate(match=TrigramWordSimilarity(name, "search_name")).order_by("-match", *NAME_ORDER)
    )


def _pk(row) -> int:
    return row["id"] if isinstance(row, dict) else row.pk
