"""The strategy as published, the geography it covers, and the people and organisations in it."""

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models import Q


class SourceDocument(models.Model):
    """A public document that transcribed records cite."""

    code = models.SlugField(max_length=64, unique=True)
    title = models.CharField(max_length=300)
    publisher = models.CharField(max_length=300, blank=True)
    version = models.CharField(max_length=20, blank=True)
    published_on = models.DateField(null=True, blank=True)
    period = models.CharField(max_length=40, blank=True)
    seed_file = models.CharField(max_length=100, blank=True)
    url = models.URLField(max_length=500, blank=True)

    class Meta:
        ordering = ["code"]

    def __str__(self):
        return self.title


class Organisation(models.Model):
    class Kind(models.TextChoices):
        LOCAL_AUTHORITY = "local_authority", "Local authority"
        ICB = "icb", "Integrated care board"
        NHS_TRUST = "nhs_trust", "NHS trust"
        POLICE = "police", "Police"
        VCSE = "vcse", "Voluntary, community and social enterprise"
        NATIONAL_BODY = "national_body", "National body"

    code = models.SlugField(max_length=32, unique=True)
    name = models.CharField(max_length=200)
    short_name = models.CharField(max_length=40, blank=True)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    ods_code = models.CharField(max_length=10, blank=True)
    system_partner = models.BooleanField(default=False)
    role = models.TextField(blank=True)
    aliases = models.JSONField(default=list, blank=True)
    contact_email = models.EmailField(blank=True, help_text="Named contact for return reminders.")
    source = models.ForeignKey(SourceDocument, null=True, blank=True, on_delete=models.PROTECT)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class User(AbstractUser):
    """A person; they belong to an organisation and act through roles (groups) and place grants."""

    organisation = models.ForeignKey(
        Organisation, null=True, blank=True, on_delete=models.PROTECT, related_name="users"
    )


class Strategy(models.Model):
    code = models.SlugField(max_length=40, unique=True)
    title = models.CharField(max_length=300)
    period_start = models.DateField(help_text="First day of the first financial year covered.")
    period_end = models.DateField(help_text="Last day of the last financial year covered.")
    vision = models.TextField(blank=True)
    source = models.ForeignKey(SourceDocument, on_delete=models.PROTECT)

    class Meta:
        verbose_name_plural = "strategies"
        ordering = ["-period_start"]
        constraints = [
            models.CheckConstraint(
                condition=Q(period_end__gt=models.F("period_start")), name="strategy_period_order"
            )
        ]

    def __str__(self):
        return self.title


class StrategyStatement(models.Model):
    """A numbered statement of a strategy, kept in the document's order and words."""

    strategy = models.ForeignKey(Strategy, on_delete=models.CASCADE)
    code = models.CharField(max_length=16)
    position = models.PositiveSmallIntegerField()
    text = models.TextField()
    mends = models.JSONField(
        default=list, blank=True, help_text="PDF-conversion breakage mended in the text, if any."
    )

    class Meta:
        abstract = True
        ordering = ["position"]
        constraints = [
            models.UniqueConstraint(fields=["strategy", "code"], name="%(class)s_code_unique"),
        ]

    def __str__(self):
        return f"{self.code} {self.text[:60]}"


class Outcome(StrategyStatement):
    class Meta(StrategyStatement.Meta):
        default_related_name = "outcomes"


class WhatMatters(StrategyStatement):
    """A co-produced "What matters to people" statement."""

    class Meta(StrategyStatement.Meta):
        default_related_name = "what_matters"
        verbose_name = "what matters to people statement"


class Need(StrategyStatement):
    """A "What is needed" statement (adults, children and young people ...)."""

    class Meta(StrategyStatement.Meta):
        default_related_name = "needs"


class Action(StrategyStatement):
    """A "What we will action" commitment."""

    class Meta(StrategyStatement.Meta):
        default_related_name = "actions"


class FocusArea(StrategyStatement):
    """A specific area of focus for children and young people."""

    class Meta(StrategyStatement.Meta):
        default_related_name = "focus_areas"


