"""Who may open what: the authorisation matrix, generated from the URL configuration.

Every URL pattern of `bureau.urls` (the API under /api/v1/, the pages, the admin site's own
pages), every HTTP method it serves, every actor: the status each actor gets is decided in
one table, EXPECTED, keyed by URL name and method. A URL pattern, or a method a URL serves,
that has no entry fails here, naming it: nobody adds a URL without deciding who may open it.

Actors: anonymous; an applicant holding the booking's own token and one holding another
booking's token (booking URLs only); a clerk and a supervisor of another office; a clerk and
a supervisor of the office the URL names (or of the office its application or booking
belongs to). Staff use a DRF token on /api/v1/ and a session on pages. Unsafe requests carry
a small valid body where one is needed to reach the permission check; the point is who gets
in (2xx/3xx, or a 400 from validation) and who does not (401/403/404), and that nothing is a
500. Every answer to the other office's staff is also checked not to name this office's
application or booking.

SPEC section 1: applicants see only their own bookings (the token is the credential: being
signed in as staff gives nothing on a booking URL); clerks act for their office only;
supervisors see dashboards of their offices only. Conventions the code follows, recorded here:
an anonymous request to a staff page is redirected to the login page (302), to a staff API
endpoint answered 401 (TokenAuthentication comes first, so DRF answers 401 with
`WWW-Authenticate: Token`); a clerk on a supervisor page gets 403; a resource looked up
through the caller's offices (an application, an office's dashboard) is a 404 to other
offices' staff, an office named as the place of an action (check-in, accepting an
application) is a 403 ("not on the staff of this office").
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any
from unittest import mock
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth.models import User
from django.contrib.contenttypes.models import ContentType
from django.shortcuts import resolve_url
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from pytest_django.fixtures import SettingsWrapper
from rest_framework.authtoken.models import Token

from appointments import selectors as booking_selectors
from appointments import services as booking_services
from appointments.api import BookingByToken
from appointments.models import Booking, BookingPolicy, Slot
from bureau.models import Application, Counter, Office, Service
from priority import selectors as priority_selectors
from priority.models import Case, Enterprise, EvidenceFile, StudentSession
from tests.factories import ApplicationFactory, OfficeFactory, ServiceFactory, clerk, nine_to_ten, supervisor
from walkins import selectors as walkin_selectors
from walkins import services as walkin_services
from walkins.models import Ticket

SHANGHAI = ZoneInfo("Asia/Shanghai")
# Wednesday 2 December 2026, 08:50 in Hangzhou: the booking below (09:00 that day) can be
# checked in, cancelled and moved; slots were generated on the day before.
NOW = datetime(2026, 12, 2, 8, 50, tzinfo=SHANGHAI)
BOOKED_AT = datetime(2026, 12, 1, 10, 0, tzinfo=SHANGHAI)
SLOT = datetime(2026, 12, 2, 9, 0, tzinfo=SHANGHAI)
LATER_SLOT = datetime(2026, 12, 3, 9, 0, tzinfo=SHANGHAI)
ID_NUMBERS = ["33010619900101123X", "11010519491231002X", "440300198511105416", "330102200002290015"]
PHONE = "13812345678"

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")  # HEAD follows GET; OPTIONS is metadata
STAFF = ("clerk_other", "clerk", "supervisor_other", "supervisor")
BASE_ACTORS = ("anonymous", *STAFF)
TOKEN_ACTORS = ("anonymous", "applicant", "applicant_other", *STAFF)
OTHER_OFFICE = ("clerk_other", "supervisor_other")


# --- outcomes ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Redirect:
    """A 302 whose Location starts with `to`: a path, or the name of a URL without arguments."""

    to: str

    def target(self) -> str:
        return self.to if self.to.startswith("/") else resolve_url(self.to)

    def __str__(self) -> str:
        return f"302->{self.to}"


@dataclass(frozen=True)
class Wrong:
    """What the SPEC demands where the code answers otherwise today: the case is an
    xfail(strict=True) until the code is fixed (then the mark goes)."""

    expected: int | Redirect
    reason: str


Outcome = int | Redirect | Wrong
TO_LOGIN = Redirect("login")
TO_ADMIN_LOGIN = Redirect("admin:login")


def everyone(outcome: Outcome) -> dict[str, Outcome]:
    return dict.fromkeys(BASE_ACTORS, outcome)


def staff_page(ok: Outcome, *, other: Outcome | None = None) -> dict[str, Outcome]:
    """A page for clerks and supervisors; `other`: what the other office's staff get."""
    other = ok if other is None else other
    return {"anonymous": TO_LOGIN, "clerk_other": other, "clerk": ok, "supervisor_other": other, "supervisor": ok}


