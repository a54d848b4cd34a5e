from django.http import Http404
from django.shortcuts import render

from kpis.models import Kpi
from strategy.selectors import deliverable_list, priorities_by_cohort_and_theme

from .selectors import kpi_definition_get, strategy_on_a_page


def strategy_home(request):
    strategy = strategy_on_a_page()
    return render(
        request,
        "reporting/strategy_on_a_page.html",
        {"strategy": strategy, "sections": priorities_by_cohort_and_theme(strategy)},
    )


def kpi_definition(request, code: str):
    try:
        kpi = kpi_definition_get(code=code)
    except Kpi.DoesNotExist as missing:
        raise Http404("No such KPI") from missing
    return render(request, "reporting/kpi_definition.html", {"kpi": kpi})


def deliverables(request):
    return render(request, "reporting/deliverables.html", {"deliverables": deliverable_list()})
