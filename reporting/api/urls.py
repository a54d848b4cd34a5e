"""``/api/v1/``: the analysts' API, its OpenAPI schema and its reference documentation."""

from django.urls import path
from drf_spectacular.views import SpectacularAPIView

from . import views

app_name = "api"
urlpatterns = [
    path("strategy/", views.StrategyApi.as_view(), name="strategy"),
    path("deliverables/", views.DeliverableListApi.as_view(), name="deliverables"),
    path("places/", views.PlaceListApi.as_view(), name="places"),
    path("kpis/", views.KpiListApi.as_view(), name="kpis"),
    # Any code reaches the view, so an unknown one is a JSON 404 like every API error.
    path("kpis/<path:code>/", views.KpiDetailApi.as_view(), name="kpi"),
    path("periods/", views.PeriodListApi.as_view(), name="periods"),
    path("releases/", views.ReleaseListApi.as_view(), name="releases"),
    path("observations/", views.ObservationListApi.as_view(), name="observations"),
    path("assessments/", views.AssessmentListApi.as_view(), name="assessments"),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("reference/", views.ApiReference.as_view(url_name="api:schema"), name="reference"),
]
