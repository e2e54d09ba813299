"""Deadline handlers for members (loaded by core.apps at start-up)."""

from core import deadlines
from core.models import Deadline
from members import services

IMPORT_ATTEMPTS = 3


@deadlines.handler("roster.import", label="Import a roster", atomic=False, max_attempts=IMPORT_ATTEMPTS)
def run_roster_import(deadline: Deadline) -> None:
    """Lease-based: the import commits its own work and may run for minutes; running it again
    after a crash is safe (members.services.roster_import_run)."""
    try:
        services.roster_import_run(import_id=deadline.payload["import_id"])
    except Exception as exc:
        if deadline.attempts >= IMPORT_ATTEMPTS:
            services.roster_import_fail(
                import_id=deadline.payload["import_id"],
                message=f"The import could not run ({type(exc).__name__}); the file was not applied.",
            )
        raise
