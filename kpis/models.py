"""The KPI framework: sourced definitions, targets, periods, series and versioned observations."""

from django.db import models
from django.db.models import Q

from strategy.models import (
    Cohort,
    GeographyBasis,
    Organisation,
    Outcome,
    Place,
    Priority,
    SourceDocument,
    User,
    WhatMatters,
)


class Statistic(models.TextChoices):
    PROPORTION = "proportion", "Proportion"
    CRUDE_RATE = "crude_rate", "Crude rate"
    DSR = "dsr", "Directly standardised rate"
    ISR = "isr", "Indirectly standardised ratio"
    COUNT = "count", "Count"
    MEAN = "mean", "Mean"
    MEDIAN = "median", "Median"
    SURVEY_ESTIMATE = "survey_estimate", "Survey estimate"
    PP_GAP = "pp_gap", "Percentage-point gap"
    SCORE = "score", "Score"


class Direction(models.TextChoices):
    HIGHER_IS_BETTER = "higher_is_better", "Higher is better"
    LOWER_IS_BETTER = "lower_is_better", "Lower is better"
    NEUTRAL = "neutral", "Neither higher nor lower is better"


class TimeStructure(models.TextChoices):
    DISCRETE = "discrete", "Discrete per period"
    YTD = "ytd", "Year-to-date cumulative"
    ROLLING_3M = "rolling_3m", "Rolling 3 months"
    ROLLING_12M = "rolling_12m", "Rolling 12 months"
    SNAPSHOT = "snapshot", "Snapshot at a date"
    POOLED_2Y = "pooled_2y", "Pooled over 2 years"
    POOLED_3Y = "pooled_3y", "Pooled over 3 years"


class Combinability(models.TextChoices):
    SUM = "sum", "Counts summed"
    RATIO_OF_SUMS = "ratio_of_sums", "Recomputed from summed numerators and denominators"
    DSR_FROM_AGE_BANDS = "dsr_from_age_bands", "Recomputed from age-band counts"
    ISR_SUMS = "isr_sums", "Summed observed and expected"
    NOT_COMBINABLE = "not_combinable", "Cannot be combined"


class Frequency(models.TextChoices):
    MONTHLY = "monthly", "Monthly"
    QUARTERLY = "quarterly", "Quarterly"
    ANNUAL = "annual", "Annual"


class PeriodType(models.TextChoices):
    MONTH = "month", "Month"
    QUARTER = "quarter", "Financial quarter"
    FINANCIAL_YEAR = "financial_year", "Financial year"
    CALENDAR_YEAR = "calendar_year", "Calendar year"
    POOLED_CALENDAR_YEARS = "pooled_calendar_years", "Pooled calendar years"
    ROLLING_12M = "rolling_12m_to_month", "12 months to a month"
    ROLLING_3M = "rolling_3m_to_month", "3 months to a month"


class BaselineRule(models.TextChoices):
    FINANCIAL_YEAR_2020_21 = "financial_year_2020_21", "Financial year 2020-21"
    TWELVE_MONTHS_TO_MARCH_2021 = "twelve_months_to_march_2021", "12 months to March 2021"
    POOLED_PERIOD = "pooled_period", "A stated pooled period"
    FIRST_AVAILABLE = "first_available", "First available period"


class DisclosureRule(models.Model):
    """A publisher's own rule for what may be shown publicly."""

    code = models.SlugField(max_length=40, unique=True)
    publisher = models.CharField(max_length=40, blank=True)
    description = models.TextField()
    min_count = models.PositiveIntegerField(null=True, blank=True)
    rounding_base = models.PositiveIntegerField(null=True, blank=True)
    round_after_summing = models.BooleanField(default=True)
    min_respondents = models.PositiveIntegerField(null=True, blank=True)
    min_events_for_rate = models.PositiveIntegerField(null=True, blank=True)
    zero_shown = models.BooleanField(
        null=True, blank=True, help_text="Whether a true zero is published as 0; blank: unknown."
    )
    url = models.URLField(max_length=500, blank=True)

    def __str__(self):
        return self.code


