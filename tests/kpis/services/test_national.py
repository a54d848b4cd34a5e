"""Importing publishers' files: mapping, provenance, markers and published intervals."""

from pathlib import Path

import pytest
from django.core.exceptions import PermissionDenied

from kpis.models import AuditEvent, NationalPublication, Observation
from kpis.national import PublicationFormatError
from kpis.services.national import publication_import
from strategy.access import Role

FILES = Path(__file__).parents[1] / "national" / "files"


@pytest.fixture
def analyst(catalogue_data, make_user):
    return make_user("analyst", Role.ANALYST)


def imported(user, name):
    return publication_import(user=user, filename=name, content=(FILES / name).read_bytes())


def value(kpi, place, period):
    return Observation.objects.get(
        series__kpi__code=kpi,
        series__place__code=place,
        series__breakdown__dimension="all",
        period__label=period,
        is_current=True,
    )


def test_fingertips_file_keeps_provenance_markers_and_published_intervals(analyst):
    result = imported(analyst, "fingertips_mental_health.csv")
    assert result.created and result.rows_read == 17
    # Southend-on-Sea, suicide rate 2019-21 as the file's row 4 gives it.
    southend = value("SUICIDE-RATE", "southend", "2019 to 2021")
    assert (float(southend.value), float(southend.ci_lower), float(southend.ci_upper)) == (
        11.9,
        9.2,
        15.1,
    )
    assert float(southend.numerator) == 67 and float(southend.ci_level) == 0.95
    assert southend.source_publication.publisher == result.publication.publisher
    assert southend.source_row == 4 and southend.approved and southend.published_at is None
    # The source suppressed Southend's 2020-22 rate for one sex: kept as suppressed, with
    # its breakdown, and no value invented.
    suppressed = Observation.objects.get(
        series__kpi__code="SUICIDE-RATE",
        series__place__code="southend",
        period__label="2020 to 2022",
    )
    assert suppressed.series.breakdown.dimension == "sex"
    assert suppressed.suppressed and suppressed.value is None
    assert value("SUICIDE-RATE", "england", "2019 to 2021").value is not None
    assert AuditEvent.objects.filter(action="import", actor=analyst).exists()


def test_nhs_england_sub_icb_codes_map_to_places_and_star_is_suppressed(analyst):
    imported(analyst, "mhsds_main_jul2023.csv")
    thurrock = value("EIP-2WK", "sub-icb-07g", "3 months to Jul 2023")
    # EIP23b / EIP23a = 10 / 15 = 66.7%, printed as EIP23i 67 (from unrounded counts); the
    # counts are kept and flagged as rounded to 5, England's are not.
    assert (thurrock.numerator, thurrock.denominator, thurrock.value) == (10, 15, 67)
    assert thurrock.rounded and not thurrock.source_value_differs
    england = value("EIP-2WK", "england", "3 months to Jul 2023")
    assert (england.numerator, england.denominator, england.value) == (2200, 3200, 68.75)
    assert not england.rounded
    southend = value("EIP-2WK", "sub-icb-99g", "3 months to Jul 2023")
    assert (southend.suppressed, southend.marker, southend.value) == (True, "*", None)


def test_the_same_file_twice_changes_nothing(analyst):
    imported(analyst, "fingertips_mental_health.csv")
    before = Observation.objects.count()
    again = imported(analyst, "fingertips_mental_health.csv")
    assert not again.created
    assert Observation.objects.count() == before
    assert NationalPublication.objects.count() == 1


def test_place_leads_do_not_import(catalogue_data, make_user):
    lead = make_user("lead", Role.PLACE_LEAD, places=("southend",))
    with pytest.raises(PermissionDenied):
        imported(lead, "fingertips_mental_health.csv")


def test_a_file_in_no_known_layout_is_refused_and_nothing_is_stored(analyst):
    with pytest.raises(PublicationFormatError, match="lacks the columns"):
        imported(analyst, "fingertips_wrong_header.csv")
    assert not NationalPublication.objects.exists()
