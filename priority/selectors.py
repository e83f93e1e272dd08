"""Reads of the priority channels: a case or an enterprise by its secret link, an office's
cases for the desk, a file for staff, the student sessions of a day, the green-channel age."""

import hmac
from datetime import date, timedelta

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import Q, QuerySet
from django.utils.crypto import salted_hmac

from appointments.models import Booking
from bureau import selectors as core
from bureau.models import Office
from priority.models import Case, Enterprise, EvidenceFile, GreenChannel, StudentSession

DEFAULT_GREEN_AGE = 60


def secret_token(kind: str, reference: str) -> str:
    """The secret of a case's or an enterprise's private link, derived from the reference
    and SECRET_KEY (nothing stored, nothing to leak from the database)."""
    return salted_hmac(f"priority.{kind}-token", reference, algorithm="sha256").hexdigest()[:32]


def _token_matches(kind: str, reference: str, token: str) -> bool:
    given = (token or "").encode("utf-8", "surrogatepass")
    return hmac.compare_digest(secret_token(kind, reference).encode(), given)


def case_token(case: Case) -> str:
    return secret_token("case", case.reference)


def enterprise_token(enterprise: Enterprise) -> str:
    return secret_token("enterprise", enterprise.reference)


def case_by_secret(reference: str, token: str) -> Case | None:
    """The case whose reference and secret token both match; None otherwise."""
    case = (
        Case.objects.select_related("office", "enterprise", "ticket", "booking")
        .filter(reference="".join((reference or "").split()).upper()[:16])
        .first()
    )
    if case is None or not _token_matches("case", case.reference, token):
        return None
    return case


def enterprise_by_secret(reference: str, token: str) -> Enterprise | None:
    enterprise = (
        Enterprise.objects.select_related("office")
        .filter(reference="".join((reference or "").split()).upper()[:16])
        .first()
    )
    if enterprise is None or not _token_matches("enterprise", enterprise.reference, token):
        return None
    return enterprise


def case_for_staff(user: User | AnonymousUser, reference: str) -> Case | None:
    """A case of one of the user's offices (clerks and supervisors only), else None: another
    office's case is as unknown as a case that does not exist."""
    if not core.is_desk_staff(user):
        return None
    return (
        Case.objects.select_related("office", "enterprise", "ticket", "booking")
        .filter(reference="".join((reference or "").split()).upper()[:16], office__in=core.staff_offices(user))
        .first()
    )


def case_elsewhere(user: User | AnonymousUser, reference: str) -> bool:
    """Whether the reference is a case of an office the user is not on the staff of: the
    desk says so (403) rather than that it does not exist."""
    return (
        Case.objects.filter(reference="".join((reference or "").split()).upper()[:16])
        .exclude(office__in=core.staff_offices(user))
        .exists()
    )


def evidence_for_staff(user: User | AnonymousUser, case: Case, public_id: str) -> EvidenceFile | None:
    if not core.is_desk_staff(user) or not core.staff_offices(user).filter(pk=case.office_id).exists():
        return None
    return case.evidence.filter(public_id=public_id).first()


DESK_STATUSES = (Case.Status.SUBMITTED, Case.Status.AWAITING_SUPERVISOR, Case.Status.MORE_REQUESTED)


# A reserved place that no longer serves its case: cancelled, missed, too late, or on a day
# that closed. Its case may be served again.
BOOKING_GONE = (Booking.Status.CANCELLED, Booking.Status.OFFICE_CLOSED, Booking.Status.NO_SHOW, Booking.Status.LATE)
# An approved case that still waits for its ticket or place.
AWAITS_SERVICE = Q(status=Case.Status.APPROVED, ticket=None) & (Q(booking=None) | Q(booking__status__in=BOOKING_GONE))


def case_awaits_service(case: Case) -> bool:
    return (
        case.status == Case.Status.APPROVED
        and case.ticket_id is None
        and (case.booking is None or case.booking.status in BOOKING_GONE)
    )


def cases_at_desk(office: Office) -> QuerySet[Case]:
    """The office's cases still to decide, oldest first, and the approved ones not yet
    served, for the priority desk."""
    return Case.objects.filter(Q(status__in=DESK_STATUSES) | AWAITS_SERVICE, office=office).order_by("created_at")


def enterprises_pending(office: Office) -> QuerySet[Enterprise]:
    return Enterprise.objects.filter(office=office, status=Enterprise.Status.PENDING).order_by("created_at")


def student_sessions_on(office: Office, day: date) -> QuerySet[StudentSession]:
    return StudentSession.objects.filter(offices=office, first_day__lte=day, last_day__gte=day)


def student_days(office: Office, first: date, last: date) -> set[date]:
    """The days from `first` to `last` that a student session of the office covers."""
    days: set[date] = set()
    spans = StudentSession.objects.filter(offices=office, first_day__lte=last, last_day__gte=first)
    for start, end in spans.values_list("first_day", "last_day"):
        day = max(start, first)
        while day <= min(end, last):
            days.add(day)
            day += timedelta(days=1)
    return days


def green_age(office: Office) -> int:
    row = GreenChannel.objects.filter(office=office).values_list("min_age", flat=True).first()
    return DEFAULT_GREEN_AGE if row is None else int(row)
