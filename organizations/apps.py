from django.apps import AppConfig


class OrganizationsConfig(AppConfig):
    name = "organizations"
    verbose_name = "Organizations and staff"

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from organizations import signals  # noqa: F401  (connects the audit receivers)
        from organizations.roles import sync_all_role_permissions

        post_migrate.connect(sync_all_role_permissions, sender=self)
