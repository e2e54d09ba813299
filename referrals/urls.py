from django.urls import path

from referrals import views

urlpatterns = [
    path("referrals/", views.queue, name="referral-queue"),
    path("referrals/bulk/", views.bulk, name="referral-bulk"),
    path("referrals/sent/", views.sent, name="referral-sent"),
    path("referrals/new/", views.new, name="referral-new"),
    path("referrals/lists/", views.lists, name="referral-lists"),
    path("referrals/<uuid:referral_id>/", views.detail, name="referral-detail"),
    path("referrals/<uuid:referral_id>/transition/", views.transition, name="referral-transition"),
    path("referrals/<uuid:referral_id>/assign/", views.assign, name="referral-assign"),
    path("referrals/<uuid:referral_id>/claim/", views.claim, name="referral-claim"),
    path("referrals/<uuid:referral_id>/outreach/", views.outreach, name="referral-outreach"),
    path("referrals/<uuid:referral_id>/cancel/", views.cancel, name="referral-cancel"),
    path("referrals/<uuid:referral_id>/attachments/", views.attach, name="referral-attach"),
    path(
        "referrals/<uuid:referral_id>/attachments/<uuid:attachment_id>/",
        views.attachment,
        name="referral-attachment",
    ),
]
