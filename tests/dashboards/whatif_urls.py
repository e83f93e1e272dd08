"""The site's URLs with the "what if" page, until bureau/urls.py names it."""

from django.urls import path

from bureau import urls
from bureau.dashboards import whatif_views

urlpatterns = [
    *urls.urlpatterns,
    path("dashboard/what-if/", whatif_views.what_if, name="dashboard-what-if"),
]
handler400 = urls.handler400
handler404 = urls.handler404
handler500 = urls.handler500
