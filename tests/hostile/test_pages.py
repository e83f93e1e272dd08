"""Hostile input on the pages' forms and URLs (SPEC 8): times and dates in years 1 and 9999
on the booking page, the manage page's reschedule and the deadline page, dates in dashboard
URLs, control and bidirectional characters in names, school, proof, the clerk's applicant
name, reasons and notes. Each is the field's error on the page (or the project's own 404
page), in Chinese by default and in English when asked, never a 500, and nothing is stored.
Then every page of the URL configuration is sent a form and a query of hostile values."""

import html
import re
from typing import Any
from urllib.parse import urlencode

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import translation

from appointments.models import Booking
from bureau.forms import out_of_range_message
from tests.hostile.conftest import (
    FREE_SLOT,
    ID_NUMBERS,
    PHONE,
    World,
    fingerprint,
    hidden,
    is_chinese,
    is_english,
    page_client,
)
from walkins import selectors as walkin_selectors

pytestmark = pytest.mark.django_db

LANGUAGES = {"zh-hans": {}, "en": {"accept-language": "en"}}
BAD_MOMENTS = [
    "0001-01-01T00:00:00+08:00",
    "9999-12-31T23:59:59+08:00",
    "0001-01-01T00:00:00",
    "9999-12-31T23:59:59",
    "0001-01-01T00:00:00Z",
    "9999-12-31T23:59:59-12:00",
    "0001-01-01 00:00",
    "2100-01-01T09:00:00+08:00",
]
HIDDEN = [
    "\x00",
    "\x07",
    "\n",
    "\t",
    "\x1b",
    "\u202e",
    "\u2066",
    "\u200f",
    "\u200b",
    "\ufeff",
    "\u2028",
    "\u2029",
    "\u3164",
    "\u034f",
    "\ufffd",  # what Django makes of a page form's bytes that are not UTF-8 (a lone surrogate)
]
HIDDEN_CHARACTERS = "%(field)s contains control or invisible characters; please type it again."


def field_errors(page: str, field: str) -> list[str]:
    """The messages the page shows under a field (templates/includes/field.html)."""
    block = re.search(rf'id="id_{field}_error">(.*?)</div>', page, re.S)
    return [html.unescape(m) for m in re.findall(r'<p class="error">(.*?)</p>', block.group(1), re.S)] if block else []


def catalogue_pattern(language: str, msgid: str) -> re.Pattern[str]:
    with translation.override(language):
        template = translation.gettext(msgid)
    return re.compile(re.sub(r"%\\\(\w+\\\)s", ".+", re.escape(template)))


def booking_form(world: World, **change: str) -> dict[str, str]:
    return {
        "service": str(world.service.pk),
        "date": FREE_SLOT.date().isoformat(),
        "start": FREE_SLOT.isoformat(),
        "name": "李四",
        "id_number": ID_NUMBERS[1],
        "phone": PHONE,
        **change,
    }


def accept_form(world: World, **change: str) -> dict[str, str]:
    return {
        "office": str(world.office.pk),
        "service": str(world.service.pk),
        "applicant_name": "李四",
        "id_number": ID_NUMBERS[2],
        "residency_override": "out_of_province",
        "override_reason": "户籍已迁出",
        **change,
    }


def manage_url(world: World, action: str = "booking-manage") -> str:
    return reverse(action, args=[world.booking.reference, world.token])


# --- the valid forms the cases below change one field of ---------------------------------------


def test_the_valid_forms_are_taken(world: World) -> None:
    booked = page_client().post(f"/book/{world.office.code}/", booking_form(world))
    assert booked.status_code == 302, field_errors(booked.content.decode(), "start")
    assert booked["Location"].startswith("/book/manage/")
    accepted = page_client(world.clerk).post("/applications/new/", accept_form(world))
    assert accepted.status_code == 302
    moved = page_client().post(manage_url(world, "booking-reschedule"), {"start": FREE_SLOT.isoformat()})
    assert moved.status_code == 302
    assert Booking.objects.get(pk=world.booking.pk).starts_at == FREE_SLOT


# --- 2. years 1 and 9999 ---------------------------------------------------------------------


