"""The API's routes; the route templates are what ``django_requests_total{route}`` carries."""

from __future__ import annotations

from django.urls import path

from tocsin.sdk.health import Health
from tocsin.sdk.health import django as django_health

from . import views

urlpatterns = [
    path("api/v1/auth/token", views.token),
    path("api/v1/profile", views.profile),
    path("api/v1/workouts", views.workouts),
    path("api/v1/dashboard", views.dashboard),
    *django_health.urls(Health([django_health.database()])),
]
