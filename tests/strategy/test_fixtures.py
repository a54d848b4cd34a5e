"""The transcribed fixtures, checked against the source documents."""

import os
import re

import pytest

from strategy.models import (
    Action,
    Area,
    NarrativePopulation,
    Outcome,
    Place,
    Priority,
    Strategy,
    WhatMatters,
)

# The 46 priorities as printed in the strategy (001_...txt), in order, slips included.
EXPECTED_PRIORITIES = {
    "A-PEI-01": "Provide information and support on wellbeing and managing risks to mental health to help people to maintain good mental and physical health. This could be from non-clinical voluntary services as well as formal services.",  # noqa: E501
    "A-PEI-02": "Ensure people have access to local community-based support for their mental health throughout their lives. This should include integrated therapies, especially for people who have complex needs and/ or are particularly vulnerable.",  # noqa: E501
    "A-PEI-03": "Ensure people with severe mental illness receive a full annual health check and follow-up interventions",  # noqa: E501
    "A-PEI-04": "Improve access to adult eating disorder services",
    "A-PEI-05": "Increase access to specialist perinatal mental health care for all new and expectant mothers",  # noqa: E501
    "A-PEI-06": "Review mental health support for older people recognising the need to support carers, and the impact of social isolation and loneliness",  # noqa: E501
    "A-PEI-07": "Improve coordination of support for people through key life transitions especially for 18-25 year olds.",  # noqa: E501
    "A-PEI-08": "Embed a 'think family' approach to consider and support the needs of a whole family around a person",  # noqa: E501
    "A-ACS-01": "Improve pathways and access to community-based support during a mental health crisis to avoid escalation and/ or inpatient admission.",  # noqa: E501
    "A-ACS-02": "Ensure prompt access to good quality first response care in an emergency that includes mental health assessment and support",  # noqa: E501
    "A-ACS-03": "Improve safety of mental health inpatient environments",
    "A-ACS-04": "Reduce hospital admissions for mental health conditions, including emergency admissions for self-harm, through improved community support",  # noqa: E501
    "A-ACS-05": "Reduce time spent in inappropriate out of area placements by adults needing non-specialist mental health inpatient care",  # noqa: E501
    "A-SR-01": "Improve access to effective Talking Therapies for everyone who needs support",
    "A-SR-02": "Improve access to integrated, holistic and recovery-focused mental health support for adults with severe mental illness",  # noqa: E501
    "A-SR-03": "Develop supported accommodation in the community to support timely discharge from hospital settings",  # noqa: E501
    "A-SR-04": "Improve and embed integrated pathways to access housing, education, employment, self directed support and skills, particularly for people severe mental illness",  # noqa: E501
    "A-SR-05": "Work with local employers and partners to develop suitable opportunities and roles for people with severe mental illness",  # noqa: E501
    "C-PEI-01": "Improve access to wellbeing advice and support in communities and schools",
    "C-PEI-02": "Improve access to FREED (first episode rapid early intervention for eating disorders) and for ARFID (Avoidant restrictive food intake disorder)",  # noqa: E501
    "C-PEI-03": "Improve access to trauma informed services through communities or schools",
    "C-PEI-04": "Improve access to infant mental health services",
    "C-PEI-05": "Increase access to CAMHS (Children and Adolescent Mental Health Services).",
    "C-PEI-06": "Increase access to health and justice mental health provision",
    "C-PEI-07": "Increase provision of mental health in schools teams across Essex",
    "C-PEI-08": "Continue expansion of non-clinical services to support prevention and a wider determinant of health approach to children, young people, and their families/carers",  # noqa: E501
    "C-PEI-09": "Embed a 'think family' approach to consider and support the needs of a whole family around a child",  # noqa: E501
    "C-PEI-10": "Develop digital support for children and young people's mental health",
    "C-PEI-11": "Develop mental health workers in primary care",
    "C-ACS-01": "Improve access to intensive support in the community",
    "C-ACS-02": "Improve access to the crisis team from hospital or home",
    "C-ACS-03": "Ensure 24/7 access to crisis care and support and continue to develop these services",  # noqa: E501
    "C-ACS-04": "Reduce hospital admissions, especially for those with mental health and learning disabilities/autism",  # noqa: E501
    "C-ACS-05": "Reduce length of stays (where appropriate) for inpatients",
    "C-ACS-06": "Integrate mental health services for children and young people with acute trusts",  # noqa: E501
    "C-ACS-07": "Reduce hospital admissions for self-harm by rolling out the self-harm tool kit to schools and other settings",  # noqa: E501
    "C-ACS-08": "Expand of the community mental health and CYP learning disability and neurodevelopment team",  # noqa: E501
    "C-ACS-09": "Mobilise at risk mental health state (ARMS) teams",
    "C-SR-01": "Increase access and choice of support and treatment options for young people",
    "C-SR-02": "Increase pathways to support the Young Adults 18-25 Transition",
    "C-SR-03": "Increase 'step down' services from more intensive to less intensive support",
    "C-SR-04": "Improve access to home feeding support teams for eating disorders",
    "C-SR-05": "Improve integrated pathways to access education, training, and employment",
    "C-SR-06": "Increase access to digital support",
    "C-SR-07": "Increase non-clinical support for recovery programmes",
    "C-SR-08": "Support children to stay with their families whilst receiving services so that less children with mental health needs entering the care system",  # noqa: E501
}

