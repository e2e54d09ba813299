from django.urls import path

from caregaps.api import views

urlpatterns = [
    path("caregaps/", views.GapList.as_view(), name="api-caregap-list"),
    path("caregaps/imports/", views.GapImport.as_view(), name="api-caregap-import"),
    path("caregaps/<uuid:gap_id>/", views.GapDetail.as_view(), name="api-caregap-detail"),
]
