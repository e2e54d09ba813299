from django.urls import path

from sdoh.api import views

urlpatterns = [
    path("screenings/", views.ScreeningList.as_view(), name="api-screening-list"),
    path("screenings/<uuid:screening_id>/", views.ScreeningDetail.as_view(), name="api-screening-detail"),
    path("resources/", views.ResourceList.as_view(), name="api-resource-list"),
]
