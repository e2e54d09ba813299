from django.urls import path

from caseloads.api import views

urlpatterns = [
    path("enrollments/", views.EnrollmentList.as_view(), name="api-enrollment-list"),
    path("enrollments/<uuid:enrollment_id>/", views.EnrollmentDetail.as_view(), name="api-enrollment-detail"),
    path("tasks/", views.TaskList.as_view(), name="api-task-list"),
    path("tasks/<uuid:task_id>/", views.TaskDetail.as_view(), name="api-task-detail"),
]
