"""Each factory makes a valid row (``full_clean`` passes) with its parents, and builds
without touching the database."""

import pytest

from kpis.models import Assessment, Observation, Period, ReturnUpload, Series
from strategy.access import Action, Role, user_can
from strategy.models import PlaceGrant
from tests.kpis import factories as kpis_factories
from tests.kpis.factories import (
    AssessmentFactory,
    BreakdownFactory,
    DisclosureRuleFactory,
    KpiFactory,
    NationalPublicationFactory,
    ObservationFactory,
    PeriodFactory,
    ReleaseFactory,
    ReturnRowFactory,
    ReturnUploadFactory,
    SeriesFactory,
    VerdictRuleTableFactory,
)
from tests.strategy import factories as strategy_factories
from tests.strategy.factories import (
    PASSWORD,
    AreaFactory,
    OrganisationFactory,
    PlaceFactory,
    PlaceGrantFactory,
    PlaceMembershipFactory,
    SourceDocumentFactory,
    UserFactory,
)

EVERY_FACTORY = [
    SourceDocumentFactory,
    OrganisationFactory,
    AreaFactory,
    PlaceFactory,
    PlaceMembershipFactory,
    UserFactory,
    PlaceGrantFactory,
    DisclosureRuleFactory,
    KpiFactory,
    BreakdownFactory,
    PeriodFactory,
    SeriesFactory,
    ObservationFactory,
    NationalPublicationFactory,
    ReleaseFactory,
    ReturnUploadFactory,
    ReturnRowFactory,
    VerdictRuleTableFactory,
    AssessmentFactory,
]


def test_every_factory_of_the_factory_modules_is_checked_here():
    defined = {
        value
        for module in (strategy_factories, kpis_factories)
        for name, value in vars(module).items()
        if name.endswith("Factory") and value.__module__ == module.__name__
    }
    assert defined == set(EVERY_FACTORY)


@pytest.mark.parametrize("factory", EVERY_FACTORY, ids=lambda f: f.__name__)
def test_each_factory_creates_a_valid_row(db, factory):
    made = factory()
    made.full_clean()
    model = factory._meta.model
    assert model.objects.filter(pk=made.pk).exists()


@pytest.mark.parametrize("factory", EVERY_FACTORY, ids=lambda f: f.__name__)
def test_each_factory_builds_without_a_row(factory):
    built = factory.build()  # no db fixture: any query would fail the test
    assert built.pk is None
    assert isinstance(built, factory._meta.model)


def test_two_rows_of_a_factory_do_not_clash(db):
    for factory in (PlaceFactory, KpiFactory, UserFactory, ReturnUploadFactory, ReleaseFactory):
        first, second = factory(), factory()
        assert first.pk != second.pk


def test_a_user_gets_roles_and_grants_and_administrators_are_staff(db):
    place = PlaceFactory()
    lead = UserFactory(roles=[Role.PLACE_LEAD], places=[place])
    assert set(lead.groups.values_list("name", flat=True)) == {Role.PLACE_LEAD.value}
    assert PlaceGrant.objects.get(user=lead).place == place
    assert user_can(lead, Action.UPLOAD_RETURN, place) and not lead.is_staff
    assert lead.check_password(PASSWORD)
    admin = UserFactory(roles=[Role.ADMINISTRATOR])
    assert admin.is_staff and admin.is_superuser and user_can(admin, Action.USE_ADMIN)
    assert not UserFactory().groups.exists()


def test_a_grant_is_for_a_place_lead(db):
    grant = PlaceGrantFactory()
    assert user_can(grant.user, Action.UPLOAD_RETURN, grant.place)


def test_parents_are_made_and_natural_keys_reused(db):
    observation = ObservationFactory(period__label="2023-24 Q2")
    assert Observation.objects.get(pk=observation.pk).series.breakdown.category == "all"
    assert (observation.period.type, str(observation.period.start)) == ("quarter", "2023-07-01")
    again = ObservationFactory(
        series=observation.series, period__label="2023-24 Q2", version=2, is_current=False
    )
    assert again.period == observation.period
    assert Period.objects.filter(label="2023-24 Q2").count() == 1
    assert Series.objects.filter(pk=observation.series.pk).count() == 1
    assert BreakdownFactory().pk == observation.series.breakdown.pk


def test_an_uploads_file_holds_the_bytes_its_checksum_is_of(db):
    import hashlib

    upload = ReturnUploadFactory()
    with upload.file.open("rb") as handle:
        content = handle.read()
    assert hashlib.sha256(content).hexdigest() == upload.checksum
    assert len(content) == upload.size
    assert ReturnUpload.objects.get(pk=upload.pk).state == ReturnUpload.State.RECEIVED


def test_an_assessment_is_internal_and_its_rule_table_inactive(db):
    assessment = AssessmentFactory()
    assert Assessment.objects.filter(scope="internal", pk=assessment.pk).exists()
    assert not assessment.rule_table.is_active
    assert ReleaseFactory().published_at is None
