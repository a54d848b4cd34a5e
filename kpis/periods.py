"""Reporting periods: parsing the usual spellings into explicit dates and one canonical label.

Pure module: no ORM. Financial years run 1 April to 31 March; quarter 1 is April to June.
"""

from __future__ import annotations

import calendar
import functools
import re
from dataclasses import dataclass
from datetime import date

MONTHS = {name.lower(): i for i, name in enumerate(calendar.month_abbr) if name}
MONTHS.update({name.lower(): i for i, name in enumerate(calendar.month_name) if name})
MONTHS["sept"] = 9

# Period types, as in kpis.models.PeriodType.
MONTH = "month"
QUARTER = "quarter"
FINANCIAL_YEAR = "financial_year"
CALENDAR_YEAR = "calendar_year"
POOLED = "pooled_calendar_years"
ROLLING_12M = "rolling_12m_to_month"
ROLLING_3M = "rolling_3m_to_month"


class PeriodParseError(ValueError):
    """A period spelling that is malformed or ambiguous; the message says why."""


@dataclass(frozen=True, order=True)
class PeriodSpec:
    start: date
    end: date
    type: str
    label: str


def _month_end(year: int, month: int) -> date:
    return date(year, month, calendar.monthrange(year, month)[1])


def _add_months(year: int, month: int, delta: int) -> tuple[int, int]:
    index = year * 12 + (month - 1) + delta
    return index // 12, index % 12 + 1


def month(year: int, month_number: int) -> PeriodSpec:
    label = f"{calendar.month_abbr[month_number]} {year}"
    return PeriodSpec(date(year, month_number, 1), _month_end(year, month_number), MONTH, label)


def financial_year(first_year: int) -> PeriodSpec:
    label = f"{first_year}-{(first_year + 1) % 100:02d}"
    return PeriodSpec(date(first_year, 4, 1), date(first_year + 1, 3, 31), FINANCIAL_YEAR, label)


def quarter(first_year: int, number: int) -> PeriodSpec:
    if number not in (1, 2, 3, 4):
        raise PeriodParseError(f"Quarter Q{number} does not exist: quarters are Q1 to Q4.")
    year, start_month = _add_months(first_year, 4, 3 * (number - 1))
    end_year, end_month = _add_months(year, start_month, 2)
    label = f"{financial_year(first_year).label} Q{number}"
    return PeriodSpec(date(year, start_month, 1), _month_end(end_year, end_month), QUARTER, label)


def calendar_year(year: int) -> PeriodSpec:
    return PeriodSpec(date(year, 1, 1), date(year, 12, 31), CALENDAR_YEAR, str(year))


def pooled_years(first: int, last: int) -> PeriodSpec:
    if last <= first:
        raise PeriodParseError(f"Pooled years {first} to {last}: the last year must be later.")
    return PeriodSpec(date(first, 1, 1), date(last, 12, 31), POOLED, f"{first} to {last}")


def rolling(months: int, end_year: int, end_month: int) -> PeriodSpec:
    start_year, start_month = _add_months(end_year, end_month, -(months - 1))
    kind = {12: ROLLING_12M, 3: ROLLING_3M}[months]
    label = f"{months} months to {calendar.month_abbr[end_month]} {end_year}"
    return PeriodSpec(
        date(start_year, start_month, 1), _month_end(end_year, end_month), kind, label
    )


def financial_year_of(day: date) -> int:
    """The first calendar year of the financial year containing a day."""
    return day.year if day.month >= 4 else day.year - 1