class Kpi(models.Model):
    code = models.SlugField(max_length=40, unique=True)
    title = models.CharField(max_length=300)
    description = models.TextField(help_text="Plain English, for the public.")
    priorities = models.ManyToManyField(Priority, blank=True, related_name="kpis")
    outcomes = models.ManyToManyField(Outcome, blank=True, related_name="kpis")
    what_matters = models.ManyToManyField(WhatMatters, blank=True, related_name="kpis")
    cohort = models.CharField(max_length=10, choices=Cohort.choices)
    age_band = models.CharField(max_length=60, blank=True)
    statistic = models.CharField(max_length=20, choices=Statistic.choices)
    numerator = models.TextField(blank=True)
    denominator = models.TextField(blank=True)
    multiplier = models.DecimalField(max_digits=12, decimal_places=2, default=1)
    unit = models.CharField(max_length=60)
    direction = models.CharField(max_length=20, choices=Direction.choices)
    time_structure = models.CharField(max_length=20, choices=TimeStructure.choices)
    frequency = models.CharField(max_length=10, choices=Frequency.choices)
    period_type = models.CharField(max_length=30, choices=PeriodType.choices)
    publication_lag_days = models.PositiveIntegerField(null=True, blank=True)
    geography_basis = models.CharField(max_length=20, choices=GeographyBasis.choices)
    lowest_level = models.CharField(max_length=20)
    combinability = models.CharField(max_length=20, choices=Combinability.choices)
    owner = models.ForeignKey(
        Organisation, null=True, blank=True, on_delete=models.PROTECT, related_name="kpis"
    )
    lived_experience = models.BooleanField(default=False)
    locally_supplied = models.BooleanField(default=False)
    breakdowns = models.JSONField(default=list, blank=True)
    valid_min = models.DecimalField(max_digits=14, decimal_places=4, null=True, blank=True)
    valid_max = models.DecimalField(max_digits=14, decimal_places=4, null=True, blank=True)
    disclosure_rule = models.ForeignKey(DisclosureRule, on_delete=models.PROTECT)
    source_publisher = models.CharField(max_length=40, blank=True)
    source_dataset = models.CharField(max_length=300)
    source_indicator_id = models.CharField(max_length=100, blank=True)
    source_url = models.URLField(max_length=500, blank=True)
    source_note = models.TextField(blank=True)
    baseline_rule = models.CharField(max_length=40, choices=BaselineRule.choices)
    baseline_period_label = models.CharField(max_length=120)
    baseline_note = models.TextField(blank=True)
    public_caveats = models.TextField(
        blank=True,
        help_text="Plain English, for the public: what to bear in mind reading the figures. "
        "Provenance notes (source_note, baseline_note) stay on the internal side.",
    )

    class Meta:
        ordering = ["code"]
        verbose_name = "KPI"

    def __str__(self):
        return f"{self.code}: {self.title}"


class DefinitionVersion(models.Model):
    """A version of a KPI's definition; a series break stops baselines, trends and SPC."""

    kpi = models.ForeignKey(Kpi, on_delete=models.CASCADE, related_name="definition_versions")
    version = models.PositiveSmallIntegerField()
    applies_from = models.DateField(null=True, blank=True)
    series_break = models.BooleanField(default=False)
    note = models.TextField(blank=True)

    class Meta:
        ordering = ["kpi", "version"]
        constraints = [
            models.UniqueConstraint(fields=["kpi", "version"], name="definition_version_unique"),
        ]

    def __str__(self):
        return f"{self.kpi_id} v{self.version}"


class Target(models.Model):
    class Kind(models.TextChoices):
        THRESHOLD = "threshold", "Standard to meet every period"
        VALUE_BY_DATE = "value_by_date", "Value by a date"
        TRAJECTORY = "trajectory", "Trajectory per period"
        NATIONAL_CONTRIBUTION = "national_contribution", "National total (not a place target)"
        EXPIRED = "expired", "Expired target of an earlier strategy"

    kpi = models.ForeignKey(Kpi, on_delete=models.CASCADE, related_name="targets")
    kind = models.CharField(max_length=30, choices=Kind.choices)
    value = models.DecimalField(
        max_digits=14, decimal_places=4, null=True, blank=True, help_text="Blank: no number set."
    )
    comparator = models.CharField(
        max_length=2, choices=[(">=", "≥"), ("<=", "≤"), ("==", "=")], blank=True
    )
    applies_from = models.DateField(null=True, blank=True)
    due = models.DateField(null=True, blank=True)
    place = models.ForeignKey(
        Place, null=True, blank=True, on_delete=models.PROTECT, help_text="Blank: every place."
    )
    set_by = models.TextField(help_text="The document or national standard that sets it.")
    source_document = models.ForeignKey(
        SourceDocument, null=True, blank=True, on_delete=models.PROTECT
    )
    url = models.URLField(max_length=500, blank=True)
    note = models.TextField(blank=True)
    public_text = models.CharField(
        max_length=300,
        blank=True,
        help_text="The target as its source phrases it, for the public (a 10% reduction stays "
        "a 10% reduction).",
    )

    class Meta:
        ordering = ["kpi", "kind", "applies_from"]

    def __str__(self):
        return f"{self.kpi_id} {self.kind} {self.comparator} {self.value}"