# The only mend: a hyphen lost at a line break. Undoing it gives the converted text back.
UNDO_MENDS = {"A-PEI-02": ("community-based", "communitybased")}


def _normalise(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


@pytest.fixture(scope="module")
def strategy_text(seeds_dir) -> str:
    source = seeds_dir / "001_12f75d5dd35d34ec.txt"
    if not source.exists() and not os.environ.get("CI"):
        # A clone on its own lacks the documents; CI has them, and there this fails instead.
        pytest.skip(f"the strategy's source document is not at {source}")
    return _normalise(source.read_text(encoding="utf-8"))


def test_all_46_priorities_are_verbatim_and_in_document_order(strategy_data):
    priorities = Priority.objects.filter(strategy__code="set-2023-28").order_by("id")
    assert {p.code: p.text for p in priorities} == EXPECTED_PRIORITIES
    adults = list(
        Priority.objects.filter(strategy__code="set-2023-28", cohort="adults")
        .order_by("position")
        .values_list("code", flat=True)
    )
    assert adults == [c for c in EXPECTED_PRIORITIES if c.startswith("A-")]


def test_each_priority_appears_in_the_strategy_document(strategy_data, strategy_text):
    for priority in Priority.objects.filter(strategy__code="set-2023-28"):
        text = priority.text
        if priority.code in UNDO_MENDS:
            mended, original = UNDO_MENDS[priority.code]
            assert priority.mends, f"{priority.code} is mended but lists no mend"
            text = text.replace(mended, original)
        else:
            assert priority.mends == []
        assert _normalise(text) in strategy_text, priority.code


def test_priority_counts_by_cohort_and_theme(strategy_data):
    counts = {}
    for cohort, theme in Priority.objects.filter(strategy__code="set-2023-28").values_list(
        "cohort", "theme__code"
    ):
        counts[(cohort, theme)] = counts.get((cohort, theme), 0) + 1
    assert counts == {
        ("adults", "prevention-early-intervention"): 8,
        ("adults", "acute-crisis"): 5,
        ("adults", "supporting-recovery"): 5,
        ("cyp", "prevention-early-intervention"): 11,
        ("cyp", "acute-crisis"): 9,
        ("cyp", "supporting-recovery"): 8,
    }


def test_vision_outcomes_and_statements_come_from_the_document(strategy_data, strategy_text):
    strategy = Strategy.objects.get(code="set-2023-28")
    assert strategy.vision.startswith("To promote good emotional and mental health for everyone")
    assert _normalise(strategy.vision) in strategy_text
    assert list(Outcome.objects.filter(strategy=strategy).values_list("text", flat=True)) == [
        "Improved wellbeing levels across Southend, Essex and Thurrock population",
        "Reduced health inequalities",
        "Reduced premature mortality for people with serious mental illness",
    ]
    statements = WhatMatters.objects.filter(strategy=strategy)
    assert statements.count() == 7
    assert Action.objects.filter(strategy=strategy).count() == 12
    for statement in [*statements, *Action.objects.filter(strategy=strategy)]:
        assert _normalise(statement.text) in strategy_text
    assert (strategy.period_start.isoformat(), strategy.period_end.isoformat()) == (
        "2023-04-01",
        "2028-03-31",
    )


def test_previous_strategy_is_loaded_and_expired(strategy_data):
    previous = Strategy.objects.get(code="essex-mh-2017-21")
    assert previous.period_end.isoformat() == "2021-03-31"
    assert previous.deliverables.exists()
    assert set(previous.deliverables.values_list("status", flat=True)) == {"expired"}


EXPECTED_AREAS = {
    "E07000066": "Basildon",
    "E07000067": "Braintree",
    "E07000068": "Brentwood",
    "E07000069": "Castle Point",
    "E07000070": "Chelmsford",
    "E07000071": "Colchester",
    "E07000072": "Epping Forest",
    "E07000073": "Harlow",
    "E07000074": "Maldon",
    "E07000075": "Rochford",
    "E07000076": "Tendring",
    "E07000077": "Uttlesford",
    "E06000033": "Southend-on-Sea",
    "E06000034": "Thurrock",
}


def _areas(code: str) -> set[str]:
    return set(Place.objects.get(code=code).areas.values_list("gss_code", flat=True))


def test_areas_have_their_gss_codes_and_source_spellings(strategy_data):
    assert dict(Area.objects.values_list("gss_code", "name")) == EXPECTED_AREAS
    assert "Epping Forrest" in Area.objects.get(gss_code="E07000072").aliases


def test_set_is_the_three_councils_and_the_six_alliances(strategy_data):
    everything = set(EXPECTED_AREAS)
    assert _areas("set") == everything
    councils = [_areas(c) for c in ("essex", "southend", "thurrock")]
    assert set().union(*councils) == everything
    assert sum(len(c) for c in councils) == 14  # disjoint
    alliances = Place.objects.filter(kind="alliance")
    assert alliances.count() == 6
    alliance_sets = [_areas(a.code) for a in alliances]
    assert set().union(*alliance_sets) == everything
    assert sum(len(a) for a in alliance_sets) == 14  # a partition
    assert _areas("alliance-south-east-essex") == {"E06000033", "E07000069", "E07000075"}
    assert _areas("alliance-mid-essex") == {"E07000070", "E07000067", "E07000074"}
    assert _areas("alliance-west-essex") == {"E07000072", "E07000073", "E07000077"}
    assert _areas("alliance-north-east-essex") == {"E07000071", "E07000076"}
    assert _areas("alliance-basildon-brentwood") == {"E07000066", "E07000068"}
    assert _areas("essex") == everything - {"E06000033", "E06000034"}


def test_only_mid_and_south_essex_ics_is_a_sum_of_alliances(strategy_data):
    mse = _areas("ics-mse")
    assert mse == (
        _areas("alliance-thurrock")
        | _areas("alliance-south-east-essex")
        | _areas("alliance-basildon-brentwood")
        | _areas("alliance-mid-essex")
    )
    for whole, part in (("ics-hwe", "ics-hwe-set-part"), ("ics-snee", "ics-snee-set-part")):
        place = Place.objects.get(code=whole)
        assert place.within_set is False
        assert place.set_part.code == part
        assert not place.areas.exists()
    assert _areas("ics-hwe-set-part") == _areas("alliance-west-essex")
    assert _areas("ics-snee-set-part") == _areas("alliance-north-east-essex")
    assert Place.objects.get(code="ics-mse").valid_from.isoformat() == "2022-07-01"
    assert Place.objects.get(code="ccg-99g").valid_to.isoformat() == "2022-06-30"


def test_appendix_populations_are_narrative_with_their_source(strategy_data):
    figures = dict(NarrativePopulation.objects.values_list("place__code", "figure"))
    assert figures == {
        "alliance-thurrock": 178000,
        "southend": 183000,
        "alliance-basildon-brentwood": 264000,
        "alliance-mid-essex": 402000,
        "alliance-west-essex": 319000,
        "alliance-north-east-essex": 341000,
    }
    assert set(NarrativePopulation.objects.values_list("source__code", flat=True)) == {
        "set-mh-strategy-2023-28"
    }


def test_loading_twice_changes_nothing(strategy_data):
    from django.conf import settings

    from strategy.services import strategy_fixtures_load

    before = {m.__name__: m.objects.count() for m in (Priority, Place, Area, NarrativePopulation)}
    again = strategy_fixtures_load(directory=settings.FIXTURES_DIR / "strategy")
    after = {m.__name__: m.objects.count() for m in (Priority, Place, Area, NarrativePopulation)}
    assert before == after
    assert again.counts == strategy_data.counts


def test_previous_strategy_numeric_targets_are_kept_as_expired(strategy_data):
    from strategy.models import Deliverable

    targets = {
        d.code: (float(d.target_value), d.target_unit, d.status)
        for d in Deliverable.objects.filter(strategy__code="essex-mh-2017-21").exclude(
            target_value=None
        )
    }
    # 000: "Ensuring 50% of people with first episode of psychosis get the right treatment
    # within 2 weeks"; "at least 25% of people with depression/anxiety have access by 2020-21";
    # "at least 40% of patients now ending up in specialist services are getting the right help
    # in a primary care setting"; "Eliminating out of area hospital placements".
    assert targets["ESX1721-19"] == (50.0, "%", "expired")
    assert targets["ESX1721-20"] == (25.0, "%", "expired")
    assert targets["ESX1721-22"] == (40.0, "%", "expired")
    assert targets["ESX1721-28"] == (0.0, "count", "expired")
    assert "first episode of psychosis" in Deliverable.objects.get(code="ESX1721-19").title


def test_long_term_plan_numbers_are_national_totals_not_place_targets(strategy_data):
    from strategy.models import Deliverable

    ltp = Deliverable.objects.filter(code__startswith="LTP-").exclude(target_value=None)
    assert ltp.count() >= 4
    assert set(ltp.values_list("target_scope", flat=True)) == {"national_total"}
    assert ltp.get(code="LTP-WE-05").target_value == 55000  # IPS, 55,000 people nationally


def test_system_partners_are_the_documents_list(strategy_data):
    from strategy.models import Organisation

    partners = set(Organisation.objects.filter(system_partner=True).values_list("code", flat=True))
    assert partners == {"MSE-ICB", "HWE-ICB", "SNEE-ICB", "SCC", "ECC", "TC", "EP", "EPUT", "NELFT"}
    assert Organisation.objects.get(code="EPUT").ods_code == "R1L"
    assert Organisation.objects.get(code="VCSE").kind == "vcse"
