from django.urls import path

from members import views

urlpatterns = [
    path("members/", views.member_list, name="member-list"),
    path("members/<uuid:member_id>/", views.member_detail, name="member-detail"),
    path("members/<uuid:member_id>/edit/", views.member_edit, name="member-edit"),
    path("members/<uuid:member_id>/care-team/add/", views.care_team_add, name="care-team-add"),
    path("members/<uuid:member_id>/care-team/<uuid:entry_id>/end/", views.care_team_end, name="care-team-end"),
    path(
        "members/<uuid:member_id>/care-team/<uuid:entry_id>/point-of-contact/",
        views.care_team_point_of_contact,
        name="care-team-point-of-contact",
    ),
    path("members/<uuid:member_id>/releases/add/", views.release_add, name="release-add"),
    path("members/<uuid:member_id>/releases/<uuid:release_id>/revoke/", views.release_revoke, name="release-revoke"),
    path("rosters/", views.roster_list, name="roster-list"),
    path("rosters/sample.csv", views.roster_sample, name="roster-sample"),
    path("rosters/<uuid:import_id>/", views.roster_detail, name="roster-detail"),
]
