"""URLs of the public, internal and returns pages."""

from django.urls import path

from .api import pages as api_pages
from .views import (
    board,
    commentary,
    dashboards,
    deliverables,
    internal,
    public,
    release_data,
    releases,
    returns,
)

app_name = "reporting"
urlpatterns = [
    # Public
    path("", public.strategy_home, name="home"),
    path("kpis/", public.kpi_list, name="kpi-list"),
    path("kpis/<slug:code>/", public.kpi_definition, name="kpi-definition"),
    path("kpis/<slug:code>/figures.csv", public.kpi_data, {"file_type": "csv"}, name="kpi-csv"),
    path("kpis/<slug:code>/figures.xlsx", public.kpi_data, {"file_type": "xlsx"}, name="kpi-xlsx"),
    path("deliverables/", public.deliverables, name="deliverables"),
    path("outcomes/<str:code>/", public.outcome_page, name="outcome"),
    path("themes/<slug:theme>/<slug:cohort>/", public.theme_page, name="theme"),
    path("places/<slug:code>/", public.place_page, name="place"),
    path(
        "places/<slug:code>/figures.csv", public.place_data, {"file_type": "csv"}, name="place-csv"
    ),
    path(
        "places/<slug:code>/figures.xlsx",
        public.place_data,
        {"file_type": "xlsx"},
        name="place-xlsx",
    ),
    path("what-matters/", public.what_matters_page, name="what-matters"),
    path(
        "what-matters/figures.<str:file_type>",
        public.what_matters_data,
        name="what-matters-data",
    ),
    path("outcomes/<str:code>/figures.<str:file_type>", public.outcome_data, name="outcome-data"),
    path(
        "themes/<slug:theme>/<slug:cohort>/figures.<str:file_type>",
        public.theme_data,
        name="theme-data",
    ),
    path("methodology/", public.methodology_page, name="methodology"),
    path("api/", api_pages.api_docs, name="api-docs"),
    path("api/token/", api_pages.api_token_page, name="api-token"),
    path("releases/", public.releases_page, name="releases"),
    path("releases/feed.atom", release_data.release_feed, name="release-feed"),
    path("releases/<int:pk>/data.csv", release_data.release_data_csv, name="release-data-csv"),
    path("releases/<int:pk>/data.xlsx", release_data.release_data_xlsx, name="release-data-xlsx"),
    path(
        "releases/<int:pk>/datapackage.json",
        release_data.release_datapackage,
        name="release-datapackage",
    ),
    path("releases/<int:pk>/changes/", release_data.release_changes_page, name="release-changes"),
    path("releases/new/", releases.release_new, name="release-new"),
    path("releases/<int:pk>/", releases.release_detail, name="release-detail"),
    path("releases/<int:pk>/publish", releases.release_publish_now, name="release-publish"),
    # Internal
    path("tracker/", deliverables.deliverable_tracker_page, name="deliverable-tracker"),
    path(
        "tracker/<str:code>/update",
        deliverables.deliverable_update,
        name="deliverable-update",
    ),
    path("audit/", internal.audit_log, name="audit"),
    path("completeness/", internal.completeness_page, name="completeness"),
    path("completeness.csv", internal.completeness_csv, name="completeness-csv"),
    path("imports/", internal.publication_import_page, name="publication-import"),
    path("board/", board.board_page, name="board"),
    path("board.csv", board.board_csv, name="board-csv"),
    path("board.xlsx", board.board_xlsx, name="board-xlsx"),
    path(
        "board/kpis/<slug:code>/commentary/<slug:place>/<str:period>/",
        commentary.commentary_page,
        name="commentary",
    ),
    path("board/kpis/<slug:code>/", dashboards.kpi_dashboard, name="kpi-dashboard"),
    path("board/places/<slug:code>/", dashboards.place_dashboard, name="place-dashboard"),
    # Returns
    path("returns/", returns.returns_home, name="returns"),
    path(
        "returns/template.xlsx",
        returns.return_template,
        {"file_type": "xlsx"},
        name="return-template-xlsx",
    ),
    path(
        "returns/template.csv",
        returns.return_template,
        {"file_type": "csv"},
        name="return-template-csv",
    ),
    path("returns/<int:pk>/", returns.return_detail, name="return-detail"),
    path("returns/<int:pk>/status.json", returns.return_status, name="return-status"),
    path("returns/<int:pk>/issues.csv", returns.return_issues_csv, name="return-issues"),
    path("returns/<int:pk>/file", returns.return_file, name="return-file"),
    path("returns/<int:pk>/submit", returns.return_submit, name="return-submit"),
    path("returns/<int:pk>/decide", returns.return_decide, name="return-decide"),
    path("returns/<int:pk>/withdraw", returns.return_withdraw, name="return-withdraw"),
]
