"""Validation errors: each class names the row, the column, the value found and what was expected.

Rows: the header is row 1, so the first data row is row 2 (CSV written without a version line).
"""

from datetime import date

import pytest

from tests.kpis.returns import check, coded, csv_bytes, data_row, make_ctx, only, xlsx_bytes


def errors(*rows, ctx=None):
    return check(csv_bytes(rows), ctx).errors


def test_a_clean_return_has_no_issues_and_typed_rows():
    result = check(
        csv_bytes(
            [
                data_row(),
                data_row(breakdown="Sex : Female", numerator="20", denominator="25", value=""),
                data_row(kpi_code="CYP-ACCESS", numerator="", denominator="", value="1,234"),
                data_row(
                    kpi_code="SMHS-EMPLOYMENT-GAP", numerator="", denominator="", value="-12.5"
                ),
            ]
        )
    )
    assert result.errors == [] and result.warnings == [] and result.ok
    rows = result.rows
    assert rows["row"].tolist() == [2, 3, 4, 5]
    assert rows["kpi_code"].tolist() == ["EIP-2WK", "EIP-2WK", "CYP-ACCESS", "SMHS-EMPLOYMENT-GAP"]
    # 20 / 25 x 100 = 80.0, calculated; 1,234 is a count with a thousands separator.
    assert rows["value"].tolist() == [75.0, 80.0, 1234.0, -12.5]
    assert rows["value_calculated"].tolist() == [False, True, False, False]
    assert rows["breakdown_dimension"].tolist() == ["all", "sex", "all", "all"]
    assert rows["breakdown_category"].tolist() == ["all", "female", "all", "all"]
    first = rows.iloc[0]
    assert (first["period_label"], first["period_type"]) == ("2023-24 Q2", "quarter")
    assert (first["period_start"], first["period_end"]) == (date(2023, 7, 1), date(2023, 9, 30))
    assert first["numerator"] == 45.0 and first["denominator"] == 60.0
    assert not rows["suppressed"].any()


# -- keys ----------------------------------------------------------------------------------------


def test_missing_required_keys():
    found = errors(
        data_row(kpi_code=""),
        data_row(place_code="", period="Jul 2023", kpi_code="CRISIS-24H"),
        data_row(period=""),
    )
    assert coded(found, "missing_required") == [(2, "kpi_code"), (3, "place_code"), (4, "period")]
    assert "No KPI code; expected a KPI code" in found[0].message
    assert "No place code; expected one of: southend, thurrock" in found[1].message
    assert "No period; expected an open period: 2023-24 Q2, Jul 2023" in found[2].message


def test_unknown_kpi_with_a_suggestion():
    issue = only(
        errors(data_row(), data_row(kpi_code="EIP-2WKS", period="2023-24 Q1")), "unknown_kpi"
    )
    assert (issue.row, issue.column, issue.value) == (3, "kpi_code", "EIP-2WKS")
    assert "is not in the KPI catalogue (did you mean 'EIP-2WK'?)" in issue.message


def test_kpi_codes_match_case_insensitively():
    assert errors(data_row(kpi_code="eip-2wk", place_code="SOUTHEND")) == []


def test_kpi_not_locally_supplied_only_when_the_context_asks():
    row = data_row(kpi_code="NATIONAL")
    assert errors(row) == []
    issue = only(errors(row, ctx=make_ctx(locally_supplied_only=True)), "kpi_not_locally_supplied")
    assert (issue.row, issue.column, issue.value) == (2, "kpi_code", "NATIONAL")
    assert "published nationally" in issue.message


def test_unknown_place():
    issue = only(errors(data_row(place_code="wales")), "unknown_place")
    assert (issue.row, issue.column, issue.value) == (2, "place_code", "wales")
    assert "is not a SET place; expected one of: southend, thurrock, essex_north" in issue.message


def test_place_not_permitted():
    issue = only(errors(data_row(place_code="essex_north")), "place_not_permitted")
    assert (issue.row, issue.column, issue.value) == (2, "place_code", "essex_north")
    assert "You may not report for place 'essex_north'" in issue.message
    assert "expected a place you report for: southend, thurrock" in issue.message


@pytest.mark.parametrize(
    ("period", "fragment"),
    [
        ("Q2 2023", "'Q2 2023' is ambiguous: a quarter needs its financial year"),
        ("FY24", "'FY24' is ambiguous"),
        ("2023-24 Q5", "'2023-24 Q5' is not a period this service reads"),
    ],
)
def test_period_malformed_or_ambiguous_uses_the_parser_message(period, fragment):
    issue = only(errors(data_row(period=period)), "period_invalid")
    assert (issue.row, issue.column, issue.value) == (2, "period", period)
    assert fragment in issue.message