def supervisor_page(ok: Outcome, *, other: Outcome | None = None) -> dict[str, Outcome]:
    other = ok if other is None else other
    return {"anonymous": TO_LOGIN, "clerk_other": 403, "clerk": 403, "supervisor_other": other, "supervisor": ok}


def staff_api(ok: Outcome, *, other: Outcome | None = None) -> dict[str, Outcome]:
    other = ok if other is None else other
    return {"anonymous": 401, "clerk_other": other, "clerk": ok, "supervisor_other": other, "supervisor": ok}


def token_only(ok: Outcome) -> dict[str, Outcome]:
    """A booking URL: only the holder of the booking's own token gets in; everyone else,
    staff included, is told there is no such booking."""
    return {**dict.fromkeys(TOKEN_ACTORS, 404), "applicant": ok}


def admin_page(ok: Outcome) -> dict[str, Outcome]:
    """Django admin: supervisors are `is_staff`, clerks are not (they go to its login page)."""
    return {
        "anonymous": TO_ADMIN_LOGIN,
        "clerk_other": TO_ADMIN_LOGIN,
        "clerk": TO_ADMIN_LOGIN,
        "supervisor_other": ok,
        "supervisor": ok,
    }


# The kiosk's pages are for the office's kiosk device (signed in as a StaffMember of role
# "kiosk"; tests/walkins/test_public_pages.py signs one in): staff get a 403 there.
KIOSK_ONLY: dict[str, Outcome] = {"anonymous": TO_LOGIN, **dict.fromkeys(STAFF, 403)}


def each(methods: tuple[str, ...], row: dict[str, Outcome]) -> dict[str, dict[str, Outcome]]:
    """The same row for several methods (views that do not restrict the method)."""
    return dict.fromkeys(methods, row)


# --- the table -----------------------------------------------------------------------------

