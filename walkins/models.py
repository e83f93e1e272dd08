"""Tickets, the queues they wait in, counters' shifts and each office's calling figures."""

from datetime import timedelta

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from appointments.models import Booking
from bureau.models import Application, Counter, Office, Service


class TicketChannel(models.TextChoices):
    """The queue a ticket waits in (SPEC 4 names these codes in the API)."""

    APPOINTMENT = "appointment", _("Appointment")
    GENERAL = "general", _("General walk-in")
    EMERGENCY = "emergency", _("Emergency")
    ENTERPRISE = "enterprise", _("Enterprise")
    STUDENT = "student", _("Student")
    GREEN = "green", _("Green channel")


# The letter before a ticket's number, per channel: A023 is an appointment, B023 a walk-in.
PREFIXES: dict[str, str] = {
    TicketChannel.APPOINTMENT: "A",
    TicketChannel.GENERAL: "B",
    TicketChannel.EMERGENCY: "E",
    TicketChannel.ENTERPRISE: "Q",
    TicketChannel.STUDENT: "S",
    TicketChannel.GREEN: "G",
}


class QueueSettings(models.Model):
    """An office's calling figures (SPEC 4); one row per office, made with the defaults when
    first needed. Default weights rank emergency first, then the green channel, then
    appointment holders, then everyone else."""

    office = models.OneToOneField(
        Office, on_delete=models.CASCADE, related_name="queue_settings", verbose_name=_("office")
    )
    weight_emergency = models.PositiveSmallIntegerField(_("weight: emergency"), default=100)
    weight_green = models.PositiveSmallIntegerField(_("weight: green channel"), default=80)
    weight_appointment = models.PositiveSmallIntegerField(_("weight: appointment"), default=60)
    weight_enterprise = models.PositiveSmallIntegerField(_("weight: enterprise"), default=20)
    weight_student = models.PositiveSmallIntegerField(_("weight: student"), default=10)
    weight_general = models.PositiveSmallIntegerField(_("weight: general walk-in"), default=0)
    ageing_per_minute = models.DecimalField(_("points per minute waited"), max_digits=5, decimal_places=2, default=1)
    appointment_boost = models.PositiveSmallIntegerField(_("boost once an appointment's time has come"), default=30)
    max_wait_minutes = models.PositiveSmallIntegerField(_("longest wait (minutes)"), default=60)
    # What the dashboards measure against (the share called within it); calling ignores it.
    target_wait_minutes = models.PositiveSmallIntegerField(_("target wait (minutes)"), default=30)
    recall_limit = models.PositiveSmallIntegerField(_("recalls before a ticket is missed"), default=2)
    daily_ticket_quota = models.PositiveIntegerField(
        _("walk-in tickets the kiosks may issue a day"),
        default=400,
        help_text=_("All the office's kiosks together; clerks may issue more."),
    )
    notify_places_ahead = models.PositiveSmallIntegerField(
        _("SMS when this many are ahead"), default=0, help_text=_("0: no SMS.")
    )

    class Meta:
        verbose_name = _("queue settings")
        verbose_name_plural = _("queue settings")
        constraints = [
            models.CheckConstraint(
                condition=Q(ageing_per_minute__gt=0),
                name="queue_ageing_positive",
                violation_error_message=_("Waiting must count for something: the rate must be above 0."),
            ),
            models.CheckConstraint(
                condition=Q(max_wait_minutes__gte=5),
                name="queue_max_wait_at_least_5",
                violation_error_message=_("The longest wait is at least 5 minutes."),
            ),
        ]

    def __str__(self) -> str:
        return str(self.office)

    @property
    def max_wait(self) -> timedelta:
        return timedelta(minutes=self.max_wait_minutes)

    def weight(self, channel: str) -> int:
        return int(getattr(self, f"weight_{channel}"))


