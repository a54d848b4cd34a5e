"""Writes for the strategy app: loading the transcribed fixtures, users and deliverable updates."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from .access import Action as AccessAction
from .access import Role, roles_can, user_can
from .models import (
    Action,
    Area,
    Deliverable,
    DeliverableUpdate,
    FocusArea,
    NarrativePopulation,
    Need,
    Organisation,
    Outcome,
    Place,
    PlaceGrant,
    PlaceMembership,
    Priority,
    SourceDocument,
    Strategy,
    Theme,
    User,
    WhatMatters,
)

STRATEGY_FILES = ("essex-2017-21.yaml", "set-2023-28.yaml")
STATEMENT_MODELS = {
    "outcomes": Outcome,
    "what_matters": WhatMatters,
    "needs": Need,
    "actions": Action,
    "focus_areas": FocusArea,
}


@dataclass
class LoadReport:
    """How many records each fixture section holds after loading."""

    counts: dict[str, int] = field(default_factory=dict)

    def add(self, name: str, n: int) -> None:
        self.counts[name] = self.counts.get(name, 0) + n


def read_yaml(path: Path) -> dict:
    with path.open(encoding="utf-8") as handle:
        return yaml.safe_load(handle) or {}


def upsert_by_natural_key(model, lookup: dict, values: dict):
    """Create or update one row by its natural key, validating before it is saved."""
    obj = model.objects.filter(**lookup).first() or model(**lookup)
    for name, value in values.items():
        setattr(obj, name, value)
    obj.full_clean(validate_unique=False, validate_constraints=False)
    obj.save()
    return obj


def text_or_blank(value) -> str:
    return "" if value is None else str(value)


def sources_load(*, data: dict, report: LoadReport) -> None:
    """Upsert the registry of source documents."""
    for row in data["sources"]:
        upsert_by_natural_key(
            SourceDocument,
            {"code": row["code"]},
            {
                "title": row["title"],
                "publisher": text_or_blank(row.get("publisher")),
                "version": text_or_blank(row.get("version")),
                "published_on": row.get("published_on"),
                "period": text_or_blank(row.get("period")),
                "seed_file": text_or_blank(row.get("seed_file")),
                "url": text_or_blank(row.get("url")),
            },
        )
    report.add("sources", len(data["sources"]))


def organisations_load(*, data: dict, report: LoadReport) -> None:
    """Upsert partner organisations."""
    sources = {s.code: s for s in SourceDocument.objects.all()}
    for row in data["organisations"]:
        upsert_by_natural_key(
            Organisation,
            {"code": row["code"]},
            {
                "name": row["name"],
                "short_name": text_or_blank(row.get("short_name")),
                "kind": row["kind"],
                "ods_code": text_or_blank(row.get("ods_code")),
                "system_partner": bool(row.get("system_partner")),
                "role": text_or_blank(row.get("role")),
                "aliases": row.get("aliases") or [],
                "source": sources.get(row.get("source")),
            },
        )
    report.add("organisations", len(data["organisations"]))


def strategy_load(*, data: dict, report: LoadReport) -> Strategy:
    """Upsert one strategy with its statements, themes and priorities."""
    head = data["strategy"]
    strategy = upsert_by_natural_key(
        Strategy,
        {"code": head["code"]},
        {
            "title": head["title"],
            "period_start": head["period_start"],
            "period_end": head["period_end"],
            "vision": text_or_blank(head.get("vision")),
            "source": SourceDocument.objects.get(code=head["source"]),
        },
    )
    report.add("strategies", 1)
    for section, model in STATEMENT_MODELS.items():
        rows = data.get(section) or []
        for position, row in enumerate(rows, start=1):
            upsert_by_natural_key(
                model,
                {"strategy": strategy, "code": row["code"]},
                {"position": position, "text": row["text"], "mends": row.get("mends") or []},
            )
        report.add(section, len(rows))
    themes = {}
    for position, row in enumerate(data.get("themes") or [], start=1):
        themes[row["code"]] = upsert_by_natural_key(
            Theme,
            {"strategy": strategy, "code": row["code"]},
            {"position": position, "name": row["name"]},
        )
    report.add("themes", len(themes))
    rows = data.get("priorities") or []
    for position, row in enumerate(rows, start=1):
        upsert_by_natural_key(
            Priority,
            {"strategy": strategy, "code": row["code"]},
            {
                "theme": themes[row["theme"]],
                "cohort": row["cohort"],
                "position": position,
                "text": row["text"],
                "mends": row.get("mends") or [],
            },
        )
    report.add("priorities", len(rows))
    return strategy


def geography_load(*, data: dict, report: LoadReport) -> None:
    """Upsert areas, places, their memberships and the documents' narrative populations."""
    areas = {}
    for row in data["areas"]:
        areas[row["gss_code"]] = upsert_by_natural_key(
            Area,
            {"gss_code": row["gss_code"]},
            {
                "name": row["name"],
                "official_name": row["official_name"],
                "kind": row["kind"],
                "aliases": row.get("aliases") or [],
            },
        )
    report.add("areas", len(areas))
    places = {}
    # Parts first, so a whole place can point at its SET part.
    ordered = sorted(data["places"], key=lambda row: row.get("set_part") is not None)
    for row in ordered:
        place = upsert_by_natural_key(
            Place,
            {"code": row["code"]},
            {
                "name": row["name"],
                "kind": row["kind"],
                "geography_basis": row["geography_basis"],
                "gss_code": text_or_blank(row.get("gss_code")),
                "nhs_code": text_or_blank(row.get("nhs_code")),
                "valid_from": row.get("valid_from"),
                "valid_to": row.get("valid_to"),
                "within_set": row.get("within_set", True),
                "set_part": places.get(row.get("set_part")),
                "position": data["places"].index(row),
                "note": text_or_blank(row.get("note")),
            },
        )
        places[row["code"]] = place
        wanted = {areas[code].pk for code in row.get("areas") or []}
        PlaceMembership.objects.filter(place=place).exclude(area_id__in=wanted).delete()
        existing = set(
            PlaceMembership.objects.filter(place=place).values_list("area_id", flat=True)
        )
        PlaceMembership.objects.bulk_create(
            PlaceMembership(
                place=place,
                area_id=area_id,
                valid_from=row.get("valid_from"),
                valid_to=row.get("valid_to"),
            )
            for area_id in wanted - existing
        )
    report.add("places", len(places))
    source = SourceDocument.objects.get(code=data["narrative_population_source"])
    for row in data.get("narrative_populations") or []:
        upsert_by_natural_key(
            NarrativePopulation,
            {"place": places[row["place"]], "source": source},
            {"figure": row["figure"], "quoted_as": row["quoted_as"]},
        )
    report.add("narrative_populations", len(data.get("narrative_populations") or []))


