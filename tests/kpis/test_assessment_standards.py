"""Verdicts honour threshold standards: each period's value against the standard in force for
it, allowing for chance, under the shipped verdict rules. Intervals are worked out by hand.

Wilson score 95% interval for x of n (z = 1.959964, z² = 3.841459):
    centre = (p + z²/2n) / (1 + z²/n),  half-width = z·sqrt(p(1 − p)/n + z²/4n²) / (1 + z²/n).
For n = 1000: 1 + z²/n = 1.0038415 and z²/2n = 0.0019207.
"""

from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from kpis.assessment import Rule, add_intervals, add_standards, assess
from tests.kpis.test_assessment import PLACES, kpi_frame, obs

RULES_FILE = Path(__file__).resolve().parents[2] / "fixtures" / "kpis" / "verdict_rules.yaml"
NO_TARGET_CONCERN = "No significant change and no target concern."


def shipped_rules() -> list[Rule]:
    data = yaml.safe_load(RULES_FILE.read_text(encoding="utf-8"))
    return [
        Rule(when=rule.get("when") or {}, verdict=rule["verdict"], reason=rule.get("reason", ""))
        for rule in data["rules"]
    ]


def recovery(**overrides):
    """Talking Therapies recovery as catalogued: at least 50% from April 2015, no due date."""
    catalogued = {
        "target_kind": "threshold",
        "target_value": 50.0,
        "target_applies_from": date(2015, 4, 1),
    }
    return kpi_frame(**{**catalogued, **overrides})


def assessed(rows, kpis, *, as_of=date(2021, 8, 1)):
    return assess(obs(rows), kpis, PLACES, shipped_rules(), as_of=as_of)


def test_a_value_wholly_below_the_standard_is_off_track_and_says_so():
    # 460/1000 = 46%: centre (0.46 + 0.0019207) / 1.0038415 = 0.460153; half-width
    # 1.959964·sqrt(0.46·0.54/1000 + 0.00000096) / 1.0038415 = 0.030832. Interval
    # 42.93% to 49.10%: all of it below 50%.
    row = assessed([("2020-21", 460, 1000)], recovery()).iloc[0]
    assert row["lower95"] == pytest.approx(42.93, abs=0.01)
    assert row["upper95"] == pytest.approx(49.10, abs=0.01)
    assert row["standard_status"] == "not_met"
    assert row["verdict"] == "off_track"
    assert row["verdict_reason"] == "Below the standard of 50%, by more than the margin of error."


def test_a_value_whose_interval_holds_the_standard_is_not_called_free_of_concern():
    # 500/1000 = 50%: centre 0.5, half-width 1.959964·sqrt(0.25/1000 + 0.00000096) / 1.0038415
    # = 0.030930. Interval 46.91% to 53.09%: the standard lies inside it.
    row = assessed([("2020-21", 500, 1000)], recovery()).iloc[0]
    assert (row["lower95"], row["upper95"]) == (
        pytest.approx(46.91, abs=0.01),
        pytest.approx(53.09, abs=0.01),
    )
    assert row["standard_status"] == "not_significantly_different"
    assert row["verdict"] == "needs_attention"
    assert row["verdict_reason"] == (
        "Close to the standard of 50%: the gap is within the margin of error, so it is not "
        "clear that the standard is met."
    )


def test_a_value_wholly_above_the_standard_meets_it():
    # 540/1000 = 54%: centre (0.54 + 0.0019207) / 1.0038415 = 0.539847; half-width as for 46%
    # (p(1 − p) is the same), 0.030832. Interval 50.90% to 57.07%: all of it above 50%.
    row = assessed([("2020-21", 540, 1000)], recovery()).iloc[0]
    assert row["lower95"] == pytest.approx(50.90, abs=0.01)
    assert row["standard_status"] == "met"
    assert row["verdict"] == "on_track"
    assert row["verdict_reason"] == "Meets the standard of 50%, allowing for the margin of error."


def test_southend_2020_21_baseline_alone_reads_below_the_standard():
    # The issue: Southend's 46% in 2020-21, the baseline year and the only value, read "no
    # significant change and no target concern". There is no change or trend to speak of, but
    # the standard is in force and the whole interval (42.93% to 49.10%) is below it.
    row = assessed([("2020-21", 460, 1000)], recovery()).iloc[0]
    assert row["change_category"] == "not_tested"
    assert row["assessable"]
    assert (row["verdict"], row["verdict_reason"]) != ("no_significant_change", NO_TARGET_CONCERN)
    assert row["verdict_reason"].startswith("Below the standard of 50%")


