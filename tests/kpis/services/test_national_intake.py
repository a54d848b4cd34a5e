"""Real-shaped national files give the published numbers: counts kept beside the printed figure,
rounding flagged, breakdowns in their own series, every row counted once.

The annual report extracts in tests/kpis/national/files have NHS England's 2020-21 and 2021-22
column layout with illustrative values chosen so that each printed percentage can be checked by
hand from its counts (noted beside each assertion).
"""

from datetime import date
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest
from django.core.management import CommandError, call_command

from kpis.combine import NotCombinable, combine
from kpis.models import Assessment, Observation
from kpis.national import PublicationFormatError
from kpis.periods import financial_year
from kpis.selectors.observations import observations_frame
from kpis.services.national import publication_import
from kpis.services.progress import progress_recompute
from strategy.access import Role

FILES = Path(__file__).parents[1] / "national" / "files"
ANNUAL_2021 = "psych-ther-ann-rep-csv-2020-21-main-csv-v2.csv"
ANNUAL_2122 = "psych-ther-ann-rep-csv-2021-22-main-csv.csv"
MONTHLY = "talking_therapies_monthly_recovery_jun2025.csv"


@pytest.fixture
def analyst(catalogue_data, make_user):
    return make_user("analyst", Role.ANALYST)


def imported(user, name, **kwargs):
    return publication_import(
        user=user, filename=name, content=(FILES / name).read_bytes(), **kwargs
    )


def current(kpi, place, period, dimension="all", category="all"):
    return Observation.objects.get(
        series__kpi__code=kpi,
        series__place__code=place,
        series__breakdown__dimension=dimension,
        series__breakdown__category=category,
        period__label=period,
        is_current=True,
    )


def test_annual_report_keeps_counts_and_the_printed_recovery_rate(analyst):
    imported(analyst, ANNUAL_2021)
    southend = current("TT-RECOVERY", "ccg-99g", "2020-21")
    # Recovered 1,380 of (3,280 finished - 280 not at caseness) = 3,000: 46.0%, printed 46.
    assert (southend.numerator, southend.denominator) == (Decimal(1380), Decimal(3000))
    assert southend.value == southend.source_value == Decimal(46)
    assert southend.rounded and not southend.source_value_differs
    assert southend.period.type == "financial_year"
    england = current("TT-RECOVERY", "england", "2020-21")
    # 290,502 / (634,649 - 49,349) = 49.63%, printed 49.6; England counts are not rounded.
    assert (england.numerator, england.denominator) == (Decimal(290502), Decimal(585300))
    assert england.value == Decimal("49.6") and not england.rounded
    reliable = current("TT-RELIABLE-RECOVERY", "ccg-99g", "2020-21")
    assert (reliable.numerator, reliable.denominator, reliable.value) == (1290, 3000, 43)


def test_a_printed_figure_the_counts_cannot_give_is_flagged(analyst):
    imported(analyst, ANNUAL_2021)
    thurrock = current("TT-RECOVERY", "ccg-07g", "2020-21")
    # 500 / (1,200 - 200) = 50.0%; even with every count off by 2.5 the rate lies between
    # 497.5 / 1,005 = 49.5% and 502.5 / 995 = 50.5%, so the printed 44 disagrees.
    assert thurrock.value == Decimal(44) and thurrock.source_value_differs


def test_the_65_and_over_kpi_takes_the_65_and_over_row_not_all_ages(analyst):
    imported(analyst, ANNUAL_2021)
    older = current("TT-COMPLETED-65PLUS", "ccg-99g", "2020-21")
    assert older.value == older.numerator == Decimal(255)  # not the all-ages 3,280
    assert current("TT-COMPLETED-TREATMENT", "ccg-99g", "2020-21").value == Decimal(3280)
    assert not Observation.objects.filter(
        series__kpi__code="TT-COMPLETED-65PLUS", series__breakdown__dimension="all", value=3280
    ).exists()


