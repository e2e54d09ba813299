from rest_framework import serializers

from caregaps.models import CareGap, GapEvent


class GapEventSerializer(serializers.ModelSerializer):
    by = serializers.CharField(source="actor_label")

    class Meta:
        model = GapEvent
        fields = ["at", "by", "from_status", "to_status", "note"]


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
            "opened_at",
            "closed_at",
        ]

    def get_member(self, gap: CareGap) -> dict:
        m = gap.member
        return {"id": str(m.public_id), "member_number": m.member_number, "name": m.full_name}

    def get_measure(self, gap: CareGap) -> dict:
        return {"code": gap.measure.code, "name": gap.measure.name}
