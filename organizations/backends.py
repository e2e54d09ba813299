"""Sign-in backend: Django's, with the person's organization loaded in the same query."""

from __future__ import annotations

from django.contrib.auth import backends, get_user_model


class ModelBackend(backends.ModelBackend):
    """Every signed-in request resolves the person's organization (organizations.access.get_actor
    reads user.organization), so the session's user comes with it: one query fewer per request."""

    def get_user(self, user_id):
        model = get_user_model()
        try:
            user = model._default_manager.select_related("organization").get(pk=user_id)
        except model.DoesNotExist:
            return None
        return user if self.user_can_authenticate(user) else None

    async def aget_user(self, user_id):
        model = get_user_model()
        try:
            user = await model._default_manager.select_related("organization").aget(pk=user_id)
        except model.DoesNotExist:
            return None
        return user if self.user_can_authenticate(user) else None
