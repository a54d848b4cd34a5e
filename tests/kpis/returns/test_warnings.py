"""Warnings: reported for the uploader to confirm; they never stop a return on their own."""

from tests.kpis.returns import check, coded, csv_bytes, data_row, make_ctx, only


def warnings(*rows, ctx=None):
    result = check(csv_bytes(rows), ctx)
    return result.warnings, result.errors


def test_small_counts_will_be_suppressed_on_public_pages():
    found, errors = warnings(
        data_row(numerator="3", denominator="60", value="5"),  # 3 / 60 x 100 = 5.0
        data_row(kpi_code="CYP-ACCESS", numerator="", denominator="", value="4"),
        data_row(
            kpi_code="CYP-ACCESS", numerator="", denominator="", value="5", place_code="thurrock"
        ),
        data_row(numerator="0", denominator="60", value="0", breakdown="sex:female"),
        data_row(numerator="2", denominator="*", value="*", marker="*", breakdown="sex:male"),
    )
    assert errors == []
    assert coded(found, "small_count") == [(2, "numerator"), (3, "value")]
    assert all(i.severity == "warning" for i in found)
    assert "The numerator 3 is between 1 and 4: it will be suppressed" in found[0].message


def test_expected_kpis_missing_from_the_return():
    ctx = make_ctx(
        expected=frozenset(
            {
                ("EIP-2WK", "southend", "2023-24 Q2"),
                ("CYP-ACCESS", "southend", "2023-24 Q2"),
                ("EIP-2WK", "thurrock", "2023-24 Q2"),
            }
        )
    )
    found, errors = warnings(
        data_row(kpi_code="eip-2wk", period="2023/24 Q2"),
        data_row(place_code="thurrock", breakdown="sex:female"),  # not the total
        ctx=ctx,
    )
    assert errors == []
    missing = [i for i in found if i.code == "expected_missing"]
    assert [i.value for i in missing] == [
        "CYP-ACCESS / southend / 2023-24 Q2",
        "EIP-2WK / thurrock / 2023-24 Q2",
    ]
    assert (missing[0].row, missing[0].column) == (None, None)
    assert "No total for KPI 'CYP-ACCESS', place 'southend', period '2023-24 Q2'" in (
        missing[0].message
    )


def test_outside_process_limits_and_far_from_previous():
    ctx = make_ctx(
        previous={
            ("EIP-2WK", "southend", "all"): (48.0, 40.0, 60.0),
            ("EIP-2WK", "southend", "sex:female"): (50.0, None, None),
            ("EIP-2WK", "thurrock", "all"): (None, 70.0, 80.0),
        }
    )
    found, errors = warnings(
        # 75 > 60: outside; |75 - 48| = 27 > 0.5 x 48 = 24: far. No comment.
        data_row(),
        # |75 - 50| = 25 is not more than 0.5 x 50 = 25: no warning.
        data_row(breakdown="sex:female"),
        # 75 is within 70 to 80; no previous value. Nothing.
        data_row(place_code="thurrock"),
        ctx=ctx,
    )
    assert errors == []
    assert [(i.row, i.column, i.code) for i in found] == [
        (2, "value", "outside_limits"),
        (2, "value", "far_from_previous"),
    ]
    assert "outside the process limits 40 to 60" in found[0].message
    assert "A comment is required" in found[0].message
    assert "more than 50% away from the previous period's 48" in found[1].message


def test_with_a_comment_the_warning_asks_for_confirmation():
    ctx = make_ctx(previous={("EIP-2WK", "southend", "all"): (10.0, None, None)})
    found, _ = warnings(data_row(comment="New service opened in August"), ctx=ctx)
    issue = only(found, "far_from_previous")
    assert "Confirm the comment explains it" in issue.message
    assert "A comment is required" not in issue.message


def test_previous_compares_the_value_calculated_from_figures():
    # 30 / 60 x 100 = 50.0; previous 20: |50 - 20| = 30 > 10.
    ctx = make_ctx(previous={("EIP-2WK", "southend", "all"): (20.0, None, None)})
    found, errors = warnings(data_row(numerator="30", value=""), ctx=ctx)
    assert errors == []
    assert coded(found, "far_from_previous") == [(2, "value")]


def test_with_keep_every_issue_is_counted_but_only_the_first_of_each_kind_are_built():
    from kpis.returns.validate import validate_return
    from tests.kpis.returns import read

    content = csv_bytes(
        [
            data_row(numerator="3", denominator="60", value="5"),  # row 2: small count
            data_row(kpi_code="NOPE"),  # row 3: unknown KPI
            data_row(numerator="2", denominator="40", value="5", place_code="thurrock"),  # 4
            data_row(kpi_code="NOPE-TOO", place_code="thurrock"),  # row 5: unknown KPI
        ]
    )
    ctx = make_ctx()
    everything = validate_return(read(content, ctx), ctx)
    first = validate_return(read(content, ctx), ctx, keep=1)
    assert (everything.error_count, everything.warning_count) == (2, 2)
    assert (first.error_count, first.warning_count) == (2, 2)
    assert [(i.row, i.code) for i in first.errors] == [(3, "unknown_kpi")]
    assert [(i.row, i.code) for i in first.warnings] == [(2, "small_count")]
    assert first.errors == everything.errors[:1] and first.warnings == everything.warnings[:1]
    # Errors and warnings are kept separately: none of one kind, the first of the other.
    no_errors = validate_return(read(content, ctx), ctx, keep=0, keep_warnings=1)
    assert (no_errors.error_count, no_errors.warning_count) == (2, 2)
    assert (no_errors.errors, no_errors.warnings) == ([], everything.warnings[:1])
    no_warnings = validate_return(read(content, ctx), ctx, keep=2, keep_warnings=0)
    assert (no_warnings.errors, no_warnings.warnings) == (everything.errors, [])
    assert (no_warnings.error_count, no_warnings.warning_count) == (2, 2)