def deliverables_load(*, data: dict, report: LoadReport) -> None:
    """Upsert deliverables and link them to the priorities they serve."""
    sources = {s.code: s for s in SourceDocument.objects.all()}
    strategies = {s.code: s for s in Strategy.objects.all()}
    organisations = {o.code: o for o in Organisation.objects.all()}
    priorities = {p.code: p for p in Priority.objects.filter(strategy__code="set-2023-28")}
    what_matters = {w.code: w for w in WhatMatters.objects.filter(strategy__code="set-2023-28")}
    rows = data.get("deliverables") or []
    for row in rows:
        unknown = [c for c in row.get("priorities") or [] if c not in priorities]
        if unknown:
            raise ValidationError(f"Deliverable {row['code']}: unknown priorities {unknown}")
        deliverable = upsert_by_natural_key(
            Deliverable,
            {"code": row["code"]},
            {
                "source": sources[row["source"]],
                "strategy": strategies.get(row.get("strategy")),
                "owner": organisations.get(row.get("owner")),
                "owner_unit": text_or_blank(row.get("owner_unit")),
                "section": text_or_blank(row.get("section")),
                "title": row["title"],
                "measures": row.get("measures") or [],
                "target_text": text_or_blank(row.get("target_text")),
                "target_value": row.get("target_value"),
                "target_unit": text_or_blank(row.get("target_unit")),
                "target_scope": text_or_blank(row.get("target_scope")),
                "due": row.get("due"),
                "status": row.get("status") or Deliverable.Status.NOT_STARTED,
                "mends": row.get("mends") or [],
                "note": text_or_blank(row.get("note")),
            },
        )
        deliverable.priorities.set([priorities[c] for c in row.get("priorities") or []])
        deliverable.what_matters.set([what_matters[c] for c in row.get("what_matters") or []])
    report.add("deliverables", len(rows))


