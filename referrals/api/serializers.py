from rest_framework import serializers

from referrals.models import ContactMethod, Referral, Source, Status, Urgency
from referrals.services import next_step, next_step_for


class ReferralSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id", read_only=True)
    member = serializers.UUIDField(source="member.public_id", read_only=True)
    member_id = serializers.CharField(source="member.member_number", read_only=True)
    referring_practice = serializers.CharField(source="referring_practice.name", read_only=True, allow_null=True)
    care_manager = serializers.SerializerMethodField()
    next_step = serializers.SerializerMethodField()
    linked_to = serializers.UUIDField(source="linked_to.public_id", read_only=True, allow_null=True)

    class Meta:
        model = Referral
        fields = [
            "id",
            "member",
            "member_id",
            "status",
            "source",
            "referring_practice",
            "reason",
            "urgency",
            "priority",
            "program",
            "skill_needed",
            "care_manager",
            "next_step",
            "due_at",
            "submitted_at",
            "status_changed_at",
            "outcome_reason",
            "linked_to",
        ]

    def get_care_manager(self, referral: Referral) -> str | None:
        return str(referral.assigned_to) if referral.assigned_to_id else None

    def get_next_step(self, referral: Referral) -> str:
        return next_step(referral)


# The list reads rows as values() and writes them with list_row(): the same fields as
# ReferralSerializer (a test holds them equal), without DRF's per-field work on every row
# (README, Benchmarks). ReferralSerializer still documents the list in the OpenAPI schema.
LIST_VALUES = (
    "id",
    "public_id",
    "status",
    "source",
    "reason",
    "urgency",
    "priority",
    "queue_rank",
    "program",
    "skill_needed",
    "due_at",
    "submitted_at",
    "status_changed_at",
    "outcome_reason",
    "member__public_id",
    "member__member_number",
    "referring_practice__name",
    "assigned_to_id",
    "assigned_to__first_name",
    "assigned_to__last_name",
    "assigned_to__username",
    "linked_to__public_id",
)
_datetime = serializers.DateTimeField()


def _when(value):
    return _datetime.to_representation(value) if value is not None else None


def list_row(r: dict) -> dict:
    manager = None
    if r["assigned_to_id"]:
        manager = f"{r['assigned_to__first_name']} {r['assigned_to__last_name']}".strip() or r["assigned_to__username"]
    linked = r["linked_to__public_id"]
    return {
        "id": str(r["public_id"]),
        "member": str(r["member__public_id"]),
        "member_id": r["member__member_number"],
        "status": r["status"],
        "source": r["source"],
        "referring_practice": r["referring_practice__name"],
        "reason": r["reason"],
        "urgency": r["urgency"],
        "priority": r["priority"],
        "program": r["program"],
        "skill_needed": r["skill_needed"],
        "care_manager": manager,
        "next_step": next_step_for(r["status"], manager or ""),
        "due_at": _when(r["due_at"]),
        "submitted_at": _when(r["submitted_at"]),
        "status_changed_at": _when(r["status_changed_at"]),
        "outcome_reason": r["outcome_reason"],
        "linked_to": str(linked) if linked is not None else None,
    }


class ReferralDetailSerializer(ReferralSerializer):
    timeline = serializers.SerializerMethodField()

    class Meta(ReferralSerializer.Meta):
        fields = [
            *ReferralSerializer.Meta.fields,
            "diagnoses",
            "recent_utilization",
            "clinical_context",
            "contact_method",
            "contact_time",
            "timeline",
        ]

    def get_timeline(self, referral: Referral) -> list[dict]:
        """Status changes and reasons; plan-internal notes only for plan staff."""
        internal = self.context["internal"]
        return [
            {
                "kind": e.kind,
                "from": e.from_status or None,
                "to": e.to_status or None,
                "reason": e.reason,
                "at": e.at,
                **({"internal_note": e.internal_note} if internal else {}),
            }
            for e in self.context["events"]
        ]


class ReferralCreateSerializer(serializers.Serializer):
    member = serializers.UUIDField(help_text="The member's id (the `id` of /api/v1/members/).")
    reason = serializers.CharField(max_length=4000)
    urgency = serializers.ChoiceField(choices=Urgency.choices, default=Urgency.ROUTINE)
    source = serializers.ChoiceField(
        choices=Source.choices,
        required=False,
        help_text="Plan staff only; a practice's referrals come from the practice.",
    )
    referring_practice = serializers.UUIDField(required=False)
    diagnoses = serializers.CharField(required=False, allow_blank=True, max_length=4000, default="")
    recent_utilization = serializers.CharField(required=False, allow_blank=True, max_length=4000, default="")
    clinical_context = serializers.CharField(required=False, allow_blank=True, max_length=8000, default="")
    contact_method = serializers.ChoiceField(
        choices=ContactMethod.choices, required=False, allow_blank=True, default=""
    )
    contact_time = serializers.CharField(required=False, allow_blank=True, max_length=100, default="")


class TransitionSerializer(serializers.Serializer):
    to = serializers.ChoiceField(choices=[s for s in Status.choices if s[0] != Status.LINKED])
    reason = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)
    internal_note = serializers.CharField(required=False, allow_blank=True, default="", max_length=4000)
    priority = serializers.IntegerField(required=False, min_value=1, max_value=4)
    program = serializers.CharField(required=False, default="")
    skill_needed = serializers.CharField(required=False, default="")
    assignee = serializers.UUIDField(required=False, help_text="A care manager's staff id, to assign.")
    acuity = serializers.CharField(required=False, default="")