# URL name (with its namespace; an unnamed pattern by its route) -> method -> actor -> outcome.
EXPECTED: dict[str, dict[str, dict[str, Outcome]]] = {
    # API v1, public
    "v1:office-list": {"GET": everyone(200)},
    "v1:service-list": {"GET": everyone(200)},
    "v1:auth-token": {"POST": everyone(400)},  # no credentials sent: the body is the credential
    "v1:deadline-preview": {"GET": everyone(200)},
    "v1:applicant-status": {"POST": everyone(200)},  # reference + ID number are the credential
    "v1:availability": {"GET": everyone(200)},
    "v1:booking-list": {"POST": everyone(201)},
    # API v1, booking token (X-Booking-Token)
    "v1:booking-detail": {"GET": token_only(200), "DELETE": token_only(204)},
    "v1:booking-reschedule": {"POST": token_only(200)},
    # API v1, staff
    "v1:application-list": {"GET": staff_api(200), "POST": staff_api(201, other=403)},
    "v1:application-detail": {"GET": staff_api(200, other=404), "POST": staff_api(200, other=404)},
    "v1:check-in": {"POST": staff_api(200, other=403)},
    "v1:ticket-list": {"POST": staff_api(201, other=403)},
    "v1:office-counters": {"GET": staff_api(200, other=403)},
    "v1:office-queue": {"GET": everyone(200)},
    "v1:office-day-stats": {"GET": staff_api(200, other=403)},
    # A counter's actions: the world's counter is open, staffed by the office's clerk, with a
    # ticket being served there and one waiting; nobody else may act at it.
    "v1:counter-open": {"POST": {**staff_api(200, other=403), "supervisor": 409}},  # the clerk staffs it
    "v1:counter-close": {"POST": {**staff_api(409, other=403), "supervisor": 403}},  # a ticket is open there
    "v1:counter-call-next": {"POST": {**staff_api(200, other=403), "supervisor": 403}},
    "v1:counter-recall": {"POST": {**staff_api(200, other=403), "supervisor": 403}},
    "v1:counter-complete": {"POST": {**staff_api(200, other=403), "supervisor": 403}},
    "v1:counter-no-show": {"POST": {**staff_api(200, other=403), "supervisor": 403}},
    "v1:counter-park": {"POST": {**staff_api(200, other=403), "supervisor": 403}},
    "v1:counter-transfer": {"POST": {**staff_api(200, other=403), "supervisor": 403}},
    # API v1, priority channels: public grounds, filing (multipart only: a JSON body is a 400),
    # enterprise registration and student bookings; a case read with its own X-Case-Token; a
    # decision by the case's office (404 elsewhere); a green ticket at the caller's office.
    "v1:emergency-grounds": {"GET": everyone(200)},
    "v1:emergency-case-list": {"POST": everyone(400)},
    "v1:emergency-case-detail": {"GET": token_only(200)},
    "v1:case-decision": {"POST": staff_api(200, other=403)},
    "v1:priority-ticket-list": {"POST": staff_api(201, other=403)},
    "v1:enterprise-list": {"POST": everyone(201)},
    "v1:student-booking-list": {"POST": everyone(201)},
    # public pages
    "home": {"GET": everyone(200)},
    "deadlines-page": {"GET": everyone(200)},
    "applicant-status": {"GET": everyone(200), "POST": everyone(200)},
    "book": {"GET": everyone(200)},
    "booking-lost-link": {"GET": everyone(200), "POST": everyone(200)},  # the same answer, match or not
    "book-office": {"GET": everyone(200), "POST": everyone(Redirect("/book/manage/"))},
    "healthz": {"GET": everyone(200)},
    # the hall's devices and public pages (walkins.public_views): numbers only, no names
    "queues": {"GET": everyone(200)},
    "board": {"GET": everyone(200)},
    "ticket-page": {"GET": everyone(200)},  # the signed address is the credential
    "kiosk": {"GET": KIOSK_ONLY},
    "kiosk-ticket": {"POST": KIOSK_ONLY},
    "kiosk-check-in": {"POST": KIOSK_ONLY},
    "kiosk-ticket-screen": {"GET": KIOSK_ONLY},
    "kiosk-sms": {"POST": KIOSK_ONLY},
    "schema": {"GET": everyone(200)},
    "api-docs": {"GET": everyone(200)},
    "set_language": each(METHODS, everyone(302)),
    "login": each(("GET", "POST", "PUT"), everyone(200)),  # the form (re-shown when empty)
    "logout": {"POST": everyone(Redirect("home"))},
    # booking pages: the token is in the path
    "booking-manage": {"GET": token_only(200)},
    "booking-cancel": {"POST": token_only(Redirect("/book/manage/"))},
    "booking-reschedule": {"POST": token_only(Redirect("/book/manage/"))},
    "booking-ics": {"GET": token_only(200)},
    # staff pages
    "staff-home": each(
        METHODS,
        {
            "anonymous": TO_LOGIN,
            "clerk_other": Redirect("application-list"),
            "clerk": Redirect("application-list"),
            "supervisor_other": Redirect("dashboard"),
            "supervisor": Redirect("dashboard"),
        },
    ),
    # POST: a search; one by ID number is answered in place (it never goes into an address)
    "application-list": {"GET": staff_page(200), "POST": staff_page(200)},
    # The other office's staff are offered only their own offices: the form refuses (200).
    "application-accept": {"GET": staff_page(200), "POST": staff_page(Redirect("/applications/"), other=200)},
    "application-detail": {"GET": staff_page(200, other=404)},
    "application-status": {
        "GET": staff_page(200, other=404),  # the confirmation page of a step
        "POST": staff_page(Redirect("/applications/APP0000001/"), other=404),
    },
    "application-receipt": {"GET": staff_page(200, other=404)},
    # The clerk's pages (walkins.views): the world's counter is open, staffed by the clerk,
    # serving a ticket. The workstation lists the caller's own office's counters; one named
    # (?office=) that is not theirs is a 403, as are check-in and triage at another office.
    "counter": {"GET": staff_page(200, other=403)},
    "counter-panel": {"GET": staff_page(Redirect("counter"))},  # htmx polls it; a plain GET: the page
    # A recall at the world's counter: only the clerk who staffs it.
    "counter-act": {"POST": {**staff_page(Redirect("counter"), other=403), "supervisor": 403}},
    "counter-check-in": {
        "GET": staff_page(200, other=403),
        "POST": staff_page(Redirect("/counter/XH/check-in/?ticket="), other=403),
    },
    # A booking as the clerks of its office see it (linked from the application it brought).
    "counter-booking": {"GET": staff_page(200, other=403)},
    "counter-triage": {
        "GET": staff_page(200, other=403),
        "POST": staff_page(Redirect("/counter/XH/triage/?ticket="), other=403),
    },
    # The priority desk and its pages (priority.views): the world's emergency case (with one
    # document) and enterprise registration are the office's. A case or its document is its
    # office's staff's only (403 to other offices' staff); an enterprise is looked up through
    # the caller's offices (404 elsewhere); the desk and filing a case at the counter name the
    # office as the place of action (403).
    # POSTs without a form are refused by the form (400); a case's decision asks for more
    # documents; an enterprise's approval is first confirmed (200), by a supervisor only.
    "priority-desk": {"GET": staff_page(200, other=403), "POST": staff_page(400, other=403)},
    "counter-case-new": {"GET": staff_page(200, other=403), "POST": staff_page(400, other=403)},
    "counter-case": {
        "GET": staff_page(200, other=403),
        "POST": staff_page(Redirect("/counter/XH/cases/CASE000001/"), other=403),
    },
    "counter-case-file": {"GET": staff_page(200, other=403)},
    "counter-enterprise": {"GET": staff_page(200, other=404), "POST": {**staff_page(200, other=404), "clerk": 403}},
    # the emergency case form (an empty one is refused), and a case's private link
    "case-new": {"GET": everyone(200), "POST": everyone(400)},
    "case-page": {"GET": token_only(200), "POST": token_only(400)},  # POST: no document sent
    # enterprises register (an empty form is refused); an enterprise's private link files
    # requests only once approved (the world's is not yet: 403 to its holder)
    "enterprise-register": {"GET": everyone(200), "POST": everyone(400)},
    "enterprise-page": {"GET": token_only(200), "POST": token_only(403)},
    # the student session page: anyone books a student place
    "book-student": {"GET": everyone(200), "POST": everyone(Redirect("/book/manage/"))},
    # supervisors' dashboards
    "dashboard": {"GET": supervisor_page(200)},
    "office-day-today": {"GET": supervisor_page(200, other=404)},
    "office-day": {"GET": supervisor_page(200, other=404)},
    "dashboard-today": {"GET": staff_page(200, other=404)},  # a clerk: their own office's Today only
    "dashboard-report": {"GET": staff_page(200, other=404)},
    "dashboard-report-day": {"GET": staff_page(200, other=404)},
    "dashboard-service": {"GET": supervisor_page(200)},
    "dashboard-deadlines": {"GET": supervisor_page(200)},
    # POST: the province's total, for a supervisor over the whole bureau only
    "dashboard-documents": {"GET": supervisor_page(200), "POST": supervisor_page(403)},
    "dashboard-what-if": {"GET": supervisor_page(200)},
    # Django admin, the site's own pages (its per-model pages are left out, see _walk)
    "admin:index": each(METHODS, admin_page(200)),
    "admin:login": {
        "GET": {
            "anonymous": 200,
            "clerk_other": 200,  # signed in but not admin staff: the form, with a note saying so
            "clerk": 200,
            "supervisor_other": Redirect("admin:index"),
            "supervisor": Redirect("admin:index"),
        },
        **each(("POST", "PUT"), everyone(200)),  # no credentials sent: the form again
    },
    "admin:logout": {
        "POST": {
            **dict.fromkeys(("anonymous", "clerk_other", "clerk"), Redirect("admin:index")),
            **dict.fromkeys(("supervisor_other", "supervisor"), Redirect("home")),  # LOGOUT_REDIRECT_URL
        }
    },
    "admin:password_change": each(("GET", "POST", "PUT"), admin_page(200)),
    "admin:password_change_done": {"GET": admin_page(200)},
    "admin:jsi18n": {"GET": admin_page(200)},
    "admin:app_list": each(METHODS, admin_page(200)),
    # No admin declares autocomplete_fields, so every autocomplete query is refused.
    "admin:autocomplete": {"GET": admin_page(403)},
    "admin:view_on_site": each(METHODS, admin_page(404)),  # an office has no public page to show
    "admin/(?P<url>.*)$": each(METHODS, admin_page(404)),  # the admin's catch-all
}

