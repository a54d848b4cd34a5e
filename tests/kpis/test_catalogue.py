"""The KPI catalogue against the strategy's promises and the source documents' commitments."""

from decimal import Decimal

import pytest

from kpis.models import Kpi, Target
from strategy.models import Deliverable, Priority, WhatMatters

PUBLISHERS = {"NHSE", "OHID", "ONS", "CQC", "DHSC", "HO"}


def test_every_priority_is_evidenced_by_a_kpi_or_a_tracked_deliverable(catalogue_data):
    for priority in Priority.objects.filter(strategy__code="set-2023-28"):
        evidenced = (
            priority.kpis.exists()
            or priority.deliverables.filter(strategy__code="set-2023-28").exists()
        )
        assert evidenced, f"{priority.code} has neither a KPI nor a deliverable"


def test_think_family_is_tracked_as_a_deliverable(catalogue_data):
    priority = Priority.objects.get(code="A-PEI-08")
    assert "think family" in priority.text
    assert not priority.kpis.exists()
    assert priority.deliverables.filter(code__startswith="SET-D-").exists()


def test_adult_eating_disorder_services_are_tracked_by_a_deliverable_not_the_smi_count(
    catalogue_data,
):
    # A-PEI-04 "Improve access to adult eating disorder services": the SMI community-care count
    # (CMH-SMI-2CONTACTS) includes adult eating disorder care but cannot show it separately.
    priority = Priority.objects.get(code="A-PEI-04")
    assert priority.text == "Improve access to adult eating disorder services"
    assert not priority.kpis.exists()
    assert priority.deliverables.filter(code="SET-D-01").exists()
    smi = Kpi.objects.get(code="CMH-SMI-2CONTACTS")
    assert set(smi.priorities.values_list("code", flat=True)) == {"A-SR-02", "A-PEI-02"}


def test_feeling_safe_is_not_evidence_for_the_older_peoples_review(catalogue_data):
    # A-PEI-06 "Review mental health support for older people recognising the need to support
    # carers, and the impact of social isolation and loneliness": social contact (with its 65+
    # breakdown) and older people's Talking Therapies evidence it; feeling safe does not.
    safe = Kpi.objects.get(code="ASCS-FEEL-SAFE")
    assert not safe.priorities.exists()
    assert set(safe.what_matters.values_list("code", flat=True)) == {"WM5"}
    older = Priority.objects.get(code="A-PEI-06")
    assert set(older.kpis.values_list("code", flat=True)) == {
        "ASCS-SOCIAL-CONTACT",
        "TT-COMPLETED-65PLUS",
    }


def test_kpis_link_only_to_priorities_for_their_own_cohort(catalogue_data):
    prefix = {"adults": "A-", "cyp": "C-"}
    for kpi in Kpi.objects.prefetch_related("priorities"):
        if kpi.cohort in prefix:
            for priority in kpi.priorities.all():
                assert priority.code.startswith(prefix[kpi.cohort]), (kpi.code, priority.code)


def test_every_what_matters_statement_has_a_measure_or_a_deliverable_to_create_one(
    catalogue_data,
):
    for statement in WhatMatters.objects.filter(strategy__code="set-2023-28"):
        assert statement.kpis.exists() or statement.deliverables.exists(), statement.code


def test_every_kpi_is_sourced(catalogue_data):
    for kpi in Kpi.objects.all():
        if kpi.locally_supplied:
            assert kpi.source_dataset, kpi.code
            continue
        assert kpi.source_publisher in PUBLISHERS, kpi.code
        assert kpi.source_dataset and kpi.source_url.startswith("https://"), kpi.code
        # An unconfirmed identifier is left blank and the note says why: never guessed.
        assert kpi.source_indicator_id or kpi.source_note, kpi.code
        assert kpi.numerator or kpi.statistic in ("survey_estimate", "score", "median"), kpi.code


def _targets(code: str) -> set[tuple]:
    return {
        (t.kind, t.value, t.source_document.code if t.source_document else None)
        for t in Target.objects.filter(kpi__code=code)
    }


