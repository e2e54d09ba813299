from django.apps import AppConfig


class CaregapsConfig(AppConfig):
    name = "caregaps"
    verbose_name = "Care gaps"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from caregaps import services
        from members.signals import attributions_changed

        attributions_changed.connect(services.attributions_changed, dispatch_uid="caregaps.attributions_changed")
