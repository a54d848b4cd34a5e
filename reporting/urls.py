from django.urls import path

from . import returns_views, views

app_name = "reporting"
urlpatterns = [
    path("", views.strategy_home, name="home"),
    path("kpis/<slug:code>/", views.kpi_definition, name="kpi-definition"),
    path("deliverables/", views.deliverables, name="deliverables"),
    path("returns/", returns_views.returns_home, name="returns"),
    path("returns/<int:pk>/", returns_views.return_detail, name="return-detail"),
    path("returns/<int:pk>/status.json", returns_views.return_status, name="return-status"),
    path("returns/<int:pk>/issues.csv", returns_views.return_issues_csv, name="return-issues"),
    path("returns/<int:pk>/submit", returns_views.return_submit, name="return-submit"),
    path("returns/<int:pk>/decide", returns_views.return_decide, name="return-decide"),
    path("returns/<int:pk>/withdraw", returns_views.return_withdraw, name="return-withdraw"),
]
