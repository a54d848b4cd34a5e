"""Validating a return as one frame: every error and warning, each naming row, column and value.

Pure module: a ``RawReturn`` and a ``ReturnContext`` in, a ``ValidationResult`` out.

Each check is a vectorised mask over the whole frame. Strings that need parsing (KPI and place
codes, periods, breakdowns) are factorised and parsed once per distinct spelling; the results
are taken back to the rows by their codes. What a KPI or place implies (statistic, multiplier,
valid range, population) is looked up through small per-KPI and per-place arrays indexed by each
row's code. Python loops run over checks, columns and distinct values, and over the issues found
(to write their messages), never over the data rows.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from kpis.periods import PeriodParseError, parse_period
from kpis.returns.read import RawReturn
from kpis.returns.spec import (
    COLUMNS,
    COUNT_BASED_STATISTICS,
    FRACTION_STATISTICS,
    MISSING_MARKERS,
    NUMBER_COLUMNS,
    RATIO_STATISTICS,
    SUPPRESSION_MARKERS,
    Issue,
    ReturnContext,
)

# Figures are stored with six decimal places and at most twenty digits (numeric(20, 6)).
STORABLE_LIMIT = 1e14
# Counts from 1 to this are suppressed on public pages.
SMALL_COUNT_MAX = 4
# A value further than this fraction from the previous period's value is questioned.
PREVIOUS_CHANGE = 0.5
# Numerators that are counts of people or events, and denominators that are, must be whole.
WHOLE_NUMERATOR_STATISTICS = frozenset({"proportion", "crude_rate", "dsr", "isr", "count"})
WHOLE_DENOMINATOR_STATISTICS = frozenset({"proportion"})
# The denominator of these is a count of people, no larger than the population.
POPULATION_STATISTICS = frozenset(
    {"proportion", "crude_rate", "dsr", "count", "mean", "median", "survey_estimate"}
)

PERIOD_TYPE_NAMES = {
    "month": ("a month", "'Jul 2023'"),
    "quarter": ("a financial quarter", "'2023-24 Q2'"),
    "financial_year": ("a financial year", "'2023-24'"),
    "calendar_year": ("a calendar year", "'2023'"),
    "pooled_calendar_years": ("pooled calendar years", "'2018 to 2020'"),
    "rolling_12m_to_month": ("12 months to a month", "'12 months to Mar 2024'"),
    "rolling_3m_to_month": ("3 months to a month", "'3 months to Mar 2024'"),
}
STATISTIC_NAMES = {
    "proportion": "a proportion",
    "crude_rate": "a crude rate",
    "dsr": "a directly standardised rate",
    "isr": "an indirectly standardised ratio",
    "count": "a count",
    "mean": "a mean",
    "median": "a median",
    "survey_estimate": "a survey estimate",
    "pp_gap": "a percentage-point gap",
    "score": "a score",
}
DUPLICATE_COLUMNS = "kpi_code, place_code, period, breakdown"
_COLUMN_ORDER = {name: i for i, name in enumerate((*COLUMNS, DUPLICATE_COLUMNS))}
_SUPPRESSION_SPELLINGS = sorted({m for s in SUPPRESSION_MARKERS for m in (s, s.upper())})
_MISSING_SPELLINGS = sorted({m for s in MISSING_MARKERS for m in (s, s.upper())})
_THOUSANDS = r"^[+-]?\d{1,3}(?:,\d{3})+(?:\.\d+)?$"
_MARKER_HELP = "* or c if the figure is suppressed, .. if it is not available"


@dataclass
class ValidationResult:
    errors: list[Issue]
    warnings: list[Issue]
    # The typed rows without errors (all rows when there are none); ingest only when ``ok``.
    rows: pd.DataFrame
    # How many there are: more than the lists hold when validate_return keeps only the first.
    error_count: int = 0
    warning_count: int = 0

    @property
    def ok(self) -> bool:
        return not self.error_count


def fmt(number) -> str:
    """A number for a message: thousands separated, up to four decimal places."""
    if number is None or not np.isfinite(number):
        return str(number)
    text = f"{number:,.4f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _listing(items, limit: int = 12) -> str:
    items = list(items)
    shown = ", ".join(str(i) for i in items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")


def _clip(text, limit: int = 120) -> str:
    text = str(text)
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def _per_distinct(values: np.ndarray, make) -> np.ndarray:
    """``make(value)`` for every element, called once per distinct value (many warnings share
    a handful of small counts)."""
    uniques, inverse = np.unique(values, return_inverse=True)
    return np.asarray([make(u) for u in uniques], dtype=object)[inverse]


def _clipped(values: np.ndarray, limit: int = 500) -> np.ndarray:
    """``_clip`` over an array, once per distinct value."""
    codes, uniques = pd.factorize(pd.Series(values, dtype=object), use_na_sentinel=False)
    return np.asarray([_clip(u, limit) for u in uniques], dtype=object)[codes]


def _objects(values: np.ndarray) -> pd.Series:
    """A column of Python objects kept as it is: pandas would otherwise scan every text to
    infer its string type, several times the cost of building the frame."""
    return pd.Series(values, dtype=object, copy=False)


def _nan_to(array: np.ndarray, fill: float) -> np.ndarray:
    return np.where(np.isnan(array), fill, array)


# ---------------------------------------------------------------------------------------------
# Collecting issues


class _Issues:
    """Issues gathered check by check as masks over the frame; errors mark their rows."""

    def __init__(self, rows: np.ndarray):
        self.rows = rows
        self.error_rows = np.zeros(len(rows), dtype=bool)
        self.parts: list[pd.DataFrame] = []
        self.loose: list[Issue] = []

    def add(self, code, mask, column, values, message, severity="error"):
        """Issues for the rows in ``mask``: ``message`` is a string or a function of positions."""
        mask = np.asarray(mask, dtype=bool)
        if not mask.any():
            return
        where = np.flatnonzero(mask)
        if severity == "error":
            self.error_rows[where] = True
        text = message(where) if callable(message) else message
        self.parts.append(
            pd.DataFrame(
                {
                    "row": self.rows[where],
                    "column": column,
                    "value": _clipped(np.asarray(values, dtype=object)[where]),
                    "message": np.asarray(text, dtype=object) if callable(message) else text,
                    "code": code,
                    "severity": severity,
                    "order": len(self.parts),
                }
            )
        )

    def result(
        self, keep: int | None = None, keep_warnings: int | None = None
    ) -> tuple[list[Issue], list[Issue], int, int]:
        """Errors and warnings in row order (only the first ``keep`` errors and
        ``keep_warnings`` warnings built as Issues), and how many of each there are."""
        if keep_warnings is None:
            keep_warnings = keep
        found: list[Issue] = list(self.loose)
        counts = {"error": 0, "warning": 0}
        if self.parts:
            table = pd.concat(self.parts, ignore_index=True)
            for severity, n in table["severity"].value_counts().items():
                counts["error" if severity == "error" else "warning"] += int(n)
            if keep is not None:
                # Counted already: a severity none of which are kept is not sorted or built.
                is_error = table["severity"] == "error"
                table = table[(is_error & (keep > 0)) | (~is_error & (keep_warnings > 0))]
            table["column_order"] = table["column"].map(_COLUMN_ORDER).fillna(len(_COLUMN_ORDER))
            table = table.sort_values(["row", "column_order", "order"], kind="stable")
            if keep is not None:
                is_error = table["severity"] == "error"
                table = pd.concat(
                    [table[is_error].head(keep), table[~is_error].head(keep_warnings)]
                )
            found += [
                Issue(int(row), column, str(value), str(message), code, severity)
                for row, column, value, message, code, severity in zip(
                    table["row"].tolist(),
                    table["column"].tolist(),
                    table["value"].tolist(),
                    table["message"].tolist(),
                    table["code"].tolist(),
                    table["severity"].tolist(),
                    strict=True,
                )
            ]
        found.sort(key=_issue_key)
        errors = [issue for issue in found if issue.severity == "error"]
        warnings = [issue for issue in found if issue.severity != "error"]
        for issue in self.loose:
            counts["error" if issue.severity == "error" else "warning"] += 1
        if keep is not None:
            errors, warnings = errors[:keep], warnings[:keep_warnings]
        return errors, warnings, counts["error"], counts["warning"]


def _issue_key(issue: Issue):
    return (
        issue.row is not None,
        issue.row or 0,
        _COLUMN_ORDER.get(issue.column or "", len(_COLUMN_ORDER)),
    )


# ---------------------------------------------------------------------------------------------
# Distinct values


class _Distinct:
    """A column factorised (by the reader): each row's code and the distinct values, which
    are parsed once each."""

    def __init__(self, codes: np.ndarray, uniques: np.ndarray):
        self.codes, self.uniques = codes, uniques

    def take(self, per_distinct, dtype=None) -> np.ndarray:
        return np.asarray(per_distinct, dtype=dtype)[self.codes]


def _ids(keys: list) -> np.ndarray:
    """An integer per distinct value, equal for equal values (None: a unique negative id)."""
    seen: dict = {}
    return np.array(
        [-1 - i if key is None else seen.setdefault(key, len(seen)) for i, key in enumerate(keys)],
        dtype=np.int64,
    )


def _suggestion(text: str, folded: dict[str, str]) -> str:
    close = difflib.get_close_matches(text.casefold(), list(folded), n=1, cutoff=0.6)
    return f" (did you mean '{folded[close[0]]}'?)" if close else ""


def _lookup(column: _Distinct, canonical: list[str], suggest_limit: int = 2000):
    """Index into ``canonical`` per distinct value (case-insensitive; -1 unknown), suggestions."""
    folded = {code.casefold(): code for code in canonical}
    position = {code.casefold(): i for i, code in enumerate(canonical)}
    index = np.array([position.get(str(u).casefold(), -1) for u in column.uniques], np.int64)
    hints = np.full(len(index), "", dtype=object)
    unknown = [i for i in np.flatnonzero(index < 0) if column.uniques[i] != ""]
    for i in unknown[:suggest_limit]:
        hints[i] = _suggestion(str(column.uniques[i]), folded)
    return index, hints


def _resolved(column: _Distinct, canonical: list[str]):
    """Per row of a code column: blank, index into ``canonical`` (-1 unknown), suggestion, and a
    key equal for equal codes (unknown codes keep distinct negative keys)."""
    index, hints = _lookup(column, canonical)
    row_index = column.take(index)
    key = np.where(row_index >= 0, row_index, -1 - column.codes)
    return column.take(column.uniques == ""), row_index, column.take(hints), key


def _numbers(column: _Distinct, *, allow_percent: bool):
    """Per row: numbers, and masks: blank, suppressed, missing marker, not a number, written
    with %; each distinct spelling parsed once."""
    return tuple(
        column.take(per_distinct)
        for per_distinct in _parse_numbers(column.uniques, allow_percent=allow_percent)
    )


def _parse_numbers(text: np.ndarray, *, allow_percent: bool):
    series = pd.Series(text, dtype=object)
    number = pd.to_numeric(series, errors="coerce").to_numpy(dtype=float, copy=True)
    blank = text == ""
    suppressed = series.isin(_SUPPRESSION_SPELLINGS).to_numpy()
    missing = series.isin(_MISSING_SPELLINGS).to_numpy()
    percent = np.zeros(len(text), dtype=bool)
    failed = np.isnan(number) & ~blank & ~suppressed & ~missing
    if failed.any():
        cleaned = series[failed].astype(str)
        if allow_percent:
            has_percent = cleaned.str.endswith("%").to_numpy(dtype=bool)
            cleaned = cleaned.str.removesuffix("%").str.strip()
        thousands = cleaned.str.match(_THOUSANDS).to_numpy(dtype=bool)
        cleaned = cleaned.where(~thousands, cleaned.str.replace(",", "", regex=False))
        again = pd.to_numeric(cleaned, errors="coerce").to_numpy(dtype=float)
        number[failed] = again
        if allow_percent:
            percent[failed] = has_percent & ~np.isnan(again)
    bad = ~np.isfinite(number) & ~blank & ~suppressed & ~missing
    number[~np.isfinite(number)] = np.nan
    return number, suppressed, missing, bad, percent


def _parse_periods(uniques: np.ndarray, status_of) -> dict[str, np.ndarray]:
    size = len(uniques)
    out = {
        "ok": np.zeros(size, dtype=bool),
        "label": np.full(size, "", dtype=object),
        "start": np.full(size, None, dtype=object),
        "end": np.full(size, None, dtype=object),
        "type": np.full(size, "", dtype=object),
        "error": np.full(size, "", dtype=object),
        "status": np.full(size, "", dtype=object),
    }
    for i, text in enumerate(uniques):
        if text == "":
            continue
        try:
            spec = parse_period(text)
        except PeriodParseError as exc:
            out["error"][i] = str(exc)
            continue
        out["ok"][i] = True
        out["label"][i], out["start"][i], out["end"][i] = spec.label, spec.start, spec.end
        out["type"][i] = spec.type
        out["status"][i] = status_of.get(spec.label, "")
    out["id"] = _ids(
        [label if ok else None for label, ok in zip(out["label"], out["ok"], strict=True)]
    )
    return out


def _parse_breakdowns(uniques: np.ndarray) -> dict[str, np.ndarray]:
    size = len(uniques)
    ok = np.zeros(size, dtype=bool)
    dimension = np.full(size, "", dtype=object)
    category = np.full(size, "", dtype=object)
    for i, text in enumerate(uniques):
        lowered = " ".join(str(text).lower().split())
        if lowered in ("", "all", "all:all"):
            ok[i], dimension[i], category[i] = True, "all", "all"
            continue
        head, colon, tail = lowered.partition(":")
        head, tail = head.strip(), tail.strip()
        if colon and head and tail and ":" not in tail and head.replace("_", "").isalnum():
            ok[i], dimension[i], category[i] = True, head, tail
    key = np.array(
        [
            ("all" if d == "all" else f"{d}:{c}") if good else ""
            for good, d, c in zip(ok, dimension, category, strict=True)
        ],
        dtype=object,
    )
    return {
        "ok": ok,
        "dimension": dimension,
        "category": category,
        "key": key,
        "id": _ids([k if good else None for k, good in zip(key, ok, strict=True)]),
    }


# ---------------------------------------------------------------------------------------------
# The frame, prepared


class _Frame:
    """The return's columns as arrays, with each row's KPI, place, period and breakdown."""

    def __init__(self, raw: RawReturn, ctx: ReturnContext):
        frame = raw.frame
        self.size = len(frame)
        self.rows = frame["row"].to_numpy(dtype=np.int64)
        self.text = {column: frame[column].to_numpy(dtype=object) for column in COLUMNS}
        self.distinct = {column: _Distinct(*raw.distinct[column]) for column in COLUMNS}

        self.kpi_codes = list(ctx.kpis)
        self.kpis = [ctx.kpis[code] for code in self.kpi_codes]
        self.kpi_blank, self.kpi_index, self.kpi_hint, self.kpi_key = _resolved(
            self.distinct["kpi_code"], self.kpi_codes
        )
        self.known_kpi = self.kpi_index >= 0
        self.kpi_canonical = self.per_kpi([*self.kpi_codes], "")

        self.place_codes = list(ctx.places)
        self.place_blank, self.place_index, self.place_hint, self.place_key = _resolved(
            self.distinct["place_code"], self.place_codes
        )
        self.known_place = self.place_index >= 0
        self.place_canonical = np.array([*self.place_codes, ""], dtype=object)[self.place_index]

        period = self.distinct["period"]
        self.period_blank = period.take(period.uniques == "")
        parsed = _parse_periods(period.uniques, ctx.period_status)
        self.period = {name: period.take(values) for name, values in parsed.items()}
        self.period_key = np.where(self.period["ok"], self.period["id"], -1 - period.codes)

        breakdown = self.distinct["breakdown"]
        parsed = _parse_breakdowns(breakdown.uniques)
        self.breakdown_parsed = parsed
        self.breakdown_codes = breakdown.codes
        self.breakdown = {name: breakdown.take(values) for name, values in parsed.items()}
        self.breakdown_key = np.where(
            self.breakdown["ok"], self.breakdown["id"], -1 - breakdown.codes
        )

        statistic = [k.statistic for k in self.kpis]
        self.statistic = self.per_kpi(statistic, "")
        self.is_ratio = self.per_kpi([s in RATIO_STATISTICS for s in statistic], False)
        self.is_count = self.per_kpi([s == "count" for s in statistic], False)
        self.is_proportion = self.per_kpi([s == "proportion" for s in statistic], False)
        self.is_gap = self.per_kpi([s == "pp_gap" for s in statistic], False)
        self.count_based = self.per_kpi([s in COUNT_BASED_STATISTICS for s in statistic], False)
        self.fraction_kpi = self.per_kpi([s in FRACTION_STATISTICS for s in statistic], False)
        self.multiplier = self.per_kpi([k.multiplier for k in self.kpis], np.nan, float)
        self.valid_min = self.per_kpi([k.valid_min for k in self.kpis], np.nan, float)
        self.valid_max = self.per_kpi([k.valid_max for k in self.kpis], np.nan, float)

    def clip(self, column: str, where: np.ndarray) -> np.ndarray:
        """The cells at ``where`` as found, shortened for messages."""
        return np.array([_clip(v) for v in self.text[column][where]], dtype=object)

    def per_kpi(self, values: list, missing, dtype=None) -> np.ndarray:
        """Each row's KPI's value (``missing`` for rows without a known KPI)."""
        cleaned = [missing if v is None else v for v in values] + [missing]
        if dtype is None:
            dtype = bool if all(isinstance(v, bool) for v in cleaned) else object
        return np.array(cleaned, dtype=dtype)[self.kpi_index]


# ---------------------------------------------------------------------------------------------
# Checks


# Control characters other than tab and line breaks: PostgreSQL cannot store NUL in text at all,
# and the others are never meant in a figure, code or comment.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _check_control_characters(f: _Frame, issues: _Issues) -> None:
    """A cell holding a control character (a NUL byte, say) is named, never stored."""
    for column in COLUMNS:
        distinct = f.distinct[column]
        bad = np.array([bool(_CONTROL.search(str(v))) for v in distinct.uniques], dtype=bool)
        if bad.any():
            shown = distinct.take(
                [_CONTROL.sub("\N{REPLACEMENT CHARACTER}", str(v)) for v in distinct.uniques],
                dtype=object,
            )
            issues.add(
                "control_character",
                distinct.take(bad),
                column,
                shown,
                f"The {column} cell holds a control character (such as a NUL byte) that cannot "
                "be stored; expected plain text. Retype the cell or save the file again as CSV.",
            )


def _check_keys(f: _Frame, ctx: ReturnContext, issues: _Issues) -> None:
    """KPI code, place code and period: present, known, permitted, open, of the KPI's type."""
    text = f.text
    reportable = {p.casefold() for p in ctx.reportable_places}
    may_report = sorted(p for p in f.place_codes if p.casefold() in reportable)
    open_periods = sorted(label for label, s in ctx.period_status.items() if s == "open")
    open_text = (
        f"an open period: {_listing(open_periods)}"
        if open_periods
        else "an open period (none is open for returns now)"
    )
    issues.add(
        "missing_required",
        f.kpi_blank,
        "kpi_code",
        text["kpi_code"],
        "No KPI code; expected a KPI code from the Definitions sheet.",
    )
    issues.add(
        "missing_required",
        f.place_blank,
        "place_code",
        text["place_code"],
        f"No place code; expected one of: {_listing(may_report or f.place_codes)}.",
    )
    issues.add(
        "missing_required",
        f.period_blank,
        "period",
        text["period"],
        f"No period; expected {open_text}.",
    )

    issues.add(
        "unknown_kpi",
        ~f.known_kpi & ~f.kpi_blank,
        "kpi_code",
        text["kpi_code"],
        lambda w: (
            "KPI code '"
            + f.clip("kpi_code", w)
            + "' is not in the KPI catalogue"
            + f.kpi_hint[w]
            + "; expected a code from the Definitions sheet."
        ),
    )
    if ctx.locally_supplied_only:
        local = f.per_kpi([k.locally_supplied for k in f.kpis], True, bool)
        local_codes = _listing(k.code for k in f.kpis if k.locally_supplied) or "none"
        issues.add(
            "kpi_not_locally_supplied",
            f.known_kpi & ~local,
            "kpi_code",
            text["kpi_code"],
            lambda w: (
                "KPI '"
                + f.kpi_canonical[w]
                + "' is published nationally, not supplied locally; expected only locally "
                + f"supplied KPIs in this return: {local_codes}."
            ),
        )

    issues.add(
        "unknown_place",
        ~f.known_place & ~f.place_blank,
        "place_code",
        text["place_code"],
        lambda w: (
            "Place code '"
            + f.clip("place_code", w)
            + "' is not a SET place"
            + f.place_hint[w]
            + f"; expected one of: {_listing(f.place_codes)}."
        ),
    )
    permitted = np.array([p.casefold() in reportable for p in f.place_codes] + [False])
    issues.add(
        "place_not_permitted",
        f.known_place & ~permitted[f.place_index],
        "place_code",
        text["place_code"],
        lambda w: (
            "You may not report for place '"
            + f.place_canonical[w]
            + "'; expected a place you report for: "
            + (_listing(may_report) or "none (ask an administrator to give you a place)")
            + "."
        ),
    )

    period = f.period
    issues.add(
        "period_invalid",
        ~period["ok"] & ~f.period_blank,
        "period",
        text["period"],
        lambda w: [_clip(message, 400) for message in period["error"][w]],
    )
    issues.add(
        "period_locked",
        period["ok"] & (period["status"] == "locked"),
        "period",
        text["period"],
        lambda w: (
            "Period '"
            + period["label"][w]
            + "' is locked: its figures are signed off. Expected "
            + open_text
            + "; ask an administrator to unlock it to correct figures."
        ),
    )
    issues.add(
        "period_not_open",
        period["ok"] & (period["status"] != "locked") & (period["status"] != "open"),
        "period",
        text["period"],
        lambda w: (
            "Period '" + period["label"][w] + "' is not open for returns; expected " + open_text
        ),
    )
    kpi_type = f.per_kpi([k.period_type for k in f.kpis], "")
    mismatch = f.known_kpi & period["ok"] & (kpi_type != "") & (period["type"] != kpi_type)

    def type_message(w):
        return [
            f"Period '{label}' is {PERIOD_TYPE_NAMES.get(found, (found, ''))[0]}; KPI '{code}' is "
            f"reported by {name}, e.g. {example}."
            for label, found, code, (name, example) in zip(
                period["label"][w],
                period["type"][w],
                f.kpi_canonical[w],
                [PERIOD_TYPE_NAMES.get(t, (t, "")) for t in kpi_type[w]],
                strict=True,
            )
        ]

    issues.add("period_type_mismatch", mismatch, "period", text["period"], type_message)


