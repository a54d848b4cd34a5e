"""What the return reader and validator need to know, as plain frozen dataclasses.

Pure module: no ORM. Views and tasks build a ``ReturnContext`` from the database
(``KpiSpec.from_model`` reads a ``Kpi`` instance's attributes) and hand it to ``read_return`` and
``validate_return``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

# The columns of a return, in template order. Header names are matched case-insensitively,
# ignoring surrounding spaces.
COLUMNS = (
    "kpi_code",
    "place_code",
    "period",
    "breakdown",
    "numerator",
    "denominator",
    "value",
    "marker",
    "comment",
)
REQUIRED_COLUMNS = ("kpi_code", "place_code", "period", "numerator", "denominator", "value")
NUMBER_COLUMNS = ("numerator", "denominator", "value")

# Statistics, as in kpis.models.Statistic.
STATISTICS = (
    "proportion",
    "crude_rate",
    "dsr",
    "isr",
    "count",
    "mean",
    "median",
    "survey_estimate",
    "pp_gap",
    "score",
)
# value = numerator / denominator x multiplier; the value is calculated when only those are given.
RATIO_STATISTICS = frozenset({"proportion", "crude_rate", "isr"})
# The numerator (and for these the denominator) are counts of people or events: never negative.
COUNT_BASED_STATISTICS = frozenset(
    {"proportion", "crude_rate", "dsr", "isr", "count", "survey_estimate"}
)
# A value cell formatted as a percentage holds a fraction: value = fraction x multiplier.
FRACTION_STATISTICS = frozenset({"proportion", "survey_estimate", "crude_rate", "dsr", "isr"})

# Cell markers for figures that are not given (they are not errors).
SUPPRESSION_MARKERS = frozenset({"*", "c", "[c]"})
MISSING_MARKERS = frozenset({"..", "[x]", "[z]"})

SEVERITIES = ("error", "warning")

# Every issue code, with what it means. Codes are stable: views and tests match on them.
ISSUE_CODES = {
    # The whole file is refused (ReturnRejected).
    "file_too_large": "the upload (or the unzipped workbook, or a sheet's text) is over the limit",
    "file_too_slow": "the file took longer to read than the time allowed",
    "empty_file": "the upload is empty",
    "control_character": "a cell holds a control character, such as a NUL byte",
    "cells_beyond_template": "a worksheet has cells beyond the template's columns",
    "unsupported_file_type": "not a CSV or XLSX by content (PDF, .xls, .ods, Word, HTML, binary)",
    "encoding": "a CSV that is not UTF-8 (Windows-1252, UTF-16)",
    "xlsx_damaged": "a zip/XLSX that cannot be opened (truncated, corrupt)",
    "macros": "an XLSX with VBA, Excel 4 macro sheets, ActiveX or a macro-enabled content type",
    "external_links": "an XLSX with external workbook links, data connections or relationships",
    "embedded_object": "an XLSX with embedded objects or files",
    "csv_malformed": "a CSV row with more fields than the header, or unreadable CSV",
    "missing_column": "a required column is not in the header",
    "duplicate_column": "a column appears twice in the header",
    "person_level_column": "a header that means person-level data (NHS number, date of birth...)",
    "person_level_value": "a cell holding a valid NHS number or a UK postcode",
    "person_level_deleted": "the file held person-level data, so the service deleted it",
    "no_data": "no header or no data rows",
    "too_many_rows": "more data rows than allowed",
    # Errors: the return cannot be accepted until they are corrected.
    "formula_no_value": "a formula cell without a saved result",
    "missing_required": "a blank KPI code, place code, period or value",
    "unknown_kpi": "a KPI code not in the catalogue",
    "kpi_not_locally_supplied": "a nationally published KPI in a local return",
    "unknown_place": "a place code that is not a SET place",
    "place_not_permitted": "a place the uploader may not report for",
    "period_invalid": "a malformed or ambiguous period",
    "period_not_open": "a period not open for returns",
    "period_locked": "a locked (signed-off) period",
    "period_type_mismatch": "a period of another type than the KPI's (a quarter for an annual KPI)",
    "breakdown_invalid": "a breakdown that is not 'dimension:category', blank or 'all'",
    "breakdown_not_allowed": "a breakdown dimension or category the KPI does not have",
    "not_a_number": "a numerator, denominator or value that is not a number or a marker",
    "not_whole_number": "a count with decimals",
    "negative_count": "a negative numerator or denominator",
    "unexpected_percent": "a percentage where the KPI is not a percentage, or a count as a %",
    "out_of_range": "a value outside the KPI's valid range, or a figure too large to store",
    "numerator_above_denominator": "a proportion's numerator above its denominator",
    "zero_denominator": "a rate or proportion with a denominator of 0",
    "denominator_above_population": "a denominator above the place's population for the age band",
    "value_mismatch": "a value not equal to numerator / denominator x multiplier (tolerance)",
    "duplicate_row": "the same KPI, place, period and breakdown again",
    "template_out_of_date": "no template version, or not the current one",
    # Warnings: the uploader confirms them.
    "formula": "a formula cell; its saved result is used",
    "period_as_date": "Excel stored a period as a date; read as the month",
    "extra_column": "a column that is not a return column, ignored",
    "small_count": "a count of 1 to 4, suppressed on public pages",
    "expected_missing": "an expected KPI, place and period total not in the return",
    "outside_limits": "a value outside the process limits from earlier periods",
    "far_from_previous": "a value more than 50% away from the previous period's",
}


@dataclass(frozen=True)
class KpiSpec:
    code: str
    statistic: str
    multiplier: float = 1.0
    valid_min: float | None = None
    valid_max: float | None = None
    breakdown_dimensions: tuple[str, ...] = ()
    locally_supplied: bool = False
    # The population age band the denominator is drawn from (a key of PlaceSpec.population).
    age_band: str | None = None
    # The period type the KPI is reported by (kpis.periods types); None: any.
    period_type: str | None = None

    def __post_init__(self):
        if self.statistic not in STATISTICS:
            raise ValueError(f"KPI {self.code}: unknown statistic {self.statistic!r}")

    @classmethod
    def from_model(cls, kpi) -> KpiSpec:
        """From a ``kpis.models.Kpi`` (or anything with the same attributes)."""

        def number(value):
            return None if value is None else float(value)

        return cls(
            code=kpi.code,
            statistic=kpi.statistic,
            multiplier=float(kpi.multiplier or 1),
            valid_min=number(kpi.valid_min),
            valid_max=number(kpi.valid_max),
            breakdown_dimensions=tuple(kpi.breakdowns or ()),
            locally_supplied=bool(kpi.locally_supplied),
            age_band=kpi.age_band or None,
            period_type=kpi.period_type or None,
        )


@dataclass(frozen=True)
class PlaceSpec:
    code: str
    # Resident population by age band ("18-64", "65+"; "all" for all ages); None: unknown.
    population: Mapping[str, int] | None = None


@dataclass(frozen=True)
class ReturnContext:
    kpis: Mapping[str, KpiSpec]
    places: Mapping[str, PlaceSpec]
    # The places the uploader may report for.
    reportable_places: frozenset[str] = frozenset()
    # Canonical period label -> "open" or "locked"; a period not listed is not open for returns.
    period_status: Mapping[str, str] = field(default_factory=dict)
    required_template_version: str | None = None
    # Largest allowed difference, in the KPI's own units, between the value given and
    # numerator / denominator x multiplier.
    tolerance: float = 0.5
    max_rows: int = 100_000
    max_bytes: int = 20_000_000
    # (kpi_code, place_code, period_label) totals the return should hold; missing ones are warned.
    expected: frozenset[tuple[str, str, str]] = frozenset()
    # (kpi_code, place_code, breakdown_key) -> (previous value, lower limit, upper limit), any
    # of them None; breakdown_key is "all" or "dimension:category" (e.g. "sex:female").
    previous: Mapping[tuple[str, str, str], tuple[float | None, float | None, float | None]] = (
        field(default_factory=dict)
    )
    # Allowed categories of each breakdown dimension; a dimension not listed is not checked.
    breakdown_categories: Mapping[str, frozenset[str]] = field(default_factory=dict)
    # When True, only locally supplied KPIs may be returned (a place lead's quarterly return);
    # history loads by analysts leave it False.
    locally_supplied_only: bool = False
    # Data rows above this part of a file that is read in chunks: its first data row is numbered
    # after them, so every row number and message is the whole file's.
    row_offset: int = 0
    # Seconds reading the file may take before it is refused; None: read.READ_SECONDS.
    read_seconds: float | None = None


@dataclass(frozen=True, slots=True)
class Issue:
    row: int | None  # 1-based spreadsheet row; the header is row 1 (or the row after comments)
    column: str | None
    value: str
    message: str  # what was found and what was expected
    code: str  # stable machine code, e.g. "unknown_kpi"
    severity: str = "error"  # "error" or "warning"


class ReturnRejected(Exception):
    """The file cannot be read as a return at all; ``issues`` say why."""

    def __init__(self, issues: list[Issue]):
        self.issues = list(issues)
        super().__init__("; ".join(issue.message for issue in self.issues[:5]))


# Issues that mean a file holds person-level data: such a file is deleted, not kept.
PERSON_LEVEL_CODES = frozenset({"person_level_column", "person_level_value"})