def test_improvement_on_the_baseline_does_not_hide_a_shortfall():
    # 30% then 46%: significantly better than the baseline, but 46% is still wholly below 50%.
    result = assessed(
        [("2020-21", 300, 1000), ("2021-22", 460, 1000)], recovery(), as_of=date(2022, 8, 1)
    )
    latest = result.iloc[-1]
    assert latest["change_direction"] == "better"
    assert latest["verdict"] == "off_track"


def test_meeting_the_standard_outranks_improvement():
    # 46% then 56% (interval 52.91% to 59.05%): better than the baseline and above the standard.
    result = assessed(
        [("2020-21", 460, 1000), ("2021-22", 560, 1000)], recovery(), as_of=date(2022, 8, 1)
    )
    assert result["verdict"].tolist() == ["off_track", "on_track"]
    assert result.iloc[-1]["verdict_reason"].startswith("Meets the standard of 50%")


@pytest.mark.parametrize("numerator", range(400, 601, 10))
def test_no_value_under_a_standard_in_force_reads_no_target_concern(numerator):
    result = assessed(
        [("2020-21", 500, 1000), ("2021-22", 500, 1000), ("2022-23", numerator, 1000)],
        recovery(),
        as_of=date(2023, 8, 1),
    )
    assert NO_TARGET_CONCERN not in result["verdict_reason"].tolist()
    assert (result["standard_status"] != "").all()


def test_a_standard_in_force_only_from_a_later_date_does_not_apply_before_it():
    # The standard applies from April 2021: 2020-21 is not held to it, 2021-22 is.
    kpis = recovery(target_applies_from=date(2021, 4, 1))
    result = assessed(
        [("2020-21", 460, 1000), ("2021-22", 460, 1000)], kpis, as_of=date(2022, 8, 1)
    )
    before, after = result.iloc[0], result.iloc[1]
    assert (before["standard_status"], before["standard_text"]) == ("", "")
    assert not before["verdict_reason"].startswith("Below the standard")
    assert (after["standard_status"], after["verdict"]) == ("not_met", "off_track")


def test_a_lone_value_before_its_standard_applies_has_nothing_to_compare_with():
    # 12/25 = 48% (too small a denominator for SPC). Wilson: 1 + z²/25 = 1.153658; centre
    # (0.48 + 0.076829) / 1.153658 = 0.482664; half-width 1.959964·sqrt(0.48·0.52/25 +
    # 3.841459/2500) / 1.153658 = 0.182351; interval 30.03% to 66.50%, holding 50%.
    later = assessed([("2020-21", 12, 25)], recovery(target_applies_from=date(2021, 4, 1)))
    assert later.iloc[0]["verdict"] == "cannot_assess"
    assert later.iloc[0]["verdict_reason"].startswith("nothing to compare with")
    in_force = assessed([("2020-21", 12, 25)], recovery()).iloc[0]
    assert in_force["lower95"] == pytest.approx(30.03, abs=0.01)
    assert in_force["upper95"] == pytest.approx(66.50, abs=0.01)
    assert (in_force["standard_status"], in_force["verdict"]) == (
        "not_significantly_different",
        "needs_attention",
    )


def test_where_lower_is_better_the_wrong_side_is_above():
    # At most 10% (hypothetical). 150/1000 = 15%: centre (0.15 + 0.0019207) / 1.0038415 =
    # 0.151339; half-width 1.959964·sqrt(0.15·0.85/1000 + 0.00000096) / 1.0038415 = 0.022129.
    # Interval 12.92% to 17.35%: all of it above 10%.
    kpis = recovery(direction="lower_is_better", target_value=10.0)
    row = assessed([("2020-21", 150, 1000)], kpis).iloc[0]
    assert row["lower95"] == pytest.approx(12.92, abs=0.01)
    assert row["standard_status"] == "not_met"
    assert row["verdict_reason"] == "Above the standard of 10%, by more than the margin of error."
    # 80/1000 = 8%: centre 0.081607, half-width 0.016859; interval 6.47% to 9.85%, all below.
    row = assessed([("2020-21", 80, 1000)], kpis).iloc[0]
    assert row["upper95"] == pytest.approx(9.85, abs=0.01)
    assert (row["standard_status"], row["verdict"]) == ("met", "on_track")