def _check_breakdowns(f: _Frame, ctx: ReturnContext, issues: _Issues) -> np.ndarray:
    """Breakdown: 'dimension:category', a dimension of the KPI, a known category."""
    text = f.text
    breakdown = f.breakdown
    issues.add(
        "breakdown_invalid",
        ~breakdown["ok"],
        "breakdown",
        text["breakdown"],
        lambda w: (
            "Breakdown '"
            + f.clip("breakdown", w)
            + "' cannot be read; expected 'dimension:category' such as 'sex:female', or blank or "
            "'all' for the total."
        ),
    )
    parsed = f.breakdown_parsed
    dimensions = sorted(
        {d for d, good in zip(parsed["dimension"], parsed["ok"], strict=True) if good}
    )
    dimension_id = {d: i for i, d in enumerate(dimensions)}
    per_distinct = np.array([dimension_id.get(d, 0) for d in parsed["dimension"]], np.int64)
    allowed = np.zeros((len(f.kpis) + 1, max(len(dimensions), 1)), dtype=bool)
    for k, kpi in enumerate(f.kpis):
        for d in kpi.breakdown_dimensions:
            if d in dimension_id:
                allowed[k, dimension_id[d]] = True
    row_dimension = per_distinct[f.breakdown_codes]
    not_allowed = (
        f.known_kpi
        & breakdown["ok"]
        & (breakdown["dimension"] != "all")
        & ~allowed[f.kpi_index, row_dimension]
    )
    dims_of = np.array(
        [_listing(k.breakdown_dimensions) or "none" for k in f.kpis] + [""], dtype=object
    )
    issues.add(
        "breakdown_not_allowed",
        not_allowed,
        "breakdown",
        text["breakdown"],
        lambda w: (
            "KPI '"
            + f.kpi_canonical[w]
            + "' is not broken down by '"
            + breakdown["dimension"][w]
            + "'; expected the total (blank or 'all') or a breakdown by: "
            + dims_of[f.kpi_index[w]]
            + "."
        ),
    )
    if ctx.breakdown_categories:
        categories = {d: frozenset(c) for d, c in ctx.breakdown_categories.items()}
        known_category = np.array(
            [
                not good or d == "all" or d not in categories or c in categories[d]
                for good, d, c in zip(
                    parsed["ok"], parsed["dimension"], parsed["category"], strict=True
                )
            ],
            dtype=bool,
        )[f.breakdown_codes]
        issues.add(
            "breakdown_not_allowed",
            ~known_category & ~not_allowed,
            "breakdown",
            text["breakdown"],
            lambda w: [
                f"Breakdown '{d}' has no category '{c}'; expected one of: "
                f"{_listing(sorted(categories[d]))}."
                for d, c in zip(breakdown["dimension"][w], breakdown["category"][w], strict=True)
            ],
        )
    return not_allowed


