"""Eligibility and attribution roster import.

The rule for partial files (DESIGN.md "bad input"): **all or nothing.** A file with any bad row
applies nothing and reports every bad row with its number and reason; fix the rows and upload the
whole file again. Eligibility decides who a practice may see, so a half-applied roster would show
the wrong patients to the wrong people.

One pass over the file, inside one transaction:
1. Each row is checked in Python (types, required fields, known partner practice, duplicate
   member ids) and streamed with COPY into a temporary staging table.
2. Checks that need the database run as set-based SQL on the staging table (an eligibility span
   that overlaps another, an attribution that would rewrite history).
3. If any row failed, the transaction rolls back and the import is REJECTED with the error list.
   Otherwise set-based statements upsert members, eligibility spans and attributions, change only
   what differs (so re-importing the same file changes nothing), and write one audit event per
   changed member. Never one save() per row.

Rows are snapshots: a member absent from a file is left as is. To end coverage, send the row with
eligibility_end (and attribution_end) set.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import IO, Any

from django.db import DataError, connection, transaction

from core import context
from core.ids import uuid7
from members.risk import RiskInputs, stratify
from members.signals import attributions_changed

MAX_STORED_ERRORS = 1000
PROGRESS_EVERY = 5000

REQUIRED = ("member_id", "last_name", "first_name", "date_of_birth", "sex", "eligibility_start")
OPTIONAL = (
    "middle_name",
    "preferred_language",
    "phone",
    "email",
    "address_line1",
    "address_line2",
    "city",
    "state",
    "postal_code",
    "guardian_name",
    "guardian_relationship",
    "guardian_phone",
    "eligibility_end",
    "product",
    "practice_npi",
    "attribution_start",
    "attribution_end",
    "risk_score",
    "ed_visits_12m",
    "inpatient_admits_12m",
    "chronic_conditions",
)
COLUMNS = REQUIRED + OPTIONAL

_MEMBER_ID = re.compile(r"^[A-Z0-9][A-Z0-9-]{0,31}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_SEX = {"F": "F", "FEMALE": "F", "M": "M", "MALE": "M", "X": "X", "OTHER": "X", "U": "U", "UNKNOWN": "U"}
_MAX_LEN = {
    "last_name": 100,
    "first_name": 100,
    "middle_name": 100,
    "preferred_language": 32,
    "address_line1": 200,
    "address_line2": 200,
    "city": 100,
    "guardian_name": 200,
    "guardian_relationship": 50,
    "product": 64,
}

# Staging columns, in COPY order.
STAGING = (
    ("row_no", "integer"),
    ("public_id", "uuid"),  # used only if the member is new; time-ordered (core.ids)
    ("member_number", "text"),
    ("first_name", "text"),
    ("middle_name", "text"),
    ("last_name", "text"),
    ("date_of_birth", "date"),
    ("sex", "text"),
    ("preferred_language", "text"),
    ("phone", "text"),
    ("email", "text"),
    ("address_line1", "text"),
    ("address_line2", "text"),
    ("city", "text"),
    ("state", "text"),
    ("postal_code", "text"),
    ("guardian_name", "text"),
    ("guardian_relationship", "text"),
    ("guardian_phone", "text"),
    ("elig_start", "date"),
    ("elig_end", "date"),
    ("product", "text"),
    ("practice_id", "bigint"),
    ("attr_start", "date"),
    ("attr_start_given", "boolean"),
    ("attr_end", "date"),
    ("risk_tier", "text"),
    ("risk_score", "smallint"),
    ("risk_inputs", "jsonb"),
)


@dataclass(frozen=True)
class RowError:
    row: int
    field: str
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {"row": self.row, "field": self.field, "message": self.message}


@dataclass
class Result:
    total_rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[RowError] = field(default_factory=list)
    error_count: int = 0


class Rejected(Exception):
    """Bad rows (or a bad file): nothing was applied."""

    def __init__(self, result: Result):
        super().__init__(f"{result.error_count} bad row(s)")
        self.result = result


_COL = {name: i for i, name in enumerate(COLUMNS)}
_NON_DIGITS = re.compile(r"\D")


def parse_date(raw: str) -> dt.date | None:
    """YYYY-MM-DD or MM/DD/YYYY (a fast path: this runs several times per row)."""
    try:
        if len(raw) == 10 and raw[4] == "-":
            return dt.date.fromisoformat(raw)
        month, day, year = raw.split("/")
        if len(year) == 4 and month.isdigit() and day.isdigit() and year.isdigit():
            return dt.date(int(year), int(month), int(day))
    except ValueError:
        pass
    return None


class _Row:
    """One CSV row, its values in COLUMNS order (already stripped). Cleaning collects every
    problem by column name instead of stopping at the first."""

    __slots__ = ("errors", "row_no", "values")

    def __init__(self, row_no: int, values: list[str]):
        self.row_no = row_no
        self.values = values
        self.errors: list[RowError] = []

    def raw(self, column: str) -> str:
        return self.values[_COL[column]]

    def error(self, column: str, message: str) -> None:
        self.errors.append(RowError(self.row_no, column, message))

    def text(self, column: str, *, required: bool = False) -> str:
        value = self.values[_COL[column]]
        if required and not value:
            self.error(column, "is required")
        elif len(value) > _MAX_LEN.get(column, 200):
            self.error(column, f"is longer than {_MAX_LEN.get(column, 200)} characters")
        return value

    def date(self, column: str, *, required: bool = False) -> dt.date | None:
        raw = self.values[_COL[column]]
        if not raw:
            if required:
                self.error(column, "is required")
            return None
        parsed = parse_date(raw)
        if parsed is None:
            self.error(column, f"{raw!r} is not a date (use YYYY-MM-DD or MM/DD/YYYY)")
        return parsed

    def count(self, column: str) -> int | None:
        raw = self.values[_COL[column]]
        if not raw:
            return None
        if not (raw.isascii() and raw.isdigit()) or int(raw) > 999:
            self.error(column, f"{raw!r} is not a whole number from 0 to 999")
            return None
        return int(raw)

    def phone(self, column: str) -> str:
        raw = self.values[_COL[column]]
        if not raw:
            return ""
        digits = _NON_DIGITS.sub("", raw)
        if len(digits) == 11 and digits[0] == "1":
            digits = digits[1:]
        if len(digits) != 10:
            self.error(column, f"{raw!r} is not a 10-digit phone number")
            return ""
        return f"{digits[:3]}-{digits[3:6]}-{digits[6:]}"


def _clean(row: _Row, practices_by_npi: dict[str, int], today: dt.date) -> tuple | None:
    """The staging tuple for a good row, or None with every problem of the row recorded. Every
    field is read before deciding: a bad value is never silently blanked."""
    member_number = row.text("member_id", required=True).upper()
    if member_number and not _MEMBER_ID.match(member_number):
        row.error("member_id", "must be 1–32 letters, digits or dashes")
    first_name = row.text("first_name", required=True)
    middle_name = row.text("middle_name")
    last_name = row.text("last_name", required=True)
    dob = row.date("date_of_birth", required=True)
    if dob is not None and not dt.date(1900, 1, 1) <= dob <= today:
        row.error("date_of_birth", "must be between 1900-01-01 and today")
    sex_raw = row.raw("sex").upper()
    sex = _SEX.get(sex_raw)
    if sex is None:
        row.error("sex", f"{sex_raw!r} is not one of F, M, X, U" if sex_raw else "is required")
    language = row.text("preferred_language") or "English"
    phone = row.phone("phone")
    email = row.text("email")
    if email and not _EMAIL.match(email):
        row.error("email", f"{email!r} is not an email address")
    address = (row.text("address_line1"), row.text("address_line2"), row.text("city"))
    state = row.text("state").upper()
    if state and not re.fullmatch(r"[A-Z]{2}", state):
        row.error("state", f"{state!r} is not a two-letter state code")
    postal_code = row.text("postal_code")
    if postal_code and not re.fullmatch(r"\d{5}(-\d{4})?", postal_code):
        row.error("postal_code", f"{postal_code!r} is not a ZIP code")
    guardian = (row.text("guardian_name"), row.text("guardian_relationship"), row.phone("guardian_phone"))

    elig_start = row.date("eligibility_start", required=True)
    elig_end = row.date("eligibility_end")
    if elig_start and elig_end and elig_end < elig_start:
        row.error("eligibility_end", "is before eligibility_start")
    product = row.text("product")

    npi = row.text("practice_npi")
    practice_id = None
    attr_start = row.date("attribution_start")
    attr_end = row.date("attribution_end")
    if npi:
        practice_id = practices_by_npi.get(npi)
        if practice_id is None:
            row.error("practice_npi", f"{npi} is not a practice partnered with this plan")
        if attr_start and attr_end and attr_end < attr_start:
            row.error("attribution_end", "is before attribution_start")
    elif attr_start or attr_end:
        row.error("practice_npi", "is required when attribution dates are given")

    model_score = None
    raw_score = row.raw("risk_score")
    if raw_score:
        try:
            model_score = Decimal(raw_score)
            if not Decimal(0) <= model_score <= Decimal(1):
                raise InvalidOperation
        except InvalidOperation:
            row.error("risk_score", f"{raw_score!r} is not a number from 0 to 1")
            model_score = None
    risk = RiskInputs(
        model_score=model_score,
        ed_visits_12m=row.count("ed_visits_12m"),
        inpatient_admits_12m=row.count("inpatient_admits_12m"),
        chronic_conditions=row.count("chronic_conditions"),
    )
    if row.errors:
        return None
    tier, points, parts = stratify(risk)
    return (
        row.row_no,
        uuid7(),
        member_number,
        first_name,
        middle_name,
        last_name,
        dob,
        sex,
        language,
        phone,
        email,
        *address,
        state,
        postal_code,
        *guardian,
        elig_start,
        elig_end,
        product,
        practice_id,
        # A blank attribution_start is filled in by the database checks (see _database_checks).
        attr_start if npi else None,
        attr_start is not None,
        attr_end,
        tier if parts else None,
        points,
        json.dumps(parts) if parts else None,
    )


def _rows(text: IO[str], result: Result) -> Iterator[_Row]:
    reader = csv.reader(text)
    try:
        header = [h.strip().lower() for h in next(reader)]
    except StopIteration:
        _file_error(result, "file", "The file is empty.")
        return
    problems = header_problems(header, columns=COLUMNS, required=REQUIRED)
    if problems:
        result.errors.extend(problems)
        result.error_count += len(problems)
        return
    width = len(header)
    positions = [header.index(column) if column in header else -1 for column in COLUMNS]
    for row_no, fields in enumerate(reader, start=2):
        if not fields or (len(fields) == 1 and not fields[0].strip()):
            continue
        if len(fields) != width:
            row = _Row(row_no, [])
            row.error("row", f"has {len(fields)} fields; the header has {width}")
            yield row
            continue
        yield _Row(row_no, [fields[p].strip() if p >= 0 else "" for p in positions])


def header_problems(header: list[str], *, columns: tuple[str, ...], required: tuple[str, ...]) -> list[RowError]:
    """What is wrong with a CSV header (row 1), for every import that reads one (rosters, gap
    files, the resource directory): required columns missing, unknown ones, and repeats."""
    problems = [RowError(1, c, "required column is missing from the header") for c in required if c not in header]
    problems += [
        RowError(1, c or "(blank)", f"unknown column; expected some of: {', '.join(columns)}")
        for c in header
        if c not in columns
    ]
    problems += [
        RowError(1, c, "column appears more than once in the header")
        for c in sorted({c for c in header if header.count(c) > 1})
    ]
    return problems


def dict_rows(
    text: IO[str], result: Result, *, columns: tuple[str, ...], required: tuple[str, ...]
) -> Iterator[tuple[int, dict[str, str]]]:
    """(row number, {column: stripped value}) for each data row of a small CSV import (gap files,
    the resource directory); header problems and rows of the wrong width go to `result.errors`.
    Blank lines are skipped. The roster's own reader (`_rows`) is the same, positional, for speed."""
    reader = csv.reader(text)
    try:
        header = [h.strip().lower() for h in next(reader)]
    except StopIteration:
        result.errors.append(RowError(1, "file", "The file is empty."))
        return
    problems = header_problems(header, columns=columns, required=required)
    if problems:
        result.errors.extend(problems)
        return
    for row_no, fields in enumerate(reader, start=2):
        if not fields or (len(fields) == 1 and not fields[0].strip()):
            continue
        if len(fields) != len(header):
            result.errors.append(RowError(row_no, "row", f"has {len(fields)} fields; the header has {len(header)}"))
            continue
        yield row_no, {column: fields[i].strip() for i, column in enumerate(header)}


