"""Public KPI pages speak to residents: plain descriptions, caveats and targets worded as their
sources word them; the catalogue's provenance notes stay on the internal side."""

import pytest
from django.urls import reverse
from django.utils.html import escape

from kpis.models import Kpi, Target

# Phrases of the catalogue's working notes that must never reach a public page.
WORKING_NOTES = (
    "was not read",
    "assumed",
    "not verified",
    "brief",
    "todo",
    "search tool",
    "first load",
    "link below",
    "record it",
    "series_break",
    "applies_from",
    "indicator_id",
)


def _public_page(client, code: str) -> str:
    response = client.get(reverse("reporting:kpi-definition", args=[code]))
    assert response.status_code == 200, code
    return response.content.decode()


def test_no_public_kpi_page_shows_a_working_note_or_a_provenance_note(client, catalogue_data):
    kpis = list(Kpi.objects.prefetch_related("targets").order_by("code"))
    assert len(kpis) == 43
    faults = []
    for kpi in kpis:
        page = _public_page(client, kpi.code)
        lowered = page.lower()
        faults += [f"{kpi.code}: '{phrase}'" for phrase in WORKING_NOTES if phrase in lowered]
        notes = [("source_note", kpi.source_note), ("baseline_note", kpi.baseline_note)]
        notes += [(f"{target.kind} target note", target.note) for target in kpi.targets.all()]
        faults += [f"{kpi.code}: {name}" for name, note in notes if note and escape(note) in page]
        # What the page says instead: the description, the caveats and each target's wording.
        assert escape(kpi.description) in page, kpi.code
        for target in kpi.targets.all():
            if target.public_text:
                assert escape(target.public_text) in page, (kpi.code, target.kind)
    assert not faults, faults


def test_the_suicide_page_gives_the_ten_per_cent_reduction_as_the_source_words_it(
    client, catalogue_data
):
    page = _public_page(client, "SUICIDE-RATE")
    # EPUT's plans (002, 003): "working towards a national 10% reduction in suicides by 2020/21".
    assert "Working towards a national 10% reduction in suicides by 2020/21" in page
    assert "10 by 31 March 2021" not in page
    assert "Things to bear in mind" in page
    assert "Inquests can delay registration." in page


@pytest.mark.parametrize(
    ("code", "kind", "wording"),
    [
        ("SUICIDE-RATE", "national_contribution", "10% reduction in suicides"),
        ("EIP-2WK", "threshold", "At least 60%"),
        ("EIP-2WK", "expired", "50% of people with a first episode of psychosis"),
        ("CYP-ED-URGENT-1WK", "threshold", "95% of urgent cases"),
        ("CYP-ED-ROUTINE-4WK", "threshold", "95% of routine cases"),
        ("TT-RECOVERY", "threshold", "At least 50% of eligible referrals move to recovery"),
        ("TT-WAIT-6WK", "threshold", "75% of people start treatment within 6 weeks"),
        ("TT-ACCESS", "expired", "At least 25% of people with depression or anxiety"),
        # 000 says "at least half", so the page does too.
        ("LIAISON-CORE24-COVERAGE", "expired", "with at least half working 24/7"),
        ("SMI-PHYSICAL-HEALTH-CHECKS", "national_contribution", "390,000 people"),
    ],
)
def test_targets_are_worded_as_their_sources_word_them(catalogue_data, code, kind, wording):
    target = Target.objects.get(kpi__code=code, kind=kind)
    assert wording in target.public_text


def test_every_kpi_has_a_description_and_every_target_with_a_value_has_public_wording(
    catalogue_data,
):
    for kpi in Kpi.objects.all():
        assert kpi.description.strip(), kpi.code
        assert kpi.public_caveats.strip(), kpi.code
    for target in Target.objects.exclude(value=None):
        assert target.public_text.strip(), (target.kpi_id, target.kind)


def test_a_target_without_public_wording_falls_back_to_its_comparator_and_value(
    client, catalogue_data
):
    kpi = Kpi.objects.get(code="TT-WAIT-6WK")
    Target.objects.filter(kpi=kpi).update(public_text="")
    page = _public_page(client, kpi.code)
    assert "≥ 75" in page
    Target.objects.filter(kpi=kpi).update(value=None)
    assert "No number set" in _public_page(client, kpi.code)


def test_the_group_sees_the_provenance_notes_on_the_internal_kpi_page(client, sig, catalogue_data):
    kpi = Kpi.objects.get(code="SUICIDE-RATE")
    client.force_login(sig)
    response = client.get(reverse("reporting:kpi-dashboard", args=[kpi.code]))
    assert response.status_code == 200
    page = response.content.decode()
    section = page[page.index("<h2>Provenance notes</h2>") :]
    assert escape(kpi.source_note) in section
    assert escape(kpi.baseline_note) in section
    assert escape(kpi.disclosure_rule.description) in section
    notes = [t.note for t in Target.objects.filter(kpi=kpi)]
    assert len(notes) == 2 and all(notes)
    for note in notes:
        assert escape(note) in section


def test_the_internal_page_says_when_there_is_no_provenance_note(client, sig, catalogue_data):
    Kpi.objects.filter(code="CYP-ACCESS").update(baseline_note="")
    client.force_login(sig)
    page = client.get(reverse("reporting:kpi-dashboard", args=["CYP-ACCESS"])).content.decode()
    section = page[page.index("<h2>Provenance notes</h2>") :]
    assert "None recorded" in section


def test_caveats_are_shown_one_paragraph_each(client, catalogue_data):
    kpi = Kpi.objects.get(code="OAP-INAPPROPRIATE-DAYS")
    paragraphs = kpi.public_caveats.split("\n\n")
    assert len(paragraphs) == 4
    page = _public_page(client, kpi.code)
    for paragraph in paragraphs:
        assert f"<p>{escape(paragraph)}</p>" in page