# Where the office's own staff must find the (overdue) application: what the other office's
# staff must not see is then known to be there to see.
SHOWN_TO_OFFICE = {
    ("v1:application-list", "GET"),
    ("v1:application-detail", "GET"),
    ("application-list", "GET"),
    ("application-detail", "GET"),
    ("application-list", "POST"),
    ("application-receipt", "GET"),
    ("dashboard-deadlines", "GET"),
}

# Booking URLs, opened with the booking's token (X-Booking-Token on the API, in the path on pages).
TOKEN_URLS = {
    "v1:booking-detail",
    "v1:booking-reschedule",
    "booking-manage",
    "booking-cancel",
    "booking-reschedule",
    "booking-ics",
    "case-page",  # a case's private link: the same rule, with the case's token
    "v1:emergency-case-detail",  # X-Case-Token
    "enterprise-page",  # an enterprise's private link
}


# --- walking the URL configuration ---------------------------------------------------------


@dataclass(frozen=True)
class Route:
    key: str  # namespaced name, or the route of an unnamed pattern
    route: str
    kwargs: tuple[str, ...]
    view_class: type | None  # of a class-based view


def _walk(resolver: URLResolver, prefix: str = "", namespace: tuple[str, ...] = ()) -> Iterator[Route]:
    for entry in resolver.url_patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            if namespace == ("admin",):
                # The admin's per-model pages (admin/<app>/<model>/...) are covered by the
                # admin registry test (tests/bureau/test_admin.py); the site's own pages are here.
                continue
            yield from _walk(entry, route, (*namespace, entry.namespace) if entry.namespace else namespace)
        elif isinstance(entry, URLPattern):
            key = ":".join((*namespace, entry.name)) if entry.name else route
            view_class = getattr(entry.callback, "view_class", None) or getattr(entry.callback, "cls", None)
            yield Route(key=key, route=route, kwargs=tuple(entry.pattern.regex.groupindex), view_class=view_class)