class Period(models.Model):
    """A reporting period with explicit dates and one canonical label."""

    type = models.CharField(max_length=30, choices=PeriodType.choices)
    start = models.DateField()
    end = models.DateField()
    label = models.CharField(max_length=40, unique=True)

    class Meta:
        ordering = ["end", "start"]
        constraints = [
            models.UniqueConstraint(fields=["type", "start", "end"], name="period_unique"),
            models.CheckConstraint(condition=Q(end__gte=models.F("start")), name="period_order"),
        ]

    def __str__(self):
        return self.label


class Breakdown(models.Model):
    """A category of an inequalities dimension; every observation has one ("all" for totals)."""

    class Dimension(models.TextChoices):
        ALL = "all", "All people"
        SEX = "sex", "Sex"
        AGE_BAND = "age_band", "Age band"
        DEPRIVATION_QUINTILE = "deprivation_quintile", "Deprivation quintile"
        ETHNIC_GROUP = "ethnic_group", "Ethnic group"

    dimension = models.CharField(max_length=30, choices=Dimension.choices)
    category = models.CharField(max_length=40)
    label = models.CharField(max_length=100)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["dimension", "position"]
        constraints = [
            models.UniqueConstraint(fields=["dimension", "category"], name="breakdown_unique"),
        ]

    def __str__(self):
        return self.label


class Series(models.Model):
    """One KPI for one place and breakdown; the unit the progress engine recomputes."""

    kpi = models.ForeignKey(Kpi, on_delete=models.CASCADE, related_name="series")
    place = models.ForeignKey(Place, on_delete=models.PROTECT, related_name="series")
    breakdown = models.ForeignKey(Breakdown, on_delete=models.PROTECT, related_name="series")
    needs_recompute = models.BooleanField(default=True, db_index=True)
    computed_at = models.DateTimeField(null=True, blank=True)
    # SPC limits: by default from every point of a segment (series breaks rebase); an analyst
    # may fix them after the first N points (at least 12) without touching the baseline.
    spc_fix_after_n_points = models.PositiveSmallIntegerField(null=True, blank=True)
    # The release whose published assessments of this series the public reads now.
    published_release = models.ForeignKey(
        "Release", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        verbose_name_plural = "series"
        constraints = [
            models.UniqueConstraint(fields=["kpi", "place", "breakdown"], name="series_unique"),
        ]

    def __str__(self):
        return f"{self.kpi_id}/{self.place_id}/{self.breakdown_id}"


def _unchecked_reference(to, on_delete, **options) -> models.ForeignKey:
    """A reference of a table loaded a million rows at a time, without PostgreSQL's per-row
    foreign-key check or an index of its own: the observation table's references are checked
    once per statement by the triggers of migration 0002, and staged rows refer only to ids
    their own load has just looked up or created."""
    return models.ForeignKey(
        to, on_delete=on_delete, db_index=False, db_constraint=False, **options
    )


class Observation(models.Model):
    """One version of a value; a correction adds a version, history is never overwritten."""

    # No indexes on the foreign keys alone: the two unique indexes below lead with series,
    # through which every read of values goes. Nothing reads observations by period alone,
    # and each further B-tree adds about a fifth to the cost of loading a million values.
    #
    # Referential integrity is enforced by the database, a statement at a time, by the
    # triggers of migration 0002 (PostgreSQL): its own foreign keys check one row at a time,
    # about 5 microseconds a row for each key, which is most of the cost of a million-row load.
    series = _unchecked_reference(
        Series,
        on_delete=models.CASCADE,
        related_name="observations",
    )
    period = _unchecked_reference(
        Period,
        on_delete=models.PROTECT,
        related_name="observations",
    )
    version = models.PositiveIntegerField(default=1)
    is_current = models.BooleanField(default=True)
    numerator = models.DecimalField(max_digits=20, decimal_places=6, null=True, blank=True)
    denominator = models.DecimalField(max_digits=20, decimal_places=6, null=True, blank=True)
    value = models.DecimalField(max_digits=20, decimal_places=6, null=True, blank=True)
    suppressed = models.BooleanField(default=False, help_text="The source withheld the value.")
    rounded = models.BooleanField(default=False, help_text="The source rounded the counts.")
    source_value = models.DecimalField(
        max_digits=20,
        decimal_places=6,
        null=True,
        blank=True,
        help_text="The figure as the source printed it, where it published one.",
    )
    source_value_differs = models.BooleanField(
        default=False,
        db_default=False,
        help_text="The printed figure disagrees with the counts beyond the source's rounding.",
    )
    source_comparison = models.CharField(
        max_length=40,
        blank=True,
        default="",
        db_default="",
        help_text="The source's own comparison with England (Fingertips: 'Better 95%').",
    )
    marker = models.CharField(max_length=10, blank=True, help_text="The source's own marker.")
    note = models.TextField(blank=True)
    ci_lower = models.DecimalField(max_digits=20, decimal_places=6, null=True, blank=True)
    ci_upper = models.DecimalField(max_digits=20, decimal_places=6, null=True, blank=True)
    ci_level = models.DecimalField(max_digits=5, decimal_places=4, null=True, blank=True)
    ci_method = models.CharField(max_length=100, blank=True)
    denominator_source = models.CharField(max_length=200, blank=True)
    synthetic = models.BooleanField(default=False, help_text="Demo data, not real figures.")
    recorded_at = models.DateTimeField()
    recorded_by = _unchecked_reference(
        User,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
    )
    change_reason = models.TextField(blank=True)
    published_at = models.DateTimeField(
        null=True, blank=True, help_text="When this version first appeared in a release."
    )
    approved = models.BooleanField(
        default=False, help_text="Approved (four eyes) or published by its national source."
    )
    release = _unchecked_reference(
        "Release",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="observations",
    )
    # Indexed by block range (BRIN, migration 0002): a load's rows lie together on disk, and a
    # B-tree per provenance column would cost every load far more than it saves any lookup.
    source_upload = _unchecked_reference(
        "ReturnUpload",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    source_row = models.PositiveIntegerField(null=True, blank=True)
    source_publication = _unchecked_reference(
        "NationalPublication",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )

    class Meta:
        # No default ordering: an unordered read would join periods and sort for nothing
        # (the recompute frame reads every current value); reads that need order say so.
        constraints = [
            models.UniqueConstraint(
                fields=["series", "period", "version"], name="observation_version_unique"
            ),
            # The database, not the application, guarantees one current version per value.
            models.UniqueConstraint(
                fields=["series", "period"],
                condition=Q(is_current=True),
                name="observation_one_current",
            ),
        ]

    def __str__(self):
        return f"{self.series_id} {self.period_id} v{self.version}"


class VerdictRuleTable(models.Model):
    """The Strategy Implementation Group's rules from assessment results to a verdict.

    Each version is kept; the active one is used. Rules are evaluated in order and the first
    whose conditions all hold gives the verdict. Changing the rules is data, not code.
    """

    version = models.PositiveIntegerField(unique=True)
    rules = models.JSONField()
    is_active = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.PROTECT)
    note = models.TextField(blank=True)

    class Meta:
        ordering = ["-version"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_active"], condition=Q(is_active=True), name="one_active_rule_table"
            )
        ]

    def __str__(self):
        return f"Verdict rules v{self.version}"


