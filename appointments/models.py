"""Slots with per-channel quotas, bookings, held places and the booking policy."""

from datetime import time

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from bureau.models import Office, OpeningSession, Service


class Channel(models.TextChoices):
    """Who a place is set aside for. Only general places are booked by anyone; the priority
    app decides who may have the others (student sessions, enterprises, emergency cases).

    Each channel is a quota and a taken count on the slot row, not a row of its own: a place
    is one conditional UPDATE of one row, a check constraint per channel keeps it within its
    quota, and the day's availability is one read. A new channel is a migration that adds
    two columns, and it needs code anyway (who may use it); channels are few and rare."""

    GENERAL = "general", _("General")
    STUDENT = "student", _("Student session")
    ENTERPRISE = "enterprise", _("Enterprise")
    EMERGENCY = "emergency", _("Emergency reserve")


CHANNELS = [c.value for c in Channel]


class BookingPolicy(models.Model):
    """The one row of booking rules; supervisors edit it in the admin."""

    window_days = models.PositiveSmallIntegerField(_("bookable days ahead"), default=14)
    opens_at = models.TimeField(_("time a new day opens for booking"), default=time(8))
    check_in_before_minutes = models.PositiveSmallIntegerField(_("check-in opens (minutes before)"), default=30)
    check_in_after_minutes = models.PositiveSmallIntegerField(_("check-in closes (minutes after)"), default=15)
    hold_minutes = models.PositiveSmallIntegerField(_("cancelled place held back (minutes)"), default=30)
    no_show_limit = models.PositiveSmallIntegerField(_("no-shows that block"), default=3)
    no_show_period_days = models.PositiveSmallIntegerField(_("within days"), default=90)
    block_days = models.PositiveSmallIntegerField(_("days blocked"), default=30)

    class Meta:
        verbose_name = _("booking policy")
        verbose_name_plural = _("booking policy")
        constraints = [
            models.CheckConstraint(
                condition=Q(window_days__gte=1, window_days__lte=60),
                name="policy_window_range",
                violation_error_message=_("The booking window must be 1 to 60 days."),
            ),
            models.CheckConstraint(
                condition=Q(no_show_limit__gte=1),
                name="policy_no_show_limit_positive",
                violation_error_message=_("At least one no-show must be allowed before a block."),
            ),
        ]

    def __str__(self) -> str:
        return str(_("Booking policy"))


