"""Public pages: no log-in, published figures only (through ``kpis.selectors.public``)."""

from django.http import Http404
from django.shortcuts import render

from kpis.models import Kpi, Statistic
from kpis.selectors.releases import release_calendar
from strategy.models import Cohort
from strategy.selectors import deliverable_list, priorities_by_cohort_and_theme

from ..selectors import catalogue_outcomes, kpi_catalogue, kpi_definition_get, strategy_on_a_page


def strategy_home(request):
    strategy = strategy_on_a_page()
    return render(
        request,
        "reporting/public/strategy_on_a_page.html",
        {"strategy": strategy, "sections": priorities_by_cohort_and_theme(strategy)},
    )


def kpi_list(request):
    filters = {
        "query": request.GET.get("q", "").strip()[:100],
        "outcome": request.GET.get("outcome", ""),
        "cohort": request.GET.get("cohort", ""),
        "statistic": request.GET.get("statistic", ""),
    }
    kpis = list(kpi_catalogue(**filters))
    return render(
        request,
        "reporting/public/kpi_list.html",
        {
            "kpis": kpis,
            "filters": filters,
            "outcomes": catalogue_outcomes(),
            "cohorts": Cohort.choices,
            "statistics": Statistic.choices,
        },
    )


def kpi_definition(request, code: str):
    try:
        kpi = kpi_definition_get(code=code)
    except Kpi.DoesNotExist as missing:
        raise Http404("No such KPI") from missing
    return render(request, "reporting/public/kpi_definition.html", {"kpi": kpi})


def deliverables(request):
    return render(
        request, "reporting/public/deliverables.html", {"deliverables": deliverable_list()}
    )


def releases_page(request):
    return render(request, "reporting/public/releases.html", {"releases": release_calendar()})