class PublishedAssessmentManager(models.Manager):
    """Only assessments of figures a release published: the public side reads through this."""

    def get_queryset(self):
        return (
            super()
            .get_queryset()
            .filter(scope=Assessment.Scope.PUBLISHED, release__published_at__isnull=False)
        )


class Assessment(models.Model):
    """Precomputed statistics and verdict for one series and period; pages only read these.

    Two scopes: ``internal`` (one row per series and period, from every current value, each
    marked published, approved awaiting release, or unapproved) and ``published`` (from the
    values as a release published them; one row per series, period and release that
    recomputed the series, so every release stays answerable).
    """

    class Scope(models.TextChoices):
        INTERNAL = "internal", "Internal: every current value"
        PUBLISHED = "published", "Published in a release"

    class ValueStatus(models.TextChoices):
        PUBLISHED = "published", "Published"
        APPROVED = "approved", "Approved, awaiting release"
        UNAPPROVED = "unapproved", "Not approved"

    series = models.ForeignKey(Series, on_delete=models.CASCADE, related_name="assessments")
    period = models.ForeignKey(Period, on_delete=models.PROTECT, related_name="assessments")
    scope = models.CharField(max_length=10, choices=Scope.choices, default=Scope.INTERNAL)
    release = models.ForeignKey(
        "Release",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="assessments",
        help_text="For published assessments: the release whose figures these are.",
    )
    value_status = models.CharField(
        max_length=10, choices=ValueStatus.choices, default=ValueStatus.UNAPPROVED
    )
    is_latest = models.BooleanField(default=False)
    value = models.FloatField(null=True)
    numerator = models.FloatField(null=True)
    denominator = models.FloatField(null=True)
    lower95 = models.FloatField(null=True)
    upper95 = models.FloatField(null=True)
    lower998 = models.FloatField(null=True)
    upper998 = models.FloatField(null=True)
    interval_method = models.CharField(max_length=60, blank=True)
    public_suppressed = models.BooleanField(default=False)
    suppression_reason = models.CharField(max_length=120, blank=True)
    baseline_label = models.CharField(max_length=40, blank=True)
    baseline_value = models.FloatField(null=True)
    baseline_first_available = models.BooleanField(default=False)
    baseline_pandemic_affected = models.BooleanField(default=False)
    change = models.FloatField(null=True)
    change_lower = models.FloatField(null=True)
    change_upper = models.FloatField(null=True)
    change_method = models.CharField(max_length=60, blank=True)
    change_category = models.CharField(max_length=40, blank=True)
    change_reason = models.CharField(max_length=120, blank=True)
    benchmark_england = models.CharField(max_length=20, blank=True)
    benchmark_england_by_source = models.BooleanField(
        default=False,
        help_text="The comparison with England is the publisher's own (Fingertips), given where "
        "the service cannot compute one.",
    )
    benchmark_rest_of_set = models.CharField(max_length=20, blank=True)
    spc_mean = models.FloatField(null=True)
    spc_lower_limit = models.FloatField(null=True)
    spc_upper_limit = models.FloatField(null=True)
    spc_point_type = models.CharField(max_length=40, blank=True)
    spc_special_cause = models.CharField(max_length=40, blank=True)
    spc_trial_limits = models.BooleanField(default=False)
    spc_reason = models.CharField(max_length=160, blank=True)
    assurance = models.CharField(max_length=20, blank=True)
    target_kind = models.CharField(max_length=30, blank=True)
    target_value = models.FloatField(null=True)
    progress_share = models.FloatField(null=True)
    progress_status = models.CharField(max_length=30, blank=True)
    periods_met_share = models.FloatField(null=True)
    planned_value = models.FloatField(null=True, help_text="The straight path to the target.")
    trend_projection = models.FloatField(null=True, help_text="Current trend at the due date.")
    trend_lower = models.FloatField(null=True)
    trend_upper = models.FloatField(null=True)
    verdict = models.CharField(max_length=30)
    verdict_reason = models.CharField(max_length=200, blank=True)
    rule_table = models.ForeignKey(VerdictRuleTable, on_delete=models.PROTECT)
    computed_at = models.DateTimeField()
    # The published read model: for published assessments, the value's figures as the public
    # reads them (the source's disclosure rule applied) and its vintage, stored when the
    # release publishes so that exports read them as they are (``published_figures_store``).
    public_numerator = models.FloatField(null=True, blank=True)
    public_denominator = models.FloatField(null=True, blank=True)
    public_value = models.FloatField(null=True, blank=True)
    public_lower95 = models.FloatField(null=True, blank=True)
    public_upper95 = models.FloatField(null=True, blank=True)
    public_lower998 = models.FloatField(null=True, blank=True)
    public_upper998 = models.FloatField(null=True, blank=True)
    # Database defaults too, so that set-based SQL inserting assessments need not name them.
    public_interval_method = models.CharField(max_length=60, blank=True, default="", db_default="")
    public_rounded = models.BooleanField(default=False, db_default=False)
    public_version = models.PositiveIntegerField(null=True, blank=True)
    first_published_value = models.FloatField(null=True, blank=True)
    first_published_release = models.ForeignKey(
        "Release", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    revised = models.BooleanField(default=False, db_default=False)
    revised_in_release = models.ForeignKey(
        "Release", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    objects = models.Manager()
    published = PublishedAssessmentManager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["series", "period"],
                condition=models.Q(scope="internal"),
                name="assessment_internal_unique",
            ),
            models.UniqueConstraint(
                fields=["series", "period", "release"],
                condition=models.Q(scope="published"),
                name="assessment_published_unique",
            ),
            models.CheckConstraint(
                condition=(
                    models.Q(scope="internal", release__isnull=True)
                    | models.Q(scope="published", release__isnull=False)
                ),
                name="assessment_scope_release",
            ),
        ]
        indexes = [
            models.Index(fields=["is_latest", "series"], name="assessment_latest_idx"),
            models.Index(fields=["release", "series"], name="assessment_release_idx"),
        ]

    def __str__(self):
        return f"{self.series_id} {self.period_id}: {self.verdict}"


