"""Public pages: no log-in, published figures only (through ``kpis.selectors.public``)."""

import re

from django.http import Http404, HttpResponse
from django.shortcuts import render

from kpis.board import VERDICT_LABELS
from kpis.models import Kpi, Statistic
from kpis.selectors.board import BOARD_COLUMNS
from kpis.selectors.public_pages import published_releases
from kpis.selectors.releases import release_calendar, release_latest_published
from strategy.models import Cohort, Outcome, Place, Theme
from strategy.selectors import deliverable_list, priorities_by_cohort_and_theme

from ..exports import XLSX_CONTENT_TYPE, csv_response, xlsx_bytes
from ..public_pages import (
    DOWNLOAD_COLUMNS,
    headline_download,
    headlines,
    kpi_download,
    kpi_figures,
    place_download,
    place_figures,
)
from ..selectors import (
    catalogue_outcomes,
    disclosure_rules_in_use,
    kpi_catalogue,
    kpi_definition_get,
    outcome_get,
    outcome_kpi_ids,
    public_places,
    release_next_due,
    strategy_on_a_page,
    theme_priorities,
    verdict_rules_in_force,
    what_matters_with_measures,
)

#: How many measures an outcome shows on the home page before "all its measures".
HOME_MEASURES = 3


def strategy_home(request):
    strategy = strategy_on_a_page()
    by_outcome = outcome_kpi_ids()
    figures = headlines(kpi_ids=[pk for ids in by_outcome.values() for pk in ids])
    outcomes = [
        {
            "outcome": outcome,
            "figures": [figures[pk] for pk in by_outcome.get(outcome.pk, []) if pk in figures][
                :HOME_MEASURES
            ],
            "measures": len(by_outcome.get(outcome.pk, [])),
        }
        for outcome in strategy.outcomes.all()
    ]
    return render(
        request,
        "reporting/public/strategy_on_a_page.html",
        {
            "strategy": strategy,
            "sections": priorities_by_cohort_and_theme(strategy),
            "outcomes": outcomes,
            "latest_release": release_latest_published(),
            "next_release": release_next_due(),
            "places": public_places(codes=BOARD_COLUMNS),
        },
    )


def outcome_page(request, code: str):
    try:
        outcome = outcome_get(code=code)
    except Outcome.DoesNotExist as missing:
        raise Http404("No such outcome") from missing
    kpis = list(outcome.kpis.all())
    figures = headlines(kpi_ids=[k.pk for k in kpis])
    return render(
        request,
        "reporting/public/outcome.html",
        {"outcome": outcome, "rows": [(kpi, figures.get(kpi.pk)) for kpi in kpis]},
    )


def theme_page(request, theme: str, cohort: str):
    if cohort not in Cohort.values:
        raise Http404("No such cohort")
    try:
        found, priorities = theme_priorities(theme=theme, cohort=cohort)
    except Theme.DoesNotExist as missing:
        raise Http404("No such theme") from missing
    figures = headlines(kpi_ids=[k.pk for p in priorities for k in p.kpis.all()])
    return render(
        request,
        "reporting/public/theme.html",
        {
            "theme": found,
            "cohort": Cohort(cohort).label,
            "cohort_code": cohort,
            "priorities": [
                (priority, [(kpi, figures.get(kpi.pk)) for kpi in priority.kpis.all()])
                for priority in priorities
            ],
        },
    )


def place_page(request, code: str):
    places = {p.code: p for p in public_places(codes=BOARD_COLUMNS)}
    if code not in places:
        raise Http404("No such place")
    place: Place = places[code]
    return render(
        request,
        "reporting/public/place.html",
        {"place": place, "figures": place_figures(place=place), "places": places.values()},
    )


def what_matters_page(request):
    statements = what_matters_with_measures()
    figures = headlines(kpi_ids=[k.pk for s in statements for k in s.kpis.all()])
    return render(
        request,
        "reporting/public/what_matters.html",
        {
            "statements": [
                (statement, [(kpi, figures.get(kpi.pk)) for kpi in statement.kpis.all()])
                for statement in statements
            ]
        },
    )


def _rule_lines(table) -> list[tuple[str, str]]:
    """The verdict rules in order, as (verdict, reason) in words: a quoted field reads as
    "the measure's own figure" or, standing alone, as the reason the page gives."""
    lines = []
    for rule in table.rules if table else []:
        reason = rule["reason"]
        if re.fullmatch(r"\{[a-z_]+\}", reason):
            reason = "The measure cannot be judged yet; its page says why."
        reason = reason.replace(
            "{standard_shortfall} the standard of {standard_text}", "Short of the standard"
        )
        reason = reason.replace("the standard of {standard_text}", "the standard")
        reason = re.sub(r"\{[a-z_]+\}", "the measure's figure", reason)
        lines.append((VERDICT_LABELS.get(rule["verdict"], rule["verdict"]), reason))
    return lines


