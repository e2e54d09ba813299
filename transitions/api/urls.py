from django.urls import path

from transitions.api import views

urlpatterns = [
    path("adt/messages/", views.AdtMessageReceive.as_view(), name="api-adt-messages"),
]
