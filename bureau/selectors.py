"""Reads shared by pages, the API and jobs."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.auth.models import AnonymousUser, User
from django.core.cache import caches
from django.core.validators import slug_re
from django.db.models import BooleanField, Exists, ExpressionWrapper, Prefetch, Q, QuerySet
from django.utils import timezone

from bureau import workdays
from bureau.identity import compact_id_number
from bureau.models import (
    Application,
    CalendarDay,
    CalendarYear,
    IssuanceRule,
    Office,
    OpeningSession,
    Service,
    StaffMember,
)

T = TypeVar("T")

# Supervisors see what falls due within this many working days.
DUE_SOON_WORKING_DAYS = 2


def office_today() -> date:
    """Today's date where the offices are; deadlines and 'overdue' count in these dates."""
    return timezone.localdate(timezone=ZoneInfo(settings.OFFICE_TIME_ZONE))


# Offices, services and the booking policy change rarely and are read on every booking:
# each process keeps them this long. The admin drops them when it saves one (in its own
# process at once, in the others within this time).
CONFIG_TTL_SECONDS = 10


def config_cached(key: str, load: Callable[[], T]) -> T:
    """A configuration row from this process's cache, loaded from the database on a miss
    (a None from `load` is not kept)."""
    local = caches["local"]
    value: T = local.get(key)
    if value is None:
        value = load()
        if value is not None:
            local.set(key, value, CONFIG_TTL_SECONDS)
    return value


def config_forget(*keys: str) -> None:
    caches["local"].delete_many(list(keys))


def office_by_code(code: str) -> Office | None:
    row: Office | None = _cached_by_code(Office, code)
    return row


def service_by_code(code: str) -> Service | None:
    row: Service | None = _cached_by_code(Service, code)
    return row


def _cached_by_code(model: type[Office] | type[Service], code: str) -> Any:
    if not slug_re.match(code):  # no such code can exist, and it would make an odd cache key
        return None
    return config_cached(f"{model._meta.model_name}:{code}", lambda: model.objects.filter(code=code).first())


def forget_by_code(model: type[Office] | type[Service], *codes: str) -> None:
    config_forget(*(f"{model._meta.model_name}:{code}" for code in codes if code))


def offices_with_sessions() -> QuerySet[Office]:
    return Office.objects.order_by("mode", "position", "code").prefetch_related(
        Prefetch("sessions", queryset=OpeningSession.objects.order_by("day_kind", "opens_at"))
    )


def _bureau_wide_member(user: User) -> QuerySet[StaffMember]:
    return StaffMember.objects.filter(user=user, role=StaffMember.Role.SUPERVISOR, bureau_wide=True)


def staff_offices(user: User | AnonymousUser) -> QuerySet[Office]:
    """The offices a user may act for: all for a superuser or a bureau-wide supervisor (also
    offices added later), their own for other staff, none otherwise. One lazy query, so it
    can stand in a subquery."""
    if not user.is_authenticated:
        return Office.objects.none()
    if getattr(user, "is_superuser", False):
        return Office.objects.all()
    own = Office.objects.filter(staff__user=user).values("pk")
    return Office.objects.filter(Q(pk__in=own) | Q(Exists(_bureau_wide_member(user))))


def staff_covers_bureau(user: User | AnonymousUser) -> bool:
    """Whether a user may change bureau-wide configuration (booking policy, holiday calendar,
    issuance rules): a superuser or a bureau-wide supervisor."""
    if not user.is_authenticated:
        return False
    return getattr(user, "is_superuser", False) or _bureau_wide_member(user).exists()


# The people at the desks; a kiosk (an unattended device) is staff of its office only to
# take tickets and check bookings in there, never to act as a clerk.
DESK_ROLES = frozenset({StaffMember.Role.CLERK, StaffMember.Role.SUPERVISOR})


def is_desk_staff(user: User | AnonymousUser) -> bool:
    return staff_role(user) in DESK_ROLES


def staff_role(user: User | AnonymousUser) -> str | None:
    if not user.is_authenticated:
        return None
    if getattr(user, "is_superuser", False):
        return StaffMember.Role.SUPERVISOR
    return StaffMember.objects.filter(user=user).values_list("role", flat=True).first()


def work_calendar() -> workdays.WorkCalendar:
    """The whole official calendar as data: a few dozen rows a year."""
    holidays: set[date] = set()
    makeup: set[date] = set()
    for day, kind in CalendarDay.objects.values_list("date", "kind"):
        (holidays if kind == CalendarDay.Kind.HOLIDAY else makeup).add(day)
    years = frozenset(CalendarYear.objects.values_list("year", flat=True))
    return workdays.WorkCalendar(holidays=frozenset(holidays), makeup_workdays=frozenset(makeup), known_years=years)


def issuance_rules() -> dict[str, IssuanceRule]:
    return {rule.kind: rule for rule in IssuanceRule.objects.all()}


def rule_kind(*, residency: str, expedited: bool) -> str:
    return IssuanceRule.Kind.EXPEDITED if expedited else residency


