"""factory-boy factories of the KPI framework's models: valid defaults, parents made as needed.

Codes come from sequences, so rows never clash with the catalogue the test database already
holds; breakdowns and periods are looked up by their natural keys before being created.
``.build()`` makes unsaved objects where no row is needed.
"""

import hashlib
from datetime import timedelta
from decimal import Decimal

import factory
from django.utils import timezone

from kpis import periods
from kpis.models import (
    Assessment,
    BaselineRule,
    Breakdown,
    Combinability,
    Direction,
    DisclosureRule,
    Frequency,
    Kpi,
    NationalPublication,
    Observation,
    Period,
    PeriodType,
    Release,
    ReturnRow,
    ReturnUpload,
    Series,
    Statistic,
    TimeStructure,
    VerdictRuleTable,
)
from strategy.models import Cohort, GeographyBasis
from tests.strategy.factories import PlaceFactory, UserFactory


class DisclosureRuleFactory(factory.django.DjangoModelFactory):
    """A publisher's rule suppressing counts under 5."""

    class Meta:
        model = DisclosureRule

    code = factory.Sequence(lambda n: f"rule-{n}")
    publisher = "NHS England"
    description = "Counts under 5 are suppressed."
    min_count = 5
    zero_shown = True


class KpiFactory(factory.django.DjangoModelFactory):
    """A quarterly proportion (per cent), higher is better, reported by council."""

    class Meta:
        model = Kpi

    code = factory.Sequence(lambda n: f"KPI-{n}")
    title = factory.Sequence(lambda n: f"KPI {n}")
    description = "The share of people seen on time."
    cohort = Cohort.ADULTS
    statistic = Statistic.PROPORTION
    numerator = "People seen on time."
    denominator = "People referred."
    multiplier = Decimal(100)
    unit = "%"
    direction = Direction.HIGHER_IS_BETTER
    time_structure = TimeStructure.DISCRETE
    frequency = Frequency.QUARTERLY
    period_type = PeriodType.QUARTER
    geography_basis = GeographyBasis.RESIDENT
    lowest_level = "council"
    combinability = Combinability.RATIO_OF_SUMS
    valid_min = Decimal(0)
    valid_max = Decimal(100)
    disclosure_rule = factory.SubFactory(DisclosureRuleFactory)
    source_publisher = "NHS England"
    source_dataset = "Mental Health Services Data Set"
    baseline_rule = BaselineRule.FIRST_AVAILABLE
    baseline_period_label = "First available period"


class BreakdownFactory(factory.django.DjangoModelFactory):
    """The "all people" total unless told otherwise; an existing category is reused."""

    class Meta:
        model = Breakdown
        django_get_or_create = ("dimension", "category")

    dimension = Breakdown.Dimension.ALL
    category = "all"
    label = factory.LazyAttribute(lambda b: "All people" if b.category == "all" else b.category)


class PeriodFactory(factory.django.DjangoModelFactory):
    """A period from its canonical label (financial years by default); an existing one is
    reused."""

    class Meta:
        model = Period
        django_get_or_create = ("label",)

    class Params:
        spec = factory.LazyAttribute(lambda p: periods.parse_period(p.label))

    label = factory.Sequence(lambda n: f"{2000 + n % 60}-{(2001 + n % 60) % 100:02d}")
    type = factory.LazyAttribute(lambda p: p.spec.type)
    start = factory.LazyAttribute(lambda p: p.spec.start)
    end = factory.LazyAttribute(lambda p: p.spec.end)


class SeriesFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Series

    kpi = factory.SubFactory(KpiFactory)
    place = factory.SubFactory(PlaceFactory)
    breakdown = factory.SubFactory(BreakdownFactory)


class ObservationFactory(factory.django.DjangoModelFactory):
    """The first, current version of a value: 30 of 60, 50%; not approved."""

    class Meta:
        model = Observation

    series = factory.SubFactory(SeriesFactory)
    period = factory.SubFactory(PeriodFactory)
    version = 1
    is_current = True
    numerator = Decimal(30)
    denominator = Decimal(60)
    value = Decimal(50)
    recorded_at = factory.LazyFunction(timezone.now)


