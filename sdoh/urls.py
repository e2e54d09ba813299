from django.urls import path

from sdoh import views

urlpatterns = [
    path("members/<uuid:member_id>/screenings/new/", views.screening_new, name="screening-new"),
    path("screenings/<uuid:screening_id>/", views.screening_detail, name="screening-detail"),
    path("social-needs/", views.needs_worklist, name="needs-worklist"),
    path("social-needs/<uuid:need_id>/outcome/", views.need_outcome, name="need-outcome"),
    path("social-needs/<uuid:need_id>/care-plan/", views.need_to_care_plan, name="need-care-plan"),
    path("social-needs/<uuid:need_id>/refer/", views.social_referral_new, name="social-referral-new"),
    path("social-referrals/", views.social_referrals, name="social-referrals"),
    path("social-referrals/<uuid:social_referral_id>/", views.social_referral_detail, name="social-referral-detail"),
    path(
        "social-referrals/<uuid:social_referral_id>/answer/",
        views.social_referral_answer,
        name="social-referral-answer",
    ),
    path(
        "social-referrals/<uuid:social_referral_id>/cancel/",
        views.social_referral_cancel,
        name="social-referral-cancel",
    ),
    path("resources/", views.resource_search, name="resource-search"),
    path("resources/import/", views.resource_import, name="resource-import"),
    path("resources/sample.csv", views.resource_sample, name="resource-sample"),
    path("resources/new/", views.resource_edit, name="resource-new"),
    path("resources/<uuid:service_id>/edit/", views.resource_edit, name="resource-edit"),
    path("resources/<uuid:service_id>/verify/", views.resource_verify, name="resource-verify"),
]
