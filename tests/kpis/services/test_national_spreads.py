"""Importing a national file keeps the spread of each KPI's values over every area of a type,
though only places' values become observations.

The files are built here in the publishers' layouts. Percentiles are worked by hand from the
definition in kpis/national/spreads.py: sort the n values, take h = (n - 1) p + 1 and
interpolate between the h-th value and the next.
"""

from pathlib import Path

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from kpis.models import AreaSpread, Observation
from kpis.services.national import publication_import
from strategy.access import Role
from strategy.models import User

FILES = Path(__file__).parents[1] / "national" / "files"
FINGERTIPS_HEADER = (FILES / "fingertips_mental_health.csv").read_text().splitlines()[0]
ANNUAL_HEADER = (
    (FILES / "psych-ther-ann-rep-csv-2020-21-main-csv-v2.csv").read_text().splitlines()[0]
)
COUNTIES = "Counties & UAs (from Apr 2023)"
SUPPRESSED = "Value suppressed for disclosure control due to small count"


@pytest.fixture
def analyst(catalogue_data, make_user):
    return make_user("analyst", Role.ANALYST)


def fingertips_row(indicator, code, name, area_type, period, value, sex="Persons", note=""):
    """A Fingertips export row: the value, no intervals or counts."""
    title = {"41001": "Suicide rate", "21001": "Emergency Hospital Admissions for Self-Harm"}
    return (
        f"{indicator},{title[indicator]},,,{code},{name},{area_type},{sex},All ages,,,{period},"
        f"{value},,,,,,,{note},,,,,,,"
    )


SUICIDE_2019_21 = [
    fingertips_row("41001", "E92000001", "England", "England", "2019 - 21", 10.4),
    fingertips_row("41001", "E10000012", "Essex", COUNTIES, "2019 - 21", 10.1),
    fingertips_row("41001", "E06000033", "Southend-on-Sea", COUNTIES, "2019 - 21", 11.9),
    fingertips_row("41001", "E06000034", "Thurrock", COUNTIES, "2019 - 21", 9.1),
    fingertips_row("41001", "E10000016", "Kent", COUNTIES, "2019 - 21", 10.9),
    fingertips_row("41001", "E10000015", "Hertfordshire", COUNTIES, "2019 - 21", 8.7),
    fingertips_row("41001", "E10000020", "Norfolk", COUNTIES, "2019 - 21", 12.4),
    fingertips_row("41001", "E10000029", "Suffolk", COUNTIES, "2019 - 21", "", note=SUPPRESSED),
    fingertips_row("41001", "E10000016", "Kent", COUNTIES, "2019 - 21", 14.0, sex="Female"),
    fingertips_row("41001", "E12000006", "East of England region", "Regions", "2019 - 21", 10.0),
]
SELF_HARM_2021_22 = [
    fingertips_row("21001", "E92000001", "England", "England", "2021/22", 163.9),
    fingertips_row("21001", "E06000033", "Southend-on-Sea", COUNTIES, "2021/22", 255.3),
    fingertips_row("21001", "E06000034", "Thurrock", COUNTIES, "2021/22", 143.2),
    fingertips_row("21001", "E10000016", "Kent", COUNTIES, "2021/22", 190.0),
]


def fingertips_file(rows):
    return (FINGERTIPS_HEADER + "\n" + "\n".join(rows) + "\n").encode()


def imported(user, name, content, **kwargs):
    return publication_import(user=user, filename=name, content=content, **kwargs)


def stored(kpi):
    return AreaSpread.objects.filter(kpi__code=kpi).select_related("period")


