from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from kpis.models import NationalPublication, ReturnUpload
from strategy.access import Role


def test_dry_run_reports_every_issue_and_stores_nothing(catalogue_data, make_user, tmp_path):
    make_user("root", Role.ADMINISTRATOR)
    path = tmp_path / "history.csv"
    path.write_text(
        "kpi_code,place_code,period,breakdown,numerator,denominator,value,marker,comment\n"
        "MHST-PUPIL-COVERAGE,southend,2020-21,,30,60,50,,\n"
        "MHST-PUPIL-COVERAGE,nowhere,Q2 2023,,30,60,50,,\n"
    )
    out = StringIO()
    with pytest.raises(CommandError, match="nothing was stored"):
        call_command("import_return", str(path), "--user", "root", "--dry-run", stdout=out)
    report = out.getvalue()
    assert "row 3, column place_code" in report
    assert "row 3, column period" in report and "ambiguous" in report
    assert not ReturnUpload.objects.exists()


def test_only_administrators_run_the_return_import(catalogue_data, make_user, tmp_path):
    make_user("lead", Role.PLACE_LEAD)
    path = tmp_path / "x.csv"
    path.write_text("kpi_code\n")
    with pytest.raises(CommandError, match="not an administrator"):
        call_command("import_return", str(path), "--user", "lead", "--dry-run")


def test_history_load_is_stored_and_submitted_for_another_reviewer(
    catalogue_data, make_user, tmp_path
):
    make_user("root", Role.ADMINISTRATOR)
    path = tmp_path / "history.csv"
    path.write_text(
        "kpi_code,place_code,period,breakdown,numerator,denominator,value,marker,comment\n"
        "MHST-PUPIL-COVERAGE,southend,2020-21,,30,60,50,,\n"
    )
    out = StringIO()
    call_command("import_return", str(path), "--user", "root", stdout=out)
    upload = ReturnUpload.objects.get()
    assert (upload.kind, upload.state) == ("history", "submitted")
    assert f"/returns/{upload.pk}/" in out.getvalue()


def test_publication_import_command(catalogue_data, make_user):
    from pathlib import Path

    make_user("analyst", Role.ANALYST)
    path = Path(__file__).parent / "national" / "files" / "fingertips_mental_health.csv"
    out = StringIO()
    call_command("import_publication", str(path), "--user", "analyst", stdout=out)
    assert "Read 17 rows" in out.getvalue()
    assert NationalPublication.objects.count() == 1
