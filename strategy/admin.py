"""The admin for the strategy, places, organisations and users (administrators only)."""

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from . import models


@admin.register(models.User)
class UserAdmin(BaseUserAdmin):
    fieldsets = (*BaseUserAdmin.fieldsets, ("Organisation", {"fields": ("organisation",)}))
    list_display = ("username", "email", "organisation", "is_staff", "is_active")
    list_select_related = ("organisation",)


class PlaceMembershipInline(admin.TabularInline):
    model = models.PlaceMembership
    extra = 0
    autocomplete_fields = ["area"]


@admin.register(models.Place)
class PlaceAdmin(admin.ModelAdmin):
    list_display = (
        "code",
        "name",
        "kind",
        "geography_basis",
        "within_set",
        "valid_from",
        "valid_to",
    )
    list_filter = ("kind", "geography_basis", "within_set")
    search_fields = ("code", "name", "gss_code", "nhs_code")
    inlines = [PlaceMembershipInline]


@admin.register(models.Area)
class AreaAdmin(admin.ModelAdmin):
    list_display = ("gss_code", "name", "kind")
    search_fields = ("gss_code", "name")


@admin.register(models.PlaceGrant)
class PlaceGrantAdmin(admin.ModelAdmin):
    list_display = ("user", "place", "granted_at", "granted_by")
    list_select_related = ("user", "place", "granted_by")
    autocomplete_fields = ["place"]
    raw_id_fields = ["user", "granted_by"]


@admin.register(models.Organisation)
class OrganisationAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "kind", "system_partner", "contact_email")
    search_fields = ("code", "name")


@admin.register(models.SourceDocument)
class SourceDocumentAdmin(admin.ModelAdmin):
    list_display = ("code", "title", "publisher", "version", "published_on")


@admin.register(models.Strategy)
class StrategyAdmin(admin.ModelAdmin):
    list_display = ("code", "title", "period_start", "period_end")


@admin.register(models.Priority)
class PriorityAdmin(admin.ModelAdmin):
    list_display = ("code", "cohort", "theme", "text")
    list_filter = ("strategy", "cohort", "theme__name")
    list_select_related = ("theme",)
    search_fields = ("code", "text")


class DeliverableUpdateInline(admin.TabularInline):
    model = models.DeliverableUpdate
    extra = 0
    raw_id_fields = ["author"]


@admin.register(models.Deliverable)
class DeliverableAdmin(admin.ModelAdmin):
    list_display = ("code", "title", "owner", "due", "status")
    list_filter = ("status", "strategy", "owner")
    list_select_related = ("owner",)
    search_fields = ("code", "title")
    filter_horizontal = ("priorities", "what_matters")
    inlines = [DeliverableUpdateInline]


for model in (models.Outcome, models.WhatMatters, models.Need, models.Action, models.FocusArea):
    admin.site.register(model, list_display=("code", "text", "strategy"))
admin.site.register(models.Theme, list_display=("code", "name", "strategy"))
admin.site.register(models.NarrativePopulation, list_display=("place", "figure", "source"))