def test_fingertips_file_keeps_the_spread_over_every_county_and_ua(analyst):
    result = imported(
        analyst, "indicators.csv", fingertips_file(SUICIDE_2019_21 + SELF_HARM_2021_22)
    )
    spread = stored("SUICIDE-RATE").get()
    # The six counties and UAs with a value, 8.7, 9.1, 10.1, 10.9, 11.9 and 12.4 (Suffolk's is
    # suppressed, Kent's females are a breakdown): 25th h = 5 x 0.25 + 1 = 2.25,
    # 9.1 + 0.25 x 1.0 = 9.35; median h = 3.5, 10.1 + 0.5 x 0.8 = 10.5; 75th h = 4.75,
    # 10.9 + 0.75 x 1.0 = 11.65.
    assert (spread.publication, spread.period.label, spread.area_type) == (
        result.publication,
        "2019 to 2021",
        COUNTIES,
    )
    assert (spread.areas, spread.lowest, spread.q25, spread.median, spread.q75) == (
        6,
        8.7,
        9.35,
        10.5,
        11.65,
    )
    assert (spread.highest, spread.england) == (12.4, 10.4)
    assert set(spread.places.values_list("code", flat=True)) == {"essex", "southend", "thurrock"}
    # One region is too few for quartiles; three counties of self-harm admissions too.
    assert not stored("SELF-HARM-ADMISSIONS").exists()
    assert AreaSpread.objects.count() == 1


def test_observations_are_still_stored_for_places_only_and_every_row_counted(analyst):
    result = imported(
        analyst, "indicators.csv", fingertips_file(SUICIDE_2019_21 + SELF_HARM_2021_22)
    )
    places = set(
        Observation.objects.filter(series__kpi__code="SUICIDE-RATE").values_list(
            "series__place__code", flat=True
        )
    )
    assert places == {"england", "essex", "southend", "thurrock", "east-of-england"}
    # 14 rows: England, Essex, Southend, Thurrock and the region for suicide; England, Southend
    # and Thurrock for self-harm. Kent (three rows), Hertfordshire, Norfolk and Suffolk are not
    # places.
    assert (result.rows_read, result.rows_imported) == (14, 8)
    assert result.not_imported == {
        "figure incomplete": 0,
        "breakdown not held": 0,
        "area not a place": 6,
        "period not read": 0,
        "measure not in the catalogue": 0,
    }


def test_the_same_file_twice_keeps_one_set_of_spreads(analyst):
    content = fingertips_file(SUICIDE_2019_21)
    imported(analyst, "indicators.csv", content)
    again = imported(analyst, "indicators.csv", content)
    assert not again.created
    assert AreaSpread.objects.count() == 1


def test_spreads_are_written_in_the_same_queries_however_many_there_are(analyst):
    # Both files give the places the same values; the second adds three more counties for
    # self-harm (so a second spread) and four regions (a third, with the region that is ours).
    more = [
        fingertips_row("21001", "E10000015", "Hertfordshire", COUNTIES, "2021/22", 120.0),
        fingertips_row("21001", "E10000020", "Norfolk", COUNTIES, "2021/22", 170.0),
        fingertips_row("21001", "E10000029", "Suffolk", COUNTIES, "2021/22", 180.0),
        fingertips_row("41001", "E12000008", "South East region", "Regions", "2019 - 21", 9.9),
        fingertips_row("41001", "E12000007", "London region", "Regions", "2019 - 21", 7.5),
        fingertips_row("41001", "E12000009", "South West region", "Regions", "2019 - 21", 11.5),
    ]
    counts = []
    for rows in (SUICIDE_2019_21 + SELF_HARM_2021_22, SUICIDE_2019_21 + SELF_HARM_2021_22 + more):
        user = User.objects.get(pk=analyst.pk)  # its roles not yet cached, as in a request
        with transaction.atomic(), CaptureQueriesContext(connection) as queries:
            imported(user, "indicators.csv", fingertips_file(rows))
            counts.append((len(queries), AreaSpread.objects.count()))
            transaction.set_rollback(True)
    assert counts[0][1] == 1 and counts[1][1] == 3
    assert counts[0][0] == counts[1][0]


def annual_row(org_type, code, name, variable=("Total", "Total", "Total"), **measures):
    """An annual report row: the measures given, every other column blank."""
    header = ANNUAL_HEADER.split(",")
    cells = dict.fromkeys(header, "")
    cells.update(OrgType=org_type, OrgCode=code, OrgName=name)
    cells.update(VariableType=variable[0], VariableA=variable[1], VariableB=variable[2])
    cells.update({key: str(value) for key, value in measures.items()})
    return ",".join(cells[column] for column in header)


