from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from organizations.access import Actor, get_actor


def _nav(actor: Actor) -> dict[str, bool]:
    return {
        "members": actor.can("organizations.view_members"),
        "rosters": actor.can("organizations.import_roster"),
        "audit": actor.can("organizations.view_audit"),
        "staff": actor.can("organizations.view_staff"),
        "partnerships": actor.is_plan_staff or actor.is_practice_staff,
        "referral_queue": actor.is_plan_staff and actor.can("organizations.view_referrals"),
        "referral_sent": actor.is_practice_staff and actor.can("organizations.view_referrals"),
        "referral_lists": actor.can("organizations.import_referral_lists"),
        "caseloads": actor.is_plan_staff and actor.can("organizations.view_caseloads"),
        "work_caseloads": actor.is_plan_staff and actor.can("organizations.work_caseloads"),
        "supervise": actor.can("organizations.supervise_caseloads"),
        "careplan_reviews": actor.is_plan_staff and actor.can("organizations.view_careplans"),
        "transitions": actor.can("organizations.view_transitions"),
        "care_gaps": actor.can("organizations.view_care_gaps"),
        "social_needs": actor.is_plan_staff and actor.can("organizations.view_social_needs"),
        "resources": actor.can("organizations.view_social_needs"),
        "social_referrals": actor.can("organizations.view_social_referrals") and not actor.is_practice_staff,
        "adt_review": actor.is_plan_staff and actor.can("organizations.review_adt_messages"),
        "record_requests": actor.can(
            "organizations.answer_record_requests" if actor.is_practice_staff else "organizations.request_records"
        ),
    }


def navigation(request: HttpRequest) -> dict:
    """The actor and which sections their role opens, for the layout (evaluated only if used)."""
    if not getattr(request, "user", None) or not request.user.is_authenticated:
        return {}
    actor = get_actor(request)
    return {"actor": actor, "nav": SimpleLazyObject(lambda: _nav(actor))}
