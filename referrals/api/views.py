"""Referrals API: scoped exactly as the pages, through the same selectors and services."""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.shortcuts import get_object_or_404
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import extend_schema
from rest_framework import generics, status
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api import ActorMixin, service_error
from organizations.models import Organization, User
from referrals import selectors, services
from referrals.api.serializers import (
    LIST_VALUES,
    ReferralCreateSerializer,
    ReferralDetailSerializer,
    ReferralSerializer,
    TransitionSerializer,
    list_row,
)
from referrals.filters import QueueFilter
from referrals.models import ReferralEvent, Status


class ReferralList(ActorMixin, generics.ListCreateAPIView):
    """Plan staff: the plan's referrals, filtered as the queue (open ones by default, priority
    then age). Practice staff: the referrals their practice made, newest first."""

    filter_backends = [DjangoFilterBackend]

    def get_serializer_class(self):
        return ReferralCreateSerializer if self.request.method == "POST" else ReferralSerializer

    @property
    def filterset_class(self):
        return QueueFilter if self.actor.is_plan_staff else None

    @property
    def keyset_ordering(self):
        if self.actor.is_practice_staff:
            return ("-submitted_at", "-id")
        status_filter = self.request.query_params.get("status", "open")
        return (
            selectors.QUEUE_ORDER
            if status_filter == "open" or status_filter in Status.values[:5]
            else (selectors.CLOSED_ORDER)
        )

    def get_queryset(self):
        return selectors.referrals(self.actor)

    def list(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()).values(*LIST_VALUES))
        return self.get_paginated_response([list_row(r) for r in page])

    @extend_schema(request=ReferralCreateSerializer, responses={201: ReferralSerializer})
    def post(self, request, *args, **kwargs):
        data = ReferralCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        from members.selectors import access_member

        member = access_member(self.actor, values["member"], via="api referral intake")
        practice = None
        if values.get("referring_practice"):
            practice = get_object_or_404(
                Organization.objects.visible_to(self.actor).of_kind("practice"), public_id=values["referring_practice"]
            )
        intake = services.Intake(
            reason=values["reason"],
            urgency=values["urgency"],
            diagnoses=values["diagnoses"],
            recent_utilization=values["recent_utilization"],
            clinical_context=values["clinical_context"],
            contact_method=values["contact_method"],
            contact_time=values["contact_time"],
        )
        source = values.get("source") or "practice"
        try:
            referral = services.referral_create(
                actor=self.actor, member=member, source=source, intake=intake, referring_practice=practice
            )
        except DjangoValidationError as error:
            raise service_error(error) from error
        return Response(ReferralSerializer(referral).data, status=status.HTTP_201_CREATED)


class ReferralDetail(ActorMixin, generics.RetrieveAPIView):
    serializer_class = ReferralDetailSerializer

    def retrieve(self, request, *args, **kwargs):
        referral = selectors.access_referral(self.actor, kwargs["referral_id"])
        events = ReferralEvent.objects.visible_to(self.actor).filter(referral=referral)
        data = ReferralDetailSerializer(referral, context={"events": events, "internal": self.actor.is_plan_staff}).data
        return Response(data)


class ReferralTransition(ActorMixin, APIView):
    """Move a referral: `{"to": <status>, "reason": "..."}` plus what the step needs (triage:
    priority, program, skill_needed; assignment: assignee; enrollment: acuity). A move the state
    machine does not allow answers 409 with the allowed next statuses."""

    @extend_schema(request=TransitionSerializer, responses={200: ReferralSerializer})
    def post(self, request, referral_id):
        referral = selectors.access_referral(self.actor, referral_id)
        data = TransitionSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        assignee = None
        if values.get("assignee"):
            assignee = get_object_or_404(User.objects.visible_to(self.actor), public_id=values["assignee"])
        try:
            referral = services.referral_transition(
                actor=self.actor,
                referral=referral,
                to=values["to"],
                reason=values["reason"],
                internal_note=values["internal_note"],
                priority=values.get("priority"),
                program=values["program"],
                skill_needed=values["skill_needed"],
                assignee=assignee,
                acuity=values["acuity"],
            )
        except services.TransitionError as error:
            return Response(
                {"detail": error.messages[0], "allowed": error.allowed, "request_id": request.request_id},
                status=status.HTTP_409_CONFLICT,
            )
        except DjangoValidationError as error:
            raise service_error(error) from error
        return Response(ReferralSerializer(referral).data)