def recovery(finished, not_caseness, recovered, printed):
    return {
        "Count_FinishedCourseTreatment": finished,
        "Count_NotAtCaseness": not_caseness,
        "Count_Recovery": recovered,
        "Percentage_Recovery": printed,
    }


def test_annual_report_keeps_the_spread_over_every_ccg(analyst):
    over_65 = ("Age Group", "65+", "Total")
    rows = [
        annual_row("England", "ENG", "England", **recovery(634649, 49349, 290502, 49.6)),
        # Recovered / (finished - not at caseness): 1,380 / 3,000 = 46.0%; 500 / 1,000 = 50.0%;
        # 400 / 1,000 = 40.0%; 1,100 / 2,000 = 55.0%; 260 / 500 = 52.0%; 549 / 900 = 61.0%.
        annual_row("CCG", "99G", "NHS SOUTHEND CCG", **recovery(3280, 280, 1380, 46)),
        annual_row("CCG", "99G", "NHS SOUTHEND CCG", over_65, **recovery(255, 25, 130, 57)),
        annual_row("CCG", "07G", "NHS THURROCK CCG", **recovery(1200, 200, 500, 50)),
        annual_row("CCG", "00A", "NHS ELSEWHERE CCG", **recovery(1100, 100, 400, 40)),
        annual_row("CCG", "00A", "NHS ELSEWHERE CCG", over_65, **recovery(100, 10, 45, 50)),
        annual_row("CCG", "00B", "NHS FURTHER CCG", **recovery(2100, 100, 1100, 55)),
        annual_row("CCG", "00C", "NHS AWAY CCG", **recovery(600, 100, 260, 52)),
        annual_row("CCG", "00D", "NHS YONDER CCG", **recovery(1000, 100, 549, 61)),
        annual_row("STP", "E54000099", "SOMEWHERE STP", **recovery(9000, 900, 4000, 49)),
        annual_row("Provider", "RXX", "A PROVIDER", **recovery(5000, 500, 2300, 51)),
    ]
    content = (ANNUAL_HEADER + "\n" + "\n".join(rows) + "\n").encode()
    result = imported(analyst, "psych-ther-ann-rep-csv-2020-21-main-csv.csv", content)
    spread = stored("TT-RECOVERY").get()
    # 40, 46, 50, 52, 55, 61: 25th h = 2.25, 46 + 0.25 x 4 = 47; median h = 3.5,
    # 50 + 0.5 x 2 = 51; 75th h = 4.75, 52 + 0.75 x 3 = 54.25.
    assert (spread.area_type, spread.period.label, spread.areas) == ("CCG", "2020-21", 6)
    assert (spread.lowest, spread.q25, spread.median, spread.q75, spread.highest) == (
        40,
        47,
        51,
        54.25,
        61,
    )
    assert spread.england == 49.6
    # 99G and 07G name the CCGs in 2020-21, not the sub-ICB locations that took their codes.
    assert set(spread.places.values_list("code", flat=True)) == {"ccg-99g", "ccg-07g"}
    completed = stored("TT-COMPLETED-TREATMENT").get()
    # 600, 1,000, 1,100, 1,200, 2,100, 3,280: 25th 1,000 + 0.25 x 100 = 1,025.
    assert (completed.areas, completed.q25) == (6, 1025)
    # A cohort KPI's rows (65 and over) are read for places only: two CCGs, no spread.
    assert not stored("TT-COMPLETED-65PLUS").exists()
    # Counted as before: England, Southend (all ages and 65+) and Thurrock imported; the other
    # CCGs' rows (one of them left unread), the STP and the provider are not places.
    assert (result.rows_read, result.rows_imported) == (11, 4)
    assert result.not_imported["area not a place"] == 7
    assert set(
        Observation.objects.filter(series__kpi__code="TT-RECOVERY").values_list(
            "series__place__code", flat=True
        )
    ) == {"england", "ccg-99g", "ccg-07g"}
