"""NHS Talking Therapies for anxiety and depression (formerly IAPT): monthly and quarterly CSVs.

Its layouts differ from MHSDS (no BREAKDOWN/PRIMARY_LEVEL; the organisations sit in their own
columns; no STATUS), so it has its own parser. Verified against the fixtures and schema list of
bennettoxford/nhstt (tests/testthat/fixtures/.../activity_performance_monthly/raw/2025-06.csv,
.../quarterly/measures_icb_subicb_quarterly/raw/2025-26-q3.csv and
inst/schemas/activity_performance_monthly_schemas.csv):

Monthly "activity and performance" file:
    REPORTING_PERIOD_START, REPORTING_PERIOD_END, GROUP_TYPE, ORG_CODE1, ORG_NAME1, ORG_CODE2,
    ORG_NAME2, MEASURE_ID, MEASURE_NAME, MEASURE_VALUE_SUPPRESSED
(March 2021 named the last column MEASURE_VALUE.) ORG_CODE1 is the commissioner (sub-ICB, ICB,
region) and ORG_CODE2 the provider, "all" when not broken down ("all SubICBs", "all Providers").

Quarterly file (by ICB/sub-ICB, by provider, by sub-ICB and provider):
    REPORTING_PERIOD_START, REPORTING_PERIOD_END, ICB, ICBName, SubICB, SubICBName, Provider,
    ProviderName, GroupType, VariableType, VariableA, VariableB, MEASURE_ID, MEASURE_NAME,
    MEASURE_VALUE_SUPPRESSED
with placeholders All_ICB / All_SubICB / All_Provider / null, and demographic breakdowns in
VariableType ("Ethnic Group") / VariableA / VariableB ("Total" when not broken down).

The area is the most specific commissioner (sub-ICB, else ICB or region), else the provider;
England rows get E92000001. When a row names both a commissioner and a provider, the commissioner
is the area and the provider code goes into the breakdown (category_type "Provider").
"*" is suppression (suppressed=True); "-" is kept as the marker without suppressed (the
publisher uses it for values not available); both leave value NaN.

Annual report CSVs ("Psychological Therapies, Annual report on the use of IAPT services", the
"main" file and its companions; verified against bennettoxford/nhstt's raw annual fixtures and
inst/schemas/annual_main_schemas.csv) are wide, one column per measure:
    OrgType, OrgCode, OrgName, VariableType, VariableA, VariableB, Count_ReferralsReceived,
    Count_FirstTreatment, Count_FinishedCourseTreatment, ..., Count_NotAtCaseness, ...,
    Count_Recovery, Percentage_Recovery, ...
(2018-19 and earlier spell the measures without the underscore: CountRecovery.) OrgType is
England, Commissioning Region, STP, CCG or Provider (ICB and Sub-ICB from 2022-23);
VariableType "Total" is the whole population, otherwise a breakdown (Age Group, Gender, Ethnic
Group, Indices of Deprivation Decile, ...) with its category in VariableA and VariableB. The file
names no period: it is the financial year in the file name (psych-ther-ann-rep-csv-2020-21-...),
or the one the importer gives. Each measure column becomes rows of the normalised frame, the
measure's column name being both its indicator_id and indicator_name. A large annual report can
be read for some organisations only (``areas``): their breakdown rows, England's, and every
organisation's whole-population row, one per organisation, which the import needs for the
spread of a measure over all organisations of a type.
"""

from __future__ import annotations

import re

import pandas as pd

from kpis import periods as P
from kpis.periods import PeriodSpec

from .base import (
    ENGLAND_CODE,
    SUPPRESSION_MARKERS,
    Column,
    Layout,
    ParsedPublication,
    PublicationFormatError,
    blank_placeholders,
    join_parts,
    map_periods,
    parse_day,
    parse_numbers,
    publication,
    read_table,
    report_repeats,
    window_period,
)

PUBLISHER = "talking_therapies"
TITLE = "NHS Talking Therapies"