def deadline_for(*, calendar: workdays.WorkCalendar, rule: IssuanceRule, accepted_on: date) -> workdays.Deadline:
    if rule.unit == IssuanceRule.Unit.WORKING_DAYS:
        return workdays.add_working_days(calendar, accepted_on, rule.count)
    return workdays.add_calendar_days(accepted_on, rule.count)


def deadline_preview(*, accepted_on: date, residency: str, expedited: bool) -> workdays.Deadline:
    rule = IssuanceRule.objects.get(kind=rule_kind(residency=residency, expedited=expedited))
    return deadline_for(calendar=work_calendar(), rule=rule, accepted_on=accepted_on)


def applications_for_staff(user: User | AnonymousUser) -> QuerySet[Application]:
    return Application.objects.filter(office__in=staff_offices(user)).select_related("office", "service")


def _due_soon(applications: QuerySet[Application]) -> QuerySet[Application]:
    today = office_today()
    horizon = workdays.add_working_days(work_calendar(), today, DUE_SOON_WORKING_DAYS).due_on
    return applications.filter(status__in=Application.OPEN_STATUSES, due_on__gte=today, due_on__lte=horizon)


def _overdue(applications: QuerySet[Application]) -> QuerySet[Application]:
    return applications.filter(status__in=Application.OPEN_STATUSES, due_on__lt=office_today())


def applications_due_soon(user: User | AnonymousUser) -> QuerySet[Application]:
    """Open applications due from today up to the DUE_SOON_WORKING_DAYS-th working day after it."""
    return _due_soon(applications_for_staff(user)).order_by("due_on", "reference")


def applications_overdue(user: User | AnonymousUser) -> QuerySet[Application]:
    """Open applications whose due date has passed: not ready by the day the bureau promised."""
    return _overdue(applications_for_staff(user)).order_by("due_on", "reference")


def applications_flag_overdue(applications: QuerySet[Application]) -> QuerySet[Application]:
    """The same applications, each with `is_overdue` (open and past its due date), computed
    in the same query, for lists that mark them."""
    late = Q(status__in=Application.OPEN_STATUSES, due_on__lt=office_today())
    return applications.annotate(is_overdue=ExpressionWrapper(late, output_field=BooleanField()))


DUE_FILTERS: dict[str, Callable[[QuerySet[Application]], QuerySet[Application]]] = {
    "overdue": _overdue,
    "soon": _due_soon,
}


def applications_search(
    user: User | AnonymousUser,
    *,
    text: str = "",
    id_number: str = "",
    status: str = "",
    due: str = "",
    office: Office | None = None,
    accepted_from: date | None = None,
    accepted_to: date | None = None,
) -> QuerySet[Application]:
    """The applications of the user's offices that match every criterion given: `text` is
    the start of a reference or part of the applicant's name; `id_number` the whole number,
    compared normalised (spaces, full-width digits, a lower-case x); `due` "overdue" or
    "soon" (open and due within DUE_SOON_WORKING_DAYS working days). Newest first, or the
    earliest due first when `due` is given."""
    applications = applications_for_staff(user)
    if text := text.strip():
        matches = Q(applicant_name__icontains=text)
        if reference := "".join(text.split()).replace("-", "").upper():  # as read aloud: "ABCD-EFGH"
            matches |= Q(reference__startswith=reference)
        applications = applications.filter(matches)
    if id_number:
        applications = applications.filter(id_number=compact_id_number(id_number))
    if status:
        applications = applications.filter(status=status)
    if office is not None:
        applications = applications.filter(office=office)
    if accepted_from is not None:
        applications = applications.filter(accepted_on__gte=accepted_from)
    if accepted_to is not None:
        applications = applications.filter(accepted_on__lte=accepted_to)
    if due in DUE_FILTERS:
        return DUE_FILTERS[due](applications).order_by("due_on", "reference")
    return applications


# --- how the applicant came ---------------------------------------------------------------------
#
# An application's detail page names what brought its applicant (the ticket called at the
# counter, the booking behind that ticket). Those live on higher floors, which the core may not
# import: a higher floor registers a describer here when it starts (AppConfig.ready), as
# appointments follows the calendar; the page lists whatever the describers return, in the
# order they were registered. A describer takes the application and returns its links (none
# when it knows nothing of it), each in the language active when it is called.


@dataclass(frozen=True)
class ArrivalLink:
    """One thing that brought the applicant: what it is ("Ticket"), which one ("B023 at
    10:42"), and the address of its page, if there is one the clerk may open."""

    label: str
    text: str
    url: str = ""


ArrivalDescriber = Callable[[Application], list[ArrivalLink]]
application_arrival_describers: list[ArrivalDescriber] = []


def application_arrival_describe(describer: ArrivalDescriber) -> None:
    if describer not in application_arrival_describers:
        application_arrival_describers.append(describer)


def application_arrival(application: Application) -> list[ArrivalLink]:
    return [link for describer in application_arrival_describers for link in describer(application)]


def application_for_applicant(*, reference: str, id_number: str) -> Application | None:
    """Both must match; which one did not is not told, so references cannot be probed."""
    return (
        Application.objects.select_related("office", "service")
        .filter(reference=reference.strip().upper(), id_number=compact_id_number(id_number))
        .first()
    )
