from rest_framework import serializers

from careplans.documents import plan_document
from careplans.models import CarePlan, Domain, GoalPriority, GoalProgress, InterventionStatus, OwnerKind


class ProblemSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    domain = serializers.ChoiceField(choices=Domain.choices)
    description = serializers.CharField()
    root_causes = serializers.CharField()
    shareable = serializers.BooleanField()
    substance_use = serializers.BooleanField(help_text="Substance-use disorder information (42 CFR Part 2).")


class GoalSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    problem = serializers.UUIDField(
        allow_null=True, help_text="Null when not linked, or linked to a problem not shared with you."
    )
    member_words = serializers.CharField(help_text="The goal in the member's own words.")
    agreed_on = serializers.DateField(allow_null=True)
    priority = serializers.ChoiceField(choices=GoalPriority.choices)
    target_date = serializers.DateField(allow_null=True)
    progress = serializers.ChoiceField(choices=GoalProgress.choices)
    progress_note = serializers.CharField()
    shareable = serializers.BooleanField()
    substance_use = serializers.BooleanField(help_text="Substance-use disorder information (42 CFR Part 2).")


class InterventionSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    goal = serializers.UUIDField(allow_null=True)
    description = serializers.CharField()
    owner_kind = serializers.ChoiceField(choices=OwnerKind.choices)
    owner_organization = serializers.CharField(allow_null=True)
    due_date = serializers.DateField(allow_null=True)
    status = serializers.ChoiceField(choices=InterventionStatus.choices)
    shareable = serializers.BooleanField()
    substance_use = serializers.BooleanField(help_text="Substance-use disorder information (42 CFR Part 2).")
    added_by_practice = serializers.BooleanField()


class CarePlanSerializer(serializers.Serializer):
    """The care plan as the caller may see it: a practice gets the shared items only, and no
    barriers, strengths or review date (plan-internal)."""

    id = serializers.UUIDField()
    member = serializers.UUIDField()
    version = serializers.IntegerField(help_text="For a practice: the version of the part shared with it.")
    updated_at = serializers.DateTimeField(help_text="For a practice: when the shared part last changed.")
    shared_version = serializers.IntegerField(required=False, help_text="Plan staff only.")
    problems = ProblemSerializer(many=True)
    goals = GoalSerializer(many=True)
    interventions = InterventionSerializer(many=True)
    barriers = serializers.CharField(required=False, help_text="Plan staff only.")
    strengths = serializers.CharField(required=False, help_text="Plan staff only.")
    next_review_on = serializers.DateField(required=False, allow_null=True, help_text="Plan staff only.")

    def to_representation(self, care_plan: CarePlan) -> dict:
        # The items were prefetched through their scopes (careplans.selectors.careplans_for_api).
        return plan_document(
            care_plan,
            problems=care_plan.shown_problems,
            goals=care_plan.shown_goals,
            interventions=care_plan.shown_interventions,
            internal=self.context["internal"],
        )
