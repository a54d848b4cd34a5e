from datetime import date

import pytest

from kpis.periods import PeriodParseError, months_in, pandemic_affected, parse_period


@pytest.mark.parametrize(
    ("text", "label", "start", "end"),
    [
        ("2023-24 Q2", "2023-24 Q2", date(2023, 7, 1), date(2023, 9, 30)),
        ("2023/24 Q2", "2023-24 Q2", date(2023, 7, 1), date(2023, 9, 30)),
        ("Q2 2023-24", "2023-24 Q2", date(2023, 7, 1), date(2023, 9, 30)),
        ("q2 2023/24", "2023-24 Q2", date(2023, 7, 1), date(2023, 9, 30)),
        ("Jul-Sep 2023", "2023-24 Q2", date(2023, 7, 1), date(2023, 9, 30)),
        ("Jan-Mar 2024", "2023-24 Q4", date(2024, 1, 1), date(2024, 3, 31)),
        ("Apr-Jun 2020", "2020-21 Q1", date(2020, 4, 1), date(2020, 6, 30)),
        ("2023-24 Q4", "2023-24 Q4", date(2024, 1, 1), date(2024, 3, 31)),
        ("2020-21", "2020-21", date(2020, 4, 1), date(2021, 3, 31)),
        ("2020/21", "2020-21", date(2020, 4, 1), date(2021, 3, 31)),
        ("2099-00", "2099-00", date(2099, 4, 1), date(2100, 3, 31)),
        ("Jul 2023", "Jul 2023", date(2023, 7, 1), date(2023, 7, 31)),
        ("February 2024", "Feb 2024", date(2024, 2, 1), date(2024, 2, 29)),
        ("2021", "2021", date(2021, 1, 1), date(2021, 12, 31)),
        ("2018 to 2020", "2018 to 2020", date(2018, 1, 1), date(2020, 12, 31)),
        ("2018-20", "2018 to 2020", date(2018, 1, 1), date(2020, 12, 31)),
        ("12 months to Mar 2021", "12 months to Mar 2021", date(2020, 4, 1), date(2021, 3, 31)),
        ("3 months to Jan 2024", "3 months to Jan 2024", date(2023, 11, 1), date(2024, 1, 31)),
    ],
)
def test_usual_spellings_parse_to_one_canonical_label(text, label, start, end):
    spec = parse_period(text)
    assert (spec.label, spec.start, spec.end) == (label, start, end)


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("Q2 2023", "ambiguous"),
        ("2023 Q2", "ambiguous"),
        ("FY24", "ambiguous"),
        ("FY 2024", "ambiguous"),
        ("2023-24 Q5", "not a period"),
        ("Jul-Oct 2023", "not a financial quarter"),
        ("Feb-Apr 2023", "not a financial quarter"),
        ("2023-25 Q1", "consecutive"),
        ("Jly 2023", "not a month"),
        ("2023-13", "not a period"),
        ("2023-02", "months are written 'Feb 2023'"),
        ("", "empty"),
        ("next quarter", "not a period"),
    ],
)
def test_bad_and_ambiguous_spellings_are_refused_with_the_reason(text, why):
    with pytest.raises(PeriodParseError, match=why):
        parse_period(text)


def test_quarter_covers_three_months():
    assert [m.label for m in months_in(parse_period("2023-24 Q4"))] == [
        "Jan 2024",
        "Feb 2024",
        "Mar 2024",
    ]


def test_2020_21_is_flagged_as_pandemic_affected():
    assert pandemic_affected(parse_period("2020-21 Q3"))
    assert pandemic_affected(parse_period("12 months to Mar 2021"))
    assert not pandemic_affected(parse_period("2021-22"))
    assert not pandemic_affected(parse_period("2019-20"))
