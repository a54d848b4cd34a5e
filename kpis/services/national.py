"""Importing a national publication (Fingertips, NHS England) into observations.

The publisher's own file is parsed by kpis.national; its measures are mapped to the catalogue's
KPIs and its area codes to places (GSS or NHS codes). A KPI is made from the recipe in
fixtures/kpis/national_measures.yaml where it has one (counts as numerator and denominator, the
publisher's printed figure beside them), else from the single measure of its
``source_indicator_id`` ("A / B" pairs a numerator and a denominator measure).

Kept from the source: provenance to file and row, suppression markers, published confidence
intervals, Fingertips' own comparison with England, and the rounded flag where the KPI's
disclosure rule says the publisher rounds sub-national counts (so combining them is refused).
A breakdown row lands in its own breakdown series, or nowhere if the KPI holds no such
breakdown, never in an all-people series. Only places' values become observations; the spread of
each KPI's values over every area of a type in the file (lowest, quartiles, highest, and
England's value) is kept as AreaSpread, with the places among those areas, for spine charts
(kpis.national.spreads says which rows count and how the quartiles are computed). Values
already published by their source are approved on import; they reach the public in the next
release like everything else.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import lru_cache

import pandas as pd
import yaml
from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone

from strategy.access import Action, user_can
from strategy.models import Place, User

from ..bulk.staging import StagingIds
from ..models import AreaSpread, AuditEvent, Kpi, NationalPublication
from ..national import ENGLAND_CODE, parse_publication
from ..national.breakdowns import breakdown_keys
from ..national.recipes import Measure, Recipe, recipe_measure_names, recipe_rows, recipes_from
from ..national.spreads import Spreads, area_spreads
from ..numbers import decimal_6dp
from ..periods import PeriodSpec
from .audit import audit
from .observations import observations_ingest

NATIONAL_MEASURES = "national_measures.yaml"

#: Why a file row was not imported, in the order a row is counted (each row once, under the
#: first reason that holds for it).
NOT_IMPORTED = (
    "figure incomplete",
    "breakdown not held",
    "area not a place",
    "period not read",
    "measure not in the catalogue",
)


@dataclass(frozen=True)
class ImportResult:
    """What an import did. Every row of the file is counted once: ``rows_imported`` plus the
    counts in ``not_imported`` make ``rows_read``."""

    publication: NationalPublication | None
    created: bool
    rows_read: int
    rows_imported: int
    values_changed: int
    not_imported: dict[str, int]
    issues: tuple[str, ...] = ()


@dataclass(frozen=True)
class _KpiInfo:
    code: str
    statistic: str
    multiplier: float
    rounding_base: float | None
    breakdowns: tuple[str, ...]
    recipe: Recipe | None
    single_id: str


@lru_cache(maxsize=1)
def _recipes() -> dict[str, Recipe]:
    path = settings.FIXTURES_DIR / "kpis" / NATIONAL_MEASURES
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return {recipe.kpi: recipe for recipe in recipes_from(data)}


def _kpi_infos(publisher: str) -> list[_KpiInfo]:
    """The catalogue KPIs a publisher's file can hold, each with how its figures are made."""
    recipes = _recipes()
    infos = []
    for code, identifier, statistic, multiplier, rounding, breakdowns in Kpi.objects.values_list(
        "code",
        "source_indicator_id",
        "statistic",
        "multiplier",
        "disclosure_rule__rounding_base",
        "breakdowns",
    ):
        recipe = recipes.get(code)
        if recipe is not None and recipe.publisher != publisher:
            continue
        parts = [part.strip() for part in identifier.split("/") if part.strip()]
        if recipe is None and len(parts) == 2:
            recipe = Recipe(code, publisher, (Measure(parts[0]),), (Measure(parts[1]),))
        if recipe is None and len(parts) != 1:
            continue
        infos.append(
            _KpiInfo(
                code=code,
                statistic=statistic,
                multiplier=float(multiplier or 1),
                rounding_base=float(rounding) if rounding else None,
                breakdowns=tuple(breakdowns or ()),
                recipe=recipe,
                single_id=parts[0] if recipe is None else "",
            )
        )
    return infos


