from django.urls import path

from sdoh.api import views

urlpatterns = [
    path("screenings/", views.ScreeningList.as_view(), name="api-screening-list"),
    path("screenings/<uuid:screening_id>/", views.ScreeningDetail.as_view(), name="api-screening-detail"),
    path("resources/", views.ResourceList.as_view(), name="api-resource-list"),
    path("social-referrals/", views.SocialReferralList.as_view(), name="api-social-referral-list"),
    path(
        "social-referrals/<uuid:social_referral_id>/",
        views.SocialReferralDetail.as_view(),
        name="api-social-referral-detail",
    ),
    path(
        "social-referrals/<uuid:social_referral_id>/transition/",
        views.SocialReferralTransition.as_view(),
        name="api-social-referral-transition",
    ),
]
