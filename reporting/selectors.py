"""Reads for the reporting pages composed from the strategy and KPI apps."""

from django.db.models import Prefetch, Q, QuerySet

from kpis.models import Kpi, Target
from strategy.models import Outcome, Priority, Strategy
from strategy.selectors import CURRENT_STRATEGY, strategy_get


def strategy_on_a_page(*, code: str = CURRENT_STRATEGY) -> Strategy:
    """The strategy with each priority's KPIs and deliverables, in a fixed number of queries."""
    return strategy_get(
        code=code,
        priority_prefetches=[Prefetch("kpis", queryset=Kpi.objects.only("id", "code", "title"))],
    )


def kpi_definition_get(*, code: str) -> Kpi:
    """One KPI with everything its public definition page shows."""
    return (
        Kpi.objects.select_related("owner", "disclosure_rule")
        .prefetch_related(
            Prefetch("priorities", queryset=Priority.objects.select_related("theme")),
            "outcomes",
            "what_matters",
            "definition_versions",
            Prefetch("targets", queryset=Target.objects.select_related("source_document", "place")),
        )
        .get(code=code)
    )


def kpi_catalogue(
    *, query: str = "", outcome: str = "", cohort: str = "", statistic: str = ""
) -> QuerySet[Kpi]:
    """The catalogue's KPIs matching a search and filters, with their outcomes, in two queries.

    The search looks in the code, title, description and source; filters are an outcome's code,
    a cohort and a statistic (blank for all).
    """
    kpis = Kpi.objects.only(
        "code",
        "title",
        "description",
        "cohort",
        "statistic",
        "unit",
        "frequency",
        "source_publisher",
        "lived_experience",
    ).prefetch_related(Prefetch("outcomes", queryset=Outcome.objects.only("code", "text")))
    for word in query.split():
        kpis = kpis.filter(
            Q(code__icontains=word)
            | Q(title__icontains=word)
            | Q(description__icontains=word)
            | Q(source_dataset__icontains=word)
            | Q(source_publisher__icontains=word)
        )
    if outcome:
        kpis = kpis.filter(outcomes__code=outcome)
    if cohort:
        kpis = kpis.filter(cohort=cohort)
    if statistic:
        kpis = kpis.filter(statistic=statistic)
    return kpis.distinct().order_by("code")


def catalogue_outcomes(*, code: str = CURRENT_STRATEGY) -> list[Outcome]:
    return list(Outcome.objects.filter(strategy__code=code).only("code", "text"))