class CounterShift(models.Model):
    """A clerk staffing a counter, from opening it to closing it. A counter has at most one
    open shift, and a clerk staffs one counter at a time (SPEC 9)."""

    counter = models.ForeignKey(Counter, on_delete=models.PROTECT, related_name="shifts", verbose_name=_("counter"))
    clerk = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("clerk")
    )
    opened_at = models.DateTimeField(_("opened at"))
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)

    class Meta:
        ordering = ["-opened_at"]
        verbose_name = _("counter shift")
        verbose_name_plural = _("counter shifts")
        constraints = [
            models.UniqueConstraint(
                fields=["counter"], condition=Q(closed_at__isnull=True), name="one_open_shift_a_counter"
            ),
            models.UniqueConstraint(
                fields=["clerk"], condition=Q(closed_at__isnull=True), name="one_open_shift_a_clerk"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.counter} {self.opened_at:%Y-%m-%d %H:%M}"


class TicketSequence(models.Model):
    """The last number given in one queue of an office on one day."""

    office = models.ForeignKey(Office, on_delete=models.CASCADE, related_name="+", verbose_name=_("office"))
    day = models.DateField(_("day"))
    prefix = models.CharField(_("queue letter"), max_length=1)
    last = models.PositiveIntegerField(_("last number"), default=0)

    class Meta:
        verbose_name = _("ticket numbering")
        verbose_name_plural = _("ticket numbering")
        constraints = [models.UniqueConstraint(fields=["office", "day", "prefix"], name="one_sequence_a_queue_a_day")]

    def __str__(self) -> str:
        return f"{self.office_id} {self.day} {self.prefix}{self.last}"


class Ticket(models.Model):
    class Status(models.TextChoices):
        WAITING = "waiting", _("Waiting")
        CALLED = "called", _("Called")
        PARKED = "parked", _("Parked")
        COMPLETED = "completed", _("Served")
        MISSED = "missed", _("Missed")
        # Not a booking's no-show (爽约): called, never came to the counter (未到).
        NO_SHOW = "no_show", pgettext_lazy("ticket status", "No-show")
        ABANDONED = "abandoned", _("Not served by closing")

    office = models.ForeignKey(Office, on_delete=models.PROTECT, related_name="tickets", verbose_name=_("office"))
    day = models.DateField(_("day"))
    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="tickets", verbose_name=_("service"))
    channel = models.CharField(_("channel"), max_length=16, choices=TicketChannel.choices)
    number = models.CharField(_("number"), max_length=8)
    issued_at = models.DateTimeField(_("issued at"))
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("issued by"),
    )
    # The score at walkins.rules.ORIGIN: calling orders by it (walkins.rules.base_key).
    base_key = models.FloatField(_("calling key"))
    # An appointment's slot time: from then on it is boosted.
    due_at = models.DateTimeField(_("appointment time"), null=True, blank=True)
    booking = models.OneToOneField(
        Booking, on_delete=models.PROTECT, null=True, blank=True, related_name="ticket", verbose_name=_("booking")
    )
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.WAITING)
    counter = models.ForeignKey(
        Counter, on_delete=models.PROTECT, null=True, blank=True, related_name="tickets", verbose_name=_("counter")
    )
    called_at = models.DateTimeField(_("called at"), null=True, blank=True)
    recalls = models.PositiveSmallIntegerField(_("recalls"), default=0)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    # Given by the applicant at the kiosk for one SMS when the ticket nears
    # the front (QueueSettings.notify_places_ahead); cleared once that SMS is written.
    phone = models.CharField(_("mobile number for an SMS"), max_length=11, blank=True, default="")
    applications = models.ManyToManyField(
        Application, blank=True, related_name="tickets", verbose_name=_("applications")
    )

    class Meta:
        ordering = ["-issued_at"]
        verbose_name = _("ticket")
        verbose_name_plural = _("tickets")
        constraints = [
            models.UniqueConstraint(fields=["office", "day", "number"], name="ticket_number_once_a_day"),
            # A counter serves one ticket at a time.
            models.UniqueConstraint(
                fields=["counter"], condition=Q(status="called"), name="one_called_ticket_a_counter"
            ),
        ]
        indexes = [
            models.Index(
                fields=["office", "day", "-base_key"], condition=Q(status="waiting"), name="ticket_waiting_order"
            ),
            # The enterprise window's tier: read along its own key order, not past the others.
            models.Index(
                fields=["office", "day", "-base_key"],
                condition=Q(status="waiting", channel="enterprise"),
                name="ticket_waiting_enterprise",
            ),
        ]

    def __str__(self) -> str:
        return self.number


class TicketEvent(models.Model):
    """Every change of a ticket: what, when, at which counter, by whom."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="events", verbose_name=_("ticket"))
    status = models.CharField(_("status"), max_length=16, choices=Ticket.Status.choices)
    action = models.CharField(_("action"), max_length=16)
    at = models.DateTimeField(_("time"))
    counter = models.ForeignKey(
        Counter, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("counter")
    )
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("by"),
    )

    class Meta:
        ordering = ["at", "id"]
        verbose_name = _("ticket event")
        verbose_name_plural = _("ticket events")

    def __str__(self) -> str:
        return f"{self.ticket_id} {self.action} {self.at:%H:%M}"
