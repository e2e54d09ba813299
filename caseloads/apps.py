from django.apps import AppConfig


class CaseloadsConfig(AppConfig):
    name = "caseloads"
    verbose_name = "Care management enrollments and caseloads"
