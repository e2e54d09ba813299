from rest_framework import generics

from core.api import ActorMixin
from organizations import selectors
from organizations.api.serializers import (
    OrganizationSerializer,
    PartnershipSerializer,
    StaffSerializer,
)


class OrganizationList(ActorMixin, generics.ListAPIView):
    """The caller's organization, its partners, and the shared community and facility directory."""

    serializer_class = OrganizationSerializer
    keyset_ordering = ("name", "id")

    def get_queryset(self):
        return selectors.organizations(self.actor)


class OrganizationDetail(ActorMixin, generics.RetrieveAPIView):
    serializer_class = OrganizationSerializer

    def get_object(self):
        return selectors.access_organization(self.actor, self.kwargs["organization_id"])


class PartnershipList(ActorMixin, generics.ListAPIView):
    serializer_class = PartnershipSerializer
    keyset_ordering = ("id",)

    def get_queryset(self):
        return selectors.partnerships(self.actor)


class PartnershipDetail(ActorMixin, generics.RetrieveAPIView):
    serializer_class = PartnershipSerializer

    def get_object(self):
        return selectors.access_partnership(self.actor, self.kwargs["partnership_id"])


class StaffList(ActorMixin, generics.ListAPIView):
    """People of the caller's own organization."""

    serializer_class = StaffSerializer
    keyset_ordering = ("last_name", "first_name", "id")

    def get_queryset(self):
        return selectors.staff(self.actor)


class StaffDetail(ActorMixin, generics.RetrieveAPIView):
    serializer_class = StaffSerializer

    def get_object(self):
        self.actor.require("organizations.view_staff")
        return selectors.access_staff(self.actor, self.kwargs["user_id"])
