"""OHID Fingertips indicator data CSV: the "Export" download and fingertipsR's fingertips_data().

Layout (verified against Fingertips' own source, ukhsa-collaboration/fingertips-open
PholioVisualisationWS/ServicesWebTest/Controllers/DataControllerTest.cs HeaderText, and
ropensci/fingertipsR R/fingertips_data.R and R/retrieve_data.R):

    Indicator ID, Indicator Name, Parent Code, Parent Name, Area Code, Area Name, Area Type, Sex,
    Age, Category Type, Category, Time period, Value, Lower CI 95.0 limit, Upper CI 95.0 limit,
    Lower CI 99.8 limit, Upper CI 99.8 limit, Count, Denominator, Value note, Recent Trend,
    Compared to England value or percentiles, Compared to <parent type> value or percentiles,
    Time period Sortable, New data, Compared to goal[, Time period range]

The 23rd column's name depends on the parent area type, and newer exports add "Time period
range" ("1y", "3y"). fingertipsR removes all whitespace from these names ("LowerCI95.0limit") and,
when the frame is written with write.csv, writes missing values as NA: both are accepted.

Time periods follow Fingertips' TimePeriodFormatter (fingertips-open
PholioVisualisationWS/FormattingTest/TimePeriodFormatterTest.cs):
"2006" calendar year; "2006 - 08" three pooled calendar years (and "2006 - 07" two); "2006/07"
financial year; "2006/07 Q1" financial quarter; "2006 Q1" calendar quarter (January to March,
stored as the financial quarter with the same months); "2006/07 Q1 - 2006/07 Q4" and
"2006 Q2 - 2007 Q1" rolling years by quarter; "2006/07 Q1-Q4" cumulative quarters; "Jan 2009"
months; "Aug 2006 - Jul 2007" twelve-month years. Pooled financial years ("2006/07 - 08/09") and
part-year cumulative quarters have no period type here: such rows are kept without a period
and named in the issues. Academic years are written like financial years ("2006/07") and cannot
be told apart from the file; they are read as financial years.

A suppressed value is blank with a value note saying why ("Value suppressed for disclosure
control due to small count", "Value cannot be calculated as number of cases is too small"): the
row is kept with suppressed=True and the note. Fingertips does not state a confidence interval
method in this file (it is in the indicator metadata), so ci_method is "".
"""

from __future__ import annotations

import re
from datetime import date

import pandas as pd

from kpis import periods as P
from kpis.periods import PeriodParseError, PeriodSpec, parse_period

from .base import (
    SUPPRESSION_MARKERS,
    Column,
    Layout,
    ParsedPublication,
    map_periods,
    parse_numbers,
    publication,
    read_table,
)

PUBLISHER = "fingertips"

LAYOUT = Layout(
    key="fingertips",
    publisher=PUBLISHER,
    title="OHID Fingertips indicator data",
    columns=(
        Column("indicator_id", "Indicator ID"),
        Column("indicator_name", "Indicator Name"),
        Column("parent_code", "Parent Code", required=False),
        Column("parent_name", "Parent Name", required=False),
        Column("area_code", "Area Code"),
        Column("area_name", "Area Name"),
        Column("area_type", "Area Type"),
        Column("sex", "Sex"),
        Column("age", "Age"),
        Column("category_type", "Category Type"),
        Column("category", "Category"),
        Column("time_period", "Time period"),
        Column("value", "Value"),
        Column("lower95", "Lower CI 95.0 limit"),
        Column("upper95", "Upper CI 95.0 limit"),
        Column("lower998", "Lower CI 99.8 limit"),
        Column("upper998", "Upper CI 99.8 limit"),
        Column("count", "Count"),
        Column("denominator", "Denominator"),
        Column("value_note", "Value note"),
        Column("recent_trend", "Recent Trend", required=False),
        Column("compared_england", "Compared to England value or percentiles", required=False),
        Column("time_period_sortable", "Time period Sortable", required=False),
        Column("time_period_range", "Time period range", required=False),
    ),
)

#: Value notes that say the value was withheld rather than simply unavailable.
SUPPRESSION_NOTE = r"suppress|disclos|too small|small (?:count|number)|fewer than|less than \d"