ROUTES = list(_walk(get_resolver()))


# --- the world -----------------------------------------------------------------------------


@dataclass
class World:
    office: Office
    other_office: Office
    service: Service
    other_service: Service
    counter: Counter
    booking: Booking
    other_booking: Booking
    application: Application
    users: dict[str, User]
    case: Case
    other_case: Case
    enterprise: Enterprise

    def token(self, booking: Booking) -> str:
        return booking_selectors.booking_token(booking.reference)

    def link_token(self, holder: Booking | Case) -> str:
        """The secret of a booking's or a case's private link."""
        if isinstance(holder, Case):
            return priority_selectors.case_token(holder)
        return self.token(holder)


def _case(office: Office, reference: str, id_number: str) -> Case:
    """An emergency case filed online (written directly: the evidence check's child process
    would cost every test of the table its start-up)."""
    return Case.objects.create(
        reference=reference,
        kind=Case.Kind.EMERGENCY,
        office=office,
        ground="visa_expiry",
        trip_date=date(2026, 12, 20),
        description="签证下周到期",
        name="王小晶",
        id_number=id_number,
        phone=PHONE,
        created_at=BOOKED_AT,
        changed_at=BOOKED_AT,
    )


@pytest.fixture
def world(db: None, settings: SettingsWrapper, tmp_path: Path) -> Iterator[World]:
    settings.EVIDENCE_ROOT = tmp_path
    with mock.patch("django.utils.timezone.now", return_value=NOW):
        office = OfficeFactory.create(code="XH")
        other_office = OfficeFactory.create(code="GS")
        service = ServiceFactory.create(code="passport-first")
        nine_to_ten(office, service, general_quota=5)
        BookingPolicy.objects.get_or_create(pk=1, defaults={"hold_minutes": 30})
        booking_services.slots_generate(today=date(2026, 12, 1))

        def book(id_number: str) -> Booking:
            return booking_services.booking_create(
                office=office,
                service=service,
                start=SLOT,
                name="王小晶",
                id_number=id_number,
                phone=PHONE,
                now=BOOKED_AT,
            )

        users = {
            "clerk": clerk(office),
            "clerk_other": clerk(other_office),
            "supervisor": supervisor(office),
            "supervisor_other": supervisor(other_office),
        }
        session = StudentSession.objects.create(
            name="学生专场",
            first_day=date(2026, 12, 2),
            last_day=date(2026, 12, 15),
            places=2,
            created_at=NOW,
            created_by=users["supervisor"],
        )
        session.offices.set([office])
        Slot.objects.update(student_quota=2)  # the session's places
        other_service = ServiceFactory.create(code="hk-macao-endorsement", document="hk_macao", business="endorsement")
        counter = Counter.objects.create(office=office, number=1)
        counter.services.set([service, other_service])
        walkin_services.counter_open(counter=counter, by=users["clerk"])
        for _ in range(2):
            walkin_services.ticket_issue(office=office, service=service, channel="general", by=users["clerk"])
        walkin_services.ticket_call_next(counter=counter, by=users["clerk"])
        case = _case(office, "CASE000001", ID_NUMBERS[0])
        stored = "0" * 32 + ".pdf"
        (tmp_path / stored).write_bytes(b"%PDF-1.4 the world's document")
        EvidenceFile.objects.create(
            case=case,
            public_id="f" * 32,
            code="visa",
            stored_name=stored,
            original_name="visa.pdf",
            content_type="application/pdf",
            size=29,
            sha256="0" * 64,
            uploaded_at=BOOKED_AT,
        )
        yield World(
            office=office,
            other_office=other_office,
            service=service,
            other_service=other_service,
            counter=counter,
            booking=book(ID_NUMBERS[0]),
            other_booking=book(ID_NUMBERS[1]),
            # Overdue, so that it is listed to its office's staff (and must be to nobody else).
            application=ApplicationFactory.create(
                office=office, service=service, reference="APP0000001", due_on=date(2026, 11, 30)
            ),
            users=users,
            case=case,
            other_case=_case(office, "CASE000002", ID_NUMBERS[1]),
            enterprise=Enterprise.objects.create(
                reference="ENT0000001",
                name="杭州某外贸公司",
                credit_code="91330106MA2B3C4D5E",
                office=office,
                created_at=NOW,
            ),
        )


