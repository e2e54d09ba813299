"""`POST /api/v1/adt/messages/`: HL7 v2 ADT over HTTP, answered with HL7 ACKs.

Body (README "ADT in"), either:
  * `text/plain` or `application/hl7-v2` (also `x-application/hl7-v2+er7`): one message, or
    several one after another (each MSH starts the next; FHS/BHS batch envelopes are allowed
    and ignored). The answer is the ACKs in the same order, as `application/hl7-v2`.
  * `application/json` `{"messages": ["MSH|…", …]}`: the answer is JSON
    `{"acks": [{"control_id", "code", "text", "ack"}, …]}` in the same order.
The HTTP status is 200 whenever the body was read: each message's fate is in its own ACK.
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpResponse
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import exceptions
from rest_framework.parsers import BaseParser, JSONParser
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api import ActorMixin
from interop import hl7v2
from transitions import services
from transitions.models import Transport

MAX_BATCH = 1000
HL7_MEDIA_TYPE = "application/hl7-v2"


class HL7Parser(BaseParser):
    media_type = "*/*"  # text/plain, application/hl7-v2, x-application/hl7-v2+er7: the bytes as sent

    def parse(self, stream, media_type=None, parser_context=None):
        return stream.read() if stream is not None else b""


class AdtMessageReceive(ActorMixin, APIView):
    parser_classes = [JSONParser, HL7Parser]
    throttle_classes: list = []

    @extend_schema(
        request={"text/plain": {"type": "string"}, "application/json": {"type": "object"}},
        responses={200: OpenApiResponse(description="HL7 ACKs (application/hl7-v2) or JSON acks")},
    )
    def post(self, request):
        actor = self.actor
        actor.require("organizations.send_adt")
        # DRF reads a raw body without Django's size check: refuse a huge one before reading it.
        length = request.META.get("CONTENT_LENGTH") or "0"
        if not length.isdigit() or int(length) > settings.DATA_UPLOAD_MAX_MEMORY_SIZE:
            return Response(
                {
                    "messages": [
                        f"The body is larger than {settings.DATA_UPLOAD_MAX_MEMORY_SIZE} bytes; send smaller batches."
                    ]
                },
                status=413,
            )
        is_json = request.content_type.split(";")[0].strip() == "application/json"
        if is_json:
            items = request.data.get("messages") if isinstance(request.data, dict) else None
            if not isinstance(items, list) or not all(isinstance(m, str) for m in items):
                raise exceptions.ValidationError({"messages": ["Send a list of HL7 messages, each a string."]})
            raws = [m.encode("utf-8") for m in items]
        else:
            body = request.data if isinstance(request.data, bytes) else b""
            raws = hl7v2.split_batch(body) if body.strip() else []
        if not raws:
            raise exceptions.ValidationError({"messages": ["The body holds no HL7 message."]})
        if len(raws) > MAX_BATCH:
            raise exceptions.ValidationError({"messages": [f"At most {MAX_BATCH} messages per request."]})
        results = [
            services.adt_receive(
                raw=raw, transport=Transport.HTTP, actor=actor, max_bytes=settings.HL7_MAX_MESSAGE_BYTES
            )
            for raw in raws
        ]
        if is_json:
            return Response(
                {
                    "acks": [
                        {
                            "control_id": r.message.control_id if r.message else "",
                            "code": r.code,
                            "text": r.text,
                            "ack": r.ack,
                        }
                        for r in results
                    ]
                }
            )
        return HttpResponse("".join(r.ack for r in results), content_type=f"{HL7_MEDIA_TYPE}; charset=utf-8")