# Returns, releases and the audit trail ------------------------------------------------------


class ReturnUpload(models.Model):
    """A spreadsheet a place lead (or analyst) uploaded, kept with its checksum."""

    class Kind(models.TextChoices):
        QUARTERLY = "quarterly", "Quarterly return"
        HISTORY = "history", "History load (long form)"

    class State(models.TextChoices):
        RECEIVED = "received", "Received"
        VALIDATING = "validating", "Validating"
        VALIDATION_FAILED = "validation_failed", "Validation failed"
        VALIDATED = "validated", "Validated"
        SUBMITTED = "submitted", "Submitted"
        SENT_BACK = "sent_back", "Sent back"
        APPROVING = "approving", "Approved: writing its values"
        APPROVED = "approved", "Approved"
        WITHDRAWN = "withdrawn", "Withdrawn"

    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.QUARTERLY)
    file = models.FileField(upload_to="returns/%Y/%m/")
    original_name = models.CharField(max_length=255)
    checksum = models.CharField(max_length=64, help_text="SHA-256 of the file's bytes.")
    size = models.PositiveBigIntegerField()
    uploaded_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="uploads")
    uploaded_at = models.DateTimeField()
    state = models.CharField(max_length=20, choices=State.choices, default=State.RECEIVED)
    stage = models.CharField(max_length=100, blank=True)
    percent = models.PositiveSmallIntegerField(default=0)
    # Which attempt at validation holds the upload, and when it last showed it was alive: an
    # attempt silent for longer than RETURN_CLAIM_TIMEOUT (its worker died) is taken over.
    validation_attempts = models.PositiveSmallIntegerField(default=0)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    template_version = models.CharField(max_length=40, blank=True)
    row_count = models.PositiveIntegerField(default=0)
    error_count = models.PositiveIntegerField(default=0)
    warning_count = models.PositiveIntegerField(default=0)
    issues = models.JSONField(default=list, blank=True)
    warnings_confirmed = models.BooleanField(default=False)
    places = models.ManyToManyField(Place, blank=True, related_name="uploads")
    submitted_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    submitted_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_reason = models.TextField(blank=True)
    values_changed = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-uploaded_at"]
        constraints = [
            # The same bytes twice from one uploader are recognised, unless the first was
            # withdrawn or failed (a file that failed may be checked again). Per uploader: the
            # same bytes from another organisation are its own return, and never reveal this.
            models.UniqueConstraint(
                fields=["uploaded_by", "checksum"],
                condition=~Q(state__in=["withdrawn", "validation_failed"]),
                name="upload_checksum_unique",
            )
        ]

    def __str__(self):
        return f"{self.original_name} ({self.get_state_display()})"


