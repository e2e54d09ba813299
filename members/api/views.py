"""Members API: scoped exactly as the pages, through the same selectors."""

from django.core.exceptions import ValidationError as DjangoValidationError
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, parsers, status
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from core.api import ActorMixin
from members import selectors, services
from members.api.serializers import (
    MemberDetailSerializer,
    MemberListSerializer,
    RosterImportSerializer,
    RosterUploadSerializer,
)
from members.filters import MemberFilter


class MemberList(ActorMixin, generics.ListAPIView):
    """Members the caller may see: a plan's members, or a practice's attributed patients.

    `q` searches by name (typos forgiven), date of birth or member id and returns the best 50
    matches without paging; otherwise results page by keyset in name order.
    """

    serializer_class = MemberListSerializer
    filter_backends = [DjangoFilterBackend]
    filterset_class = MemberFilter
    keyset_ordering = selectors.LIST_ORDER

    def get_queryset(self):
        self.actor.require("organizations.view_members")
        return selectors.member_rows(self.actor)

    @extend_schema(parameters=[OpenApiParameter("q", str, description="Name, date of birth or member id.")])
    def get(self, request, *args, **kwargs):
        query = request.query_params.get("q", "").strip()
        if not query:
            response = super().get(request, *args, **kwargs)
            selectors.audit_reads(self.actor, self.paginator.page.items, via="api member list", action="list")
            return response
        qs = self.filter_queryset(self.get_queryset())
        results = selectors.member_search(self.actor, qs, query)
        selectors.audit_reads(self.actor, results, via="api member search", action="search")
        data = self.get_serializer(results, many=True).data
        return Response({"next": None, "previous": None, "results": data})


class MemberDetail(ActorMixin, generics.RetrieveAPIView):
    serializer_class = MemberDetailSerializer
    lookup_url_kwarg = "member_id"

    def retrieve(self, request, *args, **kwargs):
        member = selectors.member_detail_for_api(self.actor, self.kwargs["member_id"])
        context = {**self.get_serializer_context(), "risk_visibility": selectors.risk_visibility(self.actor, member)}
        return Response(MemberDetailSerializer(member, context=context).data)


class RosterImportList(ActorMixin, generics.ListCreateAPIView):
    """Upload a roster CSV (multipart, field `file`); it is imported in the background. Poll the
    returned import until `status` is `succeeded` or `rejected` (then `errors` lists every bad row)."""

    parser_classes = [parsers.MultiPartParser]
    keyset_ordering = ("-created_at", "-id")

    def get_serializer_class(self):
        return RosterUploadSerializer if self.request.method == "POST" else RosterImportSerializer

    def get_queryset(self):
        self.actor.require("organizations.import_roster")
        return selectors.roster_imports(self.actor)

    @extend_schema(request=RosterUploadSerializer, responses={202: RosterImportSerializer})
    def post(self, request, *args, **kwargs):
        self.actor.require("organizations.import_roster")
        upload = RosterUploadSerializer(data=request.data)
        upload.is_valid(raise_exception=True)
        try:
            roster_import = services.roster_import_start(actor=self.actor, upload=upload.validated_data["file"])
        except DjangoValidationError as error:
            raise ValidationError(error.message_dict if hasattr(error, "error_dict") else error.messages) from error
        return Response(RosterImportSerializer(roster_import).data, status=status.HTTP_202_ACCEPTED)


class RosterImportDetail(ActorMixin, generics.RetrieveAPIView):
    serializer_class = RosterImportSerializer

    def get_object(self):
        return selectors.access_roster_import(self.actor, self.kwargs["import_id"])
