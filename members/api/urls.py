from django.urls import path

from members.api import views

urlpatterns = [
    path("members/", views.MemberList.as_view(), name="api-member-list"),
    path("members/<uuid:member_id>/", views.MemberDetail.as_view(), name="api-member-detail"),
    path("roster-imports/", views.RosterImportList.as_view(), name="api-roster-import-list"),
    path("roster-imports/<uuid:import_id>/", views.RosterImportDetail.as_view(), name="api-roster-import-detail"),
]
