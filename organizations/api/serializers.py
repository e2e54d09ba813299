from rest_framework import serializers

from organizations.models import Organization, Partnership, PartnershipContact, User


class OrganizationSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id", read_only=True)

    class Meta:
        model = Organization
        fields = [
            "id",
            "kind",
            "name",
            "npi",
            "timezone",
            "phone",
            "email",
            "address_line1",
            "city",
            "state",
            "postal_code",
            "is_active",
        ]


class ContactSerializer(serializers.ModelSerializer):
    class Meta:
        model = PartnershipContact
        fields = ["side", "name", "title", "phone", "email", "is_primary"]


class PartnershipSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id", read_only=True)
    plan = OrganizationSerializer(read_only=True)
    practice = OrganizationSerializer(read_only=True)
    contacts = ContactSerializer(many=True, read_only=True)

    class Meta:
        model = Partnership
        fields = [
            "id",
            "plan",
            "practice",
            "status",
            "effective_from",
            "effective_to",
            "next_review_on",
            "agreement_summary",
            "contacts",
        ]


class StaffSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id", read_only=True)
    organization = serializers.UUIDField(source="organization.public_id", read_only=True)

    class Meta:
        model = User
        fields = [
            "id",
            "username",
            "first_name",
            "last_name",
            "email",
            "organization",
            "role",
            "credential",
            "title",
            "team",
            "phone",
            "languages",
            "caseload_capacity",
            "is_active",
        ]