class Theme(models.Model):
    strategy = models.ForeignKey(Strategy, on_delete=models.CASCADE, related_name="themes")
    code = models.SlugField(max_length=40)
    position = models.PositiveSmallIntegerField()
    name = models.CharField(max_length=100)

    class Meta:
        ordering = ["position"]
        constraints = [
            models.UniqueConstraint(fields=["strategy", "code"], name="theme_code_unique"),
        ]

    def __str__(self):
        return self.name


class Cohort(models.TextChoices):
    ADULTS = "adults", "Adults"
    CYP = "cyp", "Children and young people"
    ALL_AGES = "all_ages", "All ages"


class Priority(models.Model):
    strategy = models.ForeignKey(Strategy, on_delete=models.CASCADE, related_name="priorities")
    theme = models.ForeignKey(Theme, on_delete=models.PROTECT, related_name="priorities")
    cohort = models.CharField(
        max_length=10,
        choices=[(Cohort.ADULTS, Cohort.ADULTS.label), (Cohort.CYP, Cohort.CYP.label)],
    )
    code = models.CharField(max_length=16)
    position = models.PositiveSmallIntegerField()
    text = models.TextField(help_text="Verbatim, including the document's own slips.")
    mends = models.JSONField(default=list, blank=True)

    class Meta:
        verbose_name_plural = "priorities"
        ordering = ["cohort", "theme__position", "position"]
        constraints = [
            models.UniqueConstraint(fields=["strategy", "code"], name="priority_code_unique"),
        ]

    def __str__(self):
        return f"{self.code} {self.text[:60]}"


class Deliverable(models.Model):
    """A dated commitment with an owner organisation, a status and a history of updates."""

    class Status(models.TextChoices):
        NOT_STARTED = "not_started", "Not started"
        IN_PROGRESS = "in_progress", "In progress"
        COMPLETE = "complete", "Complete"
        EXPIRED = "expired", "Expired (earlier strategy)"

    class TargetScope(models.TextChoices):
        PLACE = "place", "Place target"
        PROVIDER = "provider", "Provider target"
        NATIONAL_TOTAL = "national_total", "National total (not a place target)"

    code = models.CharField(max_length=24, unique=True)
    source = models.ForeignKey(SourceDocument, on_delete=models.PROTECT)
    strategy = models.ForeignKey(
        Strategy, null=True, blank=True, on_delete=models.PROTECT, related_name="deliverables"
    )
    owner = models.ForeignKey(
        Organisation, null=True, blank=True, on_delete=models.PROTECT, related_name="deliverables"
    )
    owner_unit = models.CharField(max_length=200, blank=True)
    section = models.CharField(max_length=300, blank=True)
    title = models.TextField()
    measures = models.JSONField(default=list, blank=True)
    target_text = models.TextField(blank=True)
    target_value = models.DecimalField(max_digits=14, decimal_places=4, null=True, blank=True)
    target_unit = models.CharField(max_length=20, blank=True)
    target_scope = models.CharField(max_length=20, choices=TargetScope.choices, blank=True)
    due = models.DateField(null=True, blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.NOT_STARTED)
    priorities = models.ManyToManyField(Priority, blank=True, related_name="deliverables")
    what_matters = models.ManyToManyField(WhatMatters, blank=True, related_name="deliverables")
    mends = models.JSONField(default=list, blank=True)
    note = models.TextField(blank=True)

    class Meta:
        ordering = ["code"]

    def __str__(self):
        return f"{self.code} {self.title[:60]}"


class DeliverableUpdate(models.Model):
    deliverable = models.ForeignKey(Deliverable, on_delete=models.CASCADE, related_name="updates")
    recorded_at = models.DateTimeField()
    status = models.CharField(max_length=20, choices=Deliverable.Status.choices)
    note = models.TextField()
    author = models.ForeignKey(User, null=True, blank=True, on_delete=models.PROTECT)

    class Meta:
        ordering = ["-recorded_at"]

    def __str__(self):
        return f"{self.deliverable_id} {self.status} at {self.recorded_at:%Y-%m-%d}"


