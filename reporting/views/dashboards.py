"""The internal KPI and place pages: every place's figures as charts with tables beneath."""

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import render
from django.template.loader import render_to_string

from kpis.models import Kpi
from kpis.selectors.dashboards import kpi_for_dashboard, kpi_heading, place_for_dashboard
from strategy.access import Action
from strategy.models import Place

from ..dashboards import kpi_page, place_page
from ..page_cache import cached_content
from .access import require

REFUSAL = (
    "This page shows unpublished figures: it is for the Strategy Implementation Group, and for "
    "place leads for their own places."
)


@login_required
def kpi_dashboard(request, code: str):
    require(request, Action.SEE_UNPUBLISHED, REFUSAL)
    try:
        kpi = kpi_heading(code=code)
    except Kpi.DoesNotExist as missing:
        raise Http404("No such KPI") from missing

    def content():
        page = kpi_page(
            user=request.user,
            kpi=kpi_for_dashboard(code=code),
            focus_code=request.GET.get("place", "")[:40],
        )
        return render_to_string(
            "reporting/internal/_kpi_dashboard_content.html", {"page": page}, request=request
        )

    return render(
        request,
        "reporting/internal/kpi_dashboard.html",
        {"kpi": kpi, "content": cached_content(request, page="kpi", build=content)},
    )


@login_required
def place_dashboard(request, code: str):
    try:
        place = place_for_dashboard(code=code)
    except Place.DoesNotExist as missing:
        raise Http404("No such place") from missing
    require(request, Action.SEE_UNPUBLISHED, REFUSAL, place=place)

    def content():
        return render_to_string(
            "reporting/internal/_place_dashboard_content.html",
            {"page": place_page(user=request.user, place=place)},
            request=request,
        )

    return render(
        request,
        "reporting/internal/place_dashboard.html",
        {"place": place, "content": cached_content(request, page="place", build=content)},
    )
