"""Reads for strategy pages, each returning data in the shape the page needs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.db.models import Prefetch

from .models import Cohort, Deliverable, DeliverableUpdate, Priority, Strategy, Theme

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


#: Deliverables not started with less than this long to go are amber.
AMBER_WITHIN_DAYS = 90


@dataclass
class TrackedDeliverable:
    """A deliverable as the tracker shows it: RAG with its reason, overdue flag, latest update."""

    deliverable: Deliverable
    rag: str
    rag_reason: str
    overdue: bool
    latest_update: DeliverableUpdate | None


def deliverable_rag(deliverable: Deliverable, *, today: date) -> tuple[str, str, bool]:
    """(RAG, reason, overdue) of a deliverable on a day.

    Red: past its due date and not complete. Amber: not started with under 90 days to go, or
    with no due date set. Green: complete, or under way and not yet due.
    """
    complete = deliverable.status == Deliverable.Status.COMPLETE
    overdue = deliverable.due is not None and deliverable.due < today and not complete
    if complete:
        return "green", "Complete", False
    if deliverable.status == Deliverable.Status.EXPIRED:
        return "", "Expired with the earlier strategy", False
    if overdue:
        return "red", f"Overdue: was due {deliverable.due:%d %B %Y}", True
    if deliverable.due is None:
        return "amber", "No due date set", False
    if deliverable.status == Deliverable.Status.NOT_STARTED:
        if (deliverable.due - today).days < AMBER_WITHIN_DAYS:
            return "amber", f"Not started, due {deliverable.due:%d %B %Y}", False
        return "green", f"Not yet started, due {deliverable.due:%d %B %Y}", False
    return "green", f"In progress, due {deliverable.due:%d %B %Y}", False


def deliverable_tracker(
    *, today: date, strategy_code: str = CURRENT_STRATEGY
) -> list[TrackedDeliverable]:
    """Every deliverable of the strategy with its RAG and latest update, in three queries."""
    deliverables = deliverable_list(strategy_code=strategy_code).prefetch_related(
        Prefetch(
            "updates",
            queryset=DeliverableUpdate.objects.select_related("author").order_by("-recorded_at"),
        )
    )
    tracked = []
    for deliverable in deliverables:
        rag, reason, overdue = deliverable_rag(deliverable, today=today)
        updates = list(deliverable.updates.all())
        tracked.append(
            TrackedDeliverable(deliverable, rag, reason, overdue, updates[0] if updates else None)
        )
    return tracked


def deliverable_get(*, code: str) -> Deliverable:
    return (
        Deliverable.objects.select_related("owner")
        .prefetch_related(
            Prefetch(
                "updates",
                queryset=DeliverableUpdate.objects.select_related("author").order_by(
                    "-recorded_at"
                ),
            )
        )
        .get(code=code)
    )
