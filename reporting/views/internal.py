"""Internal pages for the Strategy Implementation Group: log-in and the access table decide."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from kpis.selectors.audit import audit_events
from kpis.selectors.calendar import completeness_counts, expectations_with_status
from strategy.access import Action

from ..exports import csv_response
from .access import require


@login_required
def audit_log(request):
    require(
        request, Action.SEE_AUDIT_LOG, "The audit log is for the Strategy Implementation Group."
    )
    return render(request, "reporting/internal/audit_log.html", {"events": audit_events()})


def _completeness(request):
    require(
        request,
        Action.SEE_COMPLETENESS,
        "Completeness of returns is for the Strategy Implementation Group.",
    )
    period = request.GET.get("period", "")
    return period, list(expectations_with_status(period_label=period or None))


@login_required
def completeness_page(request):
    period, expectations = _completeness(request)
    return render(
        request,
        "reporting/internal/completeness.html",
        {
            "expectations": expectations,
            "counts": completeness_counts(expectations),
            "period": period,
        },
    )


@login_required
def completeness_csv(request):
    period, expectations = _completeness(request)
    rows = [
        {
            "period": e.period.label,
            "kpi_code": e.kpi.code,
            "place_code": e.place.code,
            "place": e.place.name,
            "due_on": e.due_on.isoformat(),
            "status": e.status,
        }
        for e in expectations
    ]
    columns = ["period", "kpi_code", "place_code", "place", "due_on", "status"]
    return csv_response(rows, columns=columns, filename=f"completeness-{period or 'all'}.csv")
