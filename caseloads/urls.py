from django.urls import path

from caseloads import views

urlpatterns = [
    path("worklist/", views.worklist, name="worklist"),
    path("tasks/<uuid:task_id>/close/", views.task_close, name="task-close"),
    path("members/<uuid:member_id>/tasks/new/", views.task_new, name="task-new"),
    path("members/<uuid:member_id>/contacts/", views.member_contacts, name="member-contacts"),
    path("enrollments/<uuid:enrollment_id>/", views.enrollment_detail, name="enrollment-detail"),
    path("enrollments/<uuid:enrollment_id>/acuity/", views.enrollment_acuity, name="enrollment-acuity"),
    path("enrollments/<uuid:enrollment_id>/end/", views.enrollment_end, name="enrollment-end"),
    path(
        "enrollments/<uuid:enrollment_id>/co-management/",
        views.enrollment_co_management,
        name="enrollment-co-management",
    ),
    path("enrollments/<uuid:enrollment_id>/delivery/", views.enrollment_delivery, name="enrollment-delivery"),
    path("caseloads/", views.dashboard, name="caseload-dashboard"),
    path("caseloads/rounds/", views.rounds, name="caseload-rounds"),
    path("caseloads/<uuid:user_id>/", views.caseload, name="caseload"),
    path("caseloads/<uuid:user_id>/reassign/", views.caseload_reassign, name="caseload-reassign"),
    path("caseloads/<uuid:user_id>/coverage/", views.caseload_coverage, name="caseload-coverage"),
]