@transaction.atomic
def strategy_fixtures_load(*, directory: Path) -> LoadReport:
    """Load every strategy fixture idempotently by natural keys; all or nothing."""
    report = LoadReport()
    sources_load(data=read_yaml(directory / "sources.yaml"), report=report)
    organisations_load(data=read_yaml(directory / "organisations.yaml"), report=report)
    for name in STRATEGY_FILES:
        strategy_load(data=read_yaml(directory / name), report=report)
    geography_load(data=read_yaml(directory / "geography.yaml"), report=report)
    deliverables_load(data=read_yaml(directory / "deliverables.yaml"), report=report)
    return report


def roles_ensure() -> None:
    """Create the role groups if they are missing."""
    for role in Role:
        Group.objects.get_or_create(name=role.value)


@transaction.atomic
def user_create(
    *,
    username: str,
    password: str,
    roles: list[Role],
    organisation: Organisation | None = None,
    places: list[Place] | None = None,
    email: str = "",
) -> User:
    """Create a user with roles and explicit place grants; administrators are staff."""
    user = User(username=username, email=email, organisation=organisation)
    # Administrators run the admin site; nobody else is staff. History stays read-only there
    # whatever the user's flags (ReadOnlyAdmin).
    user.is_staff = user.is_superuser = roles_can([r.value for r in roles], AccessAction.USE_ADMIN)
    user.set_password(password)
    user.full_clean()
    user.save()
    roles_ensure()
    user.groups.set(Group.objects.filter(name__in=[r.value for r in roles]))
    for place in places or []:
        PlaceGrant.objects.create(user=user, place=place)
    return user


DEMO_ACCOUNTS = (
    # username, role, organisation code, granted places
    ("sig", Role.SIG_MEMBER, "MSE-ICB", ()),
    ("placelead", Role.PLACE_LEAD, "SCC", ("southend",)),
    ("analyst", Role.ANALYST, "ECC", ()),
    ("admin", Role.ADMINISTRATOR, None, ()),
)


def demo_password(username: str) -> str:
    return f"demo-{username}-set2023"


def demo_accounts_ensure() -> list[tuple[str, str, str]]:
    """Create one demo account per role where missing; refused unless settings allow it."""
    from django.conf import settings
    from django.core.exceptions import ImproperlyConfigured

    if not settings.DEMO_ACCOUNTS_ALLOWED:
        raise ImproperlyConfigured("Demo accounts are not allowed with these settings.")
    roles_ensure()
    created = []
    for username, role, organisation_code, place_codes in DEMO_ACCOUNTS:
        if not User.objects.filter(username=username).exists():
            user_create(
                username=username,
                password=demo_password(username),
                roles=[role],
                organisation=Organisation.objects.filter(code=organisation_code).first(),
                places=list(Place.objects.filter(code__in=place_codes)),
            )
        created.append((username, demo_password(username), role.label))
    return created


def deliverable_update_may_post(user: User, deliverable: Deliverable) -> bool:
    """The deliverable's owner organisation's people, and the group, post its updates."""
    if not getattr(user, "is_authenticated", False):
        return False
    owner = deliverable.owner_id is not None and user.organisation_id == deliverable.owner_id
    return owner or user_can(user, AccessAction.UPDATE_DELIVERABLE)


@transaction.atomic
def deliverable_update_post(
    *, user: User, deliverable: Deliverable, status: str, note: str
) -> DeliverableUpdate:
    """Record an update: the deliverable takes its status; earlier updates stay as history."""
    if not deliverable_update_may_post(user, deliverable):
        raise PermissionDenied(
            "Updates are posted by the deliverable's owner and the Strategy Implementation Group."
        )
    if status not in Deliverable.Status.values or status == Deliverable.Status.EXPIRED:
        raise ValidationError("Choose not started, in progress or complete.")
    if not note.strip():
        raise ValidationError("Say what has happened: the update is the record.")
    update = DeliverableUpdate.objects.create(
        deliverable=deliverable,
        recorded_at=timezone.now(),
        status=status,
        note=note.strip(),
        author=user,
    )
    # A conditional update of the one field, never a whole-row save over others' changes.
    Deliverable.objects.filter(pk=deliverable.pk).update(status=status)
    return update
