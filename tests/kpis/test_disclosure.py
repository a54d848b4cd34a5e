import numpy as np
import pandas as pd

from kpis.disclosure import Rule, disclose, round_to_base

NHSE = Rule(min_count=5, rounding_base=5, zero_shown=False)
HOME_OFFICE = Rule(zero_shown=True)
LOCAL = Rule(min_count=5, zero_shown=True)
FINGERTIPS = Rule(min_events_for_rate=10, zero_shown=True)


def rows(*records, suppressed=None):
    frame = pd.DataFrame.from_records(records, columns=["numerator", "denominator", "value"])
    frame["source_suppressed"] = suppressed or [False] * len(frame)
    return frame


def test_rounding_is_half_up_to_the_base():
    assert round_to_base(pd.Series([0, 2, 3, 7, 8, 12, 13, 1234]), 5).tolist() == [
        0,
        0,
        5,
        5,
        10,
        10,
        15,
        1235,
    ]


def test_nhse_suppresses_small_counts_and_rounds_the_rest_after_summing():
    # Southend 3 of 40 (suppressed); SET 3 + 130 = 133 of 400 + 2000, rounded from the sum.
    result = disclose(rows((3, 40, 7.5), (133, 2400, 5.5417)), statistic="proportion", rule=NHSE)
    assert result["suppressed"].tolist() == [True, False]
    assert result["suppression_reason"][0] == "fewer than 5"
    assert np.isnan(result["public_value"][0])
    assert result["public_numerator"][1] == 135  # 133 rounds to 135
    assert result["public_denominator"][1] == 2400
    # The percentage is computed from unrounded figures and left as it is.
    assert result["public_value"][1] == 5.5417


def test_small_denominators_suppress_a_proportion():
    result = disclose(rows((0, 4, 0.0)), statistic="proportion", rule=LOCAL)
    assert result["suppressed"].tolist() == [True]
    assert result["suppression_reason"][0] == "denominator fewer than 5"


def test_a_true_zero_is_shown_where_the_source_shows_zeros():
    # "No one in crisis held in a police cell": zero is the target, and it must be visible.
    result = disclose(rows((0, None, 0)), statistic="count", rule=HOME_OFFICE)
    assert result["suppressed"].tolist() == [False]
    assert result["public_value"].tolist() == [0]
    local = disclose(rows((0, None, 0)), statistic="count", rule=LOCAL)
    assert local["public_value"].tolist() == [0]


def test_a_zero_stays_hidden_where_the_source_hides_zeros():
    result = disclose(rows((0, 50, 0.0)), statistic="proportion", rule=NHSE)
    assert result["suppressed"].tolist() == [True]


def test_counts_are_rounded_on_the_value_too():
    result = disclose(rows((12, None, 12)), statistic="count", rule=NHSE)
    assert result["public_value"].tolist() == [10]


def test_rates_are_not_shown_from_fewer_than_ten_events_but_the_count_is():
    result = disclose(rows((9, 150000, 6.1), (10, 150000, 6.8)), statistic="dsr", rule=FINGERTIPS)
    assert result["suppressed"].tolist() == [True, False]
    assert np.isnan(result["public_value"][0])
    assert result["public_numerator"][0] == 9
    assert result["public_value"][1] == 6.8
    assert "fewer than 10 events" in result["suppression_reason"][0]


def test_survey_estimates_need_enough_respondents():
    rule = Rule(min_respondents=3)
    result = disclose(
        rows((None, 2, 45.0), (None, 3, 50.0)), statistic="survey_estimate", rule=rule
    )
    assert result["suppressed"].tolist() == [True, False]


def test_what_the_source_suppressed_stays_suppressed():
    result = disclose(rows((None, None, None)), statistic="count", rule=HOME_OFFICE)
    assert result["suppressed"].tolist() == [False]
    marked = disclose(
        rows((None, None, None), suppressed=[True]), statistic="count", rule=HOME_OFFICE
    )
    assert marked["suppressed"].tolist() == [True]
    assert marked["suppression_reason"][0] == "suppressed by the source"


def test_each_sources_own_rule_is_applied(catalogue_data):
    from kpis.models import DisclosureRule

    def public(code, statistic, numerator, denominator, value):
        rule = Rule.from_model(DisclosureRule.objects.get(code=code))
        return disclose(rows((numerator, denominator, value)), statistic=statistic, rule=rule)

    # MHSDS: 3 of 40 suppressed; 0 of 40 also hidden (its CYP outputs show a true zero as *).
    assert public("nhse-mh-statistics", "proportion", 3, 40, 7.5)["suppressed"][0]
    assert public("nhse-mh-statistics", "proportion", 0, 40, 0.0)["suppressed"][0]
    # Home Office: a true zero in police cells is published as 0.
    police = public("home-office-police-powers", "count", 0, None, 0)
    assert not police["suppressed"][0] and police["public_value"][0] == 0
    # Fingertips: a rate from 9 deaths is not shown.
    assert public("ohid-fingertips", "dsr", 9, 150000, 6.0)["suppressed"][0]
    # Local returns: 1 to 4 suppressed, a true zero shown.
    assert public("local-return", "count", 4, None, 4)["suppressed"][0]
    assert public("local-return", "count", 0, None, 0)["public_value"][0] == 0
