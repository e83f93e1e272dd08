from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from appointments import api as booking_api
from appointments import views as booking_views
from bureau import api, views
from bureau import converters as _registers_converters  # noqa: F401  (ref, id, date below)
from bureau.access import login_attempts_limited
from bureau.dashboards import api as dashboard_api
from bureau.dashboards import views as dashboard_views
from bureau.dashboards import whatif_views
from priority import urls as priority_urls
from walkins import api as walkins_api
from walkins import public_views as walkin_pages
from walkins import views as walkin_views

api_v1 = [
    path("offices/", api.OfficeList.as_view(), name="office-list"),
    path("services/", api.ServiceList.as_view(), name="service-list"),
    path("auth/token/", api.TokenObtain.as_view(), name="auth-token"),
    path("deadlines/preview/", api.DeadlinePreview.as_view(), name="deadline-preview"),
    path("applications/", api.ApplicationListCreate.as_view(), name="application-list"),
    path("applications/status/", api.ApplicantStatus.as_view(), name="applicant-status"),
    path("applications/<ref:reference>/", api.ApplicationDetail.as_view(), name="application-detail"),
    path("offices/<ref:code>/availability/", booking_api.Availability.as_view(), name="availability"),
    path("offices/<ref:code>/check-ins/", walkins_api.CheckIn.as_view(), name="check-in"),
    path("offices/<ref:code>/tickets/", walkins_api.Tickets.as_view(), name="ticket-list"),
    path("offices/<ref:code>/counters/", walkins_api.OfficeCounters.as_view(), name="office-counters"),
    path("offices/<ref:code>/queue/", walkins_api.Queue.as_view(), name="office-queue"),
    path("counters/<id:counter_id>/open/", walkins_api.CounterOpen.as_view(), name="counter-open"),
    path("counters/<id:counter_id>/close/", walkins_api.CounterClose.as_view(), name="counter-close"),
    path("counters/<id:counter_id>/call-next/", walkins_api.CallNext.as_view(), name="counter-call-next"),
    path("counters/<id:counter_id>/recall/", walkins_api.Recall.as_view(), name="counter-recall"),
    path("counters/<id:counter_id>/complete/", walkins_api.Complete.as_view(), name="counter-complete"),
    path("counters/<id:counter_id>/no-show/", walkins_api.NoShow.as_view(), name="counter-no-show"),
    path("counters/<id:counter_id>/park/", walkins_api.Park.as_view(), name="counter-park"),
    path("counters/<id:counter_id>/transfer/", walkins_api.Transfer.as_view(), name="counter-transfer"),
    path("bookings/", booking_api.BookingCreate.as_view(), name="booking-list"),
    path("bookings/<ref:reference>/", booking_api.BookingDetail.as_view(), name="booking-detail"),
    path("bookings/<ref:reference>/reschedule/", booking_api.BookingReschedule.as_view(), name="booking-reschedule"),
    path("offices/<ref:code>/day-stats/", dashboard_api.DayStats.as_view(), name="office-day-stats"),
    *priority_urls.api,
]

urlpatterns = [
    path("api/v1/", include((api_v1, "api"), namespace="v1")),  # first: the rush comes here
    path("", views.home, name="home"),
    path("deadlines/", views.deadline_preview, name="deadlines-page"),
    path("status/", views.applicant_status, name="applicant-status"),
    path("staff/", views.staff_home, name="staff-home"),
    path("applications/", views.application_list, name="application-list"),
    path("applications/new/", views.application_accept, name="application-accept"),
    path("applications/<ref:reference>/", views.application_detail, name="application-detail"),
    path("applications/<ref:reference>/status/", views.application_status, name="application-status"),
    path("applications/<ref:reference>/receipt/", views.application_receipt, name="application-receipt"),
    path("book/", booking_views.office_list, name="book"),
    path("book/lost-link/", booking_views.lost_link, name="booking-lost-link"),
    path("book/<ref:code>/", booking_views.book, name="book-office"),
    path("book/manage/<ref:reference>/<ref:token>/", booking_views.manage, name="booking-manage"),
    path("book/manage/<ref:reference>/<ref:token>/cancel/", booking_views.cancel, name="booking-cancel"),
    path("book/manage/<ref:reference>/<ref:token>/reschedule/", booking_views.reschedule, name="booking-reschedule"),
    path("book/manage/<ref:reference>/<ref:token>/calendar.ics", booking_views.ics, name="booking-ics"),
    path("queues/", walkin_pages.queues, name="queues"),
    path("board/<ref:code>/", walkin_pages.board, name="board"),
    path("ticket/<id:ticket_id>/<ref:signature>/", walkin_pages.ticket_page, name="ticket-page"),
    path("kiosk/<ref:code>/", walkin_pages.kiosk, name="kiosk"),
    path("kiosk/<ref:code>/ticket/", walkin_pages.kiosk_ticket, name="kiosk-ticket"),
    path("kiosk/<ref:code>/check-in/", walkin_pages.kiosk_check_in, name="kiosk-check-in"),
    path(
        "kiosk/<ref:code>/tickets/<id:ticket_id>/<ref:signature>/",
        walkin_pages.kiosk_ticket_screen,
        name="kiosk-ticket-screen",
    ),
    path("kiosk/<ref:code>/tickets/<id:ticket_id>/<ref:signature>/sms/", walkin_pages.kiosk_sms, name="kiosk-sms"),
    path("counter/", walkin_views.counter, name="counter"),
    path("counter/panel/", walkin_views.counter_panel, name="counter-panel"),
    path("counter/act/", walkin_views.counter_act, name="counter-act"),
    path("counter/<ref:code>/check-in/", walkin_views.check_in, name="counter-check-in"),
    path("counter/<ref:code>/triage/", walkin_views.triage_page, name="counter-triage"),
    path("counter/<ref:code>/bookings/<ref:reference>/", walkin_views.booking_page, name="counter-booking"),
    *priority_urls.pages,
    path("dashboard/", dashboard_views.dashboard, name="dashboard"),
    path("dashboard/offices/<ref:code>/", dashboard_views.office_day, name="office-day-today"),
    path("dashboard/offices/<ref:code>/<date:day>/", dashboard_views.office_day, name="office-day"),
    path("dashboard/today/<ref:code>/", dashboard_views.today, name="dashboard-today"),
    path("dashboard/today/<ref:code>/report/", dashboard_views.report, name="dashboard-report"),
    path("dashboard/today/<ref:code>/report/<date:day>/", dashboard_views.report, name="dashboard-report-day"),
    path("dashboard/service/", dashboard_views.service_level, name="dashboard-service"),
    path("dashboard/deadlines/", dashboard_views.deadlines, name="dashboard-deadlines"),
    path("dashboard/documents/", dashboard_views.documents, name="dashboard-documents"),
    path("dashboard/what-if/", whatif_views.what_if, name="dashboard-what-if"),
    path("accounts/login/", login_attempts_limited(auth_views.LoginView.as_view()), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("healthz", views.healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
]

handler400 = views.bad_request
handler404 = views.page_not_found
handler500 = views.server_error