@dataclass
class _Figures:
    numerator: np.ndarray
    denominator: np.ndarray
    value: np.ndarray  # as given (in the KPI's units), or calculated
    calculated: np.ndarray
    suppressed: np.ndarray
    missing: np.ndarray


def _check_figures(f: _Frame, raw: RawReturn, ctx: ReturnContext, issues: _Issues) -> _Figures:
    """Numbers, markers, percentages, ranges, consistency and the population."""
    text = f.text
    parsed = {c: _numbers(f.distinct[c], allow_percent=c == "value") for c in NUMBER_COLUMNS}
    numerator, suppressed_n, missing_n, bad_n, _ = parsed["numerator"]
    denominator, suppressed_d, missing_d, bad_d, _ = parsed["denominator"]
    value, suppressed_v, missing_v, bad_v, written_percent = parsed["value"]
    marker = f.distinct["marker"]
    suppressed = (
        suppressed_n
        | suppressed_d
        | suppressed_v
        | marker.take(np.isin(marker.uniques, _SUPPRESSION_SPELLINGS))
    )
    missing = (
        missing_n | missing_d | missing_v | marker.take(np.isin(marker.uniques, _MISSING_SPELLINGS))
    )
    for column, bad in (("numerator", bad_n), ("denominator", bad_d), ("value", bad_v)):
        issues.add(
            "not_a_number",
            bad,
            column,
            text[column],
            lambda w, column=column: (
                f"{column.capitalize()} '"
                + f.clip(column, w)
                + "' is not a number; expected a number, or * or c where the figure is "
                "suppressed, or .. or blank where it is missing."
            ),
        )

    # Percentages: a cell formatted as % in a workbook holds the fraction (0.45 for 45%);
    # "45%" written in a CSV is 45 per cent.
    percent_rows: dict[str, list[int]] = {}
    for row, column in raw.percent_cells:
        percent_rows.setdefault(column, []).append(row)
    cell_percent = {c: np.isin(f.rows, percent_rows.get(c, [])) for c in NUMBER_COLUMNS}
    percent = np.isfinite(value) & (cell_percent["value"] | written_percent)
    fraction = np.where(written_percent, value / 100.0, value)
    convertible = f.fraction_kpi | f.is_gap
    value = np.where(
        percent & convertible, fraction * np.where(f.is_gap, 100.0, f.multiplier), value
    )
    issues.add(
        "unexpected_percent",
        percent & f.known_kpi & ~convertible,
        "value",
        text["value"],
        lambda w: [
            f"The value is a percentage ({fmt(share * 100)}%) but KPI '{code}' is "
            f"{STATISTIC_NAMES.get(s, s)}; expected the figure itself, without %."
            for share, code, s in zip(fraction[w], f.kpi_canonical[w], f.statistic[w], strict=True)
        ],
    )
    for column, figure in (("numerator", numerator), ("denominator", denominator)):
        issues.add(
            "unexpected_percent",
            cell_percent[column] & np.isfinite(figure),
            column,
            text[column],
            lambda w, figure=figure, column=column: [
                f"The {column} is formatted as a percentage ({fmt(share * 100)}%); expected a "
                "count of people or events: format the cell as a number."
                for share in figure[w]
            ],
        )
    numerator = np.where(cell_percent["numerator"], np.nan, numerator)
    denominator = np.where(cell_percent["denominator"], np.nan, denominator)
    has_numerator = np.isfinite(numerator)
    has_denominator = np.isfinite(denominator)
    has_value = np.isfinite(value)
    known = f.known_kpi

    negative = np.zeros(f.size, dtype=bool)
    for column, figure, present in (
        ("numerator", numerator, has_numerator),
        ("denominator", denominator, has_denominator),
    ):
        below = known & f.count_based & present & (_nan_to(figure, 0) < 0)
        negative |= below
        issues.add(
            "negative_count",
            below,
            column,
            text[column],
            lambda w, column=column: (
                f"The {column} "
                + f.clip(column, w)
                + " is negative; expected a count of people or events, 0 or more."
            ),
        )
    for column, figure, present, statistics in (
        ("numerator", numerator, has_numerator, WHOLE_NUMERATOR_STATISTICS),
        ("denominator", denominator, has_denominator, WHOLE_DENOMINATOR_STATISTICS),
    ):
        applies = f.per_kpi([k.statistic in statistics for k in f.kpis], False)
        whole = _nan_to(figure, 0)
        issues.add(
            "not_whole_number",
            known & applies & present & (np.floor(whole) != whole),
            column,
            text[column],
            lambda w, column=column: (
                f"The {column} "
                + f.clip(column, w)
                + " is not a whole number; expected a count of people or events."
            ),
        )

    zero_denominator = known & f.is_ratio & has_denominator & (_nan_to(denominator, 1) == 0)
    issues.add(
        "zero_denominator",
        zero_denominator,
        "denominator",
        text["denominator"],
        "The denominator is 0, so no rate or proportion can be calculated; expected a "
        "denominator above 0, or .. in numerator, denominator and value when there is nothing "
        "to report.",
    )
    usable = has_numerator & has_denominator & (_nan_to(denominator, 0) > 0)
    above = known & f.is_proportion & usable & (numerator > denominator)
    issues.add(
        "numerator_above_denominator",
        above,
        "numerator",
        text["numerator"],
        lambda w: [
            f"The numerator {fmt(n)} is larger than the denominator {fmt(d)}; expected a "
            "numerator no larger than its denominator for a proportion."
            for n, d in zip(numerator[w], denominator[w], strict=True)
        ],
    )

    with np.errstate(divide="ignore", invalid="ignore"):
        expected = np.where(usable, numerator / denominator * f.multiplier, np.nan)
    expected = np.where(f.is_count, numerator, expected)
    derivable = known & ((f.is_ratio & usable) | (f.is_count & has_numerator))
    checkable = derivable & has_value
    difference = np.abs(np.where(checkable, value - _nan_to(expected, 0), 0.0))

    def mismatch_message(w):
        return [
            (
                f"The value {fmt(v)} does not match the numerator {fmt(n)}; expected the value "
                f"of a count to equal its numerator (within {fmt(ctx.tolerance)})."
                if s == "count"
                else f"The value {fmt(v)} does not match numerator / denominator x multiplier "
                f"= {fmt(n)} / {fmt(d)} x {fmt(m)} = {fmt(e)}; expected a value within "
                f"{fmt(ctx.tolerance)} of {fmt(e)}, or corrected figures."
            )
            for v, n, d, m, e, s in zip(
                value[w],
                numerator[w],
                denominator[w],
                f.multiplier[w],
                expected[w],
                f.statistic[w],
                strict=True,
            )
        ]

    issues.add(
        "value_mismatch",
        checkable & (difference > ctx.tolerance),
        "value",
        text["value"],
        mismatch_message,
    )
    calculated = derivable & ~has_value
    final = np.where(calculated, expected, value)
    has_final = np.isfinite(final)

    below_min = ~np.isnan(f.valid_min) & (_nan_to(final, 0) < _nan_to(f.valid_min, 0))
    above_max = ~np.isnan(f.valid_max) & (_nan_to(final, 0) > _nan_to(f.valid_max, 0))
    out_of_range = known & has_final & (below_min | above_max) & ~(calculated & (above | negative))

    def range_message(w):
        def wanted(low, high):
            if np.isnan(low):
                return f"at most {fmt(high)}"
            if np.isnan(high):
                return f"at least {fmt(low)}"
            return f"from {fmt(low)} to {fmt(high)}"

        return [
            f"The value {fmt(v)}{' (calculated from numerator and denominator)' if c else ''} "
            f"is outside the valid range for '{code}'; expected {wanted(low, high)}."
            for v, c, code, low, high in zip(
                final[w],
                calculated[w],
                f.kpi_canonical[w],
                f.valid_min[w],
                f.valid_max[w],
                strict=True,
            )
        ]

    issues.add("out_of_range", out_of_range, "value", text["value"], range_message)

    _check_population(f, ctx, issues, denominator)
    for column, figure in (
        ("numerator", numerator),
        ("denominator", denominator),
        ("value", final),
    ):
        too_large = np.abs(np.round(_nan_to(figure, 0.0), 6)) >= STORABLE_LIMIT
        if column == "value":
            too_large &= ~out_of_range  # already out of the KPI's own range
        issues.add(
            "out_of_range",
            too_large,
            column,
            text[column],
            lambda w, figure=figure, column=column: [
                f"The {column} {fmt(x)} is too large to be stored; expected a figure below "
                f"{fmt(STORABLE_LIMIT)}."
                for x in figure[w]
            ],
        )

    # A value, or what it is calculated from, unless a marker says why it is not given.
    given = suppressed | missing | bad_n | bad_d | bad_v
    needs = known & ~given & ~has_value
    for mask, expected_text in (
        (
            needs & f.is_ratio & ~(has_numerator & has_denominator) & ~zero_denominator,
            "the value, or both numerator and denominator",
        ),
        (needs & f.is_count & ~has_numerator, "the count in numerator or value"),
        (needs & ~f.is_ratio & ~f.is_count, "the value"),
    ):
        issues.add(
            "missing_required",
            mask,
            "value",
            text["value"],
            f"No value; expected {expected_text}; {_MARKER_HELP}.",
        )
    return _Figures(numerator, denominator, final, calculated, suppressed, missing & ~has_final)


