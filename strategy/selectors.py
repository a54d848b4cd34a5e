"""Reads for strategy pages, each returning data in the shape the page needs."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Prefetch

from .models import Cohort, Deliverable, Priority, Strategy, Theme

CURRENT_STRATEGY = "set-2023-28"


@dataclass
class ThemeColumn:
    theme: Theme
    priorities: list[Priority]


@dataclass
class CohortSection:
    cohort: str
    label: str
    themes: list[ThemeColumn]


def strategy_get(*, code: str = CURRENT_STRATEGY, priority_prefetches=()) -> Strategy:
    """The strategy with every list the strategy-on-a-page shows, in a fixed number of queries.

    ``priority_prefetches`` adds relations of each priority from apps built on this one.
    """
    priorities = Priority.objects.select_related("theme").prefetch_related(
        Prefetch("deliverables", queryset=Deliverable.objects.only("id", "code", "title")),
        *priority_prefetches,
    )
    return (
        Strategy.objects.select_related("source")
        .prefetch_related(
            "outcomes",
            "what_matters",
            "needs",
            "actions",
            "focus_areas",
            "themes",
            Prefetch("priorities", queryset=priorities),
        )
        .get(code=code)
    )


def deliverable_list(*, strategy_code: str = CURRENT_STRATEGY):
    """Deliverables serving the strategy's priorities, with owners and linked priorities."""
    return (
        Deliverable.objects.filter(priorities__strategy__code=strategy_code)
        .distinct()
        .select_related("owner", "source", "strategy")
        .prefetch_related(Prefetch("priorities", queryset=Priority.objects.only("id", "code")))
        .order_by("code")
    )


def priorities_by_cohort_and_theme(strategy: Strategy) -> list[CohortSection]:
    """Nest the prefetched priorities as cohort, then theme, in document order."""
    sections = []
    for cohort in (Cohort.ADULTS, Cohort.CYP):
        columns = [
            ThemeColumn(
                theme=theme,
                priorities=[
                    p
                    for p in strategy.priorities.all()
                    if p.cohort == cohort and p.theme_id == theme.pk
                ],
            )
            for theme in strategy.themes.all()
        ]
        sections.append(CohortSection(cohort=cohort, label=cohort.label, themes=columns))
    return sections
