"""The project's URLs: the admin, log-in, health check and the reporting pages."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from .views import healthz, live, ready

urlpatterns = [
    path("", include("reporting.urls")),
    path("api/v1/", include("reporting.api.urls")),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("healthz", healthz, name="healthz"),
    path("health/live", live, name="health-live"),
    path("health/ready", ready, name="health-ready"),
]