def _check_population(f: _Frame, ctx: ReturnContext, issues: _Issues, denominator) -> None:
    """The denominator against the place's population for the KPI's or the breakdown's ages."""
    populations = {
        (place.casefold(), band): count
        for place, spec in ctx.places.items()
        for band, count in (spec.population or {}).items()
        if count is not None
    }
    if not populations:
        return
    parsed = f.breakdown_parsed
    bands = sorted(
        {band for _, band in populations}
        | {k.age_band or "all" for k in f.kpis}
        | {
            c
            for d, c in zip(parsed["dimension"], parsed["category"], strict=True)
            if d == "age_band"
        }
    )
    band_id = {band: i for i, band in enumerate(bands)}
    table = np.full((len(f.place_codes) + 1, len(bands)), np.nan)
    for p, place in enumerate(f.place_codes):
        for band, i in band_id.items():
            table[p, i] = populations.get((place.casefold(), band), np.nan)
    from_breakdown = np.array(
        [
            band_id[c] if d == "age_band" else -1
            for d, c in zip(parsed["dimension"], parsed["category"], strict=True)
        ],
        dtype=np.int64,
    )[f.breakdown_codes]
    from_kpi = f.per_kpi([band_id[k.age_band or "all"] for k in f.kpis], 0, np.int64)
    row_band = np.where(from_breakdown >= 0, from_breakdown, from_kpi)
    population = table[f.place_index, row_band]
    applies = f.per_kpi([k.statistic in POPULATION_STATISTICS for k in f.kpis], False)
    over = (
        f.known_kpi
        & f.known_place
        & applies
        & ~np.isnan(population)
        & (_nan_to(denominator, 0) > _nan_to(population, np.inf))
    )
    names = np.array(bands, dtype=object)

    def message(w):
        return [
            f"The denominator {fmt(d)} is larger than the population of '{p}'"
            + (f" aged {band}" if band != "all" else "")
            + f" ({fmt(pop)}); expected no more than the population."
            for d, p, band, pop in zip(
                denominator[w], f.place_canonical[w], names[row_band[w]], population[w], strict=True
            )
        ]

    issues.add("denominator_above_population", over, "denominator", f.text["denominator"], message)