def test_booking_page_start_outside_the_years_is_the_fields_error(world: World) -> None:
    before = fingerprint()
    for moment in BAD_MOMENTS:
        for language, headers in LANGUAGES.items():
            response = page_client().post(
                f"/book/{world.office.code}/", booking_form(world, start=moment), headers=headers
            )
            assert response.status_code in (200, 400), (moment, response.status_code)
            errors = field_errors(response.content.decode(), "start")
            assert errors, (moment, language)
            check = is_chinese if language == "zh-hans" else is_english
            assert all(check(e, sent=moment) for e in errors), (moment, errors)
    assert fingerprint() == before


def test_manage_page_reschedule_outside_the_years_is_refused_with_a_message(world: World) -> None:
    before = fingerprint()
    for moment in BAD_MOMENTS:
        for language, headers in LANGUAGES.items():
            client = page_client()
            response = client.post(manage_url(world, "booking-reschedule"), {"start": moment}, headers=headers)
            assert response.status_code == 302, (moment, response.status_code)
            page = client.get(response["Location"], headers=headers)
            assert page.status_code == 200
            with translation.override(language):
                assert html.escape(translation.gettext("Choose a time.")) in page.content.decode(), moment
    assert fingerprint() == before


def test_deadline_page_date_outside_the_years_is_the_fields_error(world: World) -> None:
    for day in ("0001-01-01", "9999-12-31", "1999-12-31", "2100-01-01"):
        for language, headers in LANGUAGES.items():
            response = page_client().get(f"/deadlines/?accepted_on={day}&residency=in_province", headers=headers)
            assert response.status_code in (200, 400), day
            with translation.override(language):
                assert field_errors(response.content.decode(), "accepted_on") == [out_of_range_message()], day


def main_of(page: str) -> str:
    match = re.search(r"<main[^>]*>(.*?)</main>", page, re.S)
    assert match, page[:300]
    return match.group(1).strip()


@pytest.mark.parametrize("day", ["9999-12-31", "0001-01-01", "2026-02-30", "2026-13-01", "0000-01-01", "1999-12-31"])
def test_dashboard_day_outside_the_calendar_is_the_sites_404(day: str, world: World) -> None:
    """The site's own 404 page (tests/hostile/test_error_pages.py looks at it), the same as
    for any address that is not there, in the language asked for."""
    client = page_client(world.supervisor)
    for language, headers in LANGUAGES.items():
        response = client.get(f"/dashboard/offices/{world.office.code}/{day}/", headers=headers)
        assert response.status_code == 404
        unknown = client.get("/no-such-page/", headers=headers)
        assert main_of(response.content.decode()) == main_of(unknown.content.decode())
        check = is_chinese if language == "zh-hans" else is_english
        assert check(main_of(response.content.decode()))
    assert client.get(f"/dashboard/offices/{world.office.code}/2026-12-02/").status_code == 200


# --- 5. control and bidirectional characters in free text ------------------------------------


@pytest.mark.parametrize("field", ["name"])
def test_booking_page_hidden_character_is_the_fields_error(field: str, world: World) -> None:
    before = fingerprint()
    for char in HIDDEN:
        for language, headers in LANGUAGES.items() if char == "\u202e" else [("zh-hans", {})]:
            form = booking_form(world, **{field: f"王{char}小晶"})
            response = page_client().post(f"/book/{world.office.code}/", form, headers=headers)
            assert response.status_code in (200, 400), (hidden(char), response.status_code)
            errors = field_errors(response.content.decode(), field)
            assert errors, hidden(char)
            if char != "\x00":  # Django's own check comes first for NUL
                assert all(catalogue_pattern(language, HIDDEN_CHARACTERS).fullmatch(e) for e in errors), errors
    assert fingerprint() == before


@pytest.mark.parametrize("field", ["applicant_name", "override_reason"])
def test_accept_page_hidden_character_is_the_fields_error(field: str, world: World) -> None:
    client = page_client(world.clerk)
    before = fingerprint()
    for char in HIDDEN:
        for language, headers in LANGUAGES.items() if char == "\u202e" else [("zh-hans", {})]:
            response = client.post(
                "/applications/new/", accept_form(world, **{field: f"王{char}小晶"}), headers=headers
            )
            assert response.status_code in (200, 400), (hidden(char), response.status_code)
            errors = field_errors(response.content.decode(), field)
            assert errors, hidden(char)
            if char != "\x00":
                assert all(catalogue_pattern(language, HIDDEN_CHARACTERS).fullmatch(e) for e in errors), errors
    assert fingerprint() == before