_DASH = r"\s*[-\u2013]\s*"
_CAL_YEAR = re.compile(r"^(\d{4})$")
_CAL_RANGE = re.compile(rf"^(\d{{4}}){_DASH}(\d{{2}}|\d{{4}})$")
_FIN_YEAR = re.compile(r"^(\d{4})/(\d{2})$")
_FIN_RANGE = re.compile(rf"^(\d{{4}})/(\d{{2}}){_DASH}(\d{{2}})/(\d{{2}})$")
_FIN_QUARTER = re.compile(r"^(\d{4})/(\d{2})\s*Q([1-4])$", re.I)
_CAL_QUARTER = re.compile(r"^(\d{4})\s*Q([1-4])$", re.I)
_FIN_QUARTER_RANGE = re.compile(
    rf"^(\d{{4}})/(\d{{2}})\s*Q([1-4]){_DASH}(\d{{4}})/(\d{{2}})\s*Q([1-4])$", re.I
)
_CAL_QUARTER_RANGE = re.compile(rf"^(\d{{4}})\s*Q([1-4]){_DASH}(\d{{4}})\s*Q([1-4])$", re.I)
_CUMULATIVE = re.compile(rf"^(\d{{4}})/(\d{{2}})\s*Q1{_DASH}Q([1-4])$", re.I)
_MONTH = re.compile(r"^([A-Za-z]{3,9})\s+(\d{4})$")
_MONTH_RANGE = re.compile(rf"^([A-Za-z]{{3,9}})\s+(\d{{4}}){_DASH}([A-Za-z]{{3,9}})\s+(\d{{4}})$")


def _financial_start(first: str, second: str) -> int:
    start = int(first)
    if (start + 1) % 100 != int(second):
        raise PeriodParseError(f"{first}/{second} is not a financial year: the years must follow")
    return start


def _month_number(name: str) -> int:
    number = P.MONTHS.get(name.lower())
    if number is None:
        raise PeriodParseError(f"'{name}' is not a month")
    return number


def _calendar_quarter(year: int, number: int) -> PeriodSpec:
    """Calendar quarter Qn of a year as the financial quarter with the same three months."""
    return P.quarter_of(date(year, 3 * number - 2, 1))


def _span(start: PeriodSpec, end: PeriodSpec, text: str) -> PeriodSpec:
    """The period from the start of one period to the end of another: one quarter, or a rolling
    3 or 12 months."""
    if end.end < start.start:
        raise PeriodParseError("it ends before it starts")
    months = (end.end.year * 12 + end.end.month) - (start.start.year * 12 + start.start.month) + 1
    if months == 3 and start.type == P.QUARTER and start == end:
        return start
    if months in (3, 12):
        return P.rolling(months, end.end.year, end.end.month)
    raise PeriodParseError(
        f"'{text}' spans {months} months; only rolling 3- or 12-month spans are stored"
    )


def fingertips_period(text: str) -> PeriodSpec:
    """A Fingertips "Time period" as a period; PeriodParseError says why one is not stored."""
    cleaned = re.sub(r"\s+", " ", str(text)).strip()
    if not cleaned:
        raise PeriodParseError("the time period is blank")
    if m := _CAL_YEAR.match(cleaned):
        return P.calendar_year(int(m[1]))
    if m := _CAL_RANGE.match(cleaned):
        first = int(m[1])
        last = int(m[2]) if len(m[2]) == 4 else first - first % 100 + int(m[2])
        if len(m[2]) == 2 and last < first:
            last += 100
        if not first < last <= first + 9:
            raise PeriodParseError("pooled years must run forward and span at most ten years")
        return P.pooled_years(first, last)
    if m := _FIN_YEAR.match(cleaned):
        return P.financial_year(_financial_start(m[1], m[2]))
    if m := _FIN_RANGE.match(cleaned):
        raise PeriodParseError(
            f"pooled financial years ({m[1]}/{m[2]} to the end of {m[3]}/{m[4]}) are not a "
            "period type this service stores"
        )
    if m := _FIN_QUARTER.match(cleaned):
        return P.quarter(_financial_start(m[1], m[2]), int(m[3]))
    if m := _CAL_QUARTER.match(cleaned):
        return _calendar_quarter(int(m[1]), int(m[2]))
    if m := _FIN_QUARTER_RANGE.match(cleaned):
        start = P.quarter(_financial_start(m[1], m[2]), int(m[3]))
        end = P.quarter(_financial_start(m[4], m[5]), int(m[6]))
        return _span(start, end, cleaned)
    if m := _CAL_QUARTER_RANGE.match(cleaned):
        start = _calendar_quarter(int(m[1]), int(m[2]))
        end = _calendar_quarter(int(m[3]), int(m[4]))
        return _span(start, end, cleaned)
    if m := _CUMULATIVE.match(cleaned):
        first_year = _financial_start(m[1], m[2])
        last = int(m[3])
        if last == 4:
            return P.financial_year(first_year)
        if last == 1:
            return P.quarter(first_year, 1)
        raise PeriodParseError(
            f"year-to-date quarters Q1-Q{last} are not a period type this service stores"
        )
    if m := _MONTH.match(cleaned):
        return P.month(int(m[2]), _month_number(m[1]))
    if m := _MONTH_RANGE.match(cleaned):
        start = P.month(int(m[2]), _month_number(m[1]))
        end = P.month(int(m[4]), _month_number(m[3]))
        return _span(start, end, cleaned)
    return parse_period(cleaned)


