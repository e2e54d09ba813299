from django.apps import AppConfig


class CaregapsConfig(AppConfig):
    name = "caregaps"
    verbose_name = "Care gaps"
    default_auto_field = "django.db.models.BigAutoField"