def _check_duplicates(f: _Frame, issues: _Issues) -> None:
    """The same KPI, place, period and breakdown again: every repeat names the first row."""
    complete = ~(f.kpi_blank | f.place_blank | f.period_blank)
    keys = pd.DataFrame(
        {
            "kpi": f.kpi_key[complete],
            "place": f.place_key[complete],
            "period": f.period_key[complete],
            "breakdown": f.breakdown_key[complete],
        }
    )
    repeated = keys.duplicated(keep="first").to_numpy()
    if not repeated.any():
        return
    first = (
        pd.Series(f.rows[complete])
        .groupby([keys[c].to_numpy() for c in keys.columns], sort=False)
        .transform("first")
        .to_numpy()
    )
    positions = np.flatnonzero(complete)
    duplicate = np.zeros(f.size, dtype=bool)
    duplicate[positions[repeated]] = True
    first_row = np.zeros(f.size, dtype=np.int64)
    first_row[positions] = first
    text = f.text
    shown = np.where(text["breakdown"] == "", "all", text["breakdown"])

    def found(w):
        return (
            f.clip("kpi_code", w)
            + " / "
            + f.clip("place_code", w)
            + " / "
            + f.clip("period", w)
            + " / "
            + shown[w].astype(object)
        )

    values = np.full(f.size, "", dtype=object)
    where = np.flatnonzero(duplicate)
    values[where] = found(where)
    issues.add(
        "duplicate_row",
        duplicate,
        DUPLICATE_COLUMNS,
        values,
        lambda w: [
            f"This row repeats row {r} (same KPI, place, period and breakdown); expected "
            "each KPI, place, period and breakdown once."
            for r in first_row[w]
        ],
    )


