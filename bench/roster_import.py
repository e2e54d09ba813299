"""Roster import throughput: members.roster.load() on a generated 100,000-row file, called the
way members.services.roster_import_run calls it, inside the big plan.

Two loads of the same file: the first creates every member (validate + COPY + set-based apply),
the second is the "nothing changed" re-import. So that the first load is a real first load on
every run, members left by an earlier run (member ids starting with PREFIX) are deleted before
it, and the ones it creates are deleted again afterwards (unless asked to keep them), so the plan
stays at the size seed_demo built. Deleting and vacuuming are not timed.
"""

from __future__ import annotations

import datetime as dt
import inspect
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bench.environment import PLAN_NAME, BenchError, vacuum_member_tables

PREFIX = "BNC"
PRACTICE_NPIS = ("1902000011", "1902000029")  # Riverbend and Oak Street, Prairie's partners
SEED = 4242
UPLOADER = "prairie-admin"


@dataclass(frozen=True)
class Load:
    label: str
    rows: int
    seconds: float
    checking_seconds: float  # reading, validating and COPYing into the staging table
    applying_seconds: float  # database checks and the set-based apply (ends with the commit)
    created: int
    updated: int
    unchanged: int

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0


@dataclass(frozen=True)
class ImportRun:
    loads: list[Load]
    removed_before: int
    removed_after: int
    kept: bool
    generate_seconds: float
    file_bytes: int


def _members(plan_id: int):
    from members.models import Member

    return Member.objects.for_plan(plan_id).filter(member_number__startswith=PREFIX)


def _remove(plan_id: int) -> int:
    from django.db import transaction

    with transaction.atomic():
        count = _members(plan_id).count()
        if count:
            _members(plan_id).delete()
    return count


def _plan_today(plan) -> dt.date:
    """Today as the import sees it: in the plan's time zone where the model knows it."""
    from django.utils import timezone

    local_date = getattr(plan, "local_date", None)
    return local_date() if callable(local_date) else timezone.localdate()


def _load(path: Path, label: str, *, plan, practices: dict[str, int], uploader) -> Load:
    from members import roster

    marks: dict[str, float] = {}
    # As roster_import_run calls it; `today` only where load() takes it.
    extra = {"today": _plan_today(plan)} if "today" in inspect.signature(roster.load).parameters else {}

    def progress(rows: int, phase: str) -> None:
        marks[phase] = time.perf_counter()  # the last "checking" call comes right after the COPY

    with path.open("rb") as handle:
        started = time.perf_counter()
        result = roster.load(
            handle,
            plan_id=plan.pk,
            practices_by_npi=practices,
            actor_id=uploader.pk,
            actor_label=uploader.get_username(),
            organization_id=uploader.organization_id,
            import_public_id=str(uuid.uuid4()),
            on_progress=progress,
            **extra,
        )
        finished = time.perf_counter()
    checked = marks.get("checking", started)
    return Load(
        label=label,
        rows=result.total_rows,
        seconds=finished - started,
        checking_seconds=checked - started,
        applying_seconds=finished - checked,
        created=result.created,
        updated=result.updated,
        unchanged=result.unchanged,
    )


def run(*, rows: int, keep: bool, say: Callable[[str], None]) -> ImportRun:
    from members.demo import roster_rows, write_roster_csv
    from members.management.commands.seed_demo import PRAIRIE_CITIES
    from members.roster import Rejected
    from organizations.models import Organization, Partnership, User

    plan = Organization.objects.get(kind=Organization.Kind.PLAN, name=PLAN_NAME)
    uploader = User.objects.get(username=UPLOADER)
    # As roster_import_run: every practice in an active partnership with the plan.
    practices = dict(
        Partnership.objects.active()
        .filter(plan_id=plan.pk)
        .exclude(practice__npi="")
        .values_list("practice__npi", "practice_id")
    )
    missing = [npi for npi in PRACTICE_NPIS if npi not in practices]
    if missing:
        raise BenchError(f"{PLAN_NAME} has no active partnership with practice NPI(s) {', '.join(missing)}.")

    removed_before = _remove(plan.pk)
    if removed_before:
        say(f"Deleted {removed_before:,} {PREFIX} members left by an earlier run; vacuuming ...")
        vacuum_member_tables()
    loads: list[Load] = []
    with tempfile.TemporaryDirectory(prefix="carecoord-bench-") as folder:
        path = Path(folder) / "roster.csv"
        started = time.perf_counter()
        today = _plan_today(plan)
        with path.open("w", encoding="utf-8", newline="") as handle:
            write_roster_csv(
                handle,
                roster_rows(
                    count=rows,
                    prefix=PREFIX,
                    cities=PRAIRIE_CITIES,
                    practice_npis=list(PRACTICE_NPIS),
                    seed=SEED,
                    today=today.replace(day=1),
                ),
            )
        generate_seconds = time.perf_counter() - started
        file_bytes = path.stat().st_size
        say(f"Generated a {rows:,}-row roster ({file_bytes / 1e6:.1f} MB) in {generate_seconds:.1f}s.")
        for label in ("first load (new members)", "re-import (nothing changed)"):
            say(f"  {label} ...")
            try:
                loads.append(_load(path, label, plan=plan, practices=practices, uploader=uploader))
            except Rejected as rejected:
                raise BenchError(f"The generated roster was rejected: {rejected.result.errors[:5]}") from None
    removed_after = 0
    if not keep:
        say(f"Deleting the {PREFIX} members again and vacuuming (not timed) ...")
        removed_after = _remove(plan.pk)
        vacuum_member_tables()
    return ImportRun(
        loads=loads,
        removed_before=removed_before,
        removed_after=removed_after,
        kept=keep,
        generate_seconds=generate_seconds,
        file_bytes=file_bytes,
    )