def test_breakdown_rows_land_in_their_own_series_or_nowhere(analyst):
    imported(analyst, ANNUAL_2021)
    older = current("TT-RECOVERY", "ccg-99g", "2020-21", "age_band", "65+")
    # 130 / (255 - 25) = 56.52%, printed 57.
    assert (older.numerator, older.denominator, older.value) == (130, 230, 57)
    assert not older.source_value_differs
    young = current("TT-RECOVERY", "ccg-99g", "2020-21", "age_band", "18-25")
    assert (young.numerator, young.denominator) == (250, 600)
    asian = current("TT-RECOVERY", "ccg-99g", "2020-21", "ethnic_group", "asian")
    assert (asian.numerator, asian.denominator, asian.value) == (55, 125, 44)
    # TT-RECOVERY holds age and ethnic group breakdowns only: sex, deprivation deciles,
    # problem descriptors and ethnic sub-groups are nowhere, least of all in the all series.
    dimensions = set(
        Observation.objects.filter(
            series__kpi__code="TT-RECOVERY", series__place__code="ccg-99g"
        ).values_list("series__breakdown__dimension", flat=True)
    )
    assert dimensions == {"all", "age_band", "ethnic_group"}
    assert (
        Observation.objects.filter(
            series__kpi__code="TT-RECOVERY", series__place__code="ccg-99g"
        ).count()
        == 5
    )  # all, 65+, 18-25, white, asian


def test_every_row_is_counted_once(analyst):
    result = imported(analyst, ANNUAL_2021)
    assert result.rows_read == 14
    assert result.rows_imported + sum(result.not_imported.values()) == result.rows_read
    # Imported: England, Southend (total, 65+, 18-25, white, asian) and Thurrock. The female
    # row (no catalogue KPI here holds sex), the Indian sub-group, the decile and the problem
    # descriptor are breakdowns not held; the region, STP and provider are not places.
    assert result.rows_imported == 7
    assert result.not_imported == {
        "figure incomplete": 0,
        "breakdown not held": 4,
        "area not a place": 3,
        "period not read": 0,
        "measure not in the catalogue": 0,
    }


def test_combining_rounded_ccg_counts_is_refused(analyst):
    imported(analyst, ANNUAL_2122)
    ccgs = ["ccg-99e", "ccg-99f", "ccg-06q", "ccg-99g", "ccg-07g"]
    frame = observations_frame(kpi_codes=["TT-RECOVERY"])
    parts = frame[frame["place"].isin(ccgs) & frame["dimension"].eq("all")]
    assert len(parts) == 5 and parts["rounded"].all()
    # Summed, the rounded counts give 5,400 / 10,490 = 51.48%; NHS England printed 52 for
    # the STP from its unrounded counts. The service refuses rather than show 51.48.
    assert round(parts["numerator"].sum() / parts["denominator"].sum() * 100, 2) == 51.48
    with pytest.raises(NotCombinable, match="Rounded"):
        combine(
            parts.assign(target="mse"),
            combinability="ratio_of_sums",
            multiplier=100,
        )
    stp = current("TT-RECOVERY", "ics-mse", "2021-22")
    assert (stp.numerator, stp.denominator, stp.value) == (5460, 10500, 52)


def test_monthly_measures_are_joined_into_counts(analyst):
    result = imported(analyst, MONTHLY)
    southend = current("TT-RECOVERY", "sub-icb-99g", "Jun 2025")
    # 135 / (285 - 25) = 51.92%, printed 52.
    assert (southend.numerator, southend.denominator, southend.value) == (135, 260, 52)
    assert southend.rounded and not southend.source_value_differs
    reliable = current("TT-RELIABLE-RECOVERY", "sub-icb-99g", "Jun 2025")
    assert (reliable.numerator, reliable.value) == (125, 48)
    thurrock = current("TT-RECOVERY", "sub-icb-07g", "Jun 2025")
    assert thurrock.suppressed and thurrock.value is None and thurrock.marker == "*"
    # The sub-ICB-by-provider row is a breakdown no KPI holds; M001 no KPI uses.
    assert current("TT-COMPLETED-TREATMENT", "sub-icb-99g", "Jun 2025").value == 285
    assert result.rows_imported + sum(result.not_imported.values()) == result.rows_read == 16
    assert result.not_imported["measure not in the catalogue"] == 1
    assert result.not_imported["breakdown not held"] == 1


