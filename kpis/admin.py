"""The admin for the KPI framework: definitions editable; versions, returns and the audit log
read-only (they are history)."""

from django.contrib import admin

from setset.admin import ReadOnlyAdmin

from . import models
from .services.progress import series_recompute_request


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

    def save_related(self, request, form, formsets, change):
        # A changed definition, break or target changes every stored assessment of the KPI.
        super().save_related(request, form, formsets, change)
        series_recompute_request(kpi_ids=[form.instance.pk])


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


@admin.register(models.ReturnUpload)
class ReturnUploadAdmin(ReadOnlyAdmin):
    list_display = ("original_name", "kind", "state", "uploaded_by", "uploaded_at", "error_count")
    list_filter = ("state", "kind")
    list_select_related = ("uploaded_by",)


@admin.register(models.ReturnRow)
class ReturnRowAdmin(ReadOnlyAdmin):
    list_display = ("upload", "row", "series", "period", "value")
    list_select_related = ("upload", "series__kpi", "series__place", "series__breakdown", "period")


@admin.register(models.NationalPublication)
class NationalPublicationAdmin(ReadOnlyAdmin):
    list_display = ("publisher", "original_name", "imported_by", "imported_at", "values_changed")


@admin.register(models.Release)
class ReleaseAdmin(ReadOnlyAdmin):
    list_display = ("title", "scheduled_for", "announced_at", "published_at")


@admin.register(models.ReportingExpectation)
class ReportingExpectationAdmin(ReadOnlyAdmin):
    list_display = ("kpi", "place", "period", "due_on", "locks_on", "reopened_until")
    list_select_related = ("kpi", "place", "period")


@admin.register(models.AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = ("at", "actor", "action", "upload", "release")
    list_filter = ("action",)
    list_select_related = ("actor", "upload", "release")


@admin.register(models.Assessment)
class AssessmentAdmin(ReadOnlyAdmin):
    list_display = (
        "series",
        "period",
        "scope",
        "release",
        "value",
        "value_status",
        "verdict",
        "is_latest",
        "computed_at",
    )
    list_filter = ("scope", "value_status", "verdict", "is_latest")
    list_select_related = (
        "series__kpi",
        "series__place",
        "series__breakdown",
        "period",
        "release",
    )


@admin.register(models.VerdictRuleTable)
class VerdictRuleTableAdmin(ReadOnlyAdmin):
    """New versions are published through the service, which recomputes every series."""

    list_display = ("version", "is_active", "created_at", "created_by", "note")
