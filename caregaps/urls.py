from django.urls import path

from caregaps import views

urlpatterns = [
    path("care-gaps/", views.gap_report, name="caregap-report"),
    path("care-gaps/export.csv", views.gap_export, name="caregap-export"),
    path("care-gaps/export.xlsx", views.gap_export_xlsx, name="caregap-export-xlsx"),
    path("care-gaps/report.pdf", views.gap_export_pdf, name="caregap-export-pdf"),
    path("care-gaps/reviewed/", views.gap_report_reviewed, name="caregap-reviewed"),
    path("care-gaps/practices/", views.gap_practices, name="caregap-practices"),
    path("care-gaps/<uuid:gap_id>/", views.gap_detail, name="caregap-detail"),
    path("care-gaps/<uuid:gap_id>/files/<uuid:file_id>/", views.gap_file, name="caregap-file"),
    path("care-gaps/<uuid:gap_id>/schedule/", views.gap_schedule, name="caregap-schedule"),
    path("care-gaps/<uuid:gap_id>/evidence/", views.gap_evidence, name="caregap-evidence"),
    path("care-gaps/<uuid:gap_id>/exclusion/", views.gap_exclusion, name="caregap-exclusion"),
    path("care-gaps/<uuid:gap_id>/adjudicate/", views.gap_adjudicate, name="caregap-adjudicate"),
]