class SlotTemplate(models.Model):
    """How one session of an office is cut into slots, and how many places each slot has."""

    office = models.ForeignKey(
        Office, on_delete=models.CASCADE, related_name="slot_templates", verbose_name=_("office")
    )
    services = models.ManyToManyField(Service, related_name="slot_templates", verbose_name=_("services"))
    day_kind = models.CharField(_("days of the week"), max_length=8, choices=OpeningSession.DayKind.choices)
    starts_at = models.TimeField(_("first slot starts"))
    ends_at = models.TimeField(_("last slot ends"))
    slot_minutes = models.PositiveSmallIntegerField(_("slot length (minutes)"), default=30)
    general_quota = models.PositiveSmallIntegerField(_("general places per slot"), default=6)
    enterprise_quota = models.PositiveSmallIntegerField(_("enterprise places per slot"), default=0)
    emergency_quota = models.PositiveSmallIntegerField(_("emergency reserve per slot"), default=1)

    class Meta:
        ordering = ["office", "day_kind", "starts_at"]
        verbose_name = _("slot template")
        verbose_name_plural = _("slot templates")
        constraints = [
            models.CheckConstraint(
                condition=Q(starts_at__lt=F("ends_at")),
                name="template_starts_before_end",
                violation_error_message=_("The last slot must end after the first one starts."),
            ),
            models.CheckConstraint(
                condition=Q(slot_minutes__gte=5, slot_minutes__lte=240),
                name="template_slot_length",
                violation_error_message=_("A slot lasts 5 to 240 minutes."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.office} {self.get_day_kind_display()} {self.starts_at:%H:%M}-{self.ends_at:%H:%M}"


class Slot(models.Model):
    """One bookable time at one office. Each channel's `*_booked` counts active bookings and
    held places; a check constraint keeps it within its quota whatever the code does."""

    office = models.ForeignKey(Office, on_delete=models.CASCADE, related_name="slots", verbose_name=_("office"))
    template = models.ForeignKey(
        SlotTemplate, on_delete=models.CASCADE, related_name="slots", verbose_name=_("slot template")
    )
    starts_at = models.DateTimeField(_("starts at"))
    ends_at = models.DateTimeField(_("ends at"))
    general_quota = models.PositiveSmallIntegerField(_("general places"), default=0)
    student_quota = models.PositiveSmallIntegerField(_("student places"), default=0)
    enterprise_quota = models.PositiveSmallIntegerField(_("enterprise places"), default=0)
    emergency_quota = models.PositiveSmallIntegerField(_("emergency reserve"), default=0)
    general_booked = models.PositiveSmallIntegerField(_("general places taken"), default=0)
    student_booked = models.PositiveSmallIntegerField(_("student places taken"), default=0)
    enterprise_booked = models.PositiveSmallIntegerField(_("enterprise places taken"), default=0)
    emergency_booked = models.PositiveSmallIntegerField(_("emergency places taken"), default=0)
    # Set when the calendar changed under a slot that has bookings (a day that became a
    # holiday, or changed between weekday and weekend): the bookings keep their row, nobody
    # books it again. A closed slot without bookings is deleted instead.
    closed = models.BooleanField(_("closed"), default=False)

    class Meta:
        ordering = ["starts_at"]
        verbose_name = _("slot")
        verbose_name_plural = _("slots")
        constraints = [
            models.UniqueConstraint(fields=["template", "starts_at"], name="slot_once_per_template"),
            *(
                models.CheckConstraint(
                    condition=Q(**{f"{channel}_booked__lte": F(f"{channel}_quota")}),
                    name=f"slot_{channel}_within_quota",
                )
                for channel in CHANNELS
            ),
        ]
        indexes = [models.Index(fields=["office", "starts_at"], name="slot_office_start")]

    def __str__(self) -> str:
        return f"{self.office} {self.starts_at:%Y-%m-%d %H:%M}"


class Booking(models.Model):
    class Status(models.TextChoices):
        BOOKED = "booked", _("Booked")
        CHECKED_IN = "checked_in", _("Checked in")
        CANCELLED = "cancelled", _("Cancelled")
        # The day became a public holiday after it was booked: the bureau cancelled it.
        OFFICE_CLOSED = "office_closed", _("Cancelled: the office is closed that day")
        NO_SHOW = "no_show", _("No-show")
        # Came after the check-in window closed: handled as a walk-in, not counted as absent.
        LATE = "late", _("Arrived late")

    reference = models.CharField(_("booking reference"), max_length=16, unique=True)
    office = models.ForeignKey(Office, on_delete=models.PROTECT, related_name="bookings", verbose_name=_("office"))
    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="bookings", verbose_name=_("service"))
    slot = models.ForeignKey(Slot, on_delete=models.PROTECT, related_name="bookings", verbose_name=_("slot"))
    # The slot's start, written with `slot` (slot times never change once generated): the
    # booking path and the sweeps read it without a join.
    starts_at = models.DateTimeField(_("appointment time"))
    channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices, default=Channel.GENERAL)
    name = models.CharField(_("name"), max_length=60)
    id_number = models.CharField(_("ID number"), max_length=18)
    phone = models.CharField(_("mobile number"), max_length=11)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.BOOKED)
    created_at = models.DateTimeField(_("booked at"))
    changed_at = models.DateTimeField(_("last changed at"))
    language = models.CharField(_("language"), max_length=8, default="zh-hans")
    checked_in_at = models.DateTimeField(_("checked in at"), null=True, blank=True)
    checked_in_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("checked in by"),
    )
    # A clerk who booked it on the applicant's behalf (an approved priority case); None: online.
    booked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("booked by (clerk)"),
    )
    idempotency_key = models.CharField(_("idempotency key"), max_length=64, null=True, blank=True, unique=True)
    reminded_at = models.DateTimeField(_("reminded at"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("booking")
        verbose_name_plural = _("bookings")
        constraints = [
            models.UniqueConstraint(
                fields=["id_number", "service"],
                condition=Q(status="booked"),
                name="one_active_booking_per_id_and_service",
                violation_error_message=_("This ID number already has a booking for this service."),
            )
        ]
        indexes = [
            models.Index(fields=["id_number", "status"], name="booking_id_status"),
            models.Index(fields=["status", "starts_at"], name="booking_status_start"),
        ]

    def __str__(self) -> str:
        return self.reference


class PlaceHold(models.Model):
    """A place freed by a cancellation or reschedule, kept back until `release_at` so it
    cannot be passed straight to someone else; then it returns to its slot's pool."""

    slot = models.ForeignKey(Slot, on_delete=models.CASCADE, related_name="holds", verbose_name=_("slot"))
    channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices)
    release_at = models.DateTimeField(_("returns at"))
    released = models.BooleanField(_("returned"), default=False)

    class Meta:
        verbose_name = _("held place")
        verbose_name_plural = _("held places")
        indexes = [models.Index(fields=["released", "release_at"], name="hold_due")]

    def __str__(self) -> str:
        return f"{self.slot_id} {self.channel} {self.release_at:%Y-%m-%d %H:%M}"
