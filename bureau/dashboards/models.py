"""Summary tables: the nightly roll-up (bureau.dashboards.services.day_roll_up) writes one
finished day of every office here, so that charts over a year read a few thousand rows
instead of the operational tables. Figures are sums and counts, so that any period adds
up; the day's 90th percentiles are kept for the daily chart only (they do not add)."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from bureau.models import Counter, Office, Residency, Service


class RolledUpDay(models.Model):
    """A local date whose figures are in the summary tables (all offices at once)."""

    day = models.DateField(_("day"), unique=True)
    rolled_at = models.DateTimeField(_("rolled up at"))
    # Under which definitions of the figures (bureau.dashboards.services.DEFINITIONS).
    definitions = models.PositiveSmallIntegerField(_("definitions"), default=1)

    class Meta:
        ordering = ["-day"]
        verbose_name = _("rolled-up day")
        verbose_name_plural = _("rolled-up days")

    def __str__(self) -> str:
        return self.day.isoformat()


class DayFigures(models.Model):
    """An office's finished day (definitions: bureau.dashboards.selectors)."""

    office = models.ForeignKey(Office, on_delete=models.CASCADE, related_name="+", verbose_name=_("office"))
    day = models.DateField(_("day"))
    tickets_issued = models.PositiveIntegerField(_("tickets issued"))
    appointment_tickets = models.PositiveIntegerField(_("tickets of appointments"))
    tickets_served = models.PositiveIntegerField(_("tickets served"))
    tickets_missed = models.PositiveIntegerField(_("tickets missed"))
    waits = models.PositiveIntegerField(_("tickets called"))
    wait_minutes = models.FloatField(_("minutes waited, in all"))
    wait_minutes_p90 = models.FloatField(_("wait, 90th percentile"), null=True)
    within_target = models.PositiveIntegerField(_("called within the target wait"))
    services = models.PositiveIntegerField(_("tickets with a service time"))
    service_minutes = models.FloatField(_("minutes at the counter, in all"))
    service_minutes_p90 = models.FloatField(_("service time, 90th percentile"), null=True)
    bookings = models.PositiveIntegerField(_("appointments booked"))
    checked_in = models.PositiveIntegerField(_("appointments checked in"))
    no_shows = models.PositiveIntegerField(_("appointments not kept"))

    class Meta:
        verbose_name = _("office's day in figures")
        verbose_name_plural = _("offices' days in figures")
        constraints = [models.UniqueConstraint(fields=["office", "day"], name="day_figures_once")]
        indexes = [models.Index(fields=["day", "office"], name="day_figures_by_day")]

    def __str__(self) -> str:
        return f"{self.office_id} {self.day.isoformat()}"


class HourFigures(models.Model):
    """One hour of an office's finished day, by the hour of issue: the arrivals on the
    office's row, and on each counter's row those of them it called."""

    office = models.ForeignKey(Office, on_delete=models.CASCADE, related_name="+", verbose_name=_("office"))
    day = models.DateField(_("day"))
    hour = models.PositiveSmallIntegerField(_("hour"))
    counter = models.ForeignKey(
        Counter, on_delete=models.CASCADE, null=True, related_name="+", verbose_name=_("counter")
    )
    arrivals = models.PositiveIntegerField(_("tickets issued"), default=0)
    appointment_arrivals = models.PositiveIntegerField(_("tickets of appointments"), default=0)
    waits = models.PositiveIntegerField(_("tickets called"), default=0)
    wait_minutes = models.FloatField(_("minutes waited, in all"), default=0)
    services = models.PositiveIntegerField(_("tickets with a service time"), default=0)
    service_minutes = models.FloatField(_("minutes at the counter, in all"), default=0)

    class Meta:
        verbose_name = _("office's hour in figures")
        verbose_name_plural = _("offices' hours in figures")
        constraints = [
            models.UniqueConstraint(
                fields=["office", "day", "hour"], condition=Q(counter__isnull=True), name="hour_figures_office_once"
            ),
            models.UniqueConstraint(
                fields=["office", "day", "hour", "counter"],
                condition=Q(counter__isnull=False),
                name="hour_figures_counter_once",
            ),
            models.CheckConstraint(condition=Q(hour__lte=23), name="hour_figures_hour_of_day"),
        ]
        indexes = [models.Index(fields=["day", "office"], name="hour_figures_by_day")]

    def __str__(self) -> str:
        return f"{self.office_id} {self.day.isoformat()} {self.hour}"


class DocumentFigures(models.Model):
    """Applications an office accepted on a finished day, per service."""

    office = models.ForeignKey(Office, on_delete=models.CASCADE, related_name="+", verbose_name=_("office"))
    day = models.DateField(_("day"))
    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="+", verbose_name=_("service"))
    accepted = models.PositiveIntegerField(_("applications accepted"))

    class Meta:
        verbose_name = _("documents of a day")
        verbose_name_plural = _("documents of days")
        constraints = [models.UniqueConstraint(fields=["office", "day", "service"], name="document_figures_once")]
        indexes = [models.Index(fields=["day", "office"], name="document_figures_by_day")]

    def __str__(self) -> str:
        return f"{self.office_id} {self.day.isoformat()}"


class DeadlineFigures(models.Model):
    """Applications whose issuance deadline fell on a finished day, and how many of them were
    ready (or mailed) by then, per document and residency."""

    office = models.ForeignKey(Office, on_delete=models.CASCADE, related_name="+", verbose_name=_("office"))
    due_on = models.DateField(_("due on"))
    document = models.CharField(_("document"), max_length=16, choices=Service.Document.choices)
    residency = models.CharField(_("residency"), max_length=16, choices=Residency.choices)
    due = models.PositiveIntegerField(_("applications due"))
    on_time = models.PositiveIntegerField(_("ready in time"))

    class Meta:
        verbose_name = _("deadlines of a day")
        verbose_name_plural = _("deadlines of days")
        constraints = [
            models.UniqueConstraint(fields=["office", "due_on", "document", "residency"], name="deadline_figures_once"),
            models.CheckConstraint(condition=Q(on_time__lte=models.F("due")), name="deadline_figures_on_time_of_due"),
        ]
        indexes = [models.Index(fields=["due_on", "office"], name="deadline_figures_by_day")]

    def __str__(self) -> str:
        return f"{self.office_id} {self.due_on.isoformat()}"


class ProvincialTotal(models.Model):
    """Documents the whole province accepted in a period, as the provincial bureau reports
    it; a supervisor enters it so the Documents page can show this bureau's share."""

    class Period(models.TextChoices):
        DAY = "day", _("Day")
        WEEK = "week", _("Week")
        MONTH = "month", _("Month")
        YEAR = "year", _("Year to date")

    period = models.CharField(_("period"), max_length=8, choices=Period.choices)
    starts_on = models.DateField(_("first day"))
    total = models.PositiveIntegerField(_("documents accepted in the province"))
    entered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("entered by")
    )
    entered_at = models.DateTimeField(_("entered at"))

    class Meta:
        ordering = ["-starts_on"]
        verbose_name = _("provincial total")
        verbose_name_plural = _("provincial totals")
        constraints = [models.UniqueConstraint(fields=["period", "starts_on"], name="provincial_total_once")]

    def __str__(self) -> str:
        return f"{self.get_period_display()} {self.starts_on.isoformat()}"
