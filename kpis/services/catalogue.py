"""Loading the KPI catalogue: disclosure rules, breakdowns, KPIs with their definition
versions and targets, the deliverables that evidence priorities, and the default verdict rules.
Idempotent: records are upserted by their natural keys."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from django.core.exceptions import ValidationError
from django.db import transaction

from strategy.models import (
    Deliverable,
    Organisation,
    Outcome,
    Priority,
    SourceDocument,
    Strategy,
    WhatMatters,
)
from strategy.selectors import CURRENT_STRATEGY
from strategy.services import LoadReport, read_yaml, text_or_blank, upsert_by_natural_key

from ..models import Breakdown, DefinitionVersion, DisclosureRule, Kpi, Target
from .progress import series_recompute_request, verdict_rules_ensure_default


def disclosure_rules_load(*, data: dict, report: LoadReport) -> None:
    """Upsert the publishers' disclosure rules."""
    for row in data["disclosure_rules"]:
        upsert_by_natural_key(
            DisclosureRule,
            {"code": row["code"]},
            {
                "publisher": text_or_blank(row.get("publisher")),
                "description": text_or_blank(row["description"]),
                "min_count": row.get("min_count"),
                "rounding_base": row.get("rounding_base"),
                "round_after_summing": bool(row.get("round_after_summing")),
                "min_respondents": row.get("min_respondents"),
                "min_events_for_rate": row.get("min_events_for_rate"),
                "zero_shown": row.get("zero_shown"),
                "url": text_or_blank(row.get("url")),
            },
        )
    report.add("disclosure_rules", len(data["disclosure_rules"]))


def breakdowns_load(*, data: dict, report: LoadReport) -> None:
    """Upsert the categories of each inequalities dimension."""
    count = 0
    for dimension, rows in data["breakdowns"].items():
        for position, row in enumerate(rows, start=1):
            upsert_by_natural_key(
                Breakdown,
                {"dimension": dimension, "category": str(row["category"])},
                {"label": row["label"], "position": position},
            )
            count += 1
    report.add("breakdowns", count)


def _paragraphs(value) -> str:
    """Public caveats as stored: a list in the catalogue becomes one paragraph per item."""
    if value is None:
        return ""
    if isinstance(value, list):
        return "\n\n".join(str(item).strip() for item in value if item)
    return str(value)


def _codes(lookup: dict, codes, what: str, kpi_code: str) -> list:
    unknown = [code for code in codes or [] if code not in lookup]
    if unknown:
        raise ValidationError(f"KPI {kpi_code}: unknown {what} {unknown}")
    return [lookup[code] for code in codes or []]


def kpis_load(*, data: dict, report: LoadReport) -> None:
    """Upsert every KPI with its links, definition versions and targets."""
    strategy = Strategy.objects.get(code=CURRENT_STRATEGY)
    priorities = {p.code: p for p in Priority.objects.filter(strategy=strategy)}
    outcomes = {o.code: o for o in Outcome.objects.filter(strategy=strategy)}
    what_matters = {w.code: w for w in WhatMatters.objects.filter(strategy=strategy)}
    organisations = {o.code: o for o in Organisation.objects.all()}
    rules = {r.code: r for r in DisclosureRule.objects.all()}
    sources = {s.code: s for s in SourceDocument.objects.all()}
    for row in data["kpis"]:
        source = row["source"]
        valid = row.get("valid_range") or {}
        baseline = row["baseline"]
        kpi = upsert_by_natural_key(
            Kpi,
            {"code": row["code"]},
            {
                "title": text_or_blank(row["title"]),
                "description": text_or_blank(row["description"]),
                "public_caveats": _paragraphs(row.get("public_caveats")),
                "cohort": row["cohort"],
                "age_band": text_or_blank(row.get("age_band")),
                "statistic": row["statistic"],
                "numerator": text_or_blank(row.get("numerator")),
                "denominator": text_or_blank(row.get("denominator")),
                "multiplier": Decimal(str(row.get("multiplier") or 1)),
                "unit": text_or_blank(row["unit"]),
                "direction": row["direction"],
                "time_structure": row["time_structure"],
                "frequency": row["frequency"],
                "period_type": row["period_type"],
                "publication_lag_days": row.get("publication_lag_days"),
                "geography_basis": row["geography_basis"],
                "lowest_level": row["lowest_level"],
                "combinability": row["combinability"],
                "owner": organisations.get(row.get("owner")),
                "lived_experience": bool(row.get("lived_experience")),
                "locally_supplied": bool(row.get("locally_supplied")),
                "breakdowns": row.get("breakdowns") or [],
                "valid_min": valid.get("min"),
                "valid_max": valid.get("max"),
                "disclosure_rule": rules[row["disclosure_rule"]],
                "source_publisher": text_or_blank(source.get("publisher")),
                "source_dataset": text_or_blank(source.get("dataset")),
                "source_indicator_id": text_or_blank(source.get("indicator_id")),
                "source_url": text_or_blank(source.get("url")),
                "source_note": text_or_blank(source.get("note")),
                "baseline_rule": baseline["rule"],
                "baseline_period_label": text_or_blank(baseline.get("period_label")),
                "baseline_note": text_or_blank(baseline.get("note")),
            },
        )
        kpi.priorities.set(_codes(priorities, row.get("priorities"), "priorities", kpi.code))
        kpi.outcomes.set(_codes(outcomes, row.get("outcomes"), "outcomes", kpi.code))
        kpi.what_matters.set(_codes(what_matters, row.get("what_matters"), "statements", kpi.code))
        _definition_versions_replace(kpi, row.get("definition_versions") or [])
        _targets_replace(kpi, row.get("targets") or [], sources)
    report.add("kpis", len(data["kpis"]))