def _check_template(raw: RawReturn, ctx: ReturnContext, issues: _Issues) -> None:
    required = ctx.required_template_version
    if required is None or raw.template_version == required:
        return
    if raw.template_version is None:
        where = (
            "an 'About' sheet with template_version"
            if raw.file_type == "xlsx"
            else "a first line '#template_version=...'"
        )
        message = (
            f"The file has no template version ({where} is missing); expected template "
            f"version {required}: download the current template and copy the figures in."
        )
    else:
        message = (
            f"The file is template version {raw.template_version}; expected the current "
            f"version {required}: download the current template and copy the figures in."
        )
    issues.loose.append(
        Issue(None, "template_version", raw.template_version or "", message, "template_out_of_date")
    )


# ---------------------------------------------------------------------------------------------
# Warnings


def _warn_small_counts(f: _Frame, figures: _Figures, issues: _Issues) -> None:
    numerator, value = figures.numerator, figures.value
    shown = f.known_kpi & ~figures.suppressed
    small_numerator = (
        shown
        & f.count_based
        & (_nan_to(numerator, 0) >= 1)
        & (_nan_to(numerator, 0) <= SMALL_COUNT_MAX)
    )
    issues.add(
        "small_count",
        small_numerator,
        "numerator",
        f.text["numerator"],
        lambda w: _per_distinct(
            numerator[w],
            lambda n: (
                f"The numerator {fmt(n)} is between 1 and {SMALL_COUNT_MAX}: it will be "
                "suppressed on public pages. Confirm it is right."
            ),
        ),
        "warning",
    )
    small_value = (
        shown
        & f.is_count
        & ~np.isfinite(numerator)
        & (_nan_to(value, 0) >= 1)
        & (_nan_to(value, 0) <= SMALL_COUNT_MAX)
    )
    issues.add(
        "small_count",
        small_value,
        "value",
        f.text["value"],
        lambda w: _per_distinct(
            value[w],
            lambda v: (
                f"The count {fmt(v)} is between 1 and {SMALL_COUNT_MAX}: it will be "
                "suppressed on public pages. Confirm it is right."
            ),
        ),
        "warning",
    )