def test_annual_report_period_comes_from_the_name_or_is_asked_for(analyst):
    content = (FILES / ANNUAL_2021).read_bytes()
    with pytest.raises(PublicationFormatError, match="gives no financial year"):
        publication_import(user=analyst, filename="main.csv", content=content)
    publication_import(
        user=analyst, filename="main.csv", content=content, period=financial_year(2020)
    )
    assert current("TT-RECOVERY", "ccg-99g", "2020-21").value == 46


def test_fingertips_comparison_with_england_is_kept(analyst):
    imported(analyst, "fingertips_mental_health.csv")
    essex = Observation.objects.filter(
        series__kpi__code="SUICIDE-RATE", series__place__code="essex", period__label="2019 to 2021"
    ).first()
    assert essex.source_comparison == "Similar"
    assert essex.source_value == essex.value


def test_command_gives_a_clean_error_for_a_file_no_layout_fits(analyst, tmp_path):
    path = tmp_path / "download.csv"
    path.write_text("OrgType,OrgCode,OrgName,VariableType,Count_Recovery\nCCG,99G,X,Total,5\n")
    with pytest.raises(CommandError) as caught:
        call_command("import_publication", str(path), user="analyst")
    assert str(caught.value) == (
        "download.csv does not match any publication this service reads (NHS England Mental "
        "Health Services Monthly Statistics (MHSDS); NHS Talking Therapies annual report; NHS "
        "Talking Therapies monthly; NHS Talking Therapies quarterly; OHID Fingertips indicator "
        "data). The closest is NHS Talking Therapies annual report, but the header lacks the "
        "columns VariableA, VariableB."
    )


def test_command_imports_an_annual_report_and_counts_rows(analyst, tmp_path, capsys):
    path = tmp_path / ANNUAL_2021
    path.write_bytes((FILES / ANNUAL_2021).read_bytes())
    call_command("import_publication", str(path), user="analyst")
    out = capsys.readouterr().out
    assert out.startswith(
        "Read 14 rows: 7 imported; not imported: 4 breakdown not held, 3 area not a place."
    )
    frame = pd.DataFrame.from_records(
        Observation.objects.filter(
            series__kpi__code="TT-ACCESS",
            series__place__code="ccg-99g",
            series__breakdown__dimension="all",
        ).values("value", "period__label")
    )
    assert frame.to_dict("records") == [{"value": Decimal(4010), "period__label": "2020-21"}]


def test_a_reissued_file_with_the_same_figures_changes_nothing(analyst):
    first = imported(analyst, ANNUAL_2021)
    assert first.values_changed > 0
    again = publication_import(
        user=analyst,
        filename=ANNUAL_2021,
        content=(FILES / ANNUAL_2021).read_bytes() + b"\r\n",
    )
    assert again.created and again.values_changed == 0


def test_imported_counts_give_an_england_comparison_and_a_verdict(analyst):
    imported(analyst, ANNUAL_2021)
    series = Observation.objects.get(
        series__kpi__code="TT-RECOVERY",
        series__place__code="ccg-99g",
        series__breakdown__dimension="all",
    ).series
    progress_recompute(series_ids=[series.pk], as_of=date(2021, 9, 30))
    stored = Assessment.objects.get(series=series, period__label="2020-21")
    # Southend 1,380 / 3,000 = 46.0% against England's 290,502 / 585,300 = 49.6%: the
    # intervals come from the counts, so the comparison can be made; and the standard of 50%
    # lies above Southend's whole interval (Wilson 44.2% to 47.8%).
    assert stored.lower95 == pytest.approx(44.22, abs=0.01)
    assert stored.upper95 == pytest.approx(47.79, abs=0.01)
    # Even at 99.8% (z = 3.09) Southend's interval, about 43.2% to 48.8%, lies below 49.6%.
    assert stored.benchmark_england == "worse_99_8"
    assert stored.verdict == "off_track"
