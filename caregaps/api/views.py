"""Care gaps API: `/api/v1/caregaps/` scoped as the pages (a practice sees its attributed patients'
gaps), one gap with its history, and the gap-file import."""

from __future__ import annotations

import io

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework.exceptions import ValidationError
from rest_framework.parsers import JSONParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from caregaps import selectors, services
from caregaps.api.serializers import CareGapSerializer, GapEventSerializer
from caregaps.forms import ReportFilter
from caregaps.models import Status
from caregaps.selectors import GapFilters
from core.api import ActorMixin
from members.roster import Rejected
from members.selectors import audit_reads

MAX_IMPORT_BYTES = 50 * 1024 * 1024
FILE_SCHEMA = {"type": "string", "format": "binary"}


class GapList(ActorMixin, generics.ListAPIView):
    """Gaps, newest first. Filters as the report's: `measure` (a catalog code), `status` (open,
    scheduled, evidence, exclusion, closed, excluded; `open=1` for every status still to be
    closed), `due_before` (YYYY-MM-DD), `provider` (an NPI, or part of the rendering provider's
    name), `practice` (plan staff: a practice id; its attributed members today)."""

    serializer_class = CareGapSerializer
    keyset_ordering = ("-opened_at", "-id")

    def get_queryset(self):
        params = self.request.query_params
        if params.get("status") and params["status"] not in Status.values:
            raise ValidationError({"status": [f"Must be one of {', '.join(Status.values)}."]})
        practices = selectors.narrowing_practices(self.actor)
        form = ReportFilter(
            {k: params[k] for k in ("measure", "status", "due_before", "provider", "practice") if k in params},
            practices=practices,
        )
        if not form.is_valid():
            raise ValidationError(form.errors)
        d = form.cleaned_data
        f = GapFilters(
            measure=d.get("measure", ""),
            status="open" if params.get("open") == "1" else d.get("status", ""),
            due_before=d.get("due_before"),
            practice=d.get("practice"),
            provider=d.get("provider", ""),
        )
        return selectors.filtered(self.actor, f).select_related("member", "measure")

    def list(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.get_queryset())
        audit_reads(self.actor, list({gap.member_id: gap.member for gap in page}.values()), via="care gaps")
        return self.get_paginated_response(self.get_serializer(page, many=True).data)


class GapDetail(ActorMixin, generics.RetrieveAPIView):
    serializer_class = CareGapSerializer

    def retrieve(self, request, *args, **kwargs):
        gap = selectors.access_gap(self.actor, kwargs["gap_id"])
        data = CareGapSerializer(gap).data
        data["history"] = GapEventSerializer(selectors.gap_history(gap), many=True).data
        return Response(data)


class FHIRJSONParser(JSONParser):
    media_type = "application/fhir+json"


class GapImport(ActorMixin, APIView):
    """POST a gap file (CSV) as multipart `file`, or a FHIR gaps-in-care report (a Bundle or a
    $care-gaps Parameters) as `application/fhir+json` or `application/json`: all or nothing. 201
    with the counts; 400 with every bad row or resource (row, field, message), nothing applied."""

    parser_classes = [MultiPartParser, FHIRJSONParser, JSONParser]

    @extend_schema(
        request={
            "multipart/form-data": {"type": "object", "properties": {"file": {"type": "string", "format": "binary"}}}
        },
        responses={201: OpenApiResponse(description="counts"), 400: OpenApiResponse(description="bad rows")},
    )
    def post(self, request):
        actor = self.actor
        actor.require("organizations.import_care_gaps")
        if "json" in request.content_type:
            return self._answer(lambda: services.gaps_import_fhir(actor=actor, document=request.data))
        upload = request.FILES.get("file")
        if upload is None:
            raise ValidationError({"file": ["Attach the gap file (CSV) as 'file'."]})
        if upload.size > MAX_IMPORT_BYTES:
            raise ValidationError({"file": [f"The file is larger than {MAX_IMPORT_BYTES // (1024 * 1024)} MB."]})
        return self._answer(lambda: services.gaps_import_csv(actor=actor, stream=io.BytesIO(upload.read())))

    def _answer(self, run) -> Response:
        try:
            result = run()
        except Rejected as rejected:
            return Response(
                {"errors": [e.as_dict() for e in rejected.result.errors], "applied": False},
                status=status.HTTP_400_BAD_REQUEST,
            )
        return Response(
            {
                "rows": result.total_rows,
                "created": result.created,
                "updated": result.updated,
                "unchanged": result.unchanged,
                "applied": True,
            },
            status=status.HTTP_201_CREATED,
        )
