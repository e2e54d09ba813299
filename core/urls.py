from django.urls import path

from core import views

urlpatterns = [
    path("inbox/", views.inbox, name="inbox"),
    path("inbox/badge/", views.inbox_badge, name="inbox-badge"),
    path("inbox/read-all/", views.inbox_read_all, name="inbox-read-all"),
    path("inbox/<uuid:notification_id>/open/", views.inbox_open, name="inbox-open"),
    path("audit/", views.audit_log, name="audit-log"),
]
