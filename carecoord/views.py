"""The landing page: one per role, each showing what that person starts their day with."""

import datetime as dt

from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from core import selectors as core_selectors
from core.http import render_page, staff_view
from members import selectors as member_selectors
from organizations import selectors as org_selectors
from organizations.models import Role, User


@staff_view
def home(request: HttpRequest) -> HttpResponse:
    actor = request.actor
    context: dict = {"inbox": list(core_selectors.inbox(actor)[:5])}
    if actor.organization is None:
        return render_page(request, "home/no_organization.html", context, status=403)
    if actor.is_plan_staff:
        context["deadlines"] = core_selectors.upcoming_deadlines(actor, within_days=7)
        if actor.role == Role.PLAN_ADMIN:
            context["imports"] = list(member_selectors.roster_imports(actor)[:5])
            horizon = timezone.localdate() + dt.timedelta(days=60)
            context["reviews_due"] = list(org_selectors.partnerships(actor).filter(next_review_on__lte=horizon))
        if actor.role == Role.SUPERVISOR:
            context["team"] = list(
                org_selectors.staff(actor).filter(
                    is_active=True, role__in=[Role.CARE_MANAGER, Role.CARE_COORDINATOR, Role.MEMBER_ADVOCATE]
                )
            )
        template = "home/plan.html"
    elif actor.is_practice_staff:
        context["partnerships"] = list(org_selectors.partnerships(actor))
        template = "home/practice.html"
    else:
        context["colleagues"] = list(User.objects.visible_to(actor).filter(is_active=True)[:20])
        template = "home/community.html"
    return render_page(request, template, context)
