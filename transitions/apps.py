from django.apps import AppConfig


class TransitionsConfig(AppConfig):
    name = "transitions"
    verbose_name = "Transitions of care"
    default_auto_field = "django.db.models.BigAutoField"