_COMMON_START = (
    Column("start", "REPORTING_PERIOD_START"),
    Column("end", "REPORTING_PERIOD_END"),
)
_COMMON_END = (
    Column("measure_id", "MEASURE_ID"),
    Column("measure_name", "MEASURE_NAME"),
    Column("measure_value", "MEASURE_VALUE_SUPPRESSED", aliases=("MEASURE_VALUE",)),
)

MONTHLY = Layout(
    key="talking_therapies_monthly",
    publisher=PUBLISHER,
    title=f"{TITLE} monthly",
    columns=(
        *_COMMON_START,
        Column("group_type", "GROUP_TYPE"),
        Column("org_code1", "ORG_CODE1"),
        Column("org_name1", "ORG_NAME1"),
        Column("org_code2", "ORG_CODE2"),
        Column("org_name2", "ORG_NAME2"),
        *_COMMON_END,
    ),
)

QUARTERLY = Layout(
    key="talking_therapies_quarterly",
    publisher=PUBLISHER,
    title=f"{TITLE} quarterly",
    columns=(
        *_COMMON_START,
        Column("icb", "ICB"),
        Column("icb_name", "ICBName"),
        Column("subicb", "SubICB"),
        Column("subicb_name", "SubICBName"),
        Column("provider", "Provider"),
        Column("provider_name", "ProviderName"),
        Column("group_type", "GroupType"),
        Column("variable_type", "VariableType"),
        Column("variable_a", "VariableA"),
        Column("variable_b", "VariableB"),
        *_COMMON_END,
    ),
)

ANNUAL = Layout(
    key="talking_therapies_annual",
    publisher=PUBLISHER,
    title=f"{TITLE} annual report",
    columns=(
        Column("org_type", "OrgType"),
        Column("org_code", "OrgCode"),
        Column("org_name", "OrgName"),
        Column("variable_type", "VariableType"),
        Column("variable_a", "VariableA"),
        Column("variable_b", "VariableB"),
    ),
    wide=True,
)

LAYOUTS = (MONTHLY, QUARTERLY, ANNUAL)

#: The financial year in an annual report's file name: psych-ther-ann-rep-csv-2020-21-main.
_YEAR_IN_NAME = re.compile(r"(?<!\d)(20\d{2})[-_ ]?(\d{2})(?!\d)")

#: Organisation placeholders: "all", "all SubICBs", "All_ICB", "null", blank.
PLACEHOLDER = r"all(?:[ _].*)?|null|none|n/a|"
NO_BREAKDOWN = r"total|null|none|n/a|"


def _window(publication_quarters: bool):
    def convert(key: str):
        start_text, _, end_text = key.partition("|")
        return window_period(
            parse_day(start_text), parse_day(end_text), publication_quarters=publication_quarters
        )

    return convert


def _areas_monthly(cells: pd.DataFrame) -> pd.DataFrame:
    code1 = blank_placeholders(cells["org_code1"], PLACEHOLDER)
    code2 = blank_placeholders(cells["org_code2"], PLACEHOLDER)
    name1 = cells["org_name1"].where(code1.ne(""), "")
    name2 = cells["org_name2"].where(code2.ne(""), "")
    both = code1.ne("") & code2.ne("")
    return pd.DataFrame(
        {
            "commissioner_code": code1,
            "commissioner_name": name1,
            "provider_code": code2,
            "provider_name": name2,
            "breakdown_type": pd.Series("", index=cells.index),
            "breakdown": pd.Series("", index=cells.index),
            "both": both,
        }
    )