def _single_measure_rows(frame: pd.DataFrame, info: _KpiInfo) -> pd.DataFrame:
    """A KPI whose figures the file gives whole, one row each (Fingertips: value, count,
    denominator and interval on one row)."""
    rows = frame[frame["indicator_id"].eq(info.single_id) & frame["period_label"].ne("")].copy()
    if info.statistic == "count":
        rows["numerator"] = rows["numerator"].fillna(rows["value"])
    rows["source_value"] = rows["value"]
    rows["source_value_differs"] = False
    rows["rounded"] = bool(info.rounding_base) & rows["area_code"].ne(ENGLAND_CODE)
    return rows.reset_index(drop=True).rename_axis("row").reset_index()


def _figures(
    frame: pd.DataFrame, infos: list[_KpiInfo], issues: list[str]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Every catalogue figure in the file (``figure`` numbers them) and, for each, the file
    rows it was made from."""
    pieces, sources = [], []
    offset = 0
    for info in infos:
        if info.recipe is not None:
            rows, made_from = recipe_rows(
                frame,
                info.recipe,
                multiplier=info.multiplier if info.recipe.denominator else 1.0,
                rounding_base=info.rounding_base,
                issues=issues,
            )
        else:
            rows = _single_measure_rows(frame, info)
            made_from = rows[["row", "source_row"]]
        if rows.empty:
            continue
        pieces.append(rows.assign(kpi_code=info.code, figure=rows["row"] + offset))
        sources.append(made_from.assign(figure=made_from["row"] + offset))
        offset += len(rows)
    if not pieces:
        return pd.DataFrame(), pd.DataFrame(columns=["figure", "source_row"])
    return (
        pd.concat(pieces, ignore_index=True),
        pd.concat(sources, ignore_index=True)[["figure", "source_row"]],
    )


def _area_codes() -> set[str]:
    """Every GSS and NHS code of a place: the rows of a large file worth reading."""
    codes = set()
    for gss, nhs in Place.objects.values_list("gss_code", "nhs_code"):
        codes.update(code.upper() for code in (gss, nhs) if code)
    return codes


def _place_codes(area_codes: pd.Series) -> pd.Series:
    lookup = {}
    for code, gss, nhs in Place.objects.values_list("code", "gss_code", "nhs_code"):
        for key in (gss, nhs):
            if key:
                lookup.setdefault(key.upper(), code)
    # Sub-ICB locations share their NHS code with the CCG they replaced: the place valid for
    # the period wins below, so prefer sub-ICB records here and fix CCG periods afterwards.
    return area_codes.str.upper().map(lookup)


def _resolve_ccgs(rows: pd.DataFrame) -> pd.Series:
    """Before 1 July 2022 an NHS code such as 99G names the CCG, not the sub-ICB location."""
    successor = {
        f"sub-icb-{nhs.lower()}": f"ccg-{nhs.lower()}"
        for nhs in Place.objects.filter(kind=Place.Kind.SUB_ICB).values_list("nhs_code", flat=True)
    }
    before = rows["period_end"] < pd.Timestamp("2022-07-01")
    return rows["place_code"].where(~before, rows["place_code"].replace(successor))


def _held_breakdowns(figures: pd.DataFrame, infos: list[_KpiInfo]) -> pd.DataFrame:
    """Each figure's catalogue breakdown, or blank where the KPI holds no such breakdown.

    A KPI about a cohort (65 and over) takes its cohort's rows as its whole population and
    nothing else: never the all-ages rows.
    """
    keys = breakdown_keys(figures)
    dimension, category = keys["breakdown_dimension"], keys["breakdown_category"]
    cohorts = {i.code: i.recipe.cohort for i in infos if i.recipe and i.recipe.cohort}
    held = {i.code: set(i.breakdowns) for i in infos}
    kpi = figures["kpi_code"]
    has_cohort = kpi.isin(list(cohorts))
    cohort_dimension = kpi.map({i.code: cohorts.get(i.code, ("", ""))[0] for i in infos})
    cohort_category = kpi.map({i.code: cohorts.get(i.code, ("", ""))[1] for i in infos})
    in_cohort = has_cohort & cohort_dimension.eq(dimension) & cohort_category.eq(category)
    allowed = (kpi.astype(str) + "|" + dimension).isin(
        {f"{code}|{d}" for code, dimensions in held.items() for d in dimensions}
    )
    keep = in_cohort | (~has_cohort & (dimension.eq("all") | (dimension.ne("") & allowed)))
    return pd.DataFrame(
        {
            "breakdown_dimension": dimension.mask(in_cohort, "all").where(keep, ""),
            "breakdown_category": category.mask(in_cohort, "all").where(keep, ""),
        },
        index=figures.index,
    )


def _row_counts(
    frame: pd.DataFrame, sources: pd.DataFrame, reasons: pd.Series
) -> tuple[int, dict[str, int]]:
    """Rows imported, and rows not imported by reason, each file row counted once."""
    rows = pd.Series(frame["source_row"].unique())
    made = sources.assign(reason=sources["figure"].map(reasons))
    imported = set(made.loc[made["reason"].eq(""), "source_row"])
    counted = set(imported)
    counts: dict[str, int] = {}
    for reason in NOT_IMPORTED:
        if reason == "period not read":
            these = set(frame.loc[frame["period_label"].eq(""), "source_row"])
        elif reason == "measure not in the catalogue":
            these = set(rows)
        else:
            these = set(made.loc[made["reason"].eq(reason), "source_row"])
        these -= counted
        counts[reason] = len(these)
        counted |= these
    return len(imported), counts


def publication_import(
    *,
    user: User,
    filename: str,
    content: bytes,
    release_date: date | None = None,
    period: PeriodSpec | None = None,
) -> ImportResult:
    """Import a publisher's file; the same file twice changes nothing.

    ``period`` is the financial year of an annual report whose file name does not say it.
    Raises PublicationFormatError with a readable reason for a file no layout fits.
    """
    if not user_can(user, Action.IMPORT_PUBLICATION):
        raise PermissionDenied("Analysts and the Strategy Implementation Group import data.")
    measures = recipe_measure_names(_recipes().values()) | set(
        Kpi.objects.exclude(source_indicator_id="").values_list("source_indicator_id", flat=True)
    )
    parsed = parse_publication(
        content, filename=filename, measures=measures, period=period, areas=_area_codes()
    )
    existing = NationalPublication.objects.filter(checksum=parsed.file_checksum).first()
    if existing is not None:
        return ImportResult(existing, False, existing.rows_read, 0, 0, {})
    frame = parsed.frame
    issues = list(parsed.issues)
    infos = _kpi_infos(parsed.publisher)
    figures, sources = _figures(frame, infos, issues)
    reasons = pd.Series(dtype=str)
    rows = figures
    spreads = area_spreads(pd.DataFrame())  # none unless the file has figures
    if not figures.empty:
        figures = figures.set_index("figure", drop=False)
        figures["place_code"] = _place_codes(figures["area_code"])
        figures["place_code"] = _resolve_ccgs(figures)
        figures = figures.join(_held_breakdowns(figures, infos))
        # Before the areas that are not places go: the spread over every area needs them.
        spreads = area_spreads(figures)
        reasons = pd.Series("", index=figures.index)
        incomplete = figures["value"].isna() & ~figures["suppressed"].astype(bool)
        reasons = reasons.mask(incomplete, "figure incomplete")
        reasons = reasons.mask(figures["breakdown_dimension"].eq(""), "breakdown not held")
        reasons = reasons.mask(figures["place_code"].isna(), "area not a place")
        rows = figures[reasons.eq("")].copy()
    imported, not_imported = _row_counts(frame, sources, reasons)
    not_imported["area not a place"] += parsed.rows_skipped
    rows_read = int(frame["source_row"].nunique()) + parsed.rows_skipped
    with transaction.atomic():
        publication = NationalPublication.objects.create(
            publisher=parsed.publisher,
            original_name=filename[:255],
            checksum=parsed.file_checksum,
            release_date=release_date,
            imported_by=user,
            imported_at=timezone.now(),
            rows_read=rows_read,
        )
        changed = 0
        ids = StagingIds()
        if not rows.empty:
            staged = pd.DataFrame(
                {
                    "series_id": ids.series_ids(rows),
                    "period_id": ids.period_ids(rows),
                    "numerator": rows["numerator"],
                    "denominator": rows["denominator"],
                    "value": rows["value"],
                    "source_value": rows["source_value"],
                    "source_value_differs": rows["source_value_differs"].astype(bool),
                    "source_comparison": rows.get(
                        "compared_to_england", pd.Series("", index=rows.index)
                    )
                    .fillna("")
                    .str[:40],
                    "rounded": rows["rounded"].astype(bool),
                    "suppressed": rows["suppressed"].astype(bool),
                    "marker": rows["marker"].fillna("").str[:10],
                    "note": rows["note"].fillna(""),
                    "ci_lower": rows.get("lower95", pd.Series(float("nan"), index=rows.index)),
                    "ci_upper": rows.get("upper95", pd.Series(float("nan"), index=rows.index)),
                    "ci_method": rows.get("ci_method", pd.Series("", index=rows.index)).fillna(""),
                    "source_row": rows["source_row"],
                }
            )
            staged["ci_level"] = staged["ci_lower"].notna().map({True: 0.95, False: None})
            staged = _decimals(staged)
            changed = observations_ingest(
                staged,
                recorded_by=user,
                change_reason=f"{parsed.publisher} publication {filename}",
                source_publication=publication,
            ).changed
        # After the observations, whose periods ``ids`` then knows already.
        _spreads_save(publication, spreads, figures, ids)
        publication.values_changed = changed
        publication.save(update_fields=["values_changed"])
        audit(
            action=AuditEvent.Action.IMPORT,
            actor=user,
            publication=publication.pk,
            file=filename,
            changed=changed,
            rows_read=rows_read,
            rows_imported=imported,
            not_imported=not_imported,
        )
    return ImportResult(
        publication, True, rows_read, imported, changed, not_imported, tuple(issues)
    )


def _spreads_save(
    publication: NationalPublication, spreads: Spreads, figures: pd.DataFrame, ids: StagingIds
) -> None:
    """Store the publication's spreads and, for each, the places among its areas (bulk)."""
    table = spreads.table
    if table.empty:
        return
    kpi_ids = dict(
        Kpi.objects.filter(code__in=table["kpi_code"].unique()).values_list("code", "id")
    )
    period_ids = ids.period_ids(table)
    england = table["england"].astype(object).where(table["england"].notna(), None)
    created = AreaSpread.objects.bulk_create(
        [
            AreaSpread(
                publication=publication,
                kpi_id=kpi_ids[row.kpi_code],
                period_id=int(period_id),
                area_type=row.area_type[:120],
                areas=int(row.areas),
                lowest=float(row.lowest),
                q25=float(row.q25),
                median=float(row.median),
                q75=float(row.q75),
                highest=float(row.highest),
                england=value,
            )
            for row, period_id, value in zip(
                table.itertuples(index=False), period_ids, england, strict=True
            )
        ],
        batch_size=2000,
    )
    # Each counted figure's place, if it is one: the CCG or sub-ICB valid for its period.
    places = figures.loc[spreads.members.index, "place_code"]
    members = pd.DataFrame({"spread": spreads.members, "place_code": places}).dropna()
    if members.empty:
        return
    place_ids = dict(
        Place.objects.filter(code__in=members["place_code"].unique()).values_list("code", "id")
    )
    pairs = {
        (created[spread].pk, place_ids[code])
        for spread, code in members.itertuples(index=False)
        if code in place_ids
    }
    through = AreaSpread.places.through
    through.objects.bulk_create(
        [through(areaspread_id=spread, place_id=place) for spread, place in sorted(pairs)],
        batch_size=5000,
    )


def _decimals(frame: pd.DataFrame) -> pd.DataFrame:
    """Values as the database stores them (6 decimal places), so unchanged values compare equal."""
    out = frame.copy()
    for column in ("numerator", "denominator", "value", "source_value", "ci_lower", "ci_upper"):
        out[column] = out[column].map(decimal_6dp)
    out["ci_level"] = out["ci_level"].map(decimal_6dp)
    return out