# Geography --------------------------------------------------------------------------------


class Area(models.Model):
    """A building block of geography: an Essex district or a unitary authority."""

    class Kind(models.TextChoices):
        DISTRICT = "district", "Non-metropolitan district"
        UNITARY = "unitary", "Unitary authority"

    gss_code = models.CharField(max_length=9, unique=True)
    name = models.CharField(max_length=100)
    official_name = models.CharField(max_length=150)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    aliases = models.JSONField(
        default=list, blank=True, help_text="Other spellings, as the source documents write them."
    )

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class GeographyBasis(models.TextChoices):
    RESIDENT = "resident", "Resident population"
    GP_REGISTERED = "gp_registered", "GP-registered population"
    PROVIDER = "provider", "Provider"
    POLICE_FORCE_AREA = "police_force_area", "Police force area"


class Place(models.Model):
    """A named set of areas that data are reported for; places overlap."""

    class Kind(models.TextChoices):
        SYSTEM = "system", "Strategy system"
        COUNCIL = "council", "Upper-tier council"
        ALLIANCE = "alliance", "Alliance"
        DISTRICT = "district", "District"
        ICS = "ics", "Integrated care system"
        ICS_PART = "ics_part", "SET part of an integrated care system"
        SUB_ICB = "sub_icb", "Sub-ICB location"
        CCG = "ccg", "Clinical commissioning group"
        POLICE_FORCE = "police_force", "Police force area"
        PROVIDER = "provider", "Provider trust"
        REGION = "region", "Region"
        COUNTRY = "country", "Country"

    code = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=150)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    geography_basis = models.CharField(max_length=20, choices=GeographyBasis.choices)
    gss_code = models.CharField(max_length=9, blank=True)
    nhs_code = models.CharField(max_length=10, blank=True)
    valid_from = models.DateField(null=True, blank=True)
    valid_to = models.DateField(null=True, blank=True)
    within_set = models.BooleanField(
        default=True, help_text="False for comparators and for ICSs reaching beyond SET."
    )
    set_part = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="whole_places",
        help_text="For a place reaching beyond SET: the place that is its SET part.",
    )
    areas = models.ManyToManyField(Area, through="PlaceMembership", related_name="places")
    position = models.PositiveSmallIntegerField(default=0)
    note = models.TextField(blank=True)

    class Meta:
        ordering = ["position", "name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(valid_to__isnull=True)
                | Q(valid_from__isnull=True)
                | Q(valid_to__gt=models.F("valid_from")),
                name="place_validity_order",
            )
        ]

    def __str__(self):
        return self.name


class PlaceMembership(models.Model):
    place = models.ForeignKey(Place, on_delete=models.CASCADE, related_name="memberships")
    area = models.ForeignKey(Area, on_delete=models.PROTECT, related_name="memberships")
    valid_from = models.DateField(null=True, blank=True)
    valid_to = models.DateField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["place", "area"], name="membership_unique"),
        ]

    def __str__(self):
        return f"{self.area_id} in {self.place_id}"


class NarrativePopulation(models.Model):
    """A population figure quoted in a document: narrative only, never a denominator."""

    place = models.ForeignKey(Place, on_delete=models.CASCADE, related_name="narrative_populations")
    figure = models.PositiveIntegerField()
    source = models.ForeignKey(SourceDocument, on_delete=models.PROTECT)
    quoted_as = models.CharField(max_length=200)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["place", "source"], name="narrative_population_unique"),
        ]

    def __str__(self):
        return self.quoted_as


class PlaceGrant(models.Model):
    """An explicit grant for a place lead to report for one place; grants never inherit."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="place_grants")
    place = models.ForeignKey(Place, on_delete=models.PROTECT, related_name="grants")
    granted_at = models.DateTimeField(auto_now_add=True)
    granted_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "place"], name="place_grant_unique"),
        ]

    def __str__(self):
        return f"{self.user_id} reports for {self.place_id}"
