from django.urls import path

from transitions import views

urlpatterns = [
    path("transitions/review/", views.review_queue, name="adt-review-queue"),
    path("transitions/review/<uuid:message_id>/", views.review_detail, name="adt-review-detail"),
    path("transitions/review/<uuid:message_id>/match/", views.review_match, name="adt-review-match"),
    path("transitions/review/<uuid:message_id>/dismiss/", views.review_dismiss, name="adt-review-dismiss"),
    path("transitions/", views.episode_worklist, name="episode-worklist"),
    path("transitions/rates/", views.episode_rates, name="episode-rates"),
    path("transitions/episodes/<uuid:episode_id>/", views.episode_detail, name="episode-detail"),
    path("transitions/episodes/<uuid:episode_id>/outreach/", views.episode_outreach, name="episode-outreach"),
    path(
        "transitions/episodes/<uuid:episode_id>/discharge-info/",
        views.episode_discharge_info,
        name="episode-discharge-info",
    ),
    path("transitions/episodes/<uuid:episode_id>/med-rec/", views.episode_med_rec, name="episode-med-rec"),
    path(
        "transitions/episodes/<uuid:episode_id>/appointments/",
        views.episode_appointment_new,
        name="episode-appointment-new",
    ),
    path(
        "transitions/appointments/<uuid:appointment_id>/outcome/",
        views.appointment_outcome,
        name="appointment-outcome",
    ),
    path(
        "transitions/appointments/<uuid:appointment_id>/transport/",
        views.appointment_transport,
        name="appointment-transport",
    ),
]