def test_period_not_open():
    issue = only(errors(data_row(period="2024/25 Q1")), "period_not_open")
    assert (issue.row, issue.column, issue.value) == (2, "period", "2024/25 Q1")
    assert "Period '2024-25 Q1' is not open for returns; expected an open period" in issue.message


def test_period_locked():
    issue = only(errors(data_row(period="Q1 2023-24")), "period_locked")
    assert (issue.row, issue.column) == (2, "period")
    assert "Period '2023-24 Q1' is locked" in issue.message


def test_period_of_another_type_than_the_kpis():
    issue = only(errors(data_row(period="Jul 2023")), "period_type_mismatch")
    assert (issue.row, issue.column) == (2, "period")
    assert "is a month; KPI 'EIP-2WK' is reported by a financial quarter" in issue.message


# -- breakdowns ------------------------------------------------------------------------------


@pytest.mark.parametrize("breakdown", ["sex=female", "sex:", ":female", "a:b:c"])
def test_breakdown_malformed(breakdown):
    issue = only(errors(data_row(breakdown=breakdown, value="")), "breakdown_invalid")
    assert (issue.row, issue.column, issue.value) == (2, "breakdown", breakdown)
    assert "expected 'dimension:category' such as 'sex:female'" in issue.message


def test_breakdown_not_allowed_for_the_kpi():
    issue = only(errors(data_row(breakdown="ethnic_group:white")), "breakdown_not_allowed")
    assert (issue.row, issue.column) == (2, "breakdown")
    assert "not broken down by 'ethnic_group'" in issue.message
    assert "a breakdown by: sex, age_band" in issue.message


def test_breakdown_category_not_allowed_when_categories_are_known():
    ctx = make_ctx(breakdown_categories={"sex": frozenset({"female", "male"})})
    found = errors(data_row(breakdown="sex:female"), data_row(breakdown="sex:other"), ctx=ctx)
    issue = only(found, "breakdown_not_allowed")
    assert (issue.row, issue.column, issue.value) == (3, "breakdown", "sex:other")
    assert "'sex' has no category 'other'; expected one of: female, male" in issue.message


# -- figures -----------------------------------------------------------------------------------


def test_non_numeric_figures_each_reported():
    found = errors(data_row(numerator="forty", denominator="6O", value="n/a"))
    assert coded(found, "not_a_number") == [(2, "numerator"), (2, "denominator"), (2, "value")]
    assert found[0].value == "forty"
    assert "Numerator 'forty' is not a number; expected a number, or * or c" in found[0].message


def test_markers_are_not_errors_and_set_suppressed_or_missing():
    result = check(
        csv_bytes(
            [
                data_row(numerator="*", denominator="60", value="*"),
                data_row(breakdown="sex:female", numerator="c", denominator="c", value="c"),
                data_row(breakdown="sex:male", numerator="..", denominator="..", value=".."),
                data_row(
                    breakdown="age_band:65+", numerator="", denominator="", value="", marker="*"
                ),
            ]
        )
    )
    assert result.errors == []
    assert result.rows["suppressed"].tolist() == [True, True, False, True]
    assert result.rows["missing"].tolist() == [False, False, True, False]


@pytest.mark.parametrize(
    ("cells", "expected"),
    [
        ({"value": "120", "numerator": "", "denominator": ""}, "from 0 to 100"),
        (
            {"kpi_code": "CQC-SCORE", "value": "11", "numerator": "", "denominator": ""},
            "from 0 to 10",
        ),
        (
            {"kpi_code": "SELF-HARM", "value": "-1", "numerator": "", "denominator": ""},
            "at least 0",
        ),
        (
            {"kpi_code": "WELLBEING", "value": "-0.5", "numerator": "", "denominator": ""},
            "from 0 to 100",
        ),
        (
            {
                "kpi_code": "SMHS-EMPLOYMENT-GAP",
                "value": "-101",
                "numerator": "",
                "denominator": "",
            },
            "from -100 to 100",
        ),
    ],
)
def test_value_outside_the_valid_range(cells, expected):
    issue = only(errors(data_row(**cells)), "out_of_range")
    assert (issue.row, issue.column, issue.value) == (2, "value", cells["value"])
    assert f"expected {expected}" in issue.message


def test_negative_values_are_valid_for_gaps_and_where_no_minimum():
    ctx = make_ctx()
    kpis = dict(ctx.kpis)
    from kpis.returns.spec import KpiSpec

    kpis["CHANGE"] = KpiSpec("CHANGE", "mean", 1, None, None)
    found = errors(
        data_row(kpi_code="SMHS-EMPLOYMENT-GAP", value="-35", numerator="", denominator=""),
        data_row(kpi_code="CHANGE", value="-3.5", numerator="", denominator=""),
        ctx=make_ctx(kpis=kpis),
    )
    assert found == []


