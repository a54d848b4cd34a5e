"""Templates: the XLSX and CSV a place lead downloads, filled in, read and validate cleanly."""

import io

from openpyxl import load_workbook

from kpis.returns.spec import COLUMNS
from kpis.returns.template import build_csv, build_xlsx
from tests.kpis.returns import check, make_ctx

PREFILL = [
    {"kpi_code": "EIP-2WK", "place_code": "southend", "period": "2023-24 Q2"},
    {"kpi_code": "CYP-ACCESS", "place_code": "southend", "period": "2023-24 Q2"},
    {"kpi_code": "SMHS-EMPLOYMENT-GAP", "place_code": "southend", "period": "2023-24 Q2"},
    {"kpi_code": "CRISIS-24H", "place_code": "southend", "period": "Jul 2023"},
]
DEFINITIONS = [
    {
        "code": "EIP-2WK",
        "title": "People starting treatment for first-episode psychosis within two weeks",
        "unit": "%",
        "statistic": "proportion",
        "multiplier": 100,
        "valid_min": 0,
        "valid_max": 100,
        "numerator": "=Referrals starting treatment within 2 weeks",  # text, not a formula
        "denominator": "Referrals starting treatment",
        "breakdowns": ["sex", "age_band"],
    },
    {
        "code": "CYP-ACCESS",
        "title": "Children and young people accessing services",
        "unit": "count",
        "statistic": "count",
        "valid_range": {"min": 0, "max": None},
        "numerator": "CYP with one or more contacts",
        "age_band": "0-17",
    },
    {
        "code": "SMHS-EMPLOYMENT-GAP",
        "title": "Employment gap",
        "unit": "percentage points",
        "statistic": "pp_gap",
        "valid_min": -100,
        "valid_max": 100,
    },
    {
        "code": "CRISIS-24H",
        "title": "Urgent crisis referrals seen in 24 hours",
        "unit": "%",
        "statistic": "proportion",
        "multiplier": 100,
        "valid_min": 0,
        "valid_max": 100,
    },
]
VERSION = "2024.1"


def workbook(content: bytes, **options):
    return load_workbook(io.BytesIO(content), **options)


def test_xlsx_template_sheets_version_and_definitions():
    book = workbook(build_xlsx(rows=PREFILL, kpis=DEFINITIONS, version=VERSION))
    assert book.sheetnames == ["Data", "Definitions", "Guide", "Lists", "About"]
    assert (book["About"].sheet_state, book["Lists"].sheet_state) == ("hidden", "hidden")
    assert [book["About"]["A1"].value, book["About"]["B1"].value] == ["template_version", VERSION]
    assert [p.value for p in book.custom_doc_props if p.name == "template_version"] == [VERSION]
    assert book.defined_names["template_version"].attr_text == "About!$B$1"
    data = book["Data"]
    assert [c.value for c in data[1]] == list(COLUMNS)
    assert [data.cell(row=r, column=1).value for r in range(2, 6)] == [
        "EIP-2WK",
        "CYP-ACCESS",
        "SMHS-EMPLOYMENT-GAP",
        "CRISIS-24H",
    ]
    assert data["C2"].value == "2023-24 Q2" and data["C2"].number_format == "@"
    definitions = book["Definitions"]
    header = [c.value for c in definitions[1]]
    assert header[:6] == ["KPI code", "Title", "Statistic", "Unit", "Multiplier", "Valid range"]
    eip = [c.value for c in definitions[2]]
    assert eip[0] == "EIP-2WK" and eip[5] == "0 to 100"
    assert eip[6] == "=Referrals starting treatment within 2 weeks"
    assert definitions["G2"].data_type == "s"
    assert [c.value for c in definitions[3]][5] == "0 or more"
    assert [c.value for c in definitions[3]][8] == "none (total only)"


def test_xlsx_template_data_validation():
    data = workbook(build_xlsx(rows=PREFILL, kpis=DEFINITIONS, version=VERSION))["Data"]
    rules = {str(v.sqref): v for v in data.data_validations.dataValidation}
    last = len(PREFILL) + 1 + 1000
    assert rules[f"A2:A{last}"].type == "list"
    assert rules[f"A2:A{last}"].formula1 == "Lists!$A$2:$A$5"
    assert rules[f"B2:B{last}"].formula1 == "Lists!$B$2:$B$2"  # southend only
    assert rules[f"C2:C{last}"].formula1 == "Lists!$C$2:$C$3"  # two periods
    assert rules[f"E2:E{last}"].type == "custom"
    assert "INT(E2)" in rules[f"E2:E{last}"].formula1
    assert rules[f"G2:G{last}"].formula1 == 'OR(ISNUMBER(G2),G2="*",G2="c",G2="..")'


def test_xlsx_template_filled_in_reads_and_validates_cleanly():
    ctx = make_ctx(required_template_version=VERSION)
    book = workbook(build_xlsx(rows=PREFILL, kpis=DEFINITIONS, version=VERSION))
    data = book["Data"]
    data["E2"], data["F2"] = 45, 60  # value calculated: 45 / 60 x 100 = 75.0
    data["E3"], data["G3"] = 1234, 1234
    data["G4"] = -12.5
    data["E5"], data["F5"], data["G5"], data["H5"] = "*", "*", "*", "*"
    data.append(["EIP-2WK", "southend", "2023-24 Q2", "sex:female", 20, 25, 0.8])
    data["G6"].number_format = "0%"  # 80% of a proportion x 100 = 80.0
    buffer = io.BytesIO()
    book.save(buffer)
    result = check(buffer.getvalue(), ctx, "return.xlsx")
    assert result.errors == [] and result.warnings == []
    assert result.rows["value"].fillna(-1).tolist() == [75.0, 1234.0, -12.5, -1, 80.0]
    assert result.rows["suppressed"].tolist() == [False, False, False, True, False]


def test_csv_template_filled_in_reads_and_validates_cleanly():
    content = build_csv(PREFILL, VERSION)
    lines = content.decode().splitlines()
    assert lines[0] == "#template_version=2024.1"
    assert lines[1] == ",".join(COLUMNS)
    assert lines[2] == "EIP-2WK,southend,2023-24 Q2,,,,,,"
    figures = [",,45,60,75,,", ",,,,17,,", ",,,,3.5,,", ",,..,..,..,..,not yet collected"]
    filled = lines[:2] + [
        line.rsplit(",", 6)[0] + figure for line, figure in zip(lines[2:], figures, strict=True)
    ]
    ctx = make_ctx(required_template_version=VERSION)
    result = check("\n".join(filled).encode(), ctx)
    assert result.errors == []
    assert result.rows["row"].tolist() == [3, 4, 5, 6]
    assert result.rows["value"].fillna(-1).tolist() == [75.0, 17.0, 3.5, -1]
    assert result.rows["comment"].tolist()[-1] == "not yet collected"