def test_status_page_hidden_character_in_the_note_is_refused_with_a_message(world: World) -> None:
    client = page_client(world.clerk)
    url = f"/applications/{world.application.reference}/status/"
    before = fingerprint()
    for char in HIDDEN:
        response = client.post(
            url, {"status": "in_production", "note": f"已{char}送"}, headers={"accept-language": "en"}
        )
        assert response.status_code == 302, hidden(char)
        shown = html.unescape(client.get(response["Location"], headers={"accept-language": "en"}).content.decode())
        # Django's form refuses NUL first, with its own message, named as the note's.
        expected = (
            "The note: Null characters are not allowed." if char == "\x00" else "The note contains control or invisible"
        )
        assert expected in shown, hidden(char)
    assert fingerprint() == before


# --- every page, hostile form and query ----------------------------------------------------

HOSTILE_VALUES = {
    "start": "0001-01-01T00:00:00",
    "date": "9999-12-31",
    "accepted_on": "0001-01-01",
    "service": "9" * 30,
    "office": "-1",
    "name": "王\u202e晶",
    "applicant_name": "\x1b[31m王",
    "id_number": "３" * 40,
    "phone": "+86\u200b138",
    "channel": "vip",
    "school": "\ufeff",
    "student_proof": "\x07",
    "reference": "AB\x00CD",
    "code": "X" * 5000,
    "status": "collected",
    "note": "\n" * 300,
    "residency": "mars",
    "residency_override": "\u2066",
    "override_reason": "x" * 10_000,
    "expedited": "perhaps",
    "language": "tlh",
    "next": "//evil.example/",
    "username": "\x00",
    "password": "\ud7ff",
    "due": "yesterday",
}


HTMX_GARBAGE = {
    "hx-request": "true",
    "hx-target": "x" * 10_000,
    "hx-current-url": "javascript:alert(1)",
    "hx-trigger": "\x1b",
    "hx-boosted": "maybe",
}


def page_routes() -> list[Any]:
    routes = []

    def walk(resolver: URLResolver, prefix: str, namespace: str) -> None:
        for entry in resolver.url_patterns:
            route = prefix + str(entry.pattern)
            if isinstance(entry, URLResolver):
                if route.startswith(("api/", "admin/")):
                    continue  # the API has its own tests above; the admin is Django's
                walk(entry, route, entry.namespace or namespace)
            elif isinstance(entry, URLPattern) and entry.name:
                routes.append(pytest.param(entry.name, tuple(entry.pattern.regex.groupindex), id=entry.name))

    walk(get_resolver(), "", "")
    return routes


def page_path(name: str, kwargs: tuple[str, ...], world: World) -> str:
    values = {
        "code": world.office.code,
        "reference": world.booking.reference if name.startswith("booking") else world.application.reference,
        "token": world.token,
        "day": "2026-12-02",
        "ticket_id": "1",  # a ticket's page and the kiosk's ticket screen
        "public_id": "0" * 32,  # a case's document
        "signature": walkin_selectors.ticket_signature(1),
    }
    return reverse(name, kwargs={k: values[k] for k in kwargs})


@pytest.mark.parametrize(("name", "kwargs"), page_routes())
def test_every_page_takes_a_hostile_form_and_query_without_a_500(
    name: str, kwargs: tuple[str, ...], world: World
) -> None:
    path = page_path(name, kwargs, world)
    for actor in (None, world.clerk, world.supervisor):
        client = page_client(actor)
        for response in (
            client.get(path, HOSTILE_VALUES),
            client.post(path, HOSTILE_VALUES),
            client.post(
                path, urlencode(HOSTILE_VALUES), "application/x-www-form-urlencoded", headers={"accept-language": "en"}
            ),
            client.get(path, HOSTILE_VALUES, headers=HTMX_GARBAGE),
        ):
            assert response.status_code < 500, (name, actor, response.status_code)


def test_page_routes_are_found() -> None:
    names = {p.values[0] for p in page_routes()}
    assert {"book-office", "booking-reschedule", "application-accept", "deadlines-page", "office-day"} <= names