def test_numerator_above_denominator():
    issue = only(
        errors(data_row(numerator="70", denominator="60", value="")), "numerator_above_denominator"
    )
    assert (issue.row, issue.column, issue.value) == (2, "numerator", "70")
    assert "The numerator 70 is larger than the denominator 60" in issue.message


def test_denominator_above_the_population_of_the_kpis_age_band():
    # CYP-ADMISSIONS is for ages 0-17: Southend has 40,000; 50 / 50,000 x 100,000 = 100.
    row = data_row(kpi_code="CYP-ADMISSIONS", numerator="50", denominator="50000", value="100")
    issue = only(errors(row), "denominator_above_population")
    assert (issue.row, issue.column, issue.value) == (2, "denominator", "50000")
    assert "larger than the population of 'southend' aged 0-17 (40,000)" in issue.message
    ok = data_row(kpi_code="CYP-ADMISSIONS", numerator="40", denominator="40000", value="100")
    assert errors(ok) == []


def test_denominator_above_the_population_of_the_breakdowns_age_band():
    # EIP-2WK has no age band: the 65+ breakdown uses Southend's 33,000 aged 65+.
    row = data_row(breakdown="age_band:65+", numerator="100", denominator="40000", value="0.25")
    issue = only(errors(row), "denominator_above_population")
    assert "aged 65+ (33,000)" in issue.message
    # Thurrock's population is unknown: nothing to check.
    assert (
        errors(data_row(place_code="thurrock", numerator="1", denominator="900000", value="")) == []
    )


def test_value_not_matching_numerator_over_denominator():
    # 45 / 60 x 100 = 75.0; tolerance 0.5: 75.4 is accepted, 75.6 and 70 are not.
    found = errors(
        data_row(value="75.4"),
        data_row(value="75.6", breakdown="sex:female"),
        data_row(value="70", breakdown="sex:male"),
    )
    assert coded(found, "value_mismatch") == [(3, "value"), (4, "value")]
    assert "= 45 / 60 x 100 = 75; expected a value within 0.5 of 75" in found[1].message
    assert "The value 70 does not match" in found[1].message


def test_count_value_must_equal_its_numerator():
    issue = only(
        errors(data_row(kpi_code="CYP-ACCESS", numerator="12", denominator="", value="13")),
        "value_mismatch",
    )
    assert "does not match the numerator 12" in issue.message


def test_tolerance_comes_from_the_context():
    assert coded(errors(data_row(value="76"), ctx=make_ctx(tolerance=1.5)), "value_mismatch") == []


def test_missing_value_for_each_statistic():
    found = errors(
        data_row(numerator="45", denominator="", value=""),
        data_row(kpi_code="CYP-ACCESS", numerator="", denominator="", value=""),
        data_row(kpi_code="CQC-SCORE", numerator="", denominator="", value=""),
        data_row(
            kpi_code="CQC-SCORE",
            numerator="",
            denominator="",
            value="",
            marker="c",
            period="2023-24 Q2",
            breakdown="all",
            place_code="thurrock",
        ),
    )
    assert coded(found, "missing_required") == [(2, "value"), (3, "value"), (4, "value")]
    assert "expected the value, or both numerator and denominator" in found[0].message
    assert "expected the count in numerator or value" in found[1].message


def test_zero_denominator():
    issue = only(errors(data_row(numerator="0", denominator="0", value="")), "zero_denominator")
    assert (issue.row, issue.column, issue.value) == (2, "denominator", "0")


def test_negative_and_fractional_counts():
    found = errors(data_row(numerator="-3", denominator="60.5", value=""))
    assert coded(found, "negative_count") == [(2, "numerator")]
    assert coded(found, "not_whole_number") == [(2, "denominator")]


def test_duplicates_name_the_first_occurrence():
    found = errors(
        data_row(),
        data_row(breakdown="sex:female", value="75"),
        data_row(kpi_code="eip-2wk", period="2023/24 Q2", breakdown="all"),
        data_row(period="Q2 2023-24"),
    )
    assert coded(found, "duplicate_row") == [
        (4, "kpi_code, place_code, period, breakdown"),
        (5, "kpi_code, place_code, period, breakdown"),
    ]
    assert all("This row repeats row 2" in i.message for i in found)
    assert found[0].value == "eip-2wk / southend / 2023/24 Q2 / all"


