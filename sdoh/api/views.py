"""Social-needs API: `/api/v1/screenings/` scoped as the pages (a practice: its attributed
patients'; community organizations: nothing), one screening, and entering one (answers or FHIR)."""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import extend_schema
from rest_framework import generics, status
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api import ActorMixin, service_error
from members.selectors import access_member, audit_reads
from sdoh import instruments, selectors, services
from sdoh.api.serializers import (
    CommunityServiceSerializer,
    ScreeningIn,
    ScreeningSerializer,
    SocialReferralMove,
    SocialReferralSerializer,
)
from sdoh.forms import ResourceSearch
from sdoh.models import Screening, SocialReferral


class ScreeningList(ActorMixin, generics.ListCreateAPIView):
    """GET: screenings, newest first (`member` = a member id to narrow). POST: a screening, as
    `{member, instrument, screened_on, answers: {question LOINC: answer LOINC or [..]}}` or
    `{member, fhir: <QuestionnaireResponse | Observation panel | Bundle>}`; 201 with the result,
    400 with every problem keyed by question code (nothing stored)."""

    serializer_class = ScreeningSerializer
    keyset_ordering = ("-created_at", "-id")

    def get_queryset(self):
        qs = selectors.screenings(self.actor).select_related("member", "entered_by_organization")
        if self.request.query_params.get("member"):
            qs = qs.filter(member__public_id=self.request.query_params["member"])
        return qs.prefetch_related("needs")

    def list(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.get_queryset())
        audit_reads(self.actor, list({s.member_id: s.member for s in page}.values()), via="screenings")
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    def create(self, request, *args, **kwargs):
        actor = self.actor
        actor.require("organizations.screen_members")
        incoming = ScreeningIn(data=request.data)
        incoming.is_valid(raise_exception=True)
        data = incoming.validated_data
        member = access_member(actor, data["member"], via="screening API")
        code, answers, source = data.get("instrument"), data.get("answers"), Screening.Source.API
        if "fhir" in data:
            try:
                code, answers = instruments.from_fhir(data["fhir"], instrument=code or None)
            except (instruments.FhirReadError, instruments.InstrumentError) as exc:
                raise ValidationError({"fhir": [str(exc)]}) from None
            source = Screening.Source.FHIR
        try:
            screening = services.screening_record(
                actor=actor,
                member=member,
                instrument=code,
                answers=answers,
                screened_on=data.get("screened_on"),
                source=source,
            )
        except DjangoValidationError as error:
            raise ValidationError(error.message_dict if hasattr(error, "error_dict") else error.messages) from None
        return Response(ScreeningSerializer(screening).data, status=status.HTTP_201_CREATED)


class ScreeningDetail(ActorMixin, generics.RetrieveAPIView):
    serializer_class = ScreeningSerializer

    def retrieve(self, request, *args, **kwargs):
        return Response(ScreeningSerializer(selectors.access_screening(self.actor, kwargs["screening_id"])).data)


class ResourceList(ActorMixin, generics.ListAPIView):
    """The community resource directory: `need` (a need category), `zip` (5 digits), `language`
    (e.g. es), `stale=1` for entries not verified for a year."""

    serializer_class = CommunityServiceSerializer
    keyset_ordering = ("organization_name", "name", "id")

    def get_queryset(self):
        form = ResourceSearch(
            {
                "need": self.request.query_params.get("need", ""),
                "zip_code": self.request.query_params.get("zip", ""),
                "language": self.request.query_params.get("language", ""),
                "stale": self.request.query_params.get("stale") == "1",
            }
        )
        if not form.is_valid():
            raise ValidationError({{"zip_code": "zip"}.get(k, k): v for k, v in form.errors.items()})
        d = form.cleaned_data
        return selectors.resources(
            self.actor, need=d["need"], zip_code=d["zip_code"], language=d["language"], stale=d["stale"]
        )


class SocialReferralList(ActorMixin, generics.ListAPIView):
    """Community referrals, newest first: the plan's, or (a community organization) only those sent
    to it, with the minimum member detail; `status` narrows (a Gravity task status, or `open`)."""

    serializer_class = SocialReferralSerializer
    keyset_ordering = ("-created_at", "-id")

    def get_queryset(self):
        qs = selectors.social_referrals(self.actor)
        chosen = self.request.query_params.get("status", "")
        if chosen == "open":
            return qs.filter(status__in=SocialReferral.OPEN)
        if chosen:
            if chosen not in SocialReferral.Status.values:
                raise ValidationError(
                    {"status": [f"Must be open or one of {', '.join(SocialReferral.Status.values)}."]}
                )
            qs = qs.filter(status=chosen)
        return qs

    def list(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.get_queryset())
        audit_reads(self.actor, list({r.member_id: r.member for r in page}.values()), via="social referrals")
        return self.get_paginated_response(self.get_serializer(page, many=True).data)


class SocialReferralDetail(ActorMixin, generics.RetrieveAPIView):
    serializer_class = SocialReferralSerializer

    def retrieve(self, request, *args, **kwargs):
        found = selectors.access_social_referral(self.actor, kwargs["social_referral_id"])
        return Response(SocialReferralSerializer(found).data)


class SocialReferralTransition(ActorMixin, APIView):
    """Answer or cancel a referral: `{"to": <status>, "reason": "..."}`. The organization it was
    sent to moves it to received, accepted or declined, then completed or failed; the referring
    plan cancels it while open. Anyone outside the referral's scope gets 404; an insider who does
    not move referrals (a practice it is shared with, staff without the permission) 403; a move
    the referral's state does not allow now, 409 with the moves that it does."""

    @extend_schema(request=SocialReferralMove, responses={200: SocialReferralSerializer})
    def post(self, request, social_referral_id):
        referral = selectors.access_social_referral(self.actor, social_referral_id)
        data = SocialReferralMove(data=request.data)
        data.is_valid(raise_exception=True)
        to, reason = data.validated_data["to"], data.validated_data["reason"]
        if not services.social_referral_may_move(self.actor, referral):
            raise PermissionDenied("Only the organization the referral was sent to answers it; the plan cancels it.")
        allowed = services.social_referral_allowed(self.actor, referral)
        if to not in allowed:
            return Response(
                {
                    "detail": f"The referral is {referral.get_status_display().lower()}: you cannot make it "
                    f"{SocialReferral.Status(to).label.lower()} now.",
                    "allowed": allowed,
                    "request_id": request.request_id,
                },
                status=status.HTTP_409_CONFLICT,
            )
        try:
            moved = services.social_referral_transition(actor=self.actor, referral=referral, to=to, reason=reason)
        except DjangoValidationError as error:
            raise service_error(error) from error
        return Response(SocialReferralSerializer(moved).data)
