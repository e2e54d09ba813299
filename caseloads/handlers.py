"""Deadline handlers for caseloads (loaded by core.apps at start-up)."""

from caseloads import services
from caseloads.models import Coverage
from core import deadlines
from core.models import Deadline
from organizations.access import Actor


@deadlines.handler("caseloads.perinatal_close", label="Perinatal closure review")
def perinatal_close(deadline: Deadline) -> None:
    services.perinatal_closure_due(deadline.payload["enrollment_id"])


@deadlines.handler("caseloads.coverage_return", label="Coverage ends")
def coverage_return(deadline: Deadline) -> None:
    services.coverage_return(actor=Actor.system(), coverage=Coverage.objects.get(pk=deadline.payload["coverage_id"]))
