from django.urls import reverse
from rest_framework import serializers

from caregaps.models import CareGap, GapEvent


class GapEventSerializer(serializers.ModelSerializer):
    by = serializers.CharField(source="actor_label")
    files = serializers.SerializerMethodField()

    class Meta:
        model = GapEvent
        fields = ["at", "by", "from_status", "to_status", "note", "service_date", "code", "files"]

    def get_files(self, event: GapEvent) -> list[dict]:
        """The documents sent with this move: name, type, size and the download (an access-checked page URL)."""
        return [
            {
                "name": f.original_name,
                "content_type": f.content_type,
                "size": f.size_bytes,
                "url": reverse("caregap-file", args=[event.gap.public_id, f.public_id]),
            }
            for f in event.files.all()
        ]


class CareGapSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id")
    member = serializers.SerializerMethodField()
    measure = serializers.SerializerMethodField()

    class Meta:
        model = CareGap
        fields = [
            "id",
            "member",
            "measure",
            "description",
            "due_date",
            "status",
            "source",
            "scheduled_for",
            "provider_npi",
            "provider_name",
            "opened_at",
            "closed_at",
        ]

    def get_member(self, gap: CareGap) -> dict:
        m = gap.member
        return {"id": str(m.public_id), "member_number": m.member_number, "name": m.full_name}

    def get_measure(self, gap: CareGap) -> dict:
        return {"code": gap.measure.code, "name": gap.measure.name}