def _warn_previous(f: _Frame, figures: _Figures, ctx: ReturnContext, issues: _Issues) -> None:
    """Outside the process limits, or more than 50% from the previous value: ask for a comment."""
    if not ctx.previous:
        return
    kpi_position = {code.casefold(): i for i, code in enumerate(f.kpi_codes)}
    place_position = {code.casefold(): i for i, code in enumerate(f.place_codes)}
    parsed = f.breakdown_parsed
    key_id = {
        key: i
        for key, i, good in zip(parsed["key"], parsed["id"], parsed["ok"], strict=True)
        if good
    }
    places = len(f.place_codes) + 1
    breakdowns = max(len(key_id), 1)
    limits: dict[int, tuple[float, float, float]] = {}
    for (kpi, place, breakdown), found in ctx.previous.items():
        k = kpi_position.get(str(kpi).casefold())
        p = place_position.get(str(place).casefold())
        b = key_id.get(str(breakdown).strip().lower())
        if k is None or p is None or b is None:
            continue
        limits[(k * places + p) * breakdowns + b] = tuple(
            np.nan if v is None else float(v) for v in found
        )
    valid = f.known_kpi & f.known_place & f.breakdown["ok"] & np.isfinite(figures.value)
    composite = np.where(
        valid, (f.kpi_index * places + f.place_index) * breakdowns + f.breakdown["id"], -1
    )
    codes, uniques = pd.factorize(composite)
    table = np.array(
        [limits.get(int(u), (np.nan, np.nan, np.nan)) for u in uniques], dtype=float
    ).reshape(-1, 3)
    before, lower, upper = (table[:, i][codes] for i in range(3))
    value = figures.value
    no_comment = f.text["comment"] == ""

    def ask(missing_comment: bool) -> str:
        return (
            " A comment is required: explain it in the comment column."
            if missing_comment
            else " Confirm the comment explains it."
        )

    outside = valid & (
        (~np.isnan(lower) & (_nan_to(value, 0) < _nan_to(lower, 0)))
        | (~np.isnan(upper) & (_nan_to(value, 0) > _nan_to(upper, 0)))
    )
    issues.add(
        "outside_limits",
        outside,
        "value",
        f.text["value"],
        lambda w: [
            f"The value {fmt(v)} is outside the process limits {fmt(lo)} to {fmt(hi)} from "
            "earlier periods; expected a value within them unless something changed." + ask(n)
            for v, lo, hi, n in zip(value[w], lower[w], upper[w], no_comment[w], strict=True)
        ],
        "warning",
    )
    far = (
        valid
        & ~np.isnan(before)
        & (_nan_to(before, 0) != 0)
        & (
            np.abs(_nan_to(value, 0) - _nan_to(before, 0))
            > PREVIOUS_CHANGE * np.abs(_nan_to(before, 0))
        )
    )
    issues.add(
        "far_from_previous",
        far,
        "value",
        f.text["value"],
        lambda w: [
            f"The value {fmt(v)} is more than {fmt(PREVIOUS_CHANGE * 100)}% away from the "
            f"previous period's {fmt(b)}; expected a value nearer unless something changed."
            + ask(n)
            for v, b, n in zip(value[w], before[w], no_comment[w], strict=True)
        ],
        "warning",
    )