class StagedDecimalField(models.DecimalField):
    """A decimal stored as PostgreSQL ``numeric`` without a declared precision.

    Staged values are rounded to the observation's six places before they are written, and
    checked against numeric(20, 6) when they become observations; a declared precision here
    would be checked value by value as well, about a fifth of the cost of staging a file.
    """

    def db_type(self, connection):
        if connection.vendor == "postgresql":
            return "numeric"
        return super().db_type(connection)


class ReturnRow(models.Model):
    """A validated row of an upload, staged until the return is approved."""

    # Staging is written once, by COPY, from ids its own load has just looked up or created;
    # per-row foreign-key triggers would cost more than the copy itself.
    upload = _unchecked_reference(
        ReturnUpload,
        on_delete=models.CASCADE,
        related_name="rows",
    )
    row = models.PositiveIntegerField()
    series = _unchecked_reference(Series, on_delete=models.CASCADE)
    period = _unchecked_reference(Period, on_delete=models.PROTECT)
    numerator = StagedDecimalField(max_digits=20, decimal_places=6, null=True)
    denominator = StagedDecimalField(max_digits=20, decimal_places=6, null=True)
    value = StagedDecimalField(max_digits=20, decimal_places=6, null=True)
    suppressed = models.BooleanField(default=False)
    marker = models.CharField(max_length=10, blank=True)
    comment = models.TextField(blank=True)

    # Rows are read back by upload only. They are not unique: a large file is staged chunk by
    # chunk, and a value repeated across chunks is reported by row from here. An upload's
    # rows lie together on disk, so on PostgreSQL one block-range (BRIN) index on upload and
    # id serves every read, at a fraction of a B-tree's cost to each COPY. The id's identity
    # accepts no id but its own, so ids are unique with no B-tree behind the primary key
    # (migration 0004, which any change to this id must respect).

    def __str__(self):
        return f"{self.upload_id} row {self.row}"


