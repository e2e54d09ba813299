"""Who is asking: resolved once per request, then passed to every scope and permission check.

`Actor.for_user()` loads the person's organization and partners; `get_actor(request)` caches it on
the request so HTML views and API views (token or session) resolve it the same way.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.utils import timezone
from django.utils.functional import cached_property
from guardian.core import ObjectPermissionChecker

from organizations.models import Organization, Partnership, Role, User
from organizations.roles import ROLE_TABLE_VERSION

if TYPE_CHECKING:
    from django.http import HttpRequest


PERMISSION_CACHE_SECONDS = 300


@dataclass(eq=False)
class Actor:
    user: User | None
    organization: Organization | None
    role: str = ""
    partner_plan_ids: frozenset[int] = frozenset()
    partner_practice_ids: frozenset[int] = frozenset()
    plan_zones: tuple[tuple[int, str], ...] = ()  # (plan id, time zone) of the actor's plans
    is_system: bool = False
    _checker: ObjectPermissionChecker | None = field(default=None, repr=False)
    _own: frozenset[str] | None = field(default=None, repr=False)

    @classmethod
    def nobody(cls) -> Actor:
        return cls(user=None, organization=None)

    @classmethod
    def system(cls) -> Actor:
        """CareCoord itself (deadline handlers, seeding): may act, sees nothing through scopes.
        Never built from a request."""
        return cls(user=None, organization=None, is_system=True)

    @classmethod
    def for_user(cls, user: Any) -> Actor:
        if user is None or not user.is_authenticated or not user.is_active or not user.organization_id:
            return cls(user=user if user is not None and user.is_authenticated else None, organization=None)
        organization = user.organization
        if not organization.is_active:  # a deactivated organization's staff see nothing
            return cls(user=user, organization=None)
        plans: frozenset[int] = frozenset()
        practices: frozenset[int] = frozenset()
        zones: tuple[tuple[int, str], ...] = ()
        active = Partnership.objects.active().order_by()
        if organization.kind == Organization.Kind.PLAN:
            plans = frozenset({organization.pk})
            zones = ((organization.pk, organization.timezone),)
            practices = frozenset(active.filter(plan_id=organization.pk).values_list("practice_id", flat=True))
        elif organization.kind == Organization.Kind.PRACTICE:
            rows = list(active.filter(practice_id=organization.pk).values_list("plan_id", "plan__timezone"))
            plans = frozenset(plan_id for plan_id, _ in rows)
            zones = tuple(sorted(set(rows)))
        return cls(
            user=user,
            organization=organization,
            role=user.role,
            partner_plan_ids=plans,
            partner_practice_ids=practices,
            plan_zones=zones,
        )

    @property
    def kind(self) -> str:
        return self.organization.kind if self.organization else ""

    @property
    def is_plan_staff(self) -> bool:
        return self.kind == Organization.Kind.PLAN

    @property
    def is_practice_staff(self) -> bool:
        return self.kind == Organization.Kind.PRACTICE

    @property
    def is_community_staff(self) -> bool:
        return self.kind == Organization.Kind.COMMUNITY

    @property
    def plan(self) -> Organization | None:
        """The plan a plan-staff actor works for (None for everyone else)."""
        return self.organization if self.is_plan_staff else None

    def local_today(self) -> dt.date | None:
        """Today in the actor's plans' time zone, when all of them agree on the date (nearly
        always); None when they straddle midnight, so queries compute each row's plan's date."""
        dates = set(self.plan_dates().values())
        return dates.pop() if len(dates) == 1 else None

    def plan_dates(self) -> dict[int, dt.date]:
        """Today in each of the actor's plans' time zones, by plan id."""
        return {plan_id: timezone.localdate(timezone=zoneinfo.ZoneInfo(name)) for plan_id, name in self.plan_zones}

    @cached_property
    def role_label(self) -> str:
        return Role(self.role).label if self.role else ""

    def can(self, perm: str, on: Organization | Partnership | None = None) -> bool:
        """Container permission check through django-guardian.

        Permissions on the person's own organization (nearly every check) are read once per role
        and cached for PERMISSION_CACHE_SECONDS: they change only with the role table, and a role
        change moves the person to another cache key. Anything else asks guardian directly.
        """
        if self.is_system:
            return True
        container = on if on is not None else self.organization
        if self.user is None or container is None:
            return False
        if container == self.organization:
            return perm.split(".")[-1] in self._own_permissions()
        if self._checker is None:
            self._checker = ObjectPermissionChecker(self.user)
        return self._checker.has_perm(perm, container)

    def _own_permissions(self) -> frozenset[str]:
        if self._own is None:
            key = f"perms:{ROLE_TABLE_VERSION}:{self.user.pk}:{self.organization.pk}:{self.role}"
            cached = cache.get(key)
            if cached is None:
                if self._checker is None:
                    self._checker = ObjectPermissionChecker(self.user)
                cached = frozenset(self._checker.get_perms(self.organization))
                cache.set(key, cached, PERMISSION_CACHE_SECONDS)
            self._own = cached
        return self._own

    def require(self, perm: str, on: Organization | Partnership | None = None) -> None:
        """For insiders who may see an object but lack the right to act: 403."""
        if not self.can(perm, on):
            raise PermissionDenied(f"Your role does not allow this ({perm.split('.')[-1].replace('_', ' ')}).")


def get_actor(request: HttpRequest) -> Actor:
    user = getattr(request, "user", None)
    cached: Actor | None = getattr(request, "_carecoord_actor", None)
    if cached is not None and cached.user == (user if user and user.is_authenticated else None):
        return cached
    actor = Actor.for_user(user)
    request._carecoord_actor = actor
    return actor