def count_frame(values):
    """A count published as a bare figure: no numerator, denominator or interval."""
    frame = obs([(label, 1, 1) for label, _ in values])
    frame["numerator"] = np.nan
    frame["denominator"] = np.nan
    frame["value"] = [float(value) for _, value in values]
    return frame


def test_without_an_interval_the_value_itself_is_compared_and_the_reason_says_so():
    # At most 10 a year (hypothetical), lower is better: 12 is above it, 10 is at it (meets).
    kpis = kpi_frame(
        statistic="count",
        multiplier=1.0,
        direction="lower_is_better",
        target_kind="threshold",
        target_value=10.0,
        target_applies_from=date(2015, 4, 1),
    )
    result = assess(
        count_frame([("2020-21", 12), ("2021-22", 10)]),
        kpis,
        PLACES,
        shipped_rules(),
        as_of=date(2022, 8, 1),
    )
    assert result["lower95"].isna().all()
    above, at = result.iloc[0], result.iloc[1]
    assert (above["standard_status"], above["verdict"]) == ("not_met_no_interval", "off_track")
    assert above["verdict_reason"] == (
        "Above the standard of 10. This figure has no margin of error, so it is compared as it "
        "stands."
    )
    assert (at["standard_status"], at["verdict"]) == ("met_no_interval", "on_track")
    assert at["verdict_reason"].startswith("Meets the standard of 10.")


def test_without_a_standard_nothing_is_said_of_one():
    frame = add_intervals(obs([("2020-21", 460, 1000)]), kpi_frame())
    row = add_standards(frame, kpi_frame()).iloc[0]
    assert (row["standard_status"], row["standard_text"], row["standard_shortfall"]) == ("", "", "")


def test_a_rate_standard_reads_per_its_multiplier():
    kpis = kpi_frame(
        statistic="crude_rate",
        multiplier=100000.0,
        target_kind="threshold",
        target_value=12.5,
        target_applies_from=None,
    )
    frame = add_intervals(obs([("2020-21", 460, 1000)]).assign(value=46000.0), kpis)
    assert add_standards(frame, kpis).iloc[0]["standard_text"] == "12.5 per 100,000"


def test_every_shipped_reason_fits_the_stored_field():
    from kpis.models import Assessment

    longest = max(len(rule.reason) for rule in shipped_rules())
    # Quoted fields add at most "Below" for the shortfall and a short figure for the standard.
    assert (
        longest + len("12.5 per 100,000") <= Assessment._meta.get_field("verdict_reason").max_length
    )


def test_a_missing_value_is_not_compared():
    frame = obs([("2020-21", 460, 1000)]).assign(value=np.nan)
    row = assess(frame, recovery(), PLACES, shipped_rules(), as_of=date(2021, 8, 1)).iloc[0]
    assert row["standard_status"] == ""
    assert row["verdict"] == "cannot_assess"


def test_standard_status_is_vectorised_over_many_series():
    frames = [
        obs([("2020-21", numerator, 1000)], series=i, place=place)
        for i, (place, numerator) in enumerate(
            (("southend", 460), ("thurrock", 500), ("england", 540)), start=1
        )
    ]
    result = assess(
        pd.concat(frames, ignore_index=True),
        recovery(),
        PLACES,
        shipped_rules(),
        as_of=date(2021, 8, 1),
    )
    assert result.sort_values("series")["standard_status"].tolist() == [
        "not_met",
        "not_significantly_different",
        "met",
    ]


def test_a_lone_value_after_a_series_break_is_still_held_to_the_standard():
    # A break in April 2021 leaves 2021-22 alone in its segment: nothing to compare it with
    # over time, but the standard needs no earlier point. 46% is wholly below 50%.
    kpis = recovery(breaks=[date(2021, 4, 1)])
    result = assessed(
        [("2020-21", 500, 1000), ("2021-22", 460, 1000)], kpis, as_of=date(2022, 8, 1)
    )
    latest = result.iloc[-1]
    assert latest["segment"] == 1
    assert (latest["verdict"], latest["standard_status"]) == ("off_track", "not_met")
    # Without a standard the same value cannot be assessed, as before.
    plain = assessed(
        [("2020-21", 500, 1000), ("2021-22", 460, 1000)],
        kpi_frame(breaks=[date(2021, 4, 1)]),
        as_of=date(2022, 8, 1),
    )
    assert plain.iloc[-1]["verdict_reason"] == "series break: too few points since the break"
