from django.contrib.admin.apps import AdminConfig


class SetOutcomesAdminConfig(AdminConfig):
    default_site = "setset.admin.SetOutcomesAdminSite"
