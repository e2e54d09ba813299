from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = "Core: audit, deadlines, notifications"

    def ready(self) -> None:
        # Deadline handlers register themselves on import; load every app's handlers module so a
        # worker knows every kind before it fires one.
        from django.utils.module_loading import autodiscover_modules

        from core import lookups  # noqa: F401  (registers field__any)

        autodiscover_modules("handlers")
