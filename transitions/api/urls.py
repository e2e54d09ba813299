from django.urls import path

from transitions.api import episodes, views

urlpatterns = [
    path("adt/messages/", views.AdtMessageReceive.as_view(), name="api-adt-messages"),
    path("episodes/", episodes.EpisodeList.as_view(), name="api-episode-list"),
    path("episodes/<uuid:episode_id>/", episodes.EpisodeDetail.as_view(), name="api-episode-detail"),
]