def quarter_of(day: date) -> PeriodSpec:
    first_year = financial_year_of(day)
    return quarter(first_year, ((day.month - 4) % 12) // 3 + 1)


def _financial_year_from(first: str, second: str, text: str) -> int:
    start = int(first)
    end = int(second)
    end_full = end if len(second) == 4 else (start // 100) * 100 + end
    if end_full != start + 1:
        raise PeriodParseError(
            f"'{text}': a financial year spans two consecutive years, such as 2023-24."
        )
    return start


def _month_number(name: str, text: str) -> int:
    number = MONTHS.get(name.lower())
    if number is None:
        raise PeriodParseError(f"'{text}': '{name}' is not a month.")
    return number


_FY = r"(\d{4})\s*[-/]\s*(\d{2}|\d{4})"
PATTERNS: list[tuple[re.Pattern, str]] = [
    (re.compile(rf"^(?:FY\s*)?{_FY}\s*Q([1-4])$", re.I), "fy_quarter"),
    (re.compile(rf"^Q([1-4])\s*(?:FY\s*)?{_FY}$", re.I), "quarter_fy"),
    (re.compile(r"^([A-Za-z]{3,9})\s*[-–]\s*([A-Za-z]{3,9})\s+(\d{4})$"), "month_range"),
    (re.compile(r"^(12|3)\s+months\s+to\s+([A-Za-z]{3,9})\s+(\d{4})$", re.I), "rolling"),
    (re.compile(r"^(\d{4})\s+to\s+(\d{4})$", re.I), "pooled"),
    (re.compile(r"^(\d{4})\s*[-–]\s*(\d{4})$"), "pooled_or_fy"),
    (re.compile(rf"^(?:FY\s*)?{_FY}$", re.I), "fy"),
    (re.compile(r"^([A-Za-z]{3,9})\s+(\d{4})$"), "month"),
    (re.compile(r"^(\d{4})$"), "calendar_year"),
]

AMBIGUOUS: list[tuple[re.Pattern, str]] = [
    (
        re.compile(r"^Q([1-4])\s+(\d{4})$|^(\d{4})\s+Q([1-4])$", re.I),
        "a quarter needs its financial year (e.g. '2023-24 Q2'): Q{q} {y} could be a calendar "
        "or a financial quarter",
    ),
    (
        re.compile(r"^FY\s*'?(\d{2}|\d{4})$", re.I),
        "'FY{y}' could mean the year starting or the year ending in {y}; write it as e.g. 2023-24",
    ),
]


# The years a period may fall in: wide enough for any history a source holds, narrow enough
# that a typing slip (0000, 9999) is named as an error rather than stored.
FIRST_YEAR, LAST_YEAR = 1900, 2100


# Returns repeat the same few hundred spellings chunk after chunk; a spec is immutable.
@functools.lru_cache(maxsize=65_536)
def parse_period(text: str) -> PeriodSpec:
    """Parse a period spelling into dates and its canonical label, or say why it cannot."""
    cleaned = re.sub(r"\s+", " ", str(text or "")).strip()
    if not cleaned:
        raise PeriodParseError("The period is empty.")
    for pattern, message in AMBIGUOUS:
        match = pattern.match(cleaned)
        if match:
            groups = [g for g in match.groups() if g]
            q = next((g for g in groups if len(g) == 1), "")
            y = next((g for g in groups if len(g) != 1), "")
            raise PeriodParseError(f"'{cleaned}' is ambiguous: " + message.format(q=q, y=y))
    for pattern, kind in PATTERNS:
        match = pattern.match(cleaned)
        if not match:
            continue
        try:
            spec = _spec_of(kind, match.groups(), cleaned)
        except (ValueError, OverflowError) as impossible:  # a date no calendar has
            raise PeriodParseError(f"'{cleaned}' is not a real period: {impossible}.") from None
        if spec.start.year < FIRST_YEAR or spec.end.year > LAST_YEAR:
            raise PeriodParseError(
                f"'{cleaned}' is outside the years this service holds; expected a period "
                f"between {FIRST_YEAR} and {LAST_YEAR}."
            )
        return spec
    raise PeriodParseError(
        f"'{cleaned}' is not a period this service reads. Use e.g. '2023-24 Q2', '2023-24', "
        "'Jul 2023', '2023', '2018 to 2020' or '12 months to Mar 2021'."
    )


def _spec_of(kind: str, groups: tuple, cleaned: str) -> PeriodSpec:
    """The period a matched pattern of ``kind`` names (a date no calendar has raises)."""
    if kind == "fy_quarter":
        return quarter(_financial_year_from(groups[0], groups[1], cleaned), int(groups[2]))
    if kind == "quarter_fy":
        return quarter(_financial_year_from(groups[1], groups[2], cleaned), int(groups[0]))
    if kind == "month_range":
        return _quarter_from_months(groups[0], groups[1], int(groups[2]), cleaned)
    if kind == "rolling":
        return rolling(int(groups[0]), int(groups[2]), _month_number(groups[1], cleaned))
    if kind == "pooled":
        return pooled_years(int(groups[0]), int(groups[1]))
    if kind in ("pooled_or_fy", "fy"):
        return _year_range(int(groups[0]), groups[1], cleaned)
    if kind == "month":
        return month(int(groups[1]), _month_number(groups[0], cleaned))
    if kind == "calendar_year":
        return calendar_year(int(groups[0]))
    raise AssertionError(kind)  # every pattern's kind is handled above


def _year_range(first: int, second: str, text: str) -> PeriodSpec:
    """'2023-24' is a financial year; '2018-20' or '2018-2020' pools three calendar years."""
    if len(second) == 4:
        last = int(second)
    else:
        last = first - first % 100 + int(second)
        if last < first and first % 100 == 99:
            last += 100
    if last == first + 1:
        return financial_year(first)
    if first < last <= first + 9:
        return pooled_years(first, last)
    raise PeriodParseError(
        f"'{text}' is not a period: a financial year spans two consecutive years (2023-24), "
        "pooled years up to ten (2018-20); months are written 'Feb 2023'."
    )


def _quarter_from_months(first: str, last: str, year: int, text: str) -> PeriodSpec:
    start = _month_number(first, text)
    end = _month_number(last, text)
    if start not in (1, 4, 7, 10) or end != start + 2:
        raise PeriodParseError(
            f"'{text}' is not a financial quarter: use Apr-Jun, Jul-Sep, Oct-Dec or Jan-Mar."
        )
    return quarter_of(date(year, start, 1))


def months_in(spec: PeriodSpec) -> list[PeriodSpec]:
    """The calendar months a period covers, in order."""
    result = []
    year, number = spec.start.year, spec.start.month
    while date(year, number, 1) <= spec.end:
        result.append(month(year, number))
        year, number = _add_months(year, number, 1)
    return result


def quarters_in(spec: PeriodSpec) -> list[PeriodSpec]:
    """The financial quarters a financial year covers."""
    if spec.type != FINANCIAL_YEAR:
        raise PeriodParseError(f"{spec.label} is not a financial year.")
    return [quarter(spec.start.year, n) for n in (1, 2, 3, 4)]


def overlaps(a: PeriodSpec, b: PeriodSpec) -> bool:
    return a.start <= b.end and b.start <= a.end


PANDEMIC_AFFECTED = financial_year(2020)


def pandemic_affected(spec: PeriodSpec) -> bool:
    """2020-21 values are flagged: services and surveys were disrupted by COVID-19."""
    return overlaps(spec, PANDEMIC_AFFECTED)