def parse_fingertips(content: bytes, *, filename: str) -> ParsedPublication:
    """Parse a Fingertips indicator-data CSV into the normalised frame.

    Raises PublicationFormatError (naming the missing columns) if the header is not Fingertips'.
    """
    table = read_table(content, filename=filename, layouts=(LAYOUT,))
    issues = list(table.issues)
    cells = table.cells
    # fingertipsR frames written by write.csv spell missing values "NA"; Fingertips never does.
    cells = cells.mask(cells.eq("NA"), "")

    out = pd.DataFrame(index=cells.index)
    out["indicator_id"] = cells["indicator_id"].str.replace(r"^(\d+)\.0+$", r"\1", regex=True)
    for column in (
        "indicator_name",
        "area_code",
        "area_name",
        "area_type",
        "sex",
        "age",
        "category_type",
        "category",
    ):
        out[column] = cells[column]
    out["note"] = cells["value_note"]
    out["period_raw"] = cells["time_period"]
    periods = map_periods(
        cells["time_period"], fingertips_period, label="Time period", issues=issues
    )
    out = out.join(periods)
    calendar_quarters = cells["time_period"].str.fullmatch(_CAL_QUARTER.pattern, case=False)
    if calendar_quarters.any():
        issues.append(
            f"{int(calendar_quarters.sum())} rows have calendar quarters (e.g. '2023 Q1' is "
            "January to March 2023); they are stored as the financial quarter with the same "
            "months (2022-23 Q4)."
        )

    value, marker = parse_numbers(cells["value"], label="Value", issues=issues)
    out["value"] = value
    out["marker"] = marker
    for target, source, label in (
        ("lower95", "lower95", "Lower CI 95.0 limit"),
        ("upper95", "upper95", "Upper CI 95.0 limit"),
        ("lower998", "lower998", "Lower CI 99.8 limit"),
        ("upper998", "upper998", "Upper CI 99.8 limit"),
        ("numerator", "count", "Count"),
        ("denominator", "denominator", "Denominator"),
    ):
        out[target], _ = parse_numbers(cells[source], label=label, issues=issues)

    noted = out["note"].str.contains(SUPPRESSION_NOTE, case=False, regex=True)
    out["suppressed"] = out["value"].isna() & (noted | out["marker"].isin(SUPPRESSION_MARKERS))
    out["ci_method"] = ""
    # Fingertips' own verdict against England ("Better 95%", "Similar", "Worse 99.8%", ...),
    # kept for when the service cannot compute a comparison itself.
    out["compared_to_england"] = cells["compared_england"].mask(
        cells["compared_england"].str.fullmatch(r"(?i)not compared|"), ""
    )
    out["status"] = ""
    out["source_row"] = cells["source_row"]

    missing_ids = out["indicator_id"].eq("") | out["area_code"].eq("")
    if missing_ids.any():
        issues.append(
            f"{int(missing_ids.sum())} rows have no Indicator ID or Area Code "
            f"(rows {', '.join(map(str, cells.loc[missing_ids, 'source_row'].head(8)))})."
        )
    return publication(out, table=table, filename=filename, issues=issues)