# What each request carries: path arguments, query string, body.


CASE_URLS = {"case-page", "counter-case", "counter-case-file", "v1:emergency-case-detail", "v1:case-decision"}


def _reference(route: Route, world: World) -> str:
    """The reference a URL names: the case's, the enterprise's, the booking's or the application's."""
    if route.key in CASE_URLS:
        return world.case.reference
    if route.key in ("counter-enterprise", "enterprise-page"):
        return world.enterprise.reference
    if route.key in TOKEN_URLS or route.key == "counter-booking":
        return world.booking.reference
    return world.application.reference


def _path_kwargs(route: Route, world: World, actor: str) -> dict[str, str]:
    own, other = (world.case, world.other_case) if route.key in CASE_URLS else (world.booking, world.other_booking)
    values = {
        "reference": _reference(route, world),
        "public_id": "f" * 32,
        "code": world.office.code,
        "day": "2026-12-02",
        "app_label": "bureau",
        "content_type_id": str(ContentType.objects.get_for_model(Office).pk),
        "object_id": str(world.office.pk),
        "url": "no-such-page/",
        "ticket_id": str(_first_ticket(world).pk),
        "signature": walkin_selectors.ticket_signature(_first_ticket(world).pk),
        "counter_id": str(world.counter.pk),
        "token": _link_tokens(route, world, own, other).get(actor, "0" * 32),
    }
    unknown = [name for name in route.kwargs if name not in values]
    if unknown:
        pytest.fail(f"{route.key}: no value for the path arguments {unknown}; add them to _path_kwargs")
    return {name: values[name] for name in route.kwargs}


def _link_tokens(route: Route, world: World, own: Booking | Case, other: Booking | Case) -> dict[str, str]:
    """The secret of each applicant's own private link (the other applicant's names another
    booking, case or enterprise)."""
    if route.key == "enterprise-page":
        return {
            "applicant": priority_selectors.enterprise_token(world.enterprise),
            "applicant_other": priority_selectors.secret_token("enterprise", "ENT0000002"),
        }
    return {"applicant": world.link_token(own), "applicant_other": world.link_token(other)}


def _first_ticket(world: World) -> Ticket:
    return Ticket.objects.filter(office=world.office).order_by("pk").first() or Ticket()


def _path(route: Route, world: World, actor: str) -> str:
    kwargs = _path_kwargs(route, world, actor)
    if route.key == "admin/(?P<url>.*)$":
        return f"/admin/{kwargs['url']}"
    return reverse(route.key, kwargs=kwargs)


QUERY: dict[str, Callable[[World], dict[str, str]]] = {
    "v1:deadline-preview": lambda w: {"accepted_on": "2026-12-01", "residency": "in_province"},
    "counter": lambda w: {"office": w.office.code},
    "v1:availability": lambda w: {"service": w.service.code, "date": "2026-12-03"},
    "book-office": lambda w: {"service": str(w.service.pk), "date": "2026-12-03"},
    "application-status": lambda w: {"status": Application.Status.IN_PRODUCTION},
}

