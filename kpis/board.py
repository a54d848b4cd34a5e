"""The board view's words: one cell of the summary table as text (pure: no ORM, no settings).

Every mark has a text label (never colour alone): the tag classes and the Making Data Count
icons only add colour and shape to words.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

VERDICT_LABELS = {
    "on_track": "On track",
    "improving": "Improving",
    "no_significant_change": "No significant change",
    "needs_attention": "Needs attention",
    "off_track": "Off track",
    "cannot_assess": "Cannot be assessed",
}

VERDICT_TAGS = {
    "on_track": "nhsuk-tag--green",
    "improving": "nhsuk-tag--aqua-green",
    "no_significant_change": "nhsuk-tag--grey",
    "needs_attention": "nhsuk-tag--orange",
    "off_track": "nhsuk-tag--red",
    "cannot_assess": "nhsuk-tag--white",
}

#: Making Data Count variation icons: (text, tag class).
SPC_LABELS = {
    "common_cause": ("Common cause variation", "nhsuk-tag--grey"),
    "special_cause_improvement": ("Special cause: improvement", "nhsuk-tag--blue"),
    "special_cause_concern": ("Special cause: concern", "nhsuk-tag--orange"),
    "special_cause_neutral_high": ("Special cause: higher (neither better nor worse)", ""),
    "special_cause_neutral_low": ("Special cause: lower (neither better nor worse)", ""),
}

#: Making Data Count assurance icons: (text, tag class).
ASSURANCE_LABELS = {
    "consistent_pass": ("Consistently meets the target", "nhsuk-tag--blue"),
    "consistent_fail": ("Consistently fails the target", "nhsuk-tag--orange"),
    "inconsistent": ("Hit and miss: may or may not meet the target", "nhsuk-tag--grey"),
}

#: The stored point type says improvement or concern; the KPI's direction says which of those
#: is high and which low. Neutral KPIs' point types say high or low themselves.
_SPC_ICON_SIDES = {
    ("special_cause_improvement", "higher_is_better"): "improvement_high",
    ("special_cause_improvement", "lower_is_better"): "improvement_low",
    ("special_cause_concern", "higher_is_better"): "concern_low",
    ("special_cause_concern", "lower_is_better"): "concern_high",
}

ASSURANCE_ICONS = {
    "consistent_pass": "pass",
    "consistent_fail": "fail",
    "inconsistent": "hit_and_miss",
}


def spc_icon(point_type: str, direction: str) -> str:
    """The Making Data Count variation icon of a point: "common_cause", "improvement_high",
    "concern_low", "neutral_high" and so on; "" when there is no icon to draw."""
    if point_type == "common_cause":
        return "common_cause"
    if point_type.startswith("special_cause_neutral_"):
        return point_type.removeprefix("special_cause_")
    return _SPC_ICON_SIDES.get((point_type, direction), "")


BENCHMARK_LABELS = {
    "better_99_8": "Better than England (99.8%)",
    "better_95": "Better than England (95%)",
    "similar": "Similar to England",
    "worse_95": "Worse than England (95%)",
    "worse_99_8": "Worse than England (99.8%)",
}

STATUS_LABELS = {
    "approved": "Not yet published: approved, awaiting release",
    "unapproved": "Not yet published: not approved",
}

#: One reporting period of grace after the publication lag, by the KPI's frequency.
GRACE_DAYS = {"monthly": 31, "quarterly": 92, "annual": 366}
#: A KPI with no stated lag is given the assessment engine's default (kpis.assessment).
DEFAULT_LAG_DAYS = 90

NOT_REPORTED = "Not reported for this area"
NO_VALUE = "No value for this area yet"


def stale_since(
    *, period_end: date, lag_days: int | None, frequency: str, today: date
) -> date | None:
    """The day a newer period was due, if that day has passed (else None).

    Rule: a newer period is due ``lag + grace`` days after this period's end, where ``lag`` is
    the KPI's publication lag (90 days when not stated) and ``grace`` one reporting period of
    its frequency (31 days monthly, 92 quarterly, 366 annual; 92 for any other). The cell is
    stale when that day is before ``today``.
    """
    lag = DEFAULT_LAG_DAYS if lag_days is None else lag_days
    due = period_end + timedelta(days=lag + GRACE_DAYS.get(frequency, 92))
    return due if due < today else None


def format_number(value: float | None, unit: str) -> str:
    """A value with its unit: "50.0%", "12.3 per 100,000", "1,234" for counts."""
    if value is None or value != value:
        return ""
    if unit == "%":
        return f"{value:,.1f}%"
    if unit == "count":
        return f"{value:,.0f}"
    return f"{value:,.1f} {unit}".strip()


def interval_text(lower: float | None, upper: float | None) -> str:
    """A 95% interval as "40.1 to 52.3" (blank when either limit is missing)."""
    if lower is None or upper is None or lower != lower or upper != upper:
        return ""
    return f"{lower:,.1f} to {upper:,.1f}"


def change_text(category: str, direction: str, baseline: str, reason: str) -> str:
    """Change since the baseline in words, better/worse by the KPI's direction."""
    baseline = baseline or "the baseline"
    if category in ("significant_increase", "significant_decrease"):
        increase = category == "significant_increase"
        if direction == "neutral":
            return f"Significant {'increase' if increase else 'decrease'} since {baseline}"
        better = increase == (direction == "higher_is_better")
        return f"Significantly {'better' if better else 'worse'} than {baseline}"
    if category == "no_significant_change":
        return f"No significant change since {baseline}"
    words = CHANGE_NOT_TESTED.get(reason, reason)
    return f"Change not tested: {words}" if words else "Change not tested"


