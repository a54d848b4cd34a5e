from django.urls import path

from . import views

app_name = "reporting"
urlpatterns = [
    path("", views.strategy_home, name="home"),
    path("kpis/<slug:code>/", views.kpi_definition, name="kpi-definition"),
    path("deliverables/", views.deliverables, name="deliverables"),
]
