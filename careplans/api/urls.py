from django.urls import path

from careplans.api import views

urlpatterns = [
    path("careplans/", views.CarePlanList.as_view(), name="api-careplan-list"),
    path("careplans/<uuid:care_plan_id>/", views.CarePlanDetail.as_view(), name="api-careplan-detail"),
    path(
        "careplans/<uuid:care_plan_id>/acknowledge/",
        views.CarePlanAcknowledge.as_view(),
        name="api-careplan-acknowledge",
    ),
]
