"""Statistical disclosure control for public outputs, by each source's own rule.

Pure module: a pandas frame and a rule in, the figures the public may see out. Rules are applied
to unrounded figures: combine places first (summing unrounded counts), then apply the rule once.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

COUNT_STATISTICS = {"count"}
RATE_STATISTICS = {"dsr", "crude_rate", "isr"}
SURVEY_STATISTICS = {"survey_estimate"}


@dataclass(frozen=True)
class Rule:
    min_count: int | None = None
    rounding_base: int | None = None
    min_respondents: int | None = None
    min_events_for_rate: int | None = None
    zero_shown: bool | None = True

    @classmethod
    def from_model(cls, rule) -> Rule:
        return cls(
            min_count=rule.min_count,
            rounding_base=rule.rounding_base,
            min_respondents=rule.min_respondents,
            min_events_for_rate=rule.min_events_for_rate,
            zero_shown=rule.zero_shown,
        )


def round_to_base(values: pd.Series, base: int) -> pd.Series:
    """Round half up to a multiple of ``base`` (7 -> 5, 8 -> 10 for base 5)."""
    return np.floor(values / base + 0.5) * base


def disclose(frame: pd.DataFrame, *, statistic: str, rule: Rule) -> pd.DataFrame:
    """Public figures for each row: suppressed, rounded or shown as they are.

    ``frame`` has ``numerator``, ``denominator``, ``value`` and ``source_suppressed``.
    Returns ``public_numerator``, ``public_denominator``, ``public_value``, ``suppressed`` and
    ``suppression_reason`` alongside the input columns.

    1. Anything the source suppressed stays suppressed.
    2. Small counts: a count (or the numerator or denominator of a proportion) from 1 to
       ``min_count - 1`` is suppressed. A true zero is shown unless the source itself hides
       zeros (``zero_shown`` False), so that "eliminate" targets can be seen to be met.
    3. Surveys with fewer than ``min_respondents`` respondents are suppressed.
    4. Rates from fewer than ``min_events_for_rate`` events are not shown (the count may be).
    5. Shown counts are rounded to ``rounding_base``; values computed from unrounded counts are
       left as they are.
    """
    out = frame.copy()
    numerator = out["numerator"].astype(float)
    denominator = out["denominator"].astype(float)
    reason = pd.Series("", index=out.index, dtype=object)
    reason[out["source_suppressed"].fillna(False).astype(bool)] = "suppressed by the source"

    def flag(mask: pd.Series, text: str) -> None:
        reason[(reason == "") & mask.fillna(False)] = text

    if rule.min_count:
        small = lambda s: (s > 0) & (s < rule.min_count)  # noqa: E731
        flag(small(numerator), f"fewer than {rule.min_count}")
        if statistic not in COUNT_STATISTICS | RATE_STATISTICS | SURVEY_STATISTICS:
            flag(small(denominator), f"denominator fewer than {rule.min_count}")
    if rule.zero_shown is False:
        flag(numerator == 0, "the source does not distinguish zero from small counts")
    if rule.min_respondents and statistic in SURVEY_STATISTICS:
        flag(denominator < rule.min_respondents, f"fewer than {rule.min_respondents} respondents")
    rate_hidden = pd.Series(False, index=out.index)
    if rule.min_events_for_rate and statistic in RATE_STATISTICS:
        rate_hidden = (numerator < rule.min_events_for_rate).fillna(False)
    suppressed = reason != ""
    shown_numerator = numerator.where(~suppressed)
    shown_denominator = denominator.where(~suppressed)
    if rule.rounding_base:
        shown_numerator = round_to_base(shown_numerator, rule.rounding_base)
        if statistic == "proportion":
            shown_denominator = round_to_base(shown_denominator, rule.rounding_base)
    out["public_numerator"] = shown_numerator
    out["public_denominator"] = shown_denominator
    public_value = out["value"].astype(float).where(~suppressed & ~rate_hidden)
    if rule.rounding_base and statistic in COUNT_STATISTICS:
        public_value = round_to_base(public_value, rule.rounding_base)
    out["public_value"] = public_value
    reason[(reason == "") & rate_hidden] = (
        f"rate not calculated from fewer than {rule.min_events_for_rate} events"
    )
    out["suppressed"] = suppressed | rate_hidden
    out["suppression_reason"] = reason
    return out
