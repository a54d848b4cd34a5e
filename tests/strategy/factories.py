"""factory-boy factories of the strategy app's models: valid defaults, parents made as needed.

Codes and names come from sequences, so rows never clash with the transcribed fixtures that
the test database already holds. ``.build()`` makes unsaved objects where no row is needed.
"""

import factory
from django.contrib.auth.models import Group

from strategy.access import Action, Role, roles_can
from strategy.models import (
    Area,
    GeographyBasis,
    Organisation,
    Place,
    PlaceGrant,
    PlaceMembership,
    SourceDocument,
    User,
)

PASSWORD = "correct horse battery staple"


class SourceDocumentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SourceDocument

    code = factory.Sequence(lambda n: f"source-{n}")
    title = factory.Sequence(lambda n: f"Source document {n}")
    publisher = "NHS England"


class OrganisationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organisation

    code = factory.Sequence(lambda n: f"org-{n}")
    name = factory.Sequence(lambda n: f"Organisation {n}")
    kind = Organisation.Kind.LOCAL_AUTHORITY


class AreaFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Area

    gss_code = factory.Sequence(lambda n: f"E07{n:06d}")
    name = factory.Sequence(lambda n: f"District {n}")
    official_name = factory.LazyAttribute(lambda area: f"{area.name} District Council")
    kind = Area.Kind.DISTRICT


class PlaceFactory(factory.django.DjangoModelFactory):
    """A council on the resident basis, within SET."""

    class Meta:
        model = Place

    code = factory.Sequence(lambda n: f"place-{n}")
    name = factory.Sequence(lambda n: f"Place {n}")
    kind = Place.Kind.COUNCIL
    geography_basis = GeographyBasis.RESIDENT


class PlaceMembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PlaceMembership

    place = factory.SubFactory(PlaceFactory)
    area = factory.SubFactory(AreaFactory)


class UserFactory(factory.django.DjangoModelFactory):
    """A user; ``roles=[Role...]`` puts them in those role groups (administrators are staff, as
    ``user_create`` makes them) and ``places=[place, ...]`` grants them those places."""

    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user-{n}")
    email = factory.LazyAttribute(lambda user: f"{user.username}@example.org")
    password = factory.django.Password(PASSWORD)

    @factory.post_generation
    def roles(user, create, roles: list[Role] | None, **kwargs):
        if not create or not roles:
            return
        names = [Role(role).value for role in roles]
        user.groups.set([Group.objects.get_or_create(name=name)[0] for name in names])
        if roles_can(names, Action.USE_ADMIN):
            user.is_staff = user.is_superuser = True
            user.save(update_fields=["is_staff", "is_superuser"])

    @factory.post_generation
    def places(user, create, places: list[Place] | None, **kwargs):
        if not create or not places:
            return
        for place in places:
            PlaceGrant.objects.create(user=user, place=place)


class PlaceGrantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PlaceGrant

    user = factory.SubFactory(UserFactory, roles=[Role.PLACE_LEAD])
    place = factory.SubFactory(PlaceFactory)
