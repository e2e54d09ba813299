from rest_framework import serializers

from transitions.models import Appointment, Episode, EpisodeStep


class StepSerializer(serializers.ModelSerializer):
    owner = serializers.CharField(source="owner.get_full_name", read_only=True, allow_null=True, default=None)
    on_time = serializers.BooleanField(read_only=True)

    class Meta:
        model = EpisodeStep
        fields = ["kind", "side", "owner", "due_at", "status", "met_at", "on_time", "missed_at", "escalation"]


class AppointmentSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id", read_only=True)

    class Meta:
        model = Appointment
        fields = [
            "id",
            "scheduled_for",
            "provider_name",
            "is_mental_health_provider",
            "location",
            "status",
            "outcome_note",
            "transport_needed",
            "transport_arranged",
        ]


class EpisodeSerializer(serializers.ModelSerializer):
    """An episode as both sides see it: the stay, the deadlines with their owners, the flags.
    The care manager is named to plan staff only (the practice sees the plan's side as "plan")."""

    id = serializers.UUIDField(source="public_id", read_only=True)
    member = serializers.UUIDField(source="member.public_id", read_only=True)
    member_id = serializers.CharField(source="member.member_number", read_only=True)
    facility = serializers.CharField(source="encounter.facility.name", read_only=True, allow_null=True, default=None)
    practice = serializers.CharField(source="practice.name", read_only=True, allow_null=True, default=None)
    readmission_of = serializers.UUIDField(
        source="readmission_of.public_id", read_only=True, allow_null=True, default=None
    )
    steps = StepSerializer(many=True, read_only=True)

    class Meta:
        model = Episode
        fields = [
            "id",
            "member",
            "member_id",
            "status",
            "facility",
            "admitted_at",
            "discharged_at",
            "practice",
            "is_mental_health",
            "next_due_at",
            "readmitted_at",
            "readmission_of",
            "lace_score",
            "lace_parts",
            "steps",
        ]


class PlanEpisodeSerializer(EpisodeSerializer):
    care_manager = serializers.CharField(
        source="care_manager.get_full_name", read_only=True, allow_null=True, default=None
    )

    class Meta(EpisodeSerializer.Meta):
        fields = [*EpisodeSerializer.Meta.fields, "care_manager"]
