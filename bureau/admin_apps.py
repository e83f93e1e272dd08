"""Django's admin app with the bureau's site (bureau/admin_site.py) as its default site. A
module of its own: INSTALLED_APPS imports it before any model may be."""

from django.contrib.admin.apps import AdminConfig as DjangoAdminConfig


class AdminConfig(DjangoAdminConfig):
    default_site = "bureau.admin_site.AdminSite"
