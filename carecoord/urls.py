from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView

from carecoord import views
from interop import fhir
from sdoh import fhir as sdoh_fhir

api_v1 = [
    path("", include("members.api.urls")),
    path("", include("organizations.api.urls")),
    path("", include("referrals.api.urls")),
    path("", include("caseloads.api.urls")),
    path("", include("careplans.api.urls")),
    path("", include("transitions.api.urls")),
    path("", include("caregaps.api.urls")),
    path("", include("sdoh.api.urls")),
]

# The FHIR R4 facade (interop/fhir.py): resources mapped by the apps that own the rows.
fhir_r4 = [
    path("metadata", sdoh_fhir.Metadata.as_view(), name="fhir-metadata"),
    path("Task", sdoh_fhir.TaskSearch.as_view(), name="fhir-task-search"),
    path("Task/<uuid:social_referral_id>", sdoh_fhir.TaskRead.as_view(), name="fhir-task"),
    re_path(r"^(?P<rest>.*)$", fhir.NotFound.as_view(), name="fhir-not-found"),
]

urlpatterns = [
    path("", views.home, name="home"),
    path("accounts/login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("", include("core.urls")),
    path("", include("members.urls")),
    path("", include("organizations.urls")),
    path("", include("referrals.urls")),
    path("", include("caseloads.urls")),
    path("", include("careplans.urls")),
    path("", include("transitions.urls")),
    path("", include("caregaps.urls")),
    path("", include("sdoh.urls")),
    path("api/v1/", include(api_v1)),
    path("fhir/", include(fhir_r4)),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("admin/", admin.site.urls),
]
