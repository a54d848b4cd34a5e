"""Headers that name person-level data are refused, however the spreadsheet spells them; the
words returns legitimately carry are not."""

import io

import pytest

from kpis.returns.read import read_return
from kpis.returns.spec import COLUMNS, ReturnRejected
from tests.kpis.returns import csv_bytes, data_row, make_ctx

PERSON_LEVEL = [
    "Client name",
    "NI number",
    "National Insurance No",
    "D.O.B (dd/mm/yyyy)",
    "Client DOB",
    "CHI number",
    "Patient NHS No.",
    "Hospital number",
    "Service user ID",
    "Person ID",
    "Local patient ID",
    "Client ID",
    "Pupil name",
    "Resident name",
    "Full name",
    "First line of address",
    "Home address",
    "Post code",
    "Email address",
    "e-mail",
    "Telephone",
    "Tel no",
    "Mobile",
    "Phone number",
]
AGGREGATE = ["Service name", "Team name", "Notes", "Place name", "Number of people", "Trust"]


def header_codes(extra_header: str) -> list[str]:
    content = csv_bytes([[*data_row().values(), "x"]], header=[*COLUMNS, extra_header])
    try:
        raw = read_return("r.csv", content, make_ctx())
    except ReturnRejected as rejected:
        return [issue.code for issue in rejected.issues]
    return [issue.code for issue in raw.file_warnings + raw.file_errors]


@pytest.mark.parametrize("header", PERSON_LEVEL)
def test_person_level_headers_are_refused(header):
    assert "person_level_column" in header_codes(header)


@pytest.mark.parametrize("header", AGGREGATE)
def test_headers_of_aggregate_returns_are_not_taken_for_person_level(header):
    assert "person_level_column" not in header_codes(header)


# 9434765919 is a valid NHS number: 9x10+4x9+3x8+4x7+7x6+6x5+5x4+9x3+1x2 = 299, 299 mod 11 = 2,
# 11 - 2 = 9, its check digit. 9434765910 fails the check.
@pytest.mark.parametrize(
    "comment",
    [
        "Seen as 943 476 5919 at clinic",
        "patient 9434765919",
        "moved to SS1 2AB last month",
        "ask j.smith@example.nhs.uk",
        "call 01702 123456",
        "mobile +44 7700 900123",
    ],
)
def test_identifiers_inside_a_comment_are_refused_and_not_echoed(comment):
    content = csv_bytes([data_row(comment=comment)])
    with pytest.raises(ReturnRejected) as refused:
        read_return("r.csv", content, make_ctx())
    (issue,) = [i for i in refused.value.issues if i.code == "person_level_value"]
    assert (issue.row, issue.column) == (2, "comment")
    assert issue.value == comment[:3] + "\u2026" and comment not in issue.message


@pytest.mark.parametrize(
    "comment",
    [
        "Q2 2023 rose after the new service opened",
        "ref 9434765910",  # ten digits failing modulus 11
        "code 19434765919 is a longer run of digits",
        "45 of 60 seen within two weeks",
        "see the 2023-24 report",
    ],
)
def test_comments_without_identifiers_pass_the_screen(comment):
    raw = read_return("r.csv", csv_bytes([data_row(comment=comment)]), make_ctx())
    assert raw.frame.loc[0, "comment"] == comment


def test_identifiers_on_another_sheet_even_a_hidden_one_are_refused():
    from openpyxl import Workbook

    workbook = Workbook()
    data = workbook.active
    data.title = "Data"
    data.append(list(COLUMNS))
    data.append([data_row()[column] for column in COLUMNS])
    notes = workbook.create_sheet("Working")
    notes.sheet_state = "hidden"
    notes.append(["Client", "Reference"])
    notes.append(["A. Person", "943 476 5919"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    with pytest.raises(ReturnRejected) as refused:
        read_return("r.xlsx", buffer.getvalue(), make_ctx())
    (issue,) = refused.value.issues
    assert (issue.code, issue.row, issue.column) == ("person_level_value", 2, "Working!B")
    assert issue.value == "943\u2026" and "943 476 5919" not in issue.message


def test_the_services_own_template_passes_the_screen_on_every_sheet():
    from kpis.returns.template import build_xlsx

    kpi = {"code": "EIP-2WK", "title": "Early intervention in psychosis", "statistic": "proportion"}
    rows = [{"kpi_code": "EIP-2WK", "place_code": "southend", "period": "2023-24 Q2"}]
    content = build_xlsx(rows=rows, kpis=[kpi], version="2025.1")
    raw = read_return("template.xlsx", content, make_ctx())
    assert raw.data_rows == 1
