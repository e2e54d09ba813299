from rest_framework import serializers

from caseloads.models import Enrollment, EnrollmentEvent, Task


class EnrollmentSerializer(serializers.ModelSerializer):
    """What a practice may see of an enrollment: its status and who the care manager is."""

    id = serializers.UUIDField(source="public_id", read_only=True)
    member = serializers.UUIDField(source="member.public_id", read_only=True)
    member_id = serializers.CharField(source="member.member_number", read_only=True)
    care_manager = serializers.CharField(source="care_manager.get_full_name", read_only=True)

    class Meta:
        model = Enrollment
        fields = ["id", "member", "member_id", "program", "status", "care_manager", "start_date", "end_date"]


class EnrollmentEventSerializer(serializers.ModelSerializer):
    actor = serializers.CharField(source="actor.username", read_only=True, allow_null=True, default=None)

    class Meta:
        model = EnrollmentEvent
        fields = ["kind", "from_value", "to_value", "reason", "actor", "at"]


class PlanEnrollmentSerializer(EnrollmentSerializer):
    """The plan's view: acuity, co-management, perinatal dates and the history."""

    care_manager_id = serializers.UUIDField(source="care_manager.public_id", read_only=True)
    co_manager = serializers.CharField(source="co_manager.name", read_only=True, allow_null=True, default=None)

    class Meta(EnrollmentSerializer.Meta):
        fields = [
            *EnrollmentSerializer.Meta.fields,
            "care_manager_id",
            "acuity",
            "end_reason",
            "co_managed",
            "co_manager",
            "co_manager_contact",
            "expected_delivery_date",
            "delivery_date",
        ]


class TaskSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id", read_only=True)
    member = serializers.UUIDField(source="member.public_id", read_only=True)
    owner = serializers.UUIDField(source="owner.public_id", read_only=True)
    owner_name = serializers.CharField(source="owner.get_full_name", read_only=True)

    class Meta:
        model = Task
        fields = ["id", "member", "owner", "owner_name", "title", "detail", "due_date", "origin", "status", "closed_at"]


class TaskCreateSerializer(serializers.Serializer):
    member = serializers.UUIDField()
    title = serializers.CharField(max_length=200)
    due_date = serializers.DateField()
    origin = serializers.ChoiceField(choices=Task.Origin.choices)
    owner = serializers.UUIDField(required=False, help_text="Defaults to the person asking.")
    detail = serializers.CharField(required=False, allow_blank=True, default="", max_length=4000)


class TaskUpdateSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=[Task.Status.DONE, Task.Status.CANCELLED])