class NationalPublication(models.Model):
    """A publisher's file imported by an analyst, with its provenance."""

    publisher = models.CharField(max_length=40)
    original_name = models.CharField(max_length=255)
    checksum = models.CharField(max_length=64, unique=True)
    release_date = models.DateField(null=True, blank=True)
    imported_by = models.ForeignKey(User, on_delete=models.PROTECT)
    imported_at = models.DateTimeField()
    rows_read = models.PositiveIntegerField(default=0)
    values_changed = models.PositiveIntegerField(default=0)

    def __str__(self):
        return f"{self.publisher}: {self.original_name}"


class AreaSpread(models.Model):
    """How one KPI's values spread over every area of one type in a national publication (worst,
    quartiles, best), kept at import for the place page's spine chart: the file holds areas that
    are not places, and only places' values are stored as observations.

    ``lowest`` and ``highest`` are values, not judgements: which end is worst depends on the
    KPI's direction. ``places`` are the places the publication gives among these areas.
    """

    publication = models.ForeignKey(
        NationalPublication, on_delete=models.CASCADE, related_name="spreads"
    )
    kpi = models.ForeignKey(Kpi, on_delete=models.CASCADE, related_name="spreads")
    period = models.ForeignKey(Period, on_delete=models.PROTECT, related_name="+")
    area_type = models.CharField(max_length=120, help_text="As the publisher names the areas.")
    areas = models.PositiveIntegerField(help_text="How many areas had a value.")
    lowest = models.FloatField()
    q25 = models.FloatField()
    median = models.FloatField()
    q75 = models.FloatField()
    highest = models.FloatField()
    england = models.FloatField(null=True, blank=True)
    places = models.ManyToManyField(Place, blank=True, related_name="spreads")

    class Meta:
        ordering = ["kpi", "period", "area_type"]
        constraints = [
            models.UniqueConstraint(
                fields=["publication", "kpi", "period", "area_type"], name="spread_unique"
            )
        ]

    def __str__(self):
        return f"{self.kpi_id}/{self.period_id} over {self.areas} {self.area_type}"


class Release(models.Model):
    """A dated publication, announced in advance; approved values become public only here.

    What it contains: the approved values of the chosen returns, KPIs and national publications
    and those approved up to a date; with none of these chosen, everything approved. A
    correction release names the release it corrects and says what it corrects.
    """

    class Kind(models.TextChoices):
        REGULAR = "regular", "Release"
        CORRECTION = "correction", "Correction"

    title = models.CharField(max_length=200)
    kind = models.CharField(max_length=12, choices=Kind.choices, default=Kind.REGULAR)
    corrects = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="corrections"
    )
    correction_note = models.TextField(
        blank=True, help_text="For the public: what the correction changes, and why."
    )
    uploads = models.ManyToManyField("ReturnUpload", blank=True, related_name="releases")
    kpis = models.ManyToManyField(Kpi, blank=True, related_name="releases")
    publications = models.ManyToManyField(
        "NationalPublication", blank=True, related_name="releases"
    )
    approved_up_to = models.DateTimeField(
        null=True, blank=True, help_text="Include every value approved by this time."
    )
    scheduled_for = models.DateTimeField(help_text="Announced date and time (Europe/London).")
    announced_at = models.DateTimeField()
    published_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    published_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    note = models.TextField(blank=True)

    class Meta:
        ordering = ["scheduled_for"]

    def __str__(self):
        return f"{self.title} ({self.scheduled_for:%d %b %Y})"


class ReleaseAccess(models.Model):
    """A person named for pre-release access to one release, and when they saw its figures."""

    release = models.ForeignKey(Release, on_delete=models.CASCADE, related_name="accesses")
    user = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    granted_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    granted_at = models.DateTimeField()
    first_seen_at = models.DateTimeField(null=True, blank=True)
    last_seen_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["release", "user__username"]
        constraints = [
            models.UniqueConstraint(fields=["release", "user"], name="release_access_unique")
        ]

    def __str__(self):
        return f"{self.user} for {self.release}"


class ReportingExpectation(models.Model):
    """A locally supplied KPI expected from a place for a period, with due and lock dates."""

    kpi = models.ForeignKey(Kpi, on_delete=models.CASCADE)
    place = models.ForeignKey(Place, on_delete=models.PROTECT)
    period = models.ForeignKey(Period, on_delete=models.PROTECT)
    due_on = models.DateField()
    locks_on = models.DateField()
    reopened_until = models.DateField(null=True, blank=True)
    reopened_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["due_on", "kpi", "place"]
        constraints = [
            models.UniqueConstraint(fields=["kpi", "place", "period"], name="expectation_unique"),
            models.CheckConstraint(
                condition=Q(locks_on__gte=models.F("due_on")), name="expectation_lock_after_due"
            ),
        ]

    def __str__(self):
        return f"{self.kpi_id}/{self.place_id}/{self.period_id} due {self.due_on}"


