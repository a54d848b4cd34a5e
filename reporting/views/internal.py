"""Internal pages for the Strategy Implementation Group: log-in and the access table decide."""

from django import forms
from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from kpis.national import PublicationFormatError
from kpis.periods import PeriodParseError, parse_period
from kpis.selectors.audit import audit_events
from kpis.selectors.calendar import completeness_counts, expectations_with_status
from kpis.services.national import publication_import
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
            "return_id": e.upload_id or "",
        }
        for e in expectations
    ]
    columns = ["period", "kpi_code", "place_code", "place", "due_on", "status", "return_id"]
    return csv_response(rows, columns=columns, filename=f"completeness-{period or 'all'}.csv")


class PublicationImportForm(forms.Form):
    file = forms.FileField(label="Publication file (CSV, as the publisher issues it)")
    period = forms.CharField(
        required=False,
        max_length=20,
        label="Financial year (annual reports only, if the file name does not give it)",
        help_text="For example 2020-21.",
    )

    def clean_period(self):
        text = self.cleaned_data["period"].strip()
        if not text:
            return None
        try:
            return parse_period(text)
        except PeriodParseError as error:
            raise forms.ValidationError(f"'{text}' is not a period: {error}") from error


@login_required
def publication_import_page(request):
    require(
        request,
        Action.IMPORT_PUBLICATION,
        "National publications are imported by analysts and the Strategy Implementation Group.",
    )
    form = PublicationImportForm(request.POST or None, request.FILES or None)
    result, error = None, ""
    if request.method == "POST" and form.is_valid():
        uploaded = form.cleaned_data["file"]
        try:
            result = publication_import(
                user=request.user,
                filename=uploaded.name,
                content=uploaded.read(),
                period=form.cleaned_data["period"],
            )
        except PublicationFormatError as refused:
            error = str(refused)
    status = 400 if error or (request.method == "POST" and not form.is_valid()) else 200
    return render(
        request,
        "reporting/internal/publication_import.html",
        {"form": form, "result": result, "error": error},
        status=status,
    )
