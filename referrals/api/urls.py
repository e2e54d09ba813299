from django.urls import path

from referrals.api import views

urlpatterns = [
    path("referrals/", views.ReferralList.as_view(), name="api-referral-list"),
    path("referrals/<uuid:referral_id>/", views.ReferralDetail.as_view(), name="api-referral-detail"),
    path(
        "referrals/<uuid:referral_id>/transition/", views.ReferralTransition.as_view(), name="api-referral-transition"
    ),
]
