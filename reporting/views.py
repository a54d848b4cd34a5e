from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import render

from kpis.models import Kpi
from kpis.reporting_calendar import expectations_with_status
from strategy.selectors import deliverable_list, priorities_by_cohort_and_theme

from .selectors import audit_events, kpi_definition_get, release_calendar, strategy_on_a_page


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


def _require_sig(request):
    from django.core.exceptions import PermissionDenied

    from strategy.access import user_can_see_unpublished

    if not user_can_see_unpublished(request.user):
        raise PermissionDenied("For the Strategy Implementation Group.")


@login_required
def audit_log(request):
    _require_sig(request)
    return render(request, "reporting/audit_log.html", {"events": audit_events()})


@login_required
def completeness_page(request):
    _require_sig(request)
    period = request.GET.get("period", "")
    expectations = list(expectations_with_status(period_label=period or None))
    counts = {"met": 0, "late": 0, "outstanding": 0}
    for expectation in expectations:
        counts[expectation.status] += 1
    return render(
        request,
        "reporting/completeness.html",
        {"expectations": expectations, "counts": counts, "period": period},
    )


def releases_page(request):
    return render(request, "reporting/releases.html", {"releases": release_calendar()})