class AppendOnlyError(RuntimeError):
    """A change to a record that is only ever appended to (the audit log)."""


class AuditEventQuerySet(models.QuerySet):
    """The audit log is appended to, never edited or deleted: no bulk update or delete."""

    def update(self, **kwargs):
        raise AppendOnlyError("The audit log cannot be edited.")

    def delete(self):
        raise AppendOnlyError("The audit log cannot be deleted from.")


class AuditEvent(models.Model):
    """Who did what, when: uploads, decisions, value changes, releases, pre-release access.

    Append-only: an event is created once and never saved again or deleted, one by one or in
    bulk (and the admin shows it read-only). The people, returns and releases it names are
    protected from deletion while it names them.
    """

    class Action(models.TextChoices):
        UPLOAD = "upload", "Uploaded a return"
        VALIDATED = "validated", "Validation finished"
        PERSON_LEVEL_DELETED = "person_level_deleted", "Deleted a file holding person-level data"
        SUBMIT = "submit", "Submitted a return"
        SEND_BACK = "send_back", "Sent a return back"
        APPROVE = "approve", "Approved a return"
        WITHDRAW = "withdraw", "Withdrew a return"
        VALUES_CHANGED = "values_changed", "Values changed"
        IMPORT = "import", "Imported a national publication"
        RELEASE_SCHEDULED = "release_scheduled", "Announced a release"
        RELEASE = "release", "Published a release"
        PRE_RELEASE_ACCESS = "pre_release_access", "Viewed unpublished figures"
        REOPEN = "reopen", "Reopened a period"
        REMINDER = "reminder", "Sent a reminder"
        API_TOKEN = "api_token", "Issued an API token"

    at = models.DateTimeField()
    actor = models.ForeignKey(User, null=True, blank=True, on_delete=models.PROTECT)
    action = models.CharField(max_length=30, choices=Action.choices)
    upload = models.ForeignKey(ReturnUpload, null=True, blank=True, on_delete=models.PROTECT)
    release = models.ForeignKey(Release, null=True, blank=True, on_delete=models.PROTECT)
    detail = models.JSONField(default=dict, blank=True)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        ordering = ["-at"]
        indexes = [models.Index(fields=["action", "at"], name="audit_action_idx")]

    def __str__(self):
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_id} {self.action}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise AppendOnlyError("The audit log cannot be edited.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError("The audit log cannot be deleted from.")


class Commentary(models.Model):
    """What lies behind a KPI's figures at a place for a period, and what is being done, written
    by the KPI's owner or the place's lead. Every post is kept: the latest is current."""

    MAX_LENGTH = 1000

    kpi = models.ForeignKey(Kpi, on_delete=models.CASCADE, related_name="commentaries")
    place = models.ForeignKey(Place, on_delete=models.PROTECT, related_name="commentaries")
    period = models.ForeignKey(Period, on_delete=models.PROTECT, related_name="commentaries")
    text = models.TextField(max_length=MAX_LENGTH)
    author = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField()

    class Meta:
        ordering = ["-recorded_at", "-pk"]
        verbose_name_plural = "commentaries"
        indexes = [
            models.Index(
                fields=["kpi", "place", "period", "-recorded_at"], name="commentary_current_idx"
            )
        ]

    def __str__(self):
        return f"{self.kpi_id}/{self.place_id}/{self.period_id} at {self.recorded_at:%Y-%m-%d}"


class WorkerHeartbeat(models.Model):
    """When each Celery worker last ran the heartbeat task (every 30 s, from beat): readiness
    asks whether any worker has beaten lately."""

    worker = models.CharField(max_length=200, unique=True)
    beat_at = models.DateTimeField()

    def __str__(self):
        return f"{self.worker} at {self.beat_at:%Y-%m-%d %H:%M:%S}"


class FiguresVersion(models.Model):
    """One row numbering the committed changes to what the dashboards show.

    Database triggers (migration 0018) add one each time a transaction that wrote the strategy's
    or the figures' tables commits, however it wrote them (ORM, bulk, COPY), and in commit order,
    so a page cached under one number is never served once a later change has committed.
    """

    number = models.BigIntegerField(default=0)

    def __str__(self):
        return f"figures version {self.number}"
