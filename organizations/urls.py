from django.urls import path

from organizations import views

urlpatterns = [
    path("partnerships/", views.partnership_list, name="partnership-list"),
    path("partnerships/<uuid:partnership_id>/", views.partnership_detail, name="partnership-detail"),
    path("partnerships/<uuid:partnership_id>/contacts/add/", views.contact_add, name="partnership-contact-add"),
    path(
        "partnerships/<uuid:partnership_id>/contacts/<uuid:contact_id>/edit/",
        views.contact_edit,
        name="partnership-contact-edit",
    ),
    path(
        "partnerships/<uuid:partnership_id>/contacts/<uuid:contact_id>/remove/",
        views.contact_remove,
        name="partnership-contact-remove",
    ),
    path("partnerships/<uuid:partnership_id>/review/", views.partnership_review, name="partnership-review"),
    path("staff/", views.staff_list, name="staff-list"),
    path("staff/add/", views.staff_add, name="staff-add"),
    path("staff/<uuid:user_id>/edit/", views.staff_edit, name="staff-edit"),
]
