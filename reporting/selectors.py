"""Reads for the reporting pages composed from the strategy and KPI apps."""

from django.db.models import Prefetch

from kpis.models import Kpi, Target
from strategy.models import Priority, Strategy
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