def _areas_quarterly(cells: pd.DataFrame) -> pd.DataFrame:
    subicb = blank_placeholders(cells["subicb"], PLACEHOLDER)
    icb = blank_placeholders(cells["icb"], PLACEHOLDER)
    provider = blank_placeholders(cells["provider"], PLACEHOLDER)
    commissioner = subicb.where(subicb.ne(""), icb)
    commissioner_name = cells["subicb_name"].where(subicb.ne(""), cells["icb_name"])
    commissioner_name = blank_placeholders(commissioner_name.where(commissioner.ne(""), ""), "null")
    provider_name = blank_placeholders(cells["provider_name"].where(provider.ne(""), ""), "null")
    variable_type = blank_placeholders(cells["variable_type"], NO_BREAKDOWN)
    breakdown = join_parts(
        [
            blank_placeholders(cells["variable_a"], NO_BREAKDOWN),
            blank_placeholders(cells["variable_b"], NO_BREAKDOWN),
        ]
    )
    return pd.DataFrame(
        {
            "commissioner_code": commissioner,
            "commissioner_name": commissioner_name,
            "provider_code": provider,
            "provider_name": provider_name,
            "breakdown_type": variable_type,
            "breakdown": breakdown,
            "both": commissioner.ne("") & provider.ne(""),
        }
    )


def annual_period(filename: str) -> PeriodSpec:
    """The financial year an annual report's file name gives, e.g. '...-2020-21-main-csv.csv'."""
    for match in _YEAR_IN_NAME.finditer(filename):
        first, second = int(match[1]), int(match[2])
        if (first + 1) % 100 == second:
            return P.financial_year(first)
    raise PublicationFormatError(
        f"{filename} is an {TITLE} annual report, whose rows name no period, and its file name "
        "gives no financial year (such as 2020-21): give the year it covers."
    )


def _annual(
    table, *, filename: str, period: PeriodSpec | None, areas, issues: list[str]
) -> tuple[pd.DataFrame, int]:
    """The wide annual report as one row per organisation, breakdown and measure, and how many
    file rows were left unread: the breakdown rows of organisations not in ``areas``."""
    spec = period or annual_period(filename)
    measures = table.measures
    skipped = 0
    if areas is not None:
        wanted = {str(a).upper() for a in areas}
        # Every organisation's whole-population row is read (one each: cheap), so the import
        # can keep the spread of a measure over all organisations of a type.
        whole = blank_placeholders(table.cells["variable_type"], NO_BREAKDOWN).eq("")
        kept = (
            whole
            | table.cells["org_type"].str.casefold().eq("england")
            | table.cells["org_code"].str.upper().isin(wanted)
        )
        skipped = int((~kept).sum())
        table.cells = table.cells[kept]
        if measures is not None:
            measures = measures[kept]
    if measures is not None:
        both = report_repeats(
            table.cells.join(measures.add_prefix("measure:")),
            identity=["org_type", "org_code", "variable_type", "variable_a", "variable_b"],
            issues=issues,
        )
        measures = measures.loc[both.index]
    cells = table.cells.loc[measures.index] if measures is not None else table.cells
    if measures is None or measures.empty or not len(measures.columns):
        issues.append("The file has none of the measures asked for.")
    england = cells["org_type"].str.casefold().eq("england")
    code = cells["org_code"].mask(england, ENGLAND_CODE)
    base = pd.DataFrame(
        {
            "area_code": code,
            "area_name": cells["org_name"].mask(england, "England"),
            "area_type": cells["org_type"],
            "category_type": blank_placeholders(cells["variable_type"], NO_BREAKDOWN),
            "category": join_parts(
                [
                    blank_placeholders(cells["variable_a"], NO_BREAKDOWN),
                    blank_placeholders(cells["variable_b"], NO_BREAKDOWN),
                ]
            ),
            "source_row": cells["source_row"],
        }
    )
    nowhere = base["area_code"].eq("")
    if nowhere.any():
        issues.append(
            f"{int(nowhere.sum())} rows name no organisation and are not England rows "
            f"(rows {', '.join(map(str, cells.loc[nowhere, 'source_row'].head(8)))})."
        )
    columns = list(measures.columns) if measures is not None else []
    long = (
        pd.concat(
            [base.assign(indicator_id=name, measure_value=measures[name]) for name in columns],
            ignore_index=True,
        )
        if columns
        else base.assign(indicator_id="", measure_value="").iloc[0:0]
    )
    out = long.drop(columns=["measure_value"])
    out["indicator_name"] = out["indicator_id"]
    out["sex"] = ""
    out["age"] = ""
    out["period_raw"] = spec.label
    out["period_label"] = spec.label
    out["period_type"] = spec.type
    out["period_start"] = pd.Timestamp(spec.start)
    out["period_end"] = pd.Timestamp(spec.end)
    value, marker = parse_numbers(long["measure_value"], label="Measure values", issues=issues)
    out["value"] = value
    out["marker"] = marker
    out["suppressed"] = marker.isin(SUPPRESSION_MARKERS)
    return out, skipped


