"""The national data import page: who may import, what an unrecognised file is told."""

from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from kpis.models import NationalPublication, Observation
from strategy.access import Role

FILES = Path(__file__).parents[2] / "kpis" / "national" / "files"
ANNUAL = "psych-ther-ann-rep-csv-2020-21-main-csv-v2.csv"


@pytest.fixture
def analyst(catalogue_data, make_user):
    return make_user("analyst", Role.ANALYST)


def post(client, name, content, period=""):
    return client.post(
        reverse("reporting:publication-import"),
        {"file": SimpleUploadedFile(name, content), "period": period},
    )


def test_only_analysts_and_the_group_may_import(client, lead, analyst, sig):
    url = reverse("reporting:publication-import")
    assert client.get(url).status_code == 302  # anonymous: to the log-in page
    client.force_login(lead)
    assert client.get(url).status_code == 403
    assert post(client, ANNUAL, (FILES / ANNUAL).read_bytes()).status_code == 403
    assert not NationalPublication.objects.exists()
    for user in (analyst, sig):
        client.force_login(user)
        assert client.get(url).status_code == 200


def test_an_annual_report_is_imported_and_summarised(client, analyst):
    client.force_login(analyst)
    page = post(client, ANNUAL, (FILES / ANNUAL).read_bytes()).content.decode()
    assert "read 14 rows, imported 7" in page
    assert "Not imported, breakdown not held: 4 rows" in page
    assert Observation.objects.filter(series__kpi__code="TT-RECOVERY").exists()


def test_a_file_no_layout_fits_gets_a_clean_error(client, analyst):
    client.force_login(analyst)
    response = post(client, "rates.csv", b"Area,Year,Rate\nE06000033,2021,4\n")
    page = response.content.decode()
    assert response.status_code == 400
    assert "This file was not imported" in page
    assert "rates.csv does not match any publication this service reads" in page
    assert not NationalPublication.objects.exists()


def test_an_annual_report_without_its_year_asks_for_it(client, analyst):
    client.force_login(analyst)
    content = (FILES / ANNUAL).read_bytes()
    page = post(client, "main.csv", content).content.decode()
    assert "gives no financial year" in page
    assert post(client, "main.csv", content, period="2020-21").status_code == 200
    assert Observation.objects.filter(period__label="2020-21").exists()
