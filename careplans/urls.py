from django.urls import path

from careplans import views

base = "members/<uuid:member_id>/care-plan/"

urlpatterns = [
    path("care-plans/reviews/", views.reviews, name="careplan-reviews"),
    path(base, views.detail, name="careplan-detail"),
    path(f"{base}start/", views.start, name="careplan-start"),
    path(f"{base}notes/", views.notes, name="careplan-notes"),
    path(f"{base}review/", views.review, name="careplan-review"),
    path(f"{base}coordination-notices/", views.coordination_notice, name="careplan-coordination-notice"),
    path(f"{base}print/", views.print_page, name="careplan-print"),
    path(f"{base}care-plan.pdf", views.pdf, name="careplan-pdf"),
    path(f"{base}acknowledge/", views.acknowledge, name="careplan-acknowledge"),
    path(f"{base}practice-interventions/add/", views.practice_intervention, name="careplan-practice-intervention"),
    path(f"{base}versions/", views.version_list, name="careplan-versions"),
    path(f"{base}versions/<int:version>/", views.version_detail, name="careplan-version"),
    path(f"{base}goals/<uuid:goal_id>/progress/", views.goal_progress, name="careplan-goal-progress"),
    path("members/<uuid:member_id>/assessments/", views.assessment_list, name="assessment-list"),
    path("members/<uuid:member_id>/record-requests/new/", views.record_request_new, name="record-request-new"),
    path("record-requests/", views.record_request_list, name="record-request-list"),
    path("record-requests/<uuid:request_id>/", views.record_request_detail, name="record-request-detail"),
    path("record-requests/<uuid:request_id>/answer/", views.record_request_answer, name="record-request-answer"),
    path(
        "record-requests/<uuid:request_id>/files/<uuid:file_id>/", views.record_request_file, name="record-request-file"
    ),
    path(
        "members/<uuid:member_id>/assessments/<uuid:assessment_id>/", views.assessment_detail, name="assessment-detail"
    ),
    path(
        "members/<uuid:member_id>/assessments/<uuid:assessment_id>/add-to-care-plan/",
        views.assessment_add_problem,
        name="assessment-add-problem",
    ),
]
for kind, plural in (("problem", "problems"), ("goal", "goals"), ("intervention", "interventions")):
    urlpatterns += [
        path(f"{base}{plural}/add/", views.item_edit, {"kind": kind}, name=f"careplan-{kind}-add"),
        path(f"{base}{plural}/<uuid:item_id>/edit/", views.item_edit, {"kind": kind}, name=f"careplan-{kind}-edit"),
        path(
            f"{base}{plural}/<uuid:item_id>/remove/", views.item_remove, {"kind": kind}, name=f"careplan-{kind}-remove"
        ),
    ]
