"""Builders shared by the tests that upload returns through the services: CSV returns, and
uploads validated (and approved) the way the background task would."""

from kpis.models import ReturnUpload
from kpis.services.returns import upload_create, upload_decide, upload_submit
from kpis.services.validation import upload_validate

HEADER = (
    "#template_version=2025.1\n"
    "kpi_code,place_code,period,breakdown,numerator,denominator,value,marker,comment\n"
)


def csv(*rows: str) -> bytes:
    """A quarterly return in the current template with these data rows (from row 3)."""
    return (HEADER + "".join(row + "\n" for row in rows)).encode()


# Southend's school mental health support team coverage for 2024-25: 30 of 60 pupils, 50%.
GOOD = csv("MHST-PUPIL-COVERAGE,southend,2024-25,,30,60,50,,")


def uploaded(user, content, name="return.csv"):
    upload, created = upload_create(user=user, filename=name, content=content)
    assert created
    # With transactions committing, the eager task has already validated it.
    upload_validate(upload_id=upload.pk)
    return ReturnUpload.objects.get(pk=upload.pk)


def approve(upload, lead, reviewer):
    upload = upload_submit(upload=upload, user=lead, confirm_warnings=True)
    return upload_decide(upload=upload, user=reviewer, approve=True)


# History loads: long form, no template version line, so data start on row 2.
HISTORY_HEADER = "kpi_code,place_code,period,breakdown,numerator,denominator,value,marker,comment\n"
SIX_HISTORY_ROWS = HISTORY_HEADER + "".join(
    f"MHST-PUPIL-COVERAGE,{place},{year}-{(year + 1) % 100:02d},,30,60,50,,\n"
    for place in ("southend", "thurrock")
    for year in (2019, 2020, 2021)
)


def history_uploaded(user, body: str, name: str):
    """A history load, validated."""
    upload, _ = upload_create(user=user, filename=name, content=body.encode(), kind="history")
    upload_validate(upload_id=upload.pk)
    return ReturnUpload.objects.get(pk=upload.pk)
