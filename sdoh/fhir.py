"""Community referrals as FHIR Tasks, shaped after the Gravity Project's SDOHCC Task For Referral
Management (`../shared/corpus/fhir/gravity-sdoh/`: intent order, code fulfill, the Gravity task
statuses, the request as focus, the result as output), read at /fhir/Task/{id} and searched at
/fhir/Task, scoped as the pages (a community organization reaches only the referrals sent to it).
No profile is claimed in meta: the contained Patient carries the minimum below, not what US Core
requires, and the result is text, not a Procedure.

The Task carries, contained, the ServiceRequest it fulfils (what the member needs, the ride's
pickup; for plan and practice readers the need's Gravity category too) and the Patient with the
minimum the organization needs: name, phone, language, ZIP code (sdoh.selectors
.referral_member_view decides, as on the page).
Read-only: organizations answer on the page or with POST /api/v1/social-referrals/{id}/transition/.
"""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from rest_framework import exceptions
from rest_framework.request import Request
from rest_framework.response import Response

from interop.fhir import MAX_COUNT, FhirView, capability_statement, search_page, searchset
from members.selectors import audit_reads
from organizations.access import Actor
from sdoh import selectors
from sdoh.instruments import GRAVITY, NEED_CATEGORIES
from sdoh.models import SocialReferral

TASK_CODE = {
    "system": "http://hl7.org/fhir/CodeSystem/task-code",
    "code": "fulfill",
    "display": "Fulfill the focal request",
}
SOCIAL_SERVICE = {"system": "http://snomed.info/sct", "code": "410606002", "display": "Social service procedure"}
MEMBER_ID_SYSTEM = "urn:carecoord:member"  # the member's CareCoord id, for plan and practice readers only
# The Task's status is the referral's own: the statuses are Gravity's task statuses already.
_REQUEST_STATUS = {SocialReferral.Status.COMPLETED: "completed", SocialReferral.Status.CANCELLED: "revoked"}


def _instant(moment) -> str | None:
    return moment.isoformat() if moment else None


def task(actor: Actor, referral: SocialReferral) -> dict[str, Any]:
    who = selectors.referral_member_view(actor, referral)
    patient: dict[str, Any] = {"resourceType": "Patient", "id": "patient", "name": [{"text": who.name}]}
    if who.member_public_id:
        patient["identifier"] = [{"system": MEMBER_ID_SYSTEM, "value": str(who.member_public_id)}]
    if who.phone:
        patient["telecom"] = [{"system": "phone", "value": who.phone}]
    if who.language:
        patient["communication"] = [{"language": {"text": who.language}}]
    if who.zip_code:
        patient["address"] = [{"postalCode": who.zip_code}]

    categories = [{"coding": [SOCIAL_SERVICE]}]
    need = NEED_CATEGORIES.get(referral.need.category) if referral.need_id else None
    # The need's category (interpersonal violence, incarceration …) is the plan's and the
    # practice's to read; a receiving organization reads what is asked of it, as on its page.
    if need is not None and need.gravity_code and who.member_public_id:
        categories.append({"coding": [{"system": GRAVITY, "code": need.gravity_code, "display": need.title}]})
    what = referral.service.name if referral.service_id else referral.get_kind_display()
    notes = [{"text": referral.request_note}]
    if referral.pickup:
        notes.append({"text": f"Ride: {referral.pickup}"})
    request = {
        "resourceType": "ServiceRequest",
        "id": "request",
        "status": _REQUEST_STATUS.get(referral.status, "active"),
        "intent": "order",
        "category": categories,
        "code": {"text": what},
        "subject": {"reference": "#patient"},
        "authoredOn": _instant(referral.created_at),
        "note": notes,
    }
    modified = max(m for m in (referral.created_at, referral.responded_at, referral.closed_at) if m)
    out: dict[str, Any] = {
        "resourceType": "Task",
        "id": str(referral.public_id),
        "meta": {"lastUpdated": _instant(modified)},
        "contained": [patient, request],
        "status": referral.status,
        "intent": "order",
        "code": {"coding": [TASK_CODE]},
        "focus": {"reference": "#request", "display": what},
        "for": {"reference": "#patient", "display": who.name},
        "authoredOn": _instant(referral.created_at),
        "lastModified": _instant(modified),
        "requester": {"display": referral.plan.name},
        "owner": {"display": referral.organization.name},
    }
    if referral.status_reason and referral.status in (
        SocialReferral.Status.REJECTED,
        SocialReferral.Status.FAILED,
        SocialReferral.Status.CANCELLED,
    ):
        out["statusReason"] = {"text": referral.status_reason}
    if referral.status == SocialReferral.Status.COMPLETED:
        out["output"] = [
            {
                "type": {
                    "coding": [{"system": GRAVITY, "code": "resulting-activity", "display": "Resulting Activity"}]
                },
                "valueString": referral.status_reason or "Service delivered",
            }
        ]
    return out


def _url(request: Request, resource: dict[str, Any]) -> str:
    return request.build_absolute_uri(reverse("fhir-task", args=[resource["id"]]))


class TaskRead(FhirView):
    """GET /fhir/Task/{id}: one community referral as a Task (404 outside the caller's scope)."""

    def get(self, request: Request, social_referral_id) -> Response:
        referral = selectors.access_social_referral(self.actor, social_referral_id)
        return Response(task(self.actor, referral))


class TaskSearch(FhirView):
    """GET /fhir/Task: the caller's community referrals as Tasks, newest first, in a searchset
    Bundle; `status` (a Gravity task status; several separated by commas), `_count`, and the
    `next` link's `_cursor`."""

    PARAMETERS = frozenset({"status", "_count", "_cursor", "_format"})

    def get(self, request: Request) -> Response:
        unknown = sorted(set(request.query_params) - self.PARAMETERS)
        if unknown:  # a filter we ignored would look applied to the client
            raise exceptions.ValidationError({p: ["Not a search parameter of Task here."] for p in unknown})
        qs = selectors.social_referrals(self.actor).select_related("need", "plan")
        wanted = [s for s in request.query_params.get("status", "").split(",") if s]
        unknown = [s for s in wanted if s not in SocialReferral.Status.values]
        if unknown:
            raise exceptions.ValidationError(
                {
                    "status": [
                        f"{', '.join(unknown)}: not a task status here ({', '.join(SocialReferral.Status.values)})."
                    ]
                }
            )
        if wanted:
            qs = qs.filter(status__in=wanted)
        page = search_page(request, qs, ordering=("-created_at", "-id"))
        audit_reads(self.actor, list({r.member_id: r.member for r in page.items}.values()), via="FHIR Task search")
        resources = [task(self.actor, r) for r in page.items]
        return Response(searchset(request, page, resources, full_url=lambda r: _url(request, r)))


CAPABILITY = {
    "type": "Task",
    "interaction": [{"code": "read"}, {"code": "search-type"}],
    "searchParam": [
        {"name": "status", "type": "token", "documentation": "Gravity task statuses, several separated by commas."},
        {"name": "_count", "type": "number", "documentation": f"Page size, 1 to {MAX_COUNT} (default 50)."},
    ],
}


class Metadata(FhirView):
    """GET /fhir/metadata: the CapabilityStatement, open to anyone (clients read it before they
    sign in); it names no tenant and no row."""

    authentication_classes: list = []
    permission_classes: list = []

    def get(self, request: Request) -> Response:
        return Response(capability_statement([CAPABILITY], url=request.build_absolute_uri("/fhir/")))
