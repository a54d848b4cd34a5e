"""NHS England Mental Health Services Monthly Statistics (MHSDS): the "Main"/"Exp" data CSV.

Layout (verified against NHS England's publication code, which writes the CSV from tables with
exactly these columns, and against a third-party reader's test fixture of the published file):

    REPORTING_PERIOD_START, REPORTING_PERIOD_END, STATUS, BREAKDOWN, PRIMARY_LEVEL,
    PRIMARY_LEVEL_DESCRIPTION, SECONDARY_LEVEL, SECONDARY_LEVEL_DESCRIPTION, MEASURE_ID,
    MEASURE_NAME, MEASURE_VALUE

Some products add TERTIARY_LEVEL(_DESCRIPTION) / QUARTERNARY_LEVEL(_DESCRIPTION); they are read
into the breakdown when present. Dates appear as 2023-07-01, 01/07/2023, 01-07-2023, 1/7/2023 or
01/07/23 depending on the month; STATUS may carry trailing spaces ("Performance ").

BREAKDOWN names the area level, then any breakdown after "; " ("England; Gender",
"Sub ICB - GP Practice or Residence; Ethnicity"; before July 2022 "CCG - GP Practice or
Residence"). England rows (PRIMARY_LEVEL "England") get the code E92000001. Other areas keep the
codes the file uses (ODS codes such as 99G or R1L). area_type is the area level part of
BREAKDOWN; category_type the rest; category the SECONDARY (and further) level descriptions.

Each row is one measure. REPORTING_PERIOD_START/END give the window: one month, or (for
measures such as EIP waiting times or 12-month CYP access) a rolling 3 or 12 months, labelled
"3 months to Jul 2023" / "12 months to Jul 2023". Numerators, denominators and proportions are
separate MEASURE_IDs (EIP23b / EIP23a / EIP23i); pair_measures() joins them.

Suppression (NHS England's rules): below England, counts under 5 are "*" and other counts are
rounded to the nearest 5; a proportion is "*" when its numerator or denominator is under 5 and
is otherwise rounded to a whole number, computed before rounding. "*" gives suppressed=True,
value NaN, marker "*".
"""

from __future__ import annotations

import pandas as pd

from .base import (
    ENGLAND_CODE,
    SUPPRESSION_MARKERS,
    Column,
    Layout,
    ParsedPublication,
    blank_placeholders,
    join_parts,
    map_periods,
    parse_day,
    parse_numbers,
    publication,
    read_table,
    window_period,
)
from .pairing import pair_measures

__all__ = ["LAYOUT", "PUBLISHER", "mhsds_window", "pair_measures", "parse_mhsds"]

PUBLISHER = "mhsds"

LAYOUT = Layout(
    key="mhsds",
    publisher=PUBLISHER,
    title="NHS England Mental Health Services Monthly Statistics (MHSDS)",
    columns=(
        Column("start", "REPORTING_PERIOD_START"),
        Column("end", "REPORTING_PERIOD_END"),
        Column("status", "STATUS"),
        Column("breakdown", "BREAKDOWN"),
        Column("primary_level", "PRIMARY_LEVEL"),
        Column("primary_description", "PRIMARY_LEVEL_DESCRIPTION"),
        Column("secondary_level", "SECONDARY_LEVEL"),
        Column("secondary_description", "SECONDARY_LEVEL_DESCRIPTION"),
        Column("tertiary_level", "TERTIARY_LEVEL", aliases=("THIRD_LEVEL",), required=False),
        Column(
            "tertiary_description",
            "TERTIARY_LEVEL_DESCRIPTION",
            aliases=("THIRD_LEVEL_DESCRIPTION",),
            required=False,
        ),
        Column(
            "quaternary_level", "QUARTERNARY_LEVEL", aliases=("QUATERNARY_LEVEL",), required=False
        ),
        Column(
            "quaternary_description",
            "QUARTERNARY_LEVEL_DESCRIPTION",
            aliases=("QUATERNARY_LEVEL_DESCRIPTION",),
            required=False,
        ),
        Column("measure_id", "MEASURE_ID"),
        Column("measure_name", "MEASURE_NAME"),
        Column("measure_value", "MEASURE_VALUE", aliases=("MEASURE_VALUE_SUPPRESSED",)),
    ),
)

#: Level spellings that mean "no level here".
NO_LEVEL = r"none|null|n/a|"


def mhsds_window(key: str):
    """The period of a 'start|end' pair of REPORTING_PERIOD dates (a month or a rolling window)."""
    start_text, _, end_text = key.partition("|")
    return window_period(parse_day(start_text), parse_day(end_text), publication_quarters=False)


def _level(code: pd.Series, description: pd.Series) -> pd.Series:
    """A breakdown level's description, or its code where the description is missing."""
    code = blank_placeholders(code, NO_LEVEL)
    description = blank_placeholders(description, NO_LEVEL)
    return description.where(description.ne(""), code)


def parse_mhsds(content: bytes, *, filename: str) -> ParsedPublication:
    """Parse an MHSDS monthly data CSV into the normalised frame, one row per measure.

    Raises PublicationFormatError (naming the missing columns) if the header is not MHSDS'.
    """
    table = read_table(content, filename=filename, layouts=(LAYOUT,))
    issues = list(table.issues)
    cells = table.cells

    out = pd.DataFrame(index=cells.index)
    out["indicator_id"] = cells["measure_id"]
    out["indicator_name"] = cells["measure_name"]

    level = cells["breakdown"].str.replace(r"(?s);.*$", "", regex=True).str.strip()
    detail = cells["breakdown"].str.replace(r"(?s)^[^;]*;?", "", regex=True).str.strip()
    england = cells["primary_level"].str.casefold().eq("england") | (
        level.str.casefold().eq("england")
        & blank_placeholders(cells["primary_level"], NO_LEVEL).eq("")
    )
    out["area_code"] = blank_placeholders(cells["primary_level"], NO_LEVEL).mask(
        england, ENGLAND_CODE
    )
    out["area_name"] = blank_placeholders(cells["primary_description"], NO_LEVEL).mask(
        england, "England"
    )
    out["area_type"] = level
    out["category_type"] = detail
    out["category"] = join_parts(
        [
            _level(cells["secondary_level"], cells["secondary_description"]),
            _level(cells["tertiary_level"], cells["tertiary_description"]),
            _level(cells["quaternary_level"], cells["quaternary_description"]),
        ]
    )
    out["sex"] = ""
    out["age"] = ""

    out["period_raw"] = cells["start"] + " to " + cells["end"]
    periods = map_periods(
        cells["start"] + "|" + cells["end"],
        mhsds_window,
        label="REPORTING_PERIOD_START|END",
        issues=issues,
    )
    out = out.join(periods)

    value, marker = parse_numbers(cells["measure_value"], label="MEASURE_VALUE", issues=issues)
    out["value"] = value
    out["marker"] = marker
    out["suppressed"] = marker.isin(SUPPRESSION_MARKERS)
    out["numerator"] = float("nan")
    out["denominator"] = float("nan")
    out["note"] = ""
    out["ci_method"] = ""
    out["status"] = cells["status"]
    out["source_row"] = cells["source_row"]

    statuses = sorted(set(out["status"]) - {""})
    if len(statuses) > 1:
        issues.append(f"The file mixes statuses: {', '.join(statuses)}.")
    return publication(out, table=table, filename=filename, issues=issues)