BODY: dict[tuple[str, str], Callable[[World], dict[str, Any]]] = {
    ("v1:applicant-status", "POST"): lambda w: {"reference": w.application.reference, "id_number": ID_NUMBERS[0]},
    ("v1:booking-list", "POST"): lambda w: {
        "office": w.office.code,
        "service": w.service.code,
        "start": LATER_SLOT.isoformat(),
        "name": "李四",
        "id_number": ID_NUMBERS[2],
        "phone": PHONE,
    },
    ("v1:booking-reschedule", "POST"): lambda w: {"start": LATER_SLOT.isoformat()},
    ("v1:application-list", "POST"): lambda w: {
        "office": w.office.code,
        "service": w.service.code,
        "applicant_name": "李四",
        "id_number": ID_NUMBERS[3],
    },
    ("v1:application-detail", "POST"): lambda w: {"status": Application.Status.IN_PRODUCTION},
    ("v1:check-in", "POST"): lambda w: {"code": w.booking.reference},
    ("v1:ticket-list", "POST"): lambda w: {"service": w.service.code, "channel": "general"},
    ("v1:counter-transfer", "POST"): lambda w: {"service": w.other_service.code},
    ("v1:case-decision", "POST"): lambda w: {"decision": "more", "reason": "请补充签证首页"},
    # ID_NUMBERS[1]: born in 1949, of the green channel's age.
    ("v1:priority-ticket-list", "POST"): lambda w: {
        "service": w.service.code,
        "channel": "green",
        "id_number": ID_NUMBERS[1],
    },
    ("v1:enterprise-list", "POST"): lambda w: {
        "office": w.office.code,
        "name": "杭州某贸易有限公司",
        "credit_code": "91110000600037341L",
        "contacts": [{"name": "李四", "id_number": ID_NUMBERS[2], "phone": PHONE}],
    },
    ("v1:student-booking-list", "POST"): lambda w: {
        "office": w.office.code,
        "service": w.service.code,
        "start": LATER_SLOT.isoformat(),
        "school": "浙江大学",
        "proof": "ZJU2026001",
        "student": {"name": "李四", "id_number": ID_NUMBERS[2], "phone": PHONE},
    },
    ("book-office", "POST"): lambda w: {
        "service": str(w.service.pk),
        "date": "2026-12-03",
        "start": LATER_SLOT.isoformat(),
        "name": "李四",
        "id_number": ID_NUMBERS[2],
        "phone": PHONE,
        "channel": "general",
    },
    ("booking-reschedule", "POST"): lambda w: {"start": LATER_SLOT.isoformat()},
    ("book-student", "POST"): lambda w: {
        "service": str(w.service.pk),
        "date": "2026-12-03",
        "start": LATER_SLOT.isoformat(),
        "name": "李四",
        "id_number": ID_NUMBERS[2],
        "phone": PHONE,
        "school": "浙江大学",
        "proof": "ZJU2026001",
    },
    ("application-accept", "POST"): lambda w: {
        "office": str(w.office.pk),
        "service": str(w.service.pk),
        "applicant_name": "李四",
        "id_number": ID_NUMBERS[3],
    },
    ("application-status", "POST"): lambda w: {"status": Application.Status.IN_PRODUCTION},
    ("counter-act", "POST"): lambda w: {"action": "recall", "counter": str(w.counter.pk)},
    ("counter-check-in", "POST"): lambda w: {"code": w.booking.reference},
    ("counter-triage", "POST"): lambda w: {"service": str(w.service.pk), "channel": "general"},
    ("counter-case", "POST"): lambda w: {
        "action": "decide",
        "decision": "more",
        "reason": "请补充签证首页",
        "current": "submitted",
    },
    ("counter-enterprise", "POST"): lambda w: {"decision": "approve"},
    ("application-list", "POST"): lambda w: {"q": w.application.id_number},
    ("set_language", "POST"): lambda w: {"language": "en", "next": "/"},
}


def _client(route: Route, world: World, actor: str) -> Client:
    """Staff: a DRF token on /api/v1/, a session elsewhere. Applicants: the booking token in
    the X-Booking-Token header on the API (on pages it is in the path)."""
    user = world.users.get(actor)
    if not route.route.startswith("api/v1/"):
        client = Client()
        if user is not None:
            client.force_login(user)
        return client
    headers: dict[str, str] = {}
    if user is not None:
        headers["authorization"] = f"Token {Token.objects.get_or_create(user=user)[0].key}"
    own, other = (world.case, world.other_case) if route.key in CASE_URLS else (world.booking, world.other_booking)
    header = "x-case-token" if route.key in CASE_URLS else "x-booking-token"
    if actor == "applicant":
        headers[header] = world.link_token(own)
    elif actor == "applicant_other":
        headers[header] = world.link_token(other)
    return Client(headers=headers)


def _request_parts(route: Route, method: str, world: World, actor: str) -> tuple[str, dict[str, str], dict[str, Any]]:
    path = _path(route, world, actor)
    query = QUERY[route.key](world) if method == "GET" and route.key in QUERY else {}
    body = BODY[route.key, method](world) if (route.key, method) in BODY else {}
    return path, query, body


