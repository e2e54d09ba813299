from rest_framework import serializers

from members.models import Attribution, EligibilitySpan, Member, RosterImport


class MemberListSerializer(serializers.Serializer):
    """A list row (members.selectors.member_rows gives dicts)."""

    id = serializers.UUIDField(source="public_id")
    member_id = serializers.CharField(source="member_number")
    first_name = serializers.CharField()
    middle_name = serializers.CharField()
    last_name = serializers.CharField()
    date_of_birth = serializers.DateField()
    sex = serializers.CharField()
    preferred_language = serializers.CharField()
    risk_tier = serializers.SerializerMethodField()
    practice = serializers.CharField(source="practice_name", allow_null=True)
    eligible = serializers.BooleanField()

    def get_risk_tier(self, row: dict) -> str | None:
        """Only where the viewer may see it (a practice: under a release naming it)."""
        return (row["risk_tier"] or None) if row["risk_visible"] else None


class EligibilitySerializer(serializers.ModelSerializer):
    class Meta:
        model = EligibilitySpan
        fields = ["start_date", "end_date", "product"]


class AttributionSerializer(serializers.ModelSerializer):
    practice = serializers.UUIDField(source="practice.public_id")
    practice_name = serializers.CharField(source="practice.name")

    class Meta:
        model = Attribution
        fields = ["practice", "practice_name", "start_date", "end_date", "source"]


class MemberDetailSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id", read_only=True)
    member_id = serializers.CharField(source="member_number", read_only=True)
    plan = serializers.CharField(source="plan.name", read_only=True)
    eligibility = EligibilitySerializer(source="eligibility_spans", many=True, read_only=True)
    attributions = AttributionSerializer(many=True, read_only=True)
    risk = serializers.SerializerMethodField()

    class Meta:
        model = Member
        fields = [
            "id",
            "member_id",
            "plan",
            "first_name",
            "middle_name",
            "last_name",
            "date_of_birth",
            "sex",
            "preferred_language",
            "phone",
            "email",
            "address_line1",
            "address_line2",
            "city",
            "state",
            "postal_code",
            "guardian_name",
            "guardian_relationship",
            "guardian_phone",
            "eligibility",
            "attributions",
            "risk",
        ]

    def get_risk(self, member: Member) -> dict | None:
        """Tier for whoever may see it; the inputs behind it only for plan staff (see the summary page)."""
        visibility = self.context["risk_visibility"]
        if not visibility.tier:
            return None
        data = {"tier": member.risk_tier or None, "score": member.risk_score}
        if visibility.inputs:
            data["inputs"] = member.risk_inputs
            data["computed_at"] = member.risk_computed_at
        return data


class RosterImportSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id", read_only=True)
    uploaded_by = serializers.CharField(source="uploaded_by.username", read_only=True)
    progress = serializers.SerializerMethodField()

    class Meta:
        model = RosterImport
        fields = [
            "id",
            "original_name",
            "sha256",
            "size_bytes",
            "status",
            "total_rows",
            "processed_rows",
            "created_count",
            "updated_count",
            "unchanged_count",
            "error_count",
            "errors",
            "message",
            "uploaded_by",
            "created_at",
            "started_at",
            "finished_at",
            "progress",
        ]

    def get_progress(self, roster_import: RosterImport) -> dict:
        from members.selectors import roster_import_progress

        progress = roster_import_progress(roster_import)
        return {"rows": progress.rows, "percent": progress.percent, "phase": progress.phase}


class RosterUploadSerializer(serializers.Serializer):
    file = serializers.FileField()