def test_template_version_out_of_date_or_missing():
    ctx = make_ctx(required_template_version="2024.1")
    old = check(csv_bytes([data_row()], version="2023.2"), ctx)
    issue = only(old.errors, "template_out_of_date")
    assert (issue.row, issue.column, issue.value) == (None, "template_version", "2023.2")
    assert "template version 2023.2; expected the current version 2024.1" in issue.message
    none = only(check(csv_bytes([data_row()]), ctx).errors, "template_out_of_date")
    assert "first line '#template_version=...' is missing" in none.message
    assert check(csv_bytes([data_row()], version="2024.1"), ctx).errors == []
    # No version demanded: none needed.
    assert check(csv_bytes([data_row()])).errors == []


def test_xlsx_without_version_when_one_is_required():
    ctx = make_ctx(required_template_version="2024.1")
    content = xlsx_bytes([data_row(numerator=45, denominator=60, value=75)])
    issue = only(check(content, ctx, "r.xlsx").errors, "template_out_of_date")
    assert "'About' sheet" in issue.message


def test_every_error_in_one_file_is_reported():
    found = errors(
        data_row(kpi_code="NOPE"),
        data_row(place_code="wales", period="2023-24 Q1"),
        data_row(numerator="abc", breakdown="x"),
    )
    assert [(i.row, i.column, i.code) for i in found] == [
        (2, "kpi_code", "unknown_kpi"),
        (3, "place_code", "unknown_place"),
        (3, "period", "period_locked"),
        (4, "breakdown", "breakdown_invalid"),
        (4, "numerator", "not_a_number"),
    ]


# -- percentages ---------------------------------------------------------------------------------


def test_percent_formatted_cells_convert_to_the_kpis_units():
    rows = [
        data_row(numerator=27, denominator=60, value=0.45),  # 45%: 27 / 60 x 100 = 45
        data_row(kpi_code="SMHS-EMPLOYMENT-GAP", numerator=None, denominator=None, value=0.05),
        data_row(kpi_code="WELLBEING", numerator=None, denominator=None, value=0.123),
    ]
    formats = {(2, "value"): "0%", (3, "value"): "0.0%", (4, "value"): "0.0%"}
    result = check(xlsx_bytes(rows, formats=formats), filename="r.xlsx")
    assert result.errors == []
    assert result.rows["value"].round(6).tolist() == [45.0, 5.0, 12.3]


def test_percent_written_in_a_csv():
    result = check(csv_bytes([data_row(value="75%")]))
    assert result.errors == [] and result.rows["value"].tolist() == [75.0]


def test_percent_where_the_kpi_is_not_a_percentage():
    rows = [data_row(kpi_code="CYP-ACCESS", numerator=None, denominator=None, value=0.45)]
    content = xlsx_bytes(rows, formats={(2, "value"): "0%"})
    issue = only(check(content, filename="r.xlsx").errors, "unexpected_percent")
    assert (issue.row, issue.column) == (2, "value")
    assert "The value is a percentage (45%) but KPI 'CYP-ACCESS' is a count" in issue.message


def test_percent_formatted_numerator():
    content = xlsx_bytes([data_row(numerator=0.45, value=75)], formats={(2, "numerator"): "0%"})
    issue = only(check(content, filename="r.xlsx").errors, "unexpected_percent")
    assert (issue.row, issue.column) == (2, "numerator")


def test_figures_too_large_to_store_are_named_before_they_reach_the_database():
    from kpis.returns.spec import KpiSpec

    ctx = make_ctx()
    kpis = dict(ctx.kpis)
    kpis["CHANGE"] = KpiSpec("CHANGE", "mean", 1, None, None)  # no valid range of its own
    found = errors(
        data_row(kpi_code="CHANGE", value="123456789012345", numerator="", denominator=""),
        data_row(numerator="0", denominator="1000000000000000", value="0"),
        data_row(
            kpi_code="CHANGE",
            period="2023-24 Q1",
            value="99999999999999.5",
            numerator="",
            denominator="",
        ),
        data_row(period="2023-24 Q1", value="100000000000000", numerator="", denominator=""),
        ctx=make_ctx(kpis=kpis),
    )
    found = [i for i in found if i.code == "out_of_range"]  # (and the population is exceeded)
    assert [(i.row, i.column, i.code) for i in found] == [
        (2, "value", "out_of_range"),
        (3, "denominator", "out_of_range"),
        (5, "value", "out_of_range"),  # once: outside EIP-2WK's 0 to 100 first
    ]
    assert found[0].message == (
        "The value 123,456,789,012,345 is too large to be stored; expected a figure below "
        "100,000,000,000,000."
    )
    assert "expected from 0 to 100" in found[2].message


def test_a_ratio_too_large_to_calculate_is_named_without_a_numpy_warning():
    import warnings

    # Found by the upload fuzz: 1e308 / 1 x 100 overflowed with a RuntimeWarning in the log.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        found = errors(data_row(numerator="1e308", denominator="1", value=""))
    assert (2, "numerator", "out_of_range") in {(i.row, i.column, i.code) for i in found}