def _send(route: Route, method: str, world: World, actor: str) -> Any:
    client = _client(route, world, actor)
    path, query, body = _request_parts(route, method, world, actor)
    if method == "GET":
        return client.get(path, query)
    if route.route.startswith("api/"):
        return client.generic(method, path, data=json.dumps(body), content_type="application/json")
    if method == "POST":
        return client.post(path, body)
    return client.generic(method, path)


def _matches(response: Any, expected: int | Redirect) -> bool:
    if isinstance(expected, Redirect):
        return response.status_code == 302 and response["Location"].startswith(expected.target())
    return bool(response.status_code == expected)


# --- the tests -----------------------------------------------------------------------------


def _cases() -> Iterator[Any]:
    for route in ROUTES:
        methods = EXPECTED.get(route.key)
        if methods is None:
            yield pytest.param(route, None, None, id=f"{route.key}|NO-ENTRY")
            continue
        for method, row in methods.items():
            for actor, outcome in row.items():
                marks = []
                if isinstance(outcome, Wrong):
                    marks.append(pytest.mark.xfail(strict=True, reason=outcome.reason))
                yield pytest.param(route, method, actor, id=f"{route.key}|{method}|{actor}", marks=marks)


@pytest.mark.parametrize(("route", "method", "actor"), list(_cases()))
def test_authorization(route: Route, method: str | None, actor: str | None, world: World) -> None:
    if method is None or actor is None:
        pytest.fail(
            f"URL {route.key!r} (/{route.route}) has no entry in EXPECTED in {__name__}: "
            "decide who may open it, for every method it serves."
        )
    outcome = EXPECTED[route.key][method][actor]
    expected = outcome.expected if isinstance(outcome, Wrong) else outcome
    with mock.patch("django.utils.timezone.now", return_value=NOW):
        response = _send(route, method, world, actor)
    got = response.status_code, response.get("Location", "")
    assert _matches(response, expected), f"{method} {route.key} as {actor}: expected {expected}, got {got}"
    content = b"".join(response.streaming_content) if response.streaming else response.content
    body = content.decode(errors="replace")
    if actor in OTHER_OFFICE:
        asked = repr(_request_parts(route, method, world, actor))  # a reference sent may come back
        for secret in (world.application.reference, world.booking.reference, world.booking.id_number, world.case.name):
            if secret not in asked:
                assert secret not in body, f"{method} {route.key} shows {secret!r} to {actor}"
    elif actor in ("clerk", "supervisor") and expected == 200 and (route.key, method) in SHOWN_TO_OFFICE:
        assert world.application.reference in body, f"{method} {route.key} hides the application from {actor}"


def test_table_rows_are_complete_and_current() -> None:
    """Every row names every actor once (booking URLs also the two applicants), and the table
    has no entry for a URL that no longer exists."""
    keys = {route.key for route in ROUTES}
    assert sorted(set(EXPECTED) - keys) == [], "entries for URLs that are gone"
    for key, methods in EXPECTED.items():
        actors = TOKEN_ACTORS if key in TOKEN_URLS else BASE_ACTORS
        for method, row in methods.items():
            assert method in METHODS, (key, method)
            assert sorted(row) == sorted(actors), (key, method)
    token_routes = {
        route.key
        for route in ROUTES
        if "token" in route.kwargs or (route.view_class and issubclass(route.view_class, BookingByToken))
    }
    assert sorted(token_routes - TOKEN_URLS) == [], "booking URLs not in TOKEN_URLS"


def test_every_method_a_url_serves_is_in_the_table(world: World) -> None:
    """A method is served when the most trusted actor is not answered 405; each served method
    needs a row (a URL that starts taking PATCH, say, must say who may)."""
    missing, stale = [], []
    for route in ROUTES:
        if route.key not in EXPECTED:
            continue  # reported by test_authorization
        actor = "applicant" if route.key in TOKEN_URLS else "supervisor"
        with mock.patch("django.utils.timezone.now", return_value=NOW):
            served = {m for m in METHODS if _send(route, m, world, actor).status_code != 405}
        missing += [f"{route.key} {m}" for m in sorted(served - set(EXPECTED[route.key]))]
        stale += [f"{route.key} {m}" for m in sorted(set(EXPECTED[route.key]) - served)]
    assert missing == [], f"methods served without a row in EXPECTED: {missing}"
    assert stale == [], f"rows for methods the URL answers 405: {stale}"
