"""The product's URLconf with the benchmark's raw-SQL pages in front (bench/raw_pages.py). Only
the benchmark's own process uses it, as ROOT_URLCONF."""

from django.urls import path

from bench import raw_pages
from carecoord.urls import urlpatterns as product

urlpatterns = [
    path("bench/raw/queue/<str:key>/", raw_pages.queue, name="bench-raw-queue"),
    path("bench/raw/api/referrals/<str:key>/", raw_pages.ReferralList.as_view(), name="bench-raw-referrals"),
    *product,
]
