"""The public sentence about a figure, generated from its stored assessment."""

import pytest

from kpis.wording import Facts, change_sentence

RECOVERY = Facts(title="Recovery", unit="%", direction="higher_is_better")
WAITS = Facts(title="Long waits", unit="%", direction="lower_is_better")


def _sentence(facts=RECOVERY, **fields):
    given = {
        "place": "Southend",
        "period": "2024-25",
        "value": 52.0,
        "suppressed": False,
        "baseline_label": "2020-21",
        "baseline_value": 45.0,
        "change_category": "significant_increase",
        "change_reason": "",
    } | fields
    return change_sentence(facts, **given)


def test_a_real_improvement_names_the_baseline_and_says_it_is_unlikely_to_be_chance():
    assert _sentence() == (
        "In 2024-25, the figure for Southend was 52.0%, up from 45.0% in 2020-21. "
        "This is a real improvement: a change this large is unlikely to be chance."
    )


def test_a_fall_is_an_improvement_where_lower_is_better():
    sentence = _sentence(
        WAITS, value=30.0, baseline_value=40.0, change_category="significant_decrease"
    )
    assert "down from 40.0% in 2020-21" in sentence and "a real improvement" in sentence


@pytest.mark.parametrize(
    ("direction", "category", "words"),
    [
        ("higher_is_better", "significant_decrease", "a real worsening"),
        ("neutral", "significant_increase", "a real increase"),
    ],
)
def test_the_judgement_follows_the_direction(direction, category, words):
    facts = Facts(title="X", unit="%", direction=direction)
    assert words in _sentence(facts, change_category=category)


def test_a_change_within_the_margin_of_error_could_be_chance():
    assert _sentence(change_category="no_significant_change").endswith(
        "This change could be chance: it is within the margin of error."
    )


def test_an_untested_change_says_why_in_words():
    sentence = _sentence(change_category="not_tested", change_reason="series_break")
    assert sentence.endswith(
        "Whether this change is real has not been tested: the definition changed since the "
        "baseline."
    )


def test_a_suppressed_figure_gives_no_number_and_says_why():
    sentence = _sentence(value=None, suppressed=True)
    assert "not shown, to protect the privacy" in sentence and "%" not in sentence


def test_without_a_baseline_figure_the_sentence_says_so():
    assert _sentence(baseline_value=None).endswith(
        "There is no baseline figure to compare it with yet."
    )


def test_the_baseline_period_itself_is_named_as_the_baseline():
    assert _sentence(period="2020-21").endswith(
        "This is the baseline that later figures are compared with."
    )


def test_a_withheld_baseline_gives_no_figure_and_no_change():
    sentence = change_sentence(
        RECOVERY,
        place="Southend",
        period="Jun 2023",
        value=66.666667,
        suppressed=False,
        baseline_label="Apr 2023",
        baseline_value=5.0,
        change_category="significant_increase",
        change_reason="",
        baseline_withheld=True,
    )
    assert sentence == (
        "In Jun 2023, the figure for Southend was 66.7%. The baseline figure, for Apr 2023, is "
        "not shown, to protect the privacy of the small number of people it counts, so neither "
        "is the change since."
    )
