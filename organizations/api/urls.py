from django.urls import path

from organizations.api import views

urlpatterns = [
    path("organizations/", views.OrganizationList.as_view(), name="api-organization-list"),
    path("organizations/<uuid:organization_id>/", views.OrganizationDetail.as_view(), name="api-organization-detail"),
    path("partnerships/", views.PartnershipList.as_view(), name="api-partnership-list"),
    path("partnerships/<uuid:partnership_id>/", views.PartnershipDetail.as_view(), name="api-partnership-detail"),
    path("staff/", views.StaffList.as_view(), name="api-staff-list"),
    path("staff/<uuid:user_id>/", views.StaffDetail.as_view(), name="api-staff-detail"),
]
