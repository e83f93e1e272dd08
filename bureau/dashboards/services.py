"""The nightly roll-up: a finished day's figures of every office into the summary tables
(bureau.dashboards.models), with the definitions of bureau.dashboards.selectors."""

from datetime import date, datetime, timedelta

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from bureau import selectors as core
from bureau.dashboards import selectors
from bureau.dashboards.models import (
    DayFigures,
    DeadlineFigures,
    DocumentFigures,
    HourFigures,
    ProvincialTotal,
    RolledUpDay,
)
from bureau.models import Office
from bureau.services import DomainError

# How far back the nightly job looks for days not rolled up yet (a new installation rolls
# up its history in one go; older days can be rolled up by hand with `day_roll_up`).
CATCH_UP_DAYS = 400
# The figures' definitions (bureau.dashboards.selectors), numbered: change the number with a
# definition, and the nightly job rolls every day of the last CATCH_UP_DAYS up again.
DEFINITIONS = 2


def day_roll_up(*, day: date, now: datetime | None = None) -> RolledUpDay:
    """Replace every office's summary rows of `day` by its figures now, in one transaction:
    running it again for the same day writes the same rows. Only a finished day: today's
    figures are still changing."""
    now = now or timezone.now()
    if day >= timezone.localtime(now, selectors.OFFICE_TZ).date():
        raise DomainError(_("Only a day that has ended can be rolled up."), field="day")
    offices = Office.objects.all()
    days = selectors.day_rows(offices, day)
    hours = selectors.hour_rows(offices, day)
    documents = selectors.documents_accepted(offices, [day])
    deadlines = selectors.deadlines_met(offices, [day])
    with transaction.atomic():
        DayFigures.objects.filter(day=day).delete()
        HourFigures.objects.filter(day=day).delete()
        DocumentFigures.objects.filter(day=day).delete()
        DeadlineFigures.objects.filter(due_on=day).delete()
        DayFigures.objects.bulk_create(days)
        HourFigures.objects.bulk_create(hours)
        DocumentFigures.objects.bulk_create(
            DocumentFigures(office_id=office_id, day=day, service_id=service_id, accepted=count)
            for (office_id, _day, service_id), count in documents.items()
        )
        DeadlineFigures.objects.bulk_create(
            DeadlineFigures(
                office_id=office_id, due_on=day, document=document, residency=residency, due=due, on_time=on_time
            )
            for (office_id, _day, document, residency), (due, on_time) in deadlines.items()
        )
        rolled, _created = RolledUpDay.objects.update_or_create(
            day=day, defaults={"rolled_at": now, "definitions": DEFINITIONS}
        )
    return rolled


def days_roll_up_pending(*, now: datetime | None = None) -> list[date]:
    """Roll up every finished day (before today) of the last CATCH_UP_DAYS not rolled up
    yet, or rolled up under earlier definitions, oldest first; the days it rolled up."""
    now = now or timezone.now()
    today = timezone.localtime(now, selectors.OFFICE_TZ).date()
    first = today - timedelta(days=CATCH_UP_DAYS)
    done = set(RolledUpDay.objects.filter(day__gte=first, definitions=DEFINITIONS).values_list("day", flat=True))
    pending = [first + timedelta(days=n) for n in range(CATCH_UP_DAYS) if first + timedelta(days=n) not in done]
    for day in pending:
        day_roll_up(day=day, now=now)
    return pending


def provincial_total_set(
    *, period: str, starts_on: date, total: int, by: User, now: datetime | None = None
) -> ProvincialTotal:
    """Record the province's documents of a period (replacing an earlier figure), for the
    Documents page's share. Only for supervisors over the whole bureau."""
    if not core.staff_covers_bureau(by):
        raise DomainError(_("Only a supervisor over the whole bureau may enter the province's figures."))
    entry, _created = ProvincialTotal.objects.update_or_create(
        period=period,
        starts_on=starts_on,
        defaults={"total": total, "entered_by": by, "entered_at": now or timezone.now()},
    )
    return entry
