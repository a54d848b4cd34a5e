"""What the API says of each thing, and the filters it takes (validated by ``InputSerializer``s).

Figure rows (observations, assessments) are plain dicts shaped by ``kpis.selectors.figures``;
their serializers are built from the same column schema the CSV carries, so JSON, CSV, XLSX and
the OpenAPI schema cannot disagree.
"""

from __future__ import annotations

from rest_framework import serializers

from kpis.models import DefinitionVersion, DisclosureRule, Kpi, Period, Release, Target
from kpis.selectors.figures import ASSESSMENT_SCHEMA, OBSERVATION_SCHEMA, View
from strategy.models import (
    Area,
    Cohort,
    Deliverable,
    DeliverableUpdate,
    Place,
    Priority,
    Strategy,
    Theme,
)

# Strategy ---------------------------------------------------------------------------------


class StatementSerializer(serializers.Serializer):
    code = serializers.CharField()
    position = serializers.IntegerField()
    text = serializers.CharField()


class PrioritySerializer(serializers.ModelSerializer):
    theme = serializers.CharField(source="theme.code")

    class Meta:
        model = Priority
        fields = ["code", "cohort", "theme", "position", "text"]


class ThemeSerializer(serializers.ModelSerializer):
    class Meta:
        model = Theme
        fields = ["code", "name", "position"]


class StrategySerializer(serializers.ModelSerializer):
    source = serializers.CharField(source="source.title")
    outcomes = StatementSerializer(many=True)
    what_matters = StatementSerializer(many=True)
    themes = ThemeSerializer(many=True)
    priorities = PrioritySerializer(many=True)

    class Meta:
        model = Strategy
        fields = [
            "code",
            "title",
            "period_start",
            "period_end",
            "vision",
            "source",
            "outcomes",
            "what_matters",
            "themes",
            "priorities",
        ]


class DeliverableUpdateSerializer(serializers.ModelSerializer):
    class Meta:
        model = DeliverableUpdate
        fields = ["recorded_at", "status", "note"]


class DeliverableSerializer(serializers.ModelSerializer):
    owner = serializers.CharField(source="owner.name", allow_null=True, default=None)
    priorities = serializers.SlugRelatedField(slug_field="code", many=True, read_only=True)
    updates = DeliverableUpdateSerializer(
        many=True,
        read_only=True,
        help_text="Progress updates, the latest first; for signed-in callers only.",
    )

    class Meta:
        model = Deliverable
        fields = [
            "code",
            "title",
            "owner",
            "owner_unit",
            "section",
            "target_text",
            "due",
            "status",
            "priorities",
            "updates",
        ]

    def to_representation(self, instance):
        data = super().to_representation(instance)
        if not self.context.get("updates", False):
            data["updates"] = []
        return data


# Places -----------------------------------------------------------------------------------


class AreaSerializer(serializers.ModelSerializer):
    class Meta:
        model = Area
        fields = ["gss_code", "name", "kind"]


class MembershipSerializer(serializers.Serializer):
    gss_code = serializers.CharField(source="area.gss_code")
    name = serializers.CharField(source="area.name")
    kind = serializers.CharField(source="area.kind")
    valid_from = serializers.DateField(allow_null=True)
    valid_to = serializers.DateField(allow_null=True)


class PlaceSerializer(serializers.ModelSerializer):
    set_part = serializers.SlugRelatedField(slug_field="code", read_only=True, allow_null=True)
    areas = MembershipSerializer(source="memberships", many=True, read_only=True)

    class Meta:
        model = Place
        fields = [
            "code",
            "name",
            "kind",
            "geography_basis",
            "gss_code",
            "nhs_code",
            "valid_from",
            "valid_to",
            "within_set",
            "set_part",
            "areas",
        ]


# KPIs -------------------------------------------------------------------------------------


class DisclosureRuleSerializer(serializers.ModelSerializer):
    class Meta:
        model = DisclosureRule
        fields = [
            "code",
            "publisher",
            "description",
            "min_count",
            "rounding_base",
            "round_after_summing",
            "min_respondents",
            "min_events_for_rate",
            "zero_shown",
            "url",
        ]


class DefinitionVersionSerializer(serializers.ModelSerializer):
    class Meta:
        model = DefinitionVersion
        fields = ["version", "applies_from", "series_break", "note"]


class TargetSerializer(serializers.ModelSerializer):
    place = serializers.SlugRelatedField(
        slug_field="code", read_only=True, allow_null=True, help_text="Blank: every place."
    )
    value = serializers.FloatField(allow_null=True)

    class Meta:
        model = Target
        fields = [
            "kind",
            "value",
            "comparator",
            "applies_from",
            "due",
            "place",
            "set_by",
            "public_text",
            "url",
        ]