def _file_error(result: Result, column: str, message: str) -> None:
    result.errors.append(RowError(1, column, message))
    result.error_count += 1


def _record(result: Result, errors: list[RowError]) -> None:
    result.error_count += len(errors)
    room = MAX_STORED_ERRORS - len(result.errors)
    if room > 0:
        result.errors.extend(errors[:room])


def hold_member_periods(cursor: Any, plan_id: int) -> None:
    """Take the plan's member-periods lock until the transaction ends: roster imports, the
    eligibility and attribution no-overlap triggers (migration 0002) and whatever copies an
    attribution elsewhere (caregaps.services.attributed_practices_refresh) take it, so each sees
    the others' attributions committed. Re-entrant within a transaction."""
    cursor.execute("SELECT pg_advisory_xact_lock(hashtextextended('member-periods:' || %s, 0))", [plan_id])


def load(
    stream: IO[bytes],
    *,
    plan_id: int,
    practices_by_npi: dict[str, int],
    actor_id: int | None,
    actor_label: str,
    organization_id: int | None,
    import_public_id: str,
    today: dt.date,
    on_progress: Callable[[int, str], None] = lambda rows, phase: None,
    on_applied: Callable[[Result], None] = lambda result: None,
) -> Result:
    """Validate and apply one roster file. Raises Rejected (nothing applied) on any bad row.

    `today` is the plan's local date. `on_applied` runs inside the import's transaction, so what
    it records (the import's outcome) commits together with the data or not at all.
    """
    result = Result()
    text = io.TextIOWrapper(stream, encoding="utf-8-sig", newline="")
    seen: set[str] = set()
    with transaction.atomic(), connection.cursor() as cursor:
        # ON COMMIT DROP cleans up after a real import; inside an enclosing transaction (a caller's,
        # or a test's) a previous import's tables may still be there.
        cursor.execute("DROP TABLE IF EXISTS pg_temp.roster_staging, pg_temp.roster_changed")
        cursor.execute(
            "CREATE TEMP TABLE roster_staging ("
            + ", ".join(f"{name} {kind}" for name, kind in STAGING)
            + ", member_id bigint, attr_done boolean NOT NULL DEFAULT false) ON COMMIT DROP"
        )
        columns = ", ".join(name for name, _ in STAGING)
        try:
            with cursor.copy(f"COPY roster_staging ({columns}) FROM STDIN") as copy:
                for row in _rows(text, result):
                    result.total_rows += 1
                    if result.total_rows % PROGRESS_EVERY == 0:
                        on_progress(result.total_rows, "checking")
                    if row.errors:
                        _record(result, row.errors)
                        continue
                    cleaned = _clean(row, practices_by_npi, today)
                    if cleaned is None:
                        _record(result, row.errors)
                        continue
                    if cleaned[2] in seen:
                        _record(
                            result, [RowError(row.row_no, "member_id", f"{cleaned[2]} appears earlier in the file")]
                        )
                        continue
                    seen.add(cleaned[2])
                    if result.error_count == 0:
                        copy.write_row(cleaned)
        except UnicodeDecodeError as exc:
            _file_error(result, "file", f"The file is not UTF-8 text (byte {exc.start} of a line cannot be read).")
        except csv.Error as exc:
            _file_error(result, "file", f"The file is not valid CSV: {exc}.")
        on_progress(result.total_rows, "checking")
        if result.error_count == 0 and result.total_rows == 0:
            _file_error(result, "file", "The file has a header but no rows.")
        if result.error_count:
            raise Rejected(result)

        params = {"plan": plan_id, "today": today}
        # One import per plan at a time from here on: two files touching the same members would
        # otherwise race on the upserts. The no-overlap triggers take the same lock (migration 0002).
        hold_member_periods(cursor, plan_id)
        cursor.execute("ANALYZE roster_staging (member_number, member_id, practice_id)")  # the join keys
        _record(result, _database_checks(cursor, params))
        if result.error_count:
            result.errors.sort(key=lambda e: e.row)
            raise Rejected(result)
        on_progress(result.total_rows, "applying")
        try:
            with transaction.atomic():
                _apply(
                    cursor,
                    result,
                    {
                        **params,
                        "actor_id": actor_id,
                        "actor_label": actor_label,
                        "organization_id": organization_id,
                        "import": import_public_id,
                        "request_id": context.request_id.get(),
                    },
                )
        except DataError as exc:
            # Every value is checked above; this is a safety net, so the import is rejected with a
            # reason instead of being retried as if the failure were transient.
            _file_error(result, "file", f"A value does not fit its column: {str(exc).splitlines()[0]}.")
            raise Rejected(result) from exc
        cursor.execute("SELECT DISTINCT member_id FROM roster_changed WHERE what = 'attribution'")
        moved = [member_id for (member_id,) in cursor.fetchall()]
        if moved:
            attributions_changed.send(sender=None, plan_id=plan_id, member_ids=moved)
        on_applied(result)
    return result


