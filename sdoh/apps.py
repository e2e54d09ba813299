from django.apps import AppConfig


class SdohConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "sdoh"
    verbose_name = "Social needs"
