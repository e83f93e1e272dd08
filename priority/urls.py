"""The priority channels' pages and API routes; bureau.urls puts them in place."""

from django.urls import path

from bureau import converters as _registers_converters  # noqa: F401  (ref, id below)
from priority import api as endpoints
from priority import enterprise_views, public_views, student_views, views

api = [
    path("emergency-grounds/", endpoints.Grounds.as_view(), name="emergency-grounds"),
    path("emergency-cases/", endpoints.CaseCreate.as_view(), name="emergency-case-list"),
    path("emergency-cases/<ref:reference>/", endpoints.CaseDetail.as_view(), name="emergency-case-detail"),
    path("cases/<ref:reference>/decisions/", endpoints.CaseDecision.as_view(), name="case-decision"),
    path("offices/<ref:code>/priority-tickets/", endpoints.PriorityTickets.as_view(), name="priority-ticket-list"),
    path("enterprises/", endpoints.EnterpriseCreate.as_view(), name="enterprise-list"),
    path("student-bookings/", endpoints.StudentBookingCreate.as_view(), name="student-booking-list"),
]

pages = [
    path("emergency/", public_views.case_new, name="case-new"),
    path("emergency/<ref:reference>/<ref:token>/", public_views.case_page, name="case-page"),
    path("enterprise/", enterprise_views.register, name="enterprise-register"),
    path("enterprise/<ref:reference>/<ref:token>/", enterprise_views.enterprise_page, name="enterprise-page"),
    path("book/<ref:code>/student/", student_views.book_student, name="book-student"),
    path("counter/<ref:code>/priority/", views.desk, name="priority-desk"),
    path("counter/<ref:code>/cases/new/", views.case_new_at_counter, name="counter-case-new"),
    path("counter/<ref:code>/cases/<ref:reference>/", views.case_detail, name="counter-case"),
    path(
        "counter/<ref:code>/cases/<ref:reference>/files/<ref:public_id>/",
        views.evidence_file,
        name="counter-case-file",
    ),
    path("counter/<ref:code>/enterprises/<ref:reference>/", views.enterprise_detail, name="counter-enterprise"),
]
