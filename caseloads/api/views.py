"""Caseloads API: enrollments and worklist tasks, scoped exactly as the pages."""

import uuid

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import generics, status
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from caseloads import selectors, services
from caseloads.api.serializers import (
    EnrollmentEventSerializer,
    EnrollmentSerializer,
    PlanEnrollmentSerializer,
    TaskCreateSerializer,
    TaskSerializer,
    TaskUpdateSerializer,
)
from caseloads.models import Enrollment, Program
from core.api import ActorMixin, service_error
from members.selectors import access_member


class EnrollmentList(ActorMixin, generics.ListAPIView):
    """Plan staff: the plan's enrollments (filter `status`, `program`, `care_manager`). Practice
    staff: the enrollment status of their attributed patients."""

    keyset_ordering = ("-start_date", "-id")

    def get_serializer_class(self):
        return PlanEnrollmentSerializer if self.actor.is_plan_staff else EnrollmentSerializer

    def get_queryset(self):
        params = self.request.query_params
        qs = selectors.enrollments(self.actor).select_related("member", "care_manager", "co_manager")
        errors = {}
        wanted = params.get("status", "")
        if wanted:
            if wanted not in Enrollment.Status.values:
                errors["status"] = [f"Must be one of {', '.join(Enrollment.Status.values)}."]
            qs = qs.filter(status=wanted)
        program = params.get("program", "")
        if program:
            if program not in Program.values:
                errors["program"] = [f"Must be one of {', '.join(Program.values)}."]
            qs = qs.filter(program=program)
        care_manager = params.get("care_manager", "")
        if care_manager:
            person = selectors.care_staff(self.actor).filter(public_id=_uuid_or_none(care_manager)).first()
            if person is None:
                errors["care_manager"] = ["Not a care manager of the plan."]
            qs = qs.filter(care_manager=person)
        if errors:
            raise ValidationError(errors)
        return qs


def _uuid_or_none(value: str):
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


class EnrollmentDetail(ActorMixin, generics.RetrieveAPIView):
    serializer_class = PlanEnrollmentSerializer

    def retrieve(self, request, *args, **kwargs):
        enrollment = selectors.access_enrollment(self.actor, kwargs["enrollment_id"])
        access_member(self.actor, enrollment.member.public_id, via="api enrollment")
        data = PlanEnrollmentSerializer(enrollment).data
        data["history"] = EnrollmentEventSerializer(selectors.enrollment_history(enrollment), many=True).data
        return Response(data)


class TaskList(ActorMixin, generics.ListCreateAPIView):
    """Open worklist tasks, earliest due first: your own, or (supervisors) `owner=<id>` or
    `owner=all`. POST adds a task about a member."""

    keyset_ordering = selectors.TASK_ORDER

    def get_serializer_class(self):
        return TaskCreateSerializer if self.request.method == "POST" else TaskSerializer

    def _plan_staff(self):
        if not self.actor.is_plan_staff:
            raise PermissionDenied("Worklists are the plan's.")

    def get_queryset(self):
        self._plan_staff()
        whose, owner = self.request.query_params.get("owner", ""), self.actor.user
        if whose and not self.actor.can("organizations.supervise_caseloads"):
            raise PermissionDenied("Only a supervisor looks at other people's worklists.")
        if whose == "all":
            owner = None
        elif whose:
            owner = selectors.care_staff(self.actor).filter(public_id=_uuid_or_none(whose)).first()
            if owner is None:
                raise ValidationError({"owner": ["Not a care manager of the plan."]})
        return selectors.worklist(self.actor, owner=owner).select_related("member", "owner")

    @extend_schema(request=TaskCreateSerializer, responses={201: TaskSerializer})
    def post(self, request, *args, **kwargs):
        self._plan_staff()
        data = TaskCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        member = access_member(self.actor, values.pop("member"), via="api task")
        owner = self.actor.user
        if values.get("owner"):
            owner = get_object_or_404(selectors.care_staff(self.actor), public_id=values.pop("owner"))
        values.pop("owner", None)
        try:
            task = services.task_create(actor=self.actor, member=member, owner=owner, **values)
        except DjangoValidationError as error:
            raise service_error(error) from error
        return Response(TaskSerializer(task).data, status=status.HTTP_201_CREATED)


class TaskDetail(ActorMixin, generics.RetrieveAPIView):
    """A task; PATCH `{"status": "done"|"cancelled"}` closes it (its owner or a supervisor)."""

    serializer_class = TaskSerializer

    def retrieve(self, request, *args, **kwargs):
        return Response(TaskSerializer(selectors.access_task(self.actor, kwargs["task_id"])).data)

    @extend_schema(request=TaskUpdateSerializer, responses={200: TaskSerializer})
    def patch(self, request, task_id):
        task = selectors.access_task(self.actor, task_id)
        data = TaskUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            task = services.task_close(actor=self.actor, task=task, status=data.validated_data["status"])
        except DjangoValidationError as error:
            raise service_error(error) from error
        return Response(TaskSerializer(task).data)