class KpiSerializer(serializers.ModelSerializer):
    owner = serializers.CharField(source="owner.name", allow_null=True, default=None)
    multiplier = serializers.FloatField()
    valid_min = serializers.FloatField(allow_null=True)
    valid_max = serializers.FloatField(allow_null=True)
    outcomes = serializers.SlugRelatedField(slug_field="code", many=True, read_only=True)
    priorities = serializers.SlugRelatedField(slug_field="code", many=True, read_only=True)
    what_matters = serializers.SlugRelatedField(slug_field="code", many=True, read_only=True)
    disclosure_rule = DisclosureRuleSerializer(read_only=True)
    definition_versions = DefinitionVersionSerializer(many=True, read_only=True)
    targets = TargetSerializer(many=True, read_only=True)
    source_note = serializers.CharField(
        help_text="Provenance notes; for callers who may see unpublished figures only."
    )
    baseline_note = serializers.CharField(
        help_text="Notes on the baseline; for callers who may see unpublished figures only."
    )

    class Meta:
        model = Kpi
        fields = [
            "code",
            "title",
            "description",
            "cohort",
            "age_band",
            "statistic",
            "numerator",
            "denominator",
            "multiplier",
            "unit",
            "direction",
            "time_structure",
            "frequency",
            "period_type",
            "publication_lag_days",
            "geography_basis",
            "lowest_level",
            "combinability",
            "owner",
            "lived_experience",
            "locally_supplied",
            "breakdowns",
            "valid_min",
            "valid_max",
            "source_publisher",
            "source_dataset",
            "source_indicator_id",
            "source_url",
            "baseline_rule",
            "baseline_period_label",
            "public_caveats",
            "outcomes",
            "priorities",
            "what_matters",
            "disclosure_rule",
            "definition_versions",
            "targets",
            "source_note",
            "baseline_note",
        ]

    def to_representation(self, instance):
        data = super().to_representation(instance)
        if not self.context.get("internal_notes", False):
            data["source_note"] = ""
            data["baseline_note"] = ""
        return data


class PeriodSerializer(serializers.ModelSerializer):
    class Meta:
        model = Period
        fields = ["label", "type", "start", "end"]


class ReleaseSerializer(serializers.ModelSerializer):
    corrects = serializers.PrimaryKeyRelatedField(read_only=True, allow_null=True)

    class Meta:
        model = Release
        fields = [
            "id",
            "title",
            "kind",
            "corrects",
            "correction_note",
            "scheduled_for",
            "published_at",
            "note",
        ]


# Figures ----------------------------------------------------------------------------------

_FIELD_OF_TYPE = {
    "string": lambda text: serializers.CharField(help_text=text, allow_blank=True),
    "number": lambda text: serializers.FloatField(help_text=text, allow_null=True),
    "integer": lambda text: serializers.IntegerField(help_text=text, allow_null=True),
    "boolean": lambda text: serializers.BooleanField(help_text=text),
    "date": lambda text: serializers.DateField(help_text=text),
    "datetime": lambda text: serializers.DateTimeField(help_text=text, allow_null=True),
}


def _row_serializer(name: str, schema) -> type[serializers.Serializer]:
    fields = {column: _FIELD_OF_TYPE[kind](text) for column, kind, text in schema}
    return type(name, (serializers.Serializer,), fields)


ObservationSerializer = _row_serializer("ObservationSerializer", OBSERVATION_SCHEMA)
AssessmentSerializer = _row_serializer("AssessmentSerializer", ASSESSMENT_SCHEMA)


class CodeListField(serializers.CharField):
    """Comma-separated codes: "southend,thurrock"."""

    def to_internal_value(self, data):
        text = super().to_internal_value(data)
        return tuple(code.strip() for code in text.split(",") if code.strip())


class FigureFilterSerializer(serializers.Serializer):
    """The filters of the observations and assessments endpoints."""

    kpi = CodeListField(required=False, help_text="KPI codes, comma-separated.")
    place = CodeListField(required=False, help_text="Place codes, comma-separated.")
    period_from = serializers.DateField(
        required=False, help_text="Periods starting on or after this date (YYYY-MM-DD)."
    )
    period_to = serializers.DateField(
        required=False, help_text="Periods ending on or before this date (YYYY-MM-DD)."
    )
    outcome = serializers.CharField(
        required=False, help_text="An outcome's code (O1, O2, O3): its KPIs only."
    )
    theme = serializers.CharField(
        required=False, help_text="A theme's code: the KPIs of its priorities only."
    )
    cohort = serializers.ChoiceField(choices=Cohort.choices, required=False)
    breakdown = serializers.RegexField(
        r"^[a-z_]+(:[A-Za-z0-9_.+\- ]+)?$",
        required=False,
        help_text="An inequalities dimension ('all', 'sex', ...) or dimension:category.",
    )
    release = serializers.IntegerField(
        required=False, min_value=1, help_text="Only the figures of this release."
    )
    as_of = serializers.IntegerField(
        required=False,
        min_value=1,
        help_text="The figures as this published release published them.",
    )
    view = serializers.ChoiceField(
        choices=View.CHOICES,
        default=View.PUBLISHED,
        help_text="published (default): what the public reads. internal: every current value, "
        "for callers who may see unpublished figures, at their places.",
    )
    latest = serializers.BooleanField(
        required=False, default=False, help_text="Only each series' latest period."
    )