class NationalPublicationFactory(factory.django.DjangoModelFactory):
    """An imported publisher's file, by an analyst, just now."""

    class Meta:
        model = NationalPublication

    publisher = "fingertips"
    original_name = factory.Sequence(lambda n: f"indicators-{n}.csv")
    checksum = factory.Sequence(lambda n: hashlib.sha256(f"publication {n}".encode()).hexdigest())
    imported_by = factory.SubFactory(UserFactory)
    imported_at = factory.LazyFunction(timezone.now)


class ReleaseFactory(factory.django.DjangoModelFactory):
    """A release announced now for a week ahead, not yet published."""

    class Meta:
        model = Release

    title = factory.Sequence(lambda n: f"Release {n}")
    announced_at = factory.LazyFunction(timezone.now)
    scheduled_for = factory.LazyAttribute(lambda r: r.announced_at + timedelta(days=7))


RETURN_CSV = (
    b"kpi_code,place_code,period,breakdown,numerator,denominator,value,marker,comment\n"
    b"EIP-2WK,southend,2023-24 Q2,,45,60,75,,\n"
)


class ReturnUploadFactory(factory.django.DjangoModelFactory):
    """A quarterly return just received, its file stored; each has its own checksum."""

    class Meta:
        model = ReturnUpload

    class Params:
        content = factory.Sequence(lambda n: RETURN_CSV + f"# upload {n}\n".encode())

    kind = ReturnUpload.Kind.QUARTERLY
    original_name = "return.csv"
    file = factory.django.FileField(filename="return.csv", data=factory.SelfAttribute("..content"))
    checksum = factory.LazyAttribute(lambda u: hashlib.sha256(u.content).hexdigest())
    size = factory.LazyAttribute(lambda u: len(u.content))
    uploaded_by = factory.SubFactory(UserFactory)
    uploaded_at = factory.LazyFunction(timezone.now)


class ReturnRowFactory(factory.django.DjangoModelFactory):
    """A validated row of an upload, staged until the return is approved."""

    class Meta:
        model = ReturnRow

    upload = factory.SubFactory(ReturnUploadFactory, state=ReturnUpload.State.VALIDATED)
    row = 3
    series = factory.SubFactory(SeriesFactory)
    period = factory.SubFactory(PeriodFactory)
    numerator = Decimal(30)
    denominator = Decimal(60)
    value = Decimal(50)


class VerdictRuleTableFactory(factory.django.DjangoModelFactory):
    """An inactive version of the verdict rules (one table is active at a time)."""

    class Meta:
        model = VerdictRuleTable

    version = factory.Sequence(lambda n: 1000 + n)
    rules = factory.LazyFunction(
        lambda: [{"when": {}, "verdict": "no_significant_change", "reason": "flat"}]
    )
    is_active = False


class AssessmentFactory(factory.django.DjangoModelFactory):
    """An internal assessment of one value, 30 of 60, with every statistic worked out (the
    model's float fields are nullable but not blank, so ``full_clean`` wants each)."""

    class Meta:
        model = Assessment

    series = factory.SubFactory(SeriesFactory)
    period = factory.SubFactory(PeriodFactory)
    scope = Assessment.Scope.INTERNAL
    value = 50.0
    numerator = 30.0
    denominator = 60.0
    lower95 = 37.7
    upper95 = 62.3
    lower998 = 31.0
    upper998 = 69.0
    interval_method = "wilson"
    baseline_label = "2020-21"
    baseline_value = 45.0
    change = 5.0
    change_lower = -12.0
    change_upper = 22.0
    change_method = "newcombe"
    change_category = "no_significant_change"
    spc_mean = 48.0
    spc_lower_limit = 30.0
    spc_upper_limit = 66.0
    spc_point_type = "common_cause"
    target_kind = "threshold"
    target_value = 60.0
    progress_share = 0.5
    progress_status = "off_track"
    periods_met_share = 0.0
    planned_value = 55.0
    trend_projection = 52.0
    trend_lower = 40.0
    trend_upper = 64.0
    verdict = "no_significant_change"
    rule_table = factory.SubFactory(VerdictRuleTableFactory)
    computed_at = factory.LazyFunction(timezone.now)