PREVIOUS = "essex-mh-strategy-2017-21"


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        # 000: "Ensuring 50% of people with first episode of psychosis get the right treatment
        # within 2 weeks"; the national standard is now 60%.
        ("EIP-2WK", {("expired", Decimal(50), PREVIOUS), ("threshold", Decimal(60), None)}),
        # 000: at least 25% of people with depression/anxiety accessing psychological therapies.
        ("TT-ACCESS", {("expired", Decimal(25), PREVIOUS)}),
        # 000: "Eliminating out of area hospital placements"; the national ambition to eliminate.
        ("OAP-INAPPROPRIATE-DAYS", {("expired", 0, PREVIOUS), ("value_by_date", 0, None)}),
        # 000: "No-one in crisis held in a police cell for assessment".
        ("S136-POLICE-STATION", {("expired", 0, PREVIOUS)}),
        # 000: "All hospitals have mental health liaison teams, with at least half working 24/7".
        ("LIAISON-CORE24-COVERAGE", {("expired", Decimal(50), PREVIOUS)}),
        # NHS Long Term Plan national totals, tabled in the EPUT plans (002, 003).
        (
            "SMI-PHYSICAL-HEALTH-CHECKS",
            {("national_contribution", Decimal(390000), "eput-mse-ccu-plan-2023-28")},
        ),
        ("IPS-ACCESS", {("national_contribution", Decimal(55000), "eput-we-ccu-plan")}),
        ("SUICIDE-RATE", {("national_contribution", Decimal(10), "eput-mse-ccu-plan-2023-28")}),
        # National standards: 95% of CYP eating-disorder cases seen within 1 or 4 weeks;
        # Talking Therapies recovery at 50%.
        ("CYP-ED-URGENT-1WK", {("threshold", Decimal(95), None)}),
        ("CYP-ED-ROUTINE-4WK", {("threshold", Decimal(95), None)}),
        ("TT-RECOVERY", {("threshold", Decimal(50), None)}),
    ],
)
def test_numeric_commitments_are_present_with_kind_and_citation(catalogue_data, code, expected):
    assert expected <= _targets(code)
    for target in Target.objects.filter(kpi__code=code):
        assert target.set_by, f"{code} {target.kind} cites nothing"


def test_expired_targets_belong_to_the_previous_strategy(catalogue_data):
    expired = Target.objects.filter(kind="expired")
    assert expired.exists()
    assert set(expired.values_list("source_document__code", flat=True)) == {PREVIOUS}


def test_national_totals_are_never_place_targets(catalogue_data):
    national = Target.objects.filter(kind="national_contribution")
    assert national.count() >= 4
    assert not national.exclude(place=None).exists()


@pytest.mark.parametrize(
    "code",
    [
        "SMI-EXCESS-U75-MORTALITY",
        "SMHS-EMPLOYMENT-GAP",
        "SMHS-STABLE-ACCOMMODATION",
        "SELF-HARM-ADMISSIONS",
        "SELF-HARM-ADMISSIONS-10-24",
        "CYP-ACCESS",
        "PERINATAL-ACCESS",
        "TT-RELIABLE-RECOVERY",
    ],
)
def test_the_documents_measures_are_in_the_catalogue(catalogue_data, code):
    assert Kpi.objects.filter(code=code).exists()


def test_recovery_and_reliable_recovery_are_separate_and_defined_as_nhs_england_does(
    catalogue_data,
):
    recovery = Kpi.objects.get(code="TT-RECOVERY")
    reliable = Kpi.objects.get(code="TT-RELIABLE-RECOVERY")
    assert recovery.pk != reliable.pk
    assert "caseness" in recovery.denominator.lower()
    assert "finishing a course of treatment" in recovery.denominator.lower()
    assert "minus" in recovery.denominator.lower()


def test_first_outcome_is_measured_by_ons_wellbeing(catalogue_data):
    wellbeing = Kpi.objects.filter(outcomes__code="O1", code__startswith="WELLBEING-")
    assert wellbeing.count() == 4
    assert set(wellbeing.values_list("lived_experience", flat=True)) == {True}


def test_trust_level_survey_measures_are_provider_based(catalogue_data):
    for kpi in Kpi.objects.filter(source_publisher="CQC"):
        assert kpi.geography_basis == "provider"
        assert kpi.lived_experience


def test_reloading_the_catalogue_restores_its_public_wording(catalogue_data):
    from django.conf import settings

    from kpis.services.catalogue import catalogue_load

    Kpi.objects.filter(code="SUICIDE-RATE").update(description="Edited", public_caveats="")
    catalogue_load(directory=settings.FIXTURES_DIR / "kpis")
    kpi = Kpi.objects.get(code="SUICIDE-RATE")
    assert kpi.description.startswith("Deaths from suicide for every 100,000 people")
    # The catalogue lists caveats one by one; they are stored one paragraph each.
    caveats = kpi.public_caveats.split("\n\n")
    assert len(caveats) == 5 and caveats[0].startswith("Deaths are counted in the year")
    national = kpi.targets.get(kind="national_contribution")
    assert national.public_text.startswith("Working towards a national 10% reduction in suicides")
    # The provenance notes are kept, for the internal side.
    assert "Fingertips indicator ID 41001 confirmed" in kpi.source_note
    assert national.note.startswith("National reduction (the plans give no baseline year)")


def test_catalogue_loads_idempotently(catalogue_data):
    from django.conf import settings

    from kpis.services.catalogue import catalogue_load

    before = (Kpi.objects.count(), Target.objects.count(), Deliverable.objects.count())
    catalogue_load(directory=settings.FIXTURES_DIR / "kpis")
    assert (Kpi.objects.count(), Target.objects.count(), Deliverable.objects.count()) == before
