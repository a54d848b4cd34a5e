from django.contrib import admin

from setset.admin import ReadOnlyAdmin

from . import models


class DefinitionVersionInline(admin.TabularInline):
    model = models.DefinitionVersion
    extra = 0


class TargetInline(admin.StackedInline):
    model = models.Target
    extra = 0
    raw_id_fields = ["place", "source_document"]


@admin.register(models.Kpi)
class KpiAdmin(admin.ModelAdmin):
    list_display = ("code", "title", "statistic", "time_structure", "geography_basis", "owner")
    list_filter = ("statistic", "time_structure", "geography_basis", "lived_experience")
    list_select_related = ("owner",)
    search_fields = ("code", "title", "source_indicator_id")
    filter_horizontal = ("priorities", "outcomes", "what_matters")
    inlines = [DefinitionVersionInline, TargetInline]


@admin.register(models.DisclosureRule)
class DisclosureRuleAdmin(admin.ModelAdmin):
    list_display = ("code", "publisher", "min_count", "rounding_base", "zero_shown")


@admin.register(models.Breakdown)
class BreakdownAdmin(admin.ModelAdmin):
    list_display = ("dimension", "category", "label")


@admin.register(models.Period)
class PeriodAdmin(ReadOnlyAdmin):
    list_display = ("label", "type", "start", "end")
    list_filter = ("type",)


@admin.register(models.Series)
class SeriesAdmin(ReadOnlyAdmin):
    list_display = ("kpi", "place", "breakdown", "needs_recompute", "computed_at")
    list_select_related = ("kpi", "place", "breakdown")
    list_filter = ("needs_recompute",)


@admin.register(models.Observation)
class ObservationAdmin(ReadOnlyAdmin):
    """Versions of values are history: corrections go through returns, never edits here."""

    list_display = (
        "series",
        "period",
        "version",
        "is_current",
        "value",
        "synthetic",
        "recorded_at",
        "published_at",
    )
    list_select_related = ("series__kpi", "series__place", "series__breakdown", "period")
    list_filter = ("is_current", "synthetic")
