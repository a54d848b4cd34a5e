"""Plain-English sentences for the public, generated from a stored assessment (pure: no ORM).

Never hand-typed: every word about a figure comes from the assessment's own fields (value,
baseline, change category and reason), so the sentence and the numbers cannot disagree.
"""

from __future__ import annotations

from dataclasses import dataclass

from .board import CHANGE_NOT_TESTED, format_number


@dataclass(frozen=True)
class Facts:
    """What a sentence needs to know about the KPI."""

    title: str
    unit: str
    direction: str


def _number(value: float | None, unit: str) -> str:
    return format_number(value, unit)


def change_sentence(
    facts: Facts,
    *,
    place: str,
    period: str,
    value: float | None,
    suppressed: bool,
    baseline_label: str,
    baseline_value: float | None,
    change_category: str,
    change_reason: str,
    baseline_withheld: bool = False,
) -> str:
    """One sentence: the latest figure, what has changed since the baseline (named), and
    whether that change is real or could be chance.

    1. A suppressed latest figure: say so and why nothing more can be said.
    2. A withheld baseline (its own value suppressed): say so, and give no change.
       No baseline figure: give the latest figure and say there is none to compare with.
    3. A significant change: "up/down from X in <baseline>", better or worse by the KPI's
       direction (or just higher/lower when neither is better), "unlikely to be chance".
    4. No significant change: "could be chance".
    5. Not tested: why, in the words of kpis.board.CHANGE_NOT_TESTED.
    """
    if suppressed or value is None:
        return (
            f"The latest figure for {place} ({period}) is not shown, to protect the privacy "
            "of the small number of people it counts."
        )
    latest = f"In {period}, the figure for {place} was {_number(value, facts.unit)}"
    if baseline_withheld and baseline_label:
        return (
            f"{latest}. The baseline figure, for {baseline_label}, is not shown, to protect the "
            "privacy of the small number of people it counts, so neither is the change since."
        )
    if baseline_value is None or not baseline_label:
        return f"{latest}. There is no baseline figure to compare it with yet."
    if baseline_label == period:
        return f"{latest}. This is the baseline that later figures are compared with."
    direction = "up" if value > baseline_value else "down" if value < baseline_value else "level"
    since = (
        f"{latest}, {direction} from {_number(baseline_value, facts.unit)} in {baseline_label}"
        if direction != "level"
        else f"{latest}, the same as in {baseline_label}"
    )
    if change_category in ("significant_increase", "significant_decrease"):
        increase = change_category == "significant_increase"
        if facts.direction == "neutral":
            judged = f"a real {'increase' if increase else 'decrease'}"
        else:
            better = increase == (facts.direction == "higher_is_better")
            judged = f"a real {'improvement' if better else 'worsening'}"
        return f"{since}. This is {judged}: a change this large is unlikely to be chance."
    if change_category == "no_significant_change":
        return f"{since}. This change could be chance: it is within the margin of error."
    why = CHANGE_NOT_TESTED.get(change_reason, "")
    return f"{since}. Whether this change is real has not been tested" + (
        f": {why}." if why else "."
    )
