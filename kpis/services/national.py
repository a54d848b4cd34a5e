"""Importing a national publication (Fingertips, NHS England) into observations.

The publisher's own file is parsed by kpis.national; its indicator and area codes are mapped to
the catalogue's KPIs (``source_indicator_id``; "A / B" pairs a numerator and a denominator
measure) and places (GSS or NHS codes). Provenance, the source's suppression markers and its
published confidence intervals are kept. Values already published by their source are approved
on import; they reach the public in the next release like everything else.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pandas as pd
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone

from strategy.access import Action, user_can
from strategy.models import Place, User

from ..bulk.staging import StagingIds
from ..models import AuditEvent, Kpi, NationalPublication
from ..national import pair_measures, parse_publication
from ..numbers import decimal_6dp
from .audit import audit
from .observations import observations_ingest

SEXES = {"persons": ("all", "all"), "": ("all", "all"), "male": ("sex", "male")}
SEXES["female"] = ("sex", "female")


@dataclass(frozen=True)
class ImportResult:
    publication: NationalPublication | None
    created: bool
    rows_read: int
    rows_mapped: int
    values_changed: int
    unmapped: dict[str, int]


def _kpi_measures() -> list[tuple[str, list[str]]]:
    measures = []
    for code, identifier in Kpi.objects.exclude(source_indicator_id="").values_list(
        "code", "source_indicator_id"
    ):
        measures.append((code, [part.strip() for part in identifier.split("/")]))
    return measures


def _mapped_rows(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows of the publication that belong to catalogue KPIs, one row per figure."""
    pieces = []
    for kpi_code, ids in _kpi_measures():
        if len(ids) == 1:
            rows = frame[frame["indicator_id"] == ids[0]]
        elif len(ids) == 2 and frame["indicator_id"].isin(ids).any():
            rows = pair_measures(frame, numerator_id=ids[0], denominator_id=ids[1])
        else:
            continue
        if not rows.empty:
            pieces.append(rows.assign(kpi_code=kpi_code))
    if not pieces:
        return frame.iloc[0:0].assign(kpi_code="")
    return pd.concat(pieces, ignore_index=True)


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


def publication_import(
    *, user: User, filename: str, content: bytes, release_date: date | None = None
) -> ImportResult:
    """Import a publisher's file; the same file twice changes nothing."""
    if not user_can(user, Action.IMPORT_PUBLICATION):
        raise PermissionDenied("Analysts and the Strategy Implementation Group import data.")
    parsed = parse_publication(content, filename=filename)
    existing = NationalPublication.objects.filter(checksum=parsed.file_checksum).first()
    if existing is not None:
        return ImportResult(existing, False, existing.rows_read, 0, 0, {})
    frame = parsed.frame
    rows = _mapped_rows(frame)
    rows["place_code"] = _place_codes(rows["area_code"])
    rows["place_code"] = _resolve_ccgs(rows)
    sex = rows["sex"].str.strip().str.lower().map(SEXES)
    usable = (
        rows["place_code"].notna()
        & sex.notna()
        & (rows["category_type"].str.strip() == "")
        & rows["period_label"].ne("")
    )
    unmapped = {
        "indicator not in the catalogue": int(len(frame) - len(rows)),
        "area not a place": int(rows["place_code"].isna().sum()),
        "breakdown not held": int((rows["place_code"].notna() & ~usable).sum()),
    }
    rows = rows[usable].copy()
    rows["breakdown_dimension"] = sex[usable].str[0]
    rows["breakdown_category"] = sex[usable].str[1]
    with transaction.atomic():
        publication = NationalPublication.objects.create(
            publisher=parsed.publisher,
            original_name=filename[:255],
            checksum=parsed.file_checksum,
            release_date=release_date,
            imported_by=user,
            imported_at=timezone.now(),
            rows_read=len(frame),
        )
        changed = 0
        if not rows.empty:
            ids = StagingIds()
            staged = pd.DataFrame(
                {
                    "series_id": ids.series_ids(rows),
                    "period_id": ids.period_ids(rows),
                    "numerator": rows["numerator"],
                    "denominator": rows["denominator"],
                    "value": rows["value"],
                    "suppressed": rows["suppressed"].astype(bool),
                    "marker": rows["marker"].str[:10],
                    "note": rows["note"],
                    "ci_lower": rows["lower95"],
                    "ci_upper": rows["upper95"],
                    "ci_level": rows["lower95"].notna().map({True: 0.95, False: None}),
                    "ci_method": rows["ci_method"],
                    "source_row": rows["source_row"],
                }
            )
            staged = _decimals(staged)
            changed = observations_ingest(
                staged,
                recorded_by=user,
                change_reason=f"{parsed.publisher} publication {filename}",
                source_publication=publication,
            ).changed
        publication.values_changed = changed
        publication.save(update_fields=["values_changed"])
        audit(
            action=AuditEvent.Action.IMPORT,
            actor=user,
            publication=publication.pk,
            file=filename,
            changed=changed,
            unmapped=unmapped,
        )
    return ImportResult(publication, True, len(frame), len(rows), changed, unmapped)


def _decimals(frame: pd.DataFrame) -> pd.DataFrame:
    """Values as the database stores them (6 decimal places), so unchanged values compare equal."""
    out = frame.copy()
    for column in ("numerator", "denominator", "value", "ci_lower", "ci_upper"):
        out[column] = out[column].map(decimal_6dp)
    out["ci_level"] = out["ci_level"].map(decimal_6dp)
    return out
