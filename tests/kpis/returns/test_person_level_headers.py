"""Headers that name person-level data are refused, however the spreadsheet spells them; the
words returns legitimately carry are not."""

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