def _database_checks(cursor: Any, params: dict[str, Any]) -> list[RowError]:
    cursor.execute(
        """
        UPDATE roster_staging s SET member_id = m.id
        FROM members_member m WHERE m.plan_id = %(plan)s AND m.member_number = s.member_number
        """,
        params,
    )
    # A blank attribution_start never rewrites history. Against the member's latest attribution:
    # the same practice continues it (the row may still change its end); another practice follows
    # it, from today if it is in force, else from eligibility but after it ended. A member with no
    # attribution yet starts with eligibility.
    cursor.execute(
        """
        UPDATE roster_staging s SET attr_start = CASE
            WHEN l.practice_id = s.practice_id THEN l.start_date
            WHEN l.end_date IS NULL OR l.end_date >= %(today)s THEN GREATEST(%(today)s, l.start_date)
            ELSE GREATEST(s.elig_start, l.end_date + 1)
        END
        FROM (
            SELECT DISTINCT ON (a.member_id) a.member_id, a.practice_id, a.start_date, a.end_date
            FROM members_attribution a JOIN roster_staging r ON r.member_id = a.member_id
            ORDER BY a.member_id, a.start_date DESC
        ) l
        WHERE s.practice_id IS NOT NULL AND NOT s.attr_start_given AND l.member_id = s.member_id
        """,
        params,
    )
    cursor.execute(
        "UPDATE roster_staging SET attr_start = elig_start WHERE practice_id IS NOT NULL AND attr_start IS NULL"
    )
    errors: list[RowError] = []
    cursor.execute("SELECT row_no, attr_start FROM roster_staging WHERE attr_end < attr_start AND NOT attr_start_given")
    for row_no, start in cursor.fetchall():
        errors.append(RowError(row_no, "attribution_end", f"is before the attribution's start ({start:%Y-%m-%d})"))
    cursor.execute(
        """
        SELECT s.row_no, e.start_date, e.end_date FROM roster_staging s
        JOIN members_eligibilityspan e ON e.member_id = s.member_id AND e.start_date <> s.elig_start
         AND daterange(e.start_date, e.end_date, '[]') && daterange(s.elig_start, s.elig_end, '[]')
        ORDER BY s.row_no
        """
    )
    for row_no, start, end in cursor.fetchall():
        until = f"{end:%Y-%m-%d}" if end else "open-ended"
        errors.append(
            RowError(row_no, "eligibility_start", f"overlaps the member's coverage from {start:%Y-%m-%d} to {until}")
        )
    cursor.execute(
        """
        SELECT DISTINCT ON (s.row_no) s.row_no, a.start_date FROM roster_staging s
        JOIN members_attribution a ON a.member_id = s.member_id AND a.start_date > s.attr_start
        WHERE s.practice_id IS NOT NULL ORDER BY s.row_no, a.start_date DESC
        """
    )
    for row_no, start in cursor.fetchall():
        errors.append(
            RowError(
                row_no,
                "attribution_start",
                f"is earlier than the member's attribution starting {start:%Y-%m-%d}; "
                "attribution history is not rewritten by import",
            )
        )
    return errors