#: Why a change since the baseline was not tested, in words (kpis.stats.change's codes).
CHANGE_NOT_TESTED = {
    "no_interval": "no margin of error to test it with",
    "series_break": "the definition changed since the baseline",
    "overlapping_periods": "the period overlaps the baseline",
}


def benchmark_text(benchmark: str, by_source: bool) -> str:
    if not benchmark:
        return "Not compared with England"
    text = BENCHMARK_LABELS.get(benchmark, benchmark.replace("_", " ").capitalize())
    return f"{text}, the publisher's comparison" if by_source else text


@dataclass(frozen=True)
class Cell:
    """One KPI at one column place, as words; ``state`` is "value", "not_reported" or
    "no_value"."""

    column: str
    state: str
    reason: str = ""
    source_place: str = ""
    source_place_name: str = ""
    period: str = ""
    value: str = ""
    interval: str = ""
    change: str = ""
    spc: str = ""
    spc_tag: str = ""
    spc_icon: str = ""
    assurance: str = ""
    assurance_tag: str = ""
    assurance_icon: str = ""
    benchmark: str = ""
    verdict: str = ""
    verdict_label: str = ""
    verdict_tag: str = ""
    verdict_reason: str = ""
    unpublished: str = ""
    stale: str = ""
    # The current commentary on the value shown, when the viewer may read it.
    commentary: str = ""
    commentary_author: str = ""
    commentary_at: datetime | None = None
    may_write_commentary: bool = False

    def as_row(self) -> dict:
        return {k: getattr(self, k) for k in self.__dataclass_fields__ if not k.endswith("_tag")}


def empty_cell(column: str, state: str) -> Cell:
    return Cell(
        column=column, state=state, reason=NOT_REPORTED if state == "not_reported" else NO_VALUE
    )


def value_cell(column: str, record: dict, *, kpi: dict, today: date) -> Cell:
    """The words of one latest internal assessment; ``record`` holds its fields and
    ``kpi`` the KPI's unit, direction, frequency and publication_lag_days."""
    unit = kpi["unit"]
    lower, upper = record.get("lower95"), record.get("upper95")
    interval = ""
    if lower is not None and upper is not None and lower == lower and upper == upper:
        interval = f"95% CI {format_number(lower, unit)} to {format_number(upper, unit)}"
    spc, spc_tag = SPC_LABELS.get(record["spc_point_type"], ("", ""))
    if not spc:
        spc = f"No SPC: {record['spc_reason']}" if record["spc_reason"] else "No SPC"
    assurance, assurance_tag = ASSURANCE_LABELS.get(
        record["assurance"], ("No assurance: no target to test", "")
    )
    due = stale_since(
        period_end=record["period__end"],
        lag_days=kpi["publication_lag_days"],
        frequency=kpi["frequency"],
        today=today,
    )
    verdict = record["verdict"]
    value = format_number(record["value"], unit)
    return Cell(
        column=column,
        state="value",
        reason=record["verdict_reason"] if verdict == "cannot_assess" else "",
        source_place=record["series__place__code"],
        source_place_name=record["series__place__name"],
        period=record["period__label"],
        value=value or "No value",
        interval=interval,
        change=change_text(
            record["change_category"],
            kpi["direction"],
            record["baseline_label"],
            record["change_reason"],
        ),
        spc=spc,
        spc_tag=spc_tag,
        spc_icon=spc_icon(record["spc_point_type"], kpi["direction"]),
        assurance=assurance,
        assurance_tag=assurance_tag,
        assurance_icon=ASSURANCE_ICONS.get(record["assurance"], ""),
        benchmark=benchmark_text(
            record["benchmark_england"], bool(record["benchmark_england_by_source"])
        ),
        verdict=verdict,
        verdict_label=VERDICT_LABELS.get(verdict, verdict.replace("_", " ").capitalize()),
        verdict_tag=VERDICT_TAGS.get(verdict, ""),
        verdict_reason=record["verdict_reason"],
        unpublished=STATUS_LABELS.get(record["value_status"], ""),
        stale=f"Out of date: a newer period was due by {due:%-d %B %Y}" if due else "",
    )
