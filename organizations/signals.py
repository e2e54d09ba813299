"""Sign-ins and sign-outs go to the audit trail."""

from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from core import audit
from organizations.access import Actor


def _plan_id(user) -> int | None:
    organization = getattr(user, "organization", None)
    return organization.pk if organization is not None and organization.is_plan else None


@receiver(user_logged_in)
def _logged_in(sender, request, user, **kwargs) -> None:
    audit.record(
        actor=Actor.for_user(user),
        action=audit.Action.LOGIN,
        object_type="session",
        plan_id=_plan_id(user),
        summary="Signed in",
    )


@receiver(user_logged_out)
def _logged_out(sender, request, user, **kwargs) -> None:
    if user is not None:
        audit.record(
            actor=Actor.for_user(user),
            action=audit.Action.LOGOUT,
            object_type="session",
            plan_id=_plan_id(user),
            summary="Signed out",
        )


@receiver(user_login_failed)
def _login_failed(sender, credentials, request=None, **kwargs) -> None:
    from organizations.models import User

    username = str(credentials.get("username", ""))[:150]
    user = User.objects.select_related("organization").filter(username=username).first()
    audit.record(
        actor=Actor.nobody(),
        action=audit.Action.LOGIN_FAILED,
        object_type="session",
        plan_id=_plan_id(user) if user else None,
        summary=f"Failed sign-in for {username!r}",
    )
