"""What brought an applicant, for the core's application page: the tickets the application
was accepted for at a counter, and the booking behind each of them. The core knows no ticket
and no booking; walkins.apps registers `application_arrival_links` with
bureau.selectors.application_arrival_describe. The booking's name is masked (the page shows
the application's own), enough to notice a booking made for someone else."""

from datetime import datetime
from zoneinfo import ZoneInfo

from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from appointments.models import Booking
from bureau.identity import mask_name
from bureau.models import Application
from bureau.selectors import ArrivalLink

OFFICE_TZ = ZoneInfo(settings.OFFICE_TIME_ZONE)


def _time(moment: datetime) -> str:
    return date_format(timezone.localtime(moment, OFFICE_TZ), "H:i")


def _day(moment: datetime) -> str:
    return date_format(timezone.localtime(moment, OFFICE_TZ).date(), "DATE_FORMAT")


def _booking_text(booking: Booking) -> str:
    values = {
        "reference": booking.reference,
        "name": mask_name(booking.name),
        "date": _day(booking.starts_at),
        "time": _time(booking.starts_at),
    }
    if booking.checked_in_at is not None:
        values["checked_in"] = _time(booking.checked_in_at)
        text = _("%(reference)s for %(name)s: appointment on %(date)s at %(time)s, checked in at %(checked_in)s")
        return text % values
    values["status"] = booking.get_status_display()
    return _("%(reference)s for %(name)s: appointment on %(date)s at %(time)s (%(status)s)") % values


def application_arrival_links(application: Application) -> list[ArrivalLink]:
    """The application's tickets, oldest first, each followed by its booking if it had one;
    one query."""
    links: list[ArrivalLink] = []
    tickets = application.tickets.select_related("counter", "booking").order_by("issued_at", "pk")
    for ticket in tickets:
        values = {"number": ticket.number, "issued": _time(ticket.issued_at)}
        if ticket.counter is not None:
            values["window"] = str(ticket.counter.number)
            text = _("%(number)s, taken at %(issued)s, served at window %(window)s") % values
        else:
            text = _("%(number)s, taken at %(issued)s") % values
        links.append(ArrivalLink(label=pgettext("application arrival", "Ticket"), text=text))
        if ticket.booking is not None:
            links.append(
                ArrivalLink(
                    label=pgettext("application arrival", "Booking"),
                    text=_booking_text(ticket.booking),
                    url=reverse("counter-booking", args=[application.office.code, ticket.booking.reference]),
                )
            )
    return links
