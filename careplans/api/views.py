"""Care plans API: scoped exactly as the pages, through the same selectors."""

from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from careplans import selectors, services
from careplans.api.serializers import CarePlanSerializer
from careplans.filters import CarePlanFilter
from core.api import ActorMixin
from members.selectors import audit_reads


class CarePlanList(ActorMixin, generics.ListAPIView):
    """Care plans the caller may see, most recently changed first. A practice gets those of its
    attributed patients whose release names it for care coordination, with the shared items only."""

    serializer_class = CarePlanSerializer
    filter_backends = [DjangoFilterBackend]
    filterset_class = CarePlanFilter

    @property
    def keyset_ordering(self):
        # A practice's order follows the shared part's changes only (see careplans.models.CarePlan).
        return ("-updated_at", "-id") if self.actor.is_plan_staff else ("-shared_updated_at", "-id")

    def get_queryset(self):
        return selectors.careplans_for_api(self.actor)

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "internal": self.actor.is_plan_staff}

    def list(self, request, *args, **kwargs):
        response = super().list(request, *args, **kwargs)
        audit_reads(self.actor, [c.member for c in self.paginator.page.items], via="api care plan list", action="list")
        return response


class CarePlanDetail(ActorMixin, generics.RetrieveAPIView):
    """One care plan, by the care plan's id or the member's id."""

    serializer_class = CarePlanSerializer

    def retrieve(self, request, *args, **kwargs):
        care_plan = selectors.careplan_for_api(self.actor, kwargs["care_plan_id"])
        return Response(CarePlanSerializer(care_plan, context={"internal": self.actor.is_plan_staff}).data)


class AcknowledgementSerializer(serializers.Serializer):
    version = serializers.IntegerField(help_text="The shared version acknowledged.")
    acknowledged_at = serializers.DateTimeField()
    acknowledged_by = serializers.CharField()


class CarePlanAcknowledge(ActorMixin, APIView):
    """The practice acknowledges the shared care plan at its current shared version (again for
    the same version: the same acknowledgement). The care manager is told once."""

    @extend_schema(request=None, responses={200: AcknowledgementSerializer})
    def post(self, request, care_plan_id):
        care_plan = selectors.careplan_for_api(self.actor, care_plan_id)
        ack = services.careplan_acknowledge(actor=self.actor, care_plan=care_plan)
        data = {
            "version": ack.version,
            "acknowledged_at": ack.acknowledged_at,
            "acknowledged_by": str(ack.acknowledged_by),
        }
        return Response(AcknowledgementSerializer(data).data)