def _definition_versions_replace(kpi: Kpi, rows: list[dict]) -> None:
    kept = []
    for row in rows:
        version = upsert_by_natural_key(
            DefinitionVersion,
            {"kpi": kpi, "version": row["version"]},
            {
                "applies_from": row.get("applies_from"),
                "series_break": bool(row.get("series_break")),
                "note": text_or_blank(row.get("note")),
            },
        )
        kept.append(version.pk)
    DefinitionVersion.objects.filter(kpi=kpi).exclude(pk__in=kept).delete()


def _targets_replace(kpi: Kpi, rows: list[dict], sources: dict) -> None:
    # Targets have no natural key of their own in the catalogue: the catalogue's list is the
    # truth, so it replaces the KPI's targets whole (targets carry no history of their own).
    Target.objects.filter(kpi=kpi).delete()
    for row in rows:
        target = Target(
            kpi=kpi,
            kind=row["kind"],
            value=None if row.get("value") is None else Decimal(str(row["value"])),
            comparator=text_or_blank(row.get("comparator")),
            applies_from=row.get("applies_from"),
            due=row.get("due"),
            set_by=text_or_blank(row["set_by"]),
            source_document=sources.get(row.get("source_document")),
            url=text_or_blank(row.get("url")),
            note=text_or_blank(row.get("note")),
            public_text=text_or_blank(row.get("public_text")),
        )
        target.full_clean()
        target.save()


def priority_deliverables_load(*, data: dict, report: LoadReport) -> None:
    """Deliverables tracking priorities (or statements) that no sourced number fits."""
    strategy = Strategy.objects.get(code=CURRENT_STRATEGY)
    priorities = {p.code: p for p in Priority.objects.filter(strategy=strategy)}
    what_matters = {w.code: w for w in WhatMatters.objects.filter(strategy=strategy)}
    organisations = {o.code: o for o in Organisation.objects.all()}
    rows = data.get("priority_deliverables") or []
    for row in rows:
        deliverable = upsert_by_natural_key(
            Deliverable,
            {"code": row["code"]},
            {
                "source": strategy.source,
                "strategy": strategy,
                "owner": organisations.get(row.get("owner")),
                "section": "Outcomes framework: tracked deliverable",
                "title": text_or_blank(row["title"]),
                "note": text_or_blank(row.get("note")),
            },
        )
        deliverable.priorities.set(
            _codes(priorities, row.get("priorities"), "priorities", row["code"])
        )
        deliverable.what_matters.set(
            _codes(what_matters, row.get("what_matters"), "statements", row["code"])
        )
    report.add("priority_deliverables", len(rows))


@transaction.atomic
def catalogue_load(*, directory: Path) -> LoadReport:
    """Load disclosure rules, breakdowns, the KPI catalogue and its deliverables; idempotent."""
    report = LoadReport()
    disclosure_rules_load(data=read_yaml(directory / "disclosure_rules.yaml"), report=report)
    breakdowns_load(data=read_yaml(directory / "breakdowns.yaml"), report=report)
    catalogue = read_yaml(directory / "catalogue.yaml")
    kpis_load(data=catalogue, report=report)
    priority_deliverables_load(data=catalogue, report=report)
    verdict_rules_ensure_default(path=directory / "verdict_rules.yaml")
    # Definitions or targets may have changed: every stored assessment is recomputed.
    series_recompute_request()
    return report
