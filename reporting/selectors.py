"""Reads for the reporting pages composed from the strategy and KPI apps."""

from django.db.models import Prefetch, Q, QuerySet
from django.utils import timezone

from kpis.models import (
    DefinitionVersion,
    DisclosureRule,
    Kpi,
    Period,
    Release,
    Target,
    VerdictRuleTable,
)
from strategy.models import (
    Deliverable,
    DeliverableUpdate,
    Outcome,
    Place,
    PlaceMembership,
    Priority,
    Strategy,
    Theme,
    WhatMatters,
)
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


def outcome_get(*, code: str, strategy: str = CURRENT_STRATEGY) -> Outcome:
    """An outcome of the strategy with its KPIs; raises Outcome.DoesNotExist."""
    return (
        Outcome.objects.filter(strategy__code=strategy)
        .prefetch_related(Prefetch("kpis", queryset=Kpi.objects.order_by("code")))
        .get(code=code)
    )


def theme_priorities(*, theme: str, cohort: str, strategy: str = CURRENT_STRATEGY):
    """A theme of the strategy and its priorities for one cohort, each with its KPIs and
    deliverables; raises Theme.DoesNotExist."""
    found = Theme.objects.get(strategy__code=strategy, code=theme)
    priorities = (
        Priority.objects.filter(theme=found, cohort=cohort)
        .order_by("position")
        .prefetch_related(
            Prefetch("kpis", queryset=Kpi.objects.order_by("code")),
            Prefetch("deliverables", queryset=Deliverable.objects.order_by("code")),
        )
    )
    return found, list(priorities)


def what_matters_with_measures(*, strategy: str = CURRENT_STRATEGY) -> list[WhatMatters]:
    """The "What matters to people" statements, each with its lived-experience KPIs and the
    deliverables that answer it."""
    return list(
        WhatMatters.objects.filter(strategy__code=strategy)
        .order_by("position")
        .prefetch_related(
            Prefetch("kpis", queryset=Kpi.objects.filter(lived_experience=True).order_by("code")),
            Prefetch("deliverables", queryset=Deliverable.objects.order_by("code")),
        )
    )


def public_places(*, codes) -> list[Place]:
    """The places with a public page, in the given order."""
    found = {p.code: p for p in Place.objects.filter(code__in=list(codes))}
    return [found[code] for code in codes if code in found]


def release_next_due() -> Release | None:
    """The next announced release still to publish."""
    return (
        Release.objects.filter(published_at__isnull=True, scheduled_for__gte=timezone.now())
        .order_by("scheduled_for")
        .first()
    )


def verdict_rules_in_force() -> VerdictRuleTable | None:
    return VerdictRuleTable.objects.filter(is_active=True).first()


def disclosure_rules_in_use() -> list[DisclosureRule]:
    return list(DisclosureRule.objects.filter(kpi__isnull=False).distinct().order_by("publisher"))


def outcome_kpi_ids(*, strategy: str = CURRENT_STRATEGY) -> dict[int, list[int]]:
    """Each outcome's KPI ids, in KPI code order: one query."""
    links = Kpi.outcomes.through.objects.filter(outcome__strategy__code=strategy).order_by(
        "kpi__code"
    )
    found: dict[int, list[int]] = {}
    for outcome_id, kpi_id in links.values_list("outcome_id", "kpi_id"):
        found.setdefault(outcome_id, []).append(kpi_id)
    return found


# The analysts' API ----------------------------------------------------------------------


def api_places() -> QuerySet[Place]:
    """Every place with its part of SET and its areas (with their validity): two queries."""
    return Place.objects.select_related("set_part").prefetch_related(
        Prefetch(
            "memberships",
            queryset=PlaceMembership.objects.select_related("area").order_by("area__gss_code"),
        )
    )


def api_kpis() -> QuerySet[Kpi]:
    """Every KPI with its full metadata: a fixed number of queries, whatever the number."""
    return Kpi.objects.select_related("owner", "disclosure_rule").prefetch_related(
        Prefetch("outcomes", queryset=Outcome.objects.only("id", "code")),
        Prefetch("priorities", queryset=Priority.objects.only("id", "code")),
        Prefetch("what_matters", queryset=WhatMatters.objects.only("id", "code")),
        Prefetch("definition_versions", queryset=DefinitionVersion.objects.order_by("version")),
        Prefetch("targets", queryset=Target.objects.select_related("place").order_by("id")),
    )


def api_periods() -> QuerySet[Period]:
    return Period.objects.all()


def api_releases() -> QuerySet[Release]:
    """Every announced release (the calendar is public), published or still to come."""
    return Release.objects.all()


def api_deliverables() -> QuerySet[Deliverable]:
    """The deliverables with owners, priorities and updates (the latest first): three
    queries. Who may read the updates is the caller's to decide."""
    return Deliverable.objects.select_related("owner").prefetch_related(
        Prefetch("priorities", queryset=Priority.objects.only("id", "code")),
        Prefetch("updates", queryset=DeliverableUpdate.objects.order_by("-recorded_at")),
    )