_MEMBER_FIELDS = (
    "first_name",
    "middle_name",
    "last_name",
    "date_of_birth",
    "sex",
    "preferred_language",
    "phone",
    "email",
    "address_line1",
    "address_line2",
    "city",
    "state",
    "postal_code",
    "guardian_name",
    "guardian_relationship",
    "guardian_phone",
)


def _apply(cursor: Any, result: Result, params: dict[str, Any]) -> None:
    fields = ", ".join(_MEMBER_FIELDS)
    old = ", ".join(f"members_member.{f}" for f in _MEMBER_FIELDS)
    new = ", ".join(f"EXCLUDED.{f}" for f in _MEMBER_FIELDS)
    risk_changed = (
        "(EXCLUDED.risk_computed_at IS NOT NULL AND (members_member.risk_score, members_member.risk_inputs)"
        " IS DISTINCT FROM (EXCLUDED.risk_score, EXCLUDED.risk_inputs))"
    )
    cursor.execute("CREATE TEMP TABLE roster_changed (member_id bigint, what text) ON COMMIT DROP")
    # 1. Members: insert new ones, update only those whose data differ.
    cursor.execute(
        f"""
        WITH upserted AS (
            INSERT INTO members_member (public_id, plan_id, member_number, {fields},
                                        risk_tier, risk_score, risk_inputs, risk_computed_at,
                                        created_at, updated_at)
            SELECT s.public_id, %(plan)s, s.member_number, {", ".join("s." + f for f in _MEMBER_FIELDS)},
                   COALESCE(s.risk_tier, ''), s.risk_score, COALESCE(s.risk_inputs, '[]'::jsonb),
                   CASE WHEN s.risk_inputs IS NULL THEN NULL ELSE now() END, now(), now()
            FROM roster_staging s ORDER BY s.row_no
            ON CONFLICT (plan_id, member_number) DO UPDATE SET
                ({fields}) = ({new}),
                risk_tier = CASE WHEN {risk_changed} THEN EXCLUDED.risk_tier ELSE members_member.risk_tier END,
                risk_score = CASE WHEN {risk_changed} THEN EXCLUDED.risk_score ELSE members_member.risk_score END,
                risk_inputs = CASE WHEN {risk_changed} THEN EXCLUDED.risk_inputs
                                   ELSE members_member.risk_inputs END,
                risk_computed_at = CASE WHEN {risk_changed} THEN EXCLUDED.risk_computed_at
                                        ELSE members_member.risk_computed_at END,
                updated_at = now()
            WHERE ({old}) IS DISTINCT FROM ({new}) OR {risk_changed}
            RETURNING id, member_number, (xmax = 0) AS inserted
        ), new_ids AS (
            -- New members get their ids here; existing ones have them from _database_checks. Safe
            -- because the plan's advisory lock keeps other imports out until this one commits.
            UPDATE roster_staging s SET member_id = u.id FROM upserted u
            WHERE u.inserted AND s.member_number = u.member_number
        )
        INSERT INTO roster_changed SELECT id, CASE WHEN inserted THEN 'created' ELSE 'demographics' END
        FROM upserted
        """,
        params,
    )
    # 2. Eligibility spans, keyed by (member, start date).
    cursor.execute(
        """
        WITH changed AS (
            INSERT INTO members_eligibilityspan (member_id, plan_id, start_date, end_date, product)
            SELECT s.member_id, %(plan)s, s.elig_start, s.elig_end, s.product FROM roster_staging s
            ON CONFLICT (member_id, start_date) DO UPDATE SET end_date = EXCLUDED.end_date, product = EXCLUDED.product
            WHERE (members_eligibilityspan.end_date, members_eligibilityspan.product)
                  IS DISTINCT FROM (EXCLUDED.end_date, EXCLUDED.product)
            RETURNING member_id
        )
        INSERT INTO roster_changed SELECT member_id, 'eligibility' FROM changed
        """,
        params,
    )
    # 3. Attribution: the attribution in force at the row's start date either continues (same
    #    practice: only its end may change), is corrected (same start, other practice), or is
    #    closed the day before the new one starts.
    cursor.execute(
        """
        WITH current AS (
            SELECT a.id, a.practice_id, a.start_date, a.end_date, s.row_no, s.practice_id AS new_practice,
                   s.attr_start, s.attr_end
            FROM roster_staging s JOIN members_attribution a ON a.member_id = s.member_id
            WHERE s.practice_id IS NOT NULL AND a.start_date <= s.attr_start
              AND (a.end_date IS NULL OR a.end_date >= s.attr_start)
        ), done AS (
            UPDATE roster_staging s SET attr_done = true FROM current c
            WHERE s.row_no = c.row_no AND (c.practice_id = c.new_practice OR c.start_date = c.attr_start)
        ), updated AS (
            UPDATE members_attribution a SET
                practice_id = CASE WHEN c.start_date = c.attr_start THEN c.new_practice ELSE a.practice_id END,
                end_date = CASE WHEN c.practice_id = c.new_practice OR c.start_date = c.attr_start
                                THEN c.attr_end ELSE c.attr_start - 1 END
            FROM current c WHERE a.id = c.id
              AND (a.practice_id, a.end_date) IS DISTINCT FROM (
                  CASE WHEN c.start_date = c.attr_start THEN c.new_practice ELSE a.practice_id END,
                  CASE WHEN c.practice_id = c.new_practice OR c.start_date = c.attr_start
                       THEN c.attr_end ELSE c.attr_start - 1 END)
            RETURNING a.member_id
        )
        INSERT INTO roster_changed SELECT member_id, 'attribution' FROM updated
        """,
        params,
    )
    cursor.execute(
        """
        WITH inserted AS (
            INSERT INTO members_attribution (member_id, plan_id, practice_id, start_date, end_date, source, created_at)
            SELECT s.member_id, %(plan)s, s.practice_id, s.attr_start, s.attr_end, 'roster', now()
            FROM roster_staging s WHERE s.practice_id IS NOT NULL AND NOT s.attr_done
            RETURNING member_id
        )
        INSERT INTO roster_changed SELECT member_id, 'attribution' FROM inserted
        """,
        params,
    )
    # 4. One audit event per changed member, and the counts.
    cursor.execute(
        """
        WITH per_member AS (
            SELECT member_id, array_agg(DISTINCT what ORDER BY what) AS what FROM roster_changed GROUP BY member_id
        ), audited AS (
            INSERT INTO core_auditevent (occurred_at, actor_id, actor_label, organization_id, plan_id, member_id,
                                         action, object_type, object_id, summary, detail, request_id)
            SELECT now(), %(actor_id)s, %(actor_label)s, %(organization_id)s, %(plan)s, p.member_id,
                   CASE WHEN 'created' = ANY(p.what) THEN 'create' ELSE 'update' END, 'member', m.public_id::text,
                   'Roster import', jsonb_build_object('roster_import', %(import)s::text, 'changed', to_jsonb(p.what)),
                   %(request_id)s
            FROM per_member p JOIN members_member m ON m.id = p.member_id
            RETURNING action
        )
        SELECT count(*) FILTER (WHERE action = 'create'), count(*) FILTER (WHERE action = 'update') FROM audited
        """,
        params,
    )
    result.created, result.updated = cursor.fetchone()
    result.unchanged = result.total_rows - result.created - result.updated
