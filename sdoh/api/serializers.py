from rest_framework import serializers

from sdoh.models import CommunityService, Need, Screening, SocialReferral


class NeedSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id")

    class Meta:
        model = Need
        fields = [
            "id",
            "category",
            "title",
            "gravity_code",
            "status",
            "suggested_problem",
            "suggested_goal",
            "evidence",
        ]


class ScreeningSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id")
    member = serializers.SerializerMethodField()
    needs = NeedSerializer(many=True, read_only=True)
    entered_by = serializers.CharField(source="entered_by_organization.name")

    class Meta:
        model = Screening
        fields = [
            "id",
            "member",
            "instrument",
            "screened_on",
            "source",
            "positive",
            "safety_score",
            "result",
            "answers",
            "needs",
            "entered_by",
            "created_at",
        ]

    def get_member(self, screening: Screening) -> dict:
        m = screening.member
        return {"id": str(m.public_id), "member_number": m.member_number}


class ScreeningIn(serializers.Serializer):
    """A screening sent in: answers by question LOINC code, or a FHIR QuestionnaireResponse (or a
    panel Observation / Bundle) that sdoh.instruments can read."""

    member = serializers.UUIDField()
    instrument = serializers.CharField(required=False, allow_blank=True)
    screened_on = serializers.DateField(required=False)
    answers = serializers.DictField(required=False)
    fhir = serializers.DictField(required=False)

    def validate(self, data):
        if ("answers" in data) == ("fhir" in data):
            raise serializers.ValidationError({"answers": ["Send either answers or fhir, not both or neither."]})
        if "answers" in data and not data.get("instrument"):
            raise serializers.ValidationError({"instrument": ["is required with answers (96777-8 or 93025-5)."]})
        return data


class CommunityServiceSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id")
    organization = serializers.CharField(source="organization_name")

    class Meta:
        model = CommunityService
        fields = [
            "id",
            "organization",
            "name",
            "description",
            "categories",
            "eligibility",
            "languages",
            "hours",
            "zip_codes",
            "phone",
            "email",
            "website",
            "last_verified",
        ]


class SocialReferralSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id")
    organization = serializers.CharField(source="organization.name")
    member = serializers.SerializerMethodField()
    service = serializers.CharField(source="service.name", default=None)

    class Meta:
        model = SocialReferral
        fields = [
            "id",
            "member",
            "organization",
            "service",
            "kind",
            "status",
            "request_note",
            "status_reason",
            "pickup",
            "created_at",
            "responded_at",
            "closed_at",
            "escalated_at",
        ]

    def get_member(self, referral: SocialReferral) -> dict:
        """The minimum the receiving organization needs (name, phone, language, ZIP code)."""
        m = referral.member
        return {
            "name": m.full_name,
            "phone": m.phone,
            "language": m.preferred_language,
            "zip_code": (m.postal_code or "")[:5],
        }


class SocialReferralMove(serializers.Serializer):
    """`{"to": <Gravity task status>, "reason": "..."}`: a reason is needed to decline, to report
    a service not delivered, and to cancel."""

    to = serializers.ChoiceField(choices=SocialReferral.Status.choices)
    reason = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)