def _warn_expected(f: _Frame, ctx: ReturnContext, issues: _Issues) -> None:
    """Expected totals (KPI, place, period) that the return does not hold."""
    if not ctx.expected:
        return
    total = f.known_kpi & f.known_place & f.period["ok"] & (f.breakdown["dimension"] == "all")
    present = {
        (kpi.casefold(), place.casefold(), label)
        for kpi, place, label in pd.DataFrame(
            {
                "k": f.kpi_canonical[total],
                "p": f.place_canonical[total],
                "t": f.period["label"][total],
            }
        )
        .drop_duplicates()
        .itertuples(index=False, name=None)
    }
    missing = [
        (kpi, place, label)
        for kpi, place, label in ctx.expected
        if (kpi.casefold(), place.casefold(), label) not in present
    ]
    for kpi, place, label in sorted(missing):
        issues.loose.append(
            Issue(
                None,
                None,
                f"{kpi} / {place} / {label}",
                f"No total for KPI '{kpi}', place '{place}', period '{label}'; expected it in "
                "this return. Add it, or confirm it is not available.",
                "expected_missing",
                "warning",
            )
        )


# ---------------------------------------------------------------------------------------------


def validate_return(
    raw: RawReturn,
    ctx: ReturnContext,
    *,
    keep: int | None = None,
    keep_warnings: int | None = None,
) -> ValidationResult:
    """Every error and warning in a return (all counted; with ``keep``, only the first
    ``keep`` errors and ``keep_warnings`` warnings, by default as many, kept as Issues), and
    its typed rows."""
    f = _Frame(raw, ctx)
    issues = _Issues(f.rows)
    _check_control_characters(f, issues)
    _check_keys(f, ctx, issues)
    _check_breakdowns(f, ctx, issues)
    # Figures near the largest a float holds (1e308) overflow to infinity in the arithmetic;
    # the checks name them as too large to store, so numpy need not warn of it in the log.
    with np.errstate(over="ignore", invalid="ignore"):
        figures = _check_figures(f, raw, ctx, issues)
    _check_duplicates(f, issues)
    _check_template(raw, ctx, issues)
    for issue in raw.file_errors:
        issues.loose.append(issue)
        if issue.row is not None:
            issues.error_rows |= f.rows == issue.row
    issues.loose.extend(raw.file_warnings)
    _warn_small_counts(f, figures, issues)
    with np.errstate(over="ignore", invalid="ignore"):
        _warn_previous(f, figures, ctx, issues)
    _warn_expected(f, ctx, issues)
    errors, warnings, error_count, warning_count = issues.result(keep, keep_warnings)

    clean = ~issues.error_rows
    # Equal for rows of one KPI, place and breakdown (one series), and of one period: whoever
    # stores the rows looks each series and period up once, not once per row.
    breakdowns = len(f.breakdown_parsed["ok"]) + 1
    series_key = (
        f.kpi_key[clean] * (len(f.place_codes) + 1) + f.place_key[clean]
    ) * breakdowns + f.breakdown_key[clean]
    rows = pd.DataFrame(
        {
            "series_key": series_key.astype(np.int64),
            "period_key": f.period_key[clean].astype(np.int64),
            "kpi_code": _objects(f.kpi_canonical[clean]),
            "place_code": _objects(f.place_canonical[clean]),
            "period_label": _objects(f.period["label"][clean]),
            "period_start": _objects(f.period["start"][clean]),
            "period_end": _objects(f.period["end"][clean]),
            "period_type": _objects(f.period["type"][clean]),
            "breakdown_dimension": _objects(f.breakdown["dimension"][clean]),
            "breakdown_category": _objects(f.breakdown["category"][clean]),
            "numerator": figures.numerator[clean],
            "denominator": figures.denominator[clean],
            "value": figures.value[clean],
            "value_calculated": figures.calculated[clean],
            "suppressed": figures.suppressed[clean],
            "missing": figures.missing[clean],
            "marker": _objects(f.text["marker"][clean]),
            "comment": _objects(f.text["comment"][clean]),
            "row": f.rows[clean],
        }
    )
    return ValidationResult(
        errors=errors,
        warnings=warnings,
        rows=rows,
        error_count=error_count,
        warning_count=warning_count,
    )
