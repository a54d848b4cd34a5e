"""The admin site is for administrators only; place leads and analysts are never staff."""

from django.contrib import admin


class SetOutcomesAdminSite(admin.AdminSite):
    site_header = "SET Outcomes administration"
    site_title = "SET Outcomes admin"

    def has_permission(self, request):
        from strategy.access import Action, user_can

        user = request.user
        return bool(user.is_active and user.is_staff and user_can(user, Action.USE_ADMIN))


class ReadOnlyAdmin(admin.ModelAdmin):
    """For records that are history (versions, returns, audit): visible, never edited here."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