def _rule_words(rule) -> str:
    """A source's disclosure rule in plain words, from its numbers (never its working notes)."""
    parts = []
    if rule.min_count:
        parts.append(f"counts from 1 to {rule.min_count - 1} are not shown")
    if rule.rounding_base:
        parts.append(f"counts are rounded to the nearest {rule.rounding_base}")
    if rule.min_respondents:
        parts.append(f"survey results from fewer than {rule.min_respondents} people are not shown")
    if rule.min_events_for_rate:
        parts.append(f"rates from fewer than {rule.min_events_for_rate} events are not shown")
    if rule.zero_shown is False:
        parts.append("zeros are not shown")
    words = "; ".join(parts) if parts else "figures are shown as the source publishes them"
    return f"{rule.publisher or 'Local returns'}: {words}."


def methodology_page(request):
    table = verdict_rules_in_force()
    return render(
        request,
        "reporting/public/methodology.html",
        {
            "rules": _rule_lines(table),
            "rules_version": table.version if table else None,
            "disclosure_rules": [_rule_words(rule) for rule in disclosure_rules_in_use()],
        },
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
    releases = published_releases()
    chosen = request.GET.get("release", "")
    as_of = next((r for r in releases if str(r.pk) == chosen), None)
    return render(
        request,
        "reporting/public/kpi_definition.html",
        {
            "kpi": kpi,
            "figures": kpi_figures(
                kpi=kpi, as_of=as_of, latest_release=releases[0] if releases else None
            ),
            "releases": releases,
            "as_of": as_of,
        },
    )


def deliverables(request):
    return render(
        request, "reporting/public/deliverables.html", {"deliverables": deliverable_list()}
    )


def releases_page(request):
    return render(request, "reporting/public/releases.html", {"releases": release_calendar()})


def _download(rows, *, name: str, file_type: str):
    if file_type not in ("csv", "xlsx"):
        raise Http404("Figures download as CSV or XLSX")
    if file_type == "xlsx":
        response = HttpResponse(
            xlsx_bytes(rows, columns=DOWNLOAD_COLUMNS, sheet="figures"),
            content_type=XLSX_CONTENT_TYPE,
        )
        response["Content-Disposition"] = f'attachment; filename="{name}.xlsx"'
        return response
    return csv_response(rows, columns=DOWNLOAD_COLUMNS, filename=f"{name}.csv")


def kpi_data(request, code: str, file_type: str):
    try:
        kpi = kpi_definition_get(code=code)
    except Kpi.DoesNotExist as missing:
        raise Http404("No such KPI") from missing
    return _download(kpi_download(kpi=kpi), name=f"{kpi.code}-figures", file_type=file_type)


def place_data(request, code: str, file_type: str):
    places = {p.code: p for p in public_places(codes=BOARD_COLUMNS)}
    if code not in places:
        raise Http404("No such place")
    rows = place_download(place=places[code])
    return _download(rows, name=f"{code}-figures", file_type=file_type)


def outcome_data(request, code: str, file_type: str):
    try:
        outcome = outcome_get(code=code)
    except Outcome.DoesNotExist as missing:
        raise Http404("No such outcome") from missing
    rows = headline_download(kpi_ids=[kpi.pk for kpi in outcome.kpis.all()])
    return _download(rows, name=f"outcome-{outcome.code}-figures", file_type=file_type)


def theme_data(request, theme: str, cohort: str, file_type: str):
    if cohort not in Cohort.values:
        raise Http404("No such cohort")
    try:
        found, priorities = theme_priorities(theme=theme, cohort=cohort)
    except Theme.DoesNotExist as missing:
        raise Http404("No such theme") from missing
    kpi_ids = list(dict.fromkeys(k.pk for p in priorities for k in p.kpis.all()))
    rows = headline_download(kpi_ids=kpi_ids)
    return _download(rows, name=f"{found.code}-{cohort}-figures", file_type=file_type)


def what_matters_data(request, file_type: str):
    statements = what_matters_with_measures()
    kpi_ids = list(dict.fromkeys(k.pk for s in statements for k in s.kpis.all()))
    return _download(
        headline_download(kpi_ids=kpi_ids), name="what-matters-figures", file_type=file_type
    )