def parse_talking_therapies(
    content: bytes,
    *,
    filename: str,
    measures=None,
    period: PeriodSpec | None = None,
    areas=None,
) -> ParsedPublication:
    """Parse an NHS Talking Therapies monthly, quarterly or annual report CSV into the normalised
    frame.

    ``measures`` limits an annual report to the measure columns named (the others are not read);
    ``period`` is the financial year of an annual report whose file name does not give it;
    ``areas`` limits an annual report's breakdown rows to the organisations with those codes (and
    England); every organisation's whole-population row is read. The rows left unread are counted
    in rows_skipped.
    Raises PublicationFormatError (naming the missing columns of the closest layout) otherwise.
    """
    table = read_table(content, filename=filename, layouts=LAYOUTS, measures=measures)
    issues = list(table.issues)
    if table.layout is ANNUAL:
        out, skipped = _annual(table, filename=filename, period=period, areas=areas, issues=issues)
        return publication(
            out,
            table=table,
            filename=filename,
            issues=issues,
            repeats_checked=True,
            rows_skipped=skipped,
        )
    cells = table.cells
    quarterly = table.layout is QUARTERLY
    orgs = _areas_quarterly(cells) if quarterly else _areas_monthly(cells)

    out = pd.DataFrame(index=cells.index)
    out["indicator_id"] = cells["measure_id"]
    out["indicator_name"] = cells["measure_name"]
    england = cells["group_type"].str.casefold().eq("england")
    has_commissioner = orgs["commissioner_code"].ne("")
    code = orgs["commissioner_code"].where(has_commissioner, orgs["provider_code"])
    name = orgs["commissioner_name"].where(has_commissioner, orgs["provider_name"])
    out["area_code"] = code.mask(england, ENGLAND_CODE)
    out["area_name"] = name.mask(england, "England")
    out["area_type"] = cells["group_type"]
    both = orgs["both"] & ~england
    out["category_type"] = join_parts(
        [pd.Series("", index=cells.index).mask(both, "Provider"), orgs["breakdown_type"]]
    )
    out["category"] = join_parts([orgs["provider_code"].where(both, ""), orgs["breakdown"]])
    out["sex"] = ""
    out["age"] = ""

    nowhere = out["area_code"].eq("")
    if nowhere.any():
        issues.append(
            f"{int(nowhere.sum())} rows name no organisation and are not England rows "
            f"(rows {', '.join(map(str, cells.loc[nowhere, 'source_row'].head(8)))})."
        )

    out["period_raw"] = cells["start"] + " to " + cells["end"]
    periods = map_periods(
        cells["start"] + "|" + cells["end"],
        _window(publication_quarters=quarterly),
        label="REPORTING_PERIOD_START|END",
        issues=issues,
    )
    out = out.join(periods)

    value, marker = parse_numbers(
        cells["measure_value"], label="MEASURE_VALUE_SUPPRESSED", issues=issues
    )
    out["value"] = value
    out["marker"] = marker
    out["suppressed"] = marker.isin(SUPPRESSION_MARKERS)
    out["numerator"] = float("nan")
    out["denominator"] = float("nan")
    out["note"] = ""
    out["ci_method"] = ""
    out["status"] = ""
    out["source_row"] = cells["source_row"]
    return publication(out, table=table, filename=filename, issues=issues)
