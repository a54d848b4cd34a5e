from django.urls import path

from . import returns_views, views

app_name = "reporting"
urlpatterns = [
    path("", views.strategy_home, name="home"),
    path("kpis/<slug:code>/", views.kpi_definition, name="kpi-definition"),
    path("deliverables/", views.deliverables, name="deliverables"),
    path("releases/", views.releases_page, name="releases"),
    path("audit/", views.audit_log, name="audit"),
    path("completeness/", views.completeness_page, name="completeness"),
    path("returns/", returns_views.returns_home, name="returns"),
    path(
        "returns/template.xlsx",
        returns_views.return_template,
        {"file_type": "xlsx"},
        name="return-template-xlsx",
    ),
    path(
        "returns/template.csv",
        returns_views.return_template,
        {"file_type": "csv"},
        name="return-template-csv",
    ),
    path("returns/<int:pk>/", returns_views.return_detail, name="return-detail"),
    path("returns/<int:pk>/status.json", returns_views.return_status, name="return-status"),
    path("returns/<int:pk>/issues.csv", returns_views.return_issues_csv, name="return-issues"),
    path("returns/<int:pk>/submit", returns_views.return_submit, name="return-submit"),
    path("returns/<int:pk>/decide", returns_views.return_decide, name="return-decide"),
    path("returns/<int:pk>/withdraw", returns_views.return_withdraw, name="return-withdraw"),
]
