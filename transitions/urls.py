from django.urls import path

from transitions import views

urlpatterns = [
    path("transitions/review/", views.review_queue, name="adt-review-queue"),
    path("transitions/review/<uuid:message_id>/", views.review_detail, name="adt-review-detail"),
    path("transitions/review/<uuid:message_id>/match/", views.review_match, name="adt-review-match"),
    path("transitions/review/<uuid:message_id>/dismiss/", views.review_dismiss, name="adt-review-dismiss"),
]
