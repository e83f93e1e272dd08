"""The shared core: offices, counters, services, staff, the working-day calendar,
issuance rules and accepted applications."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import get_language, ngettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _


class Bilingual(models.Model):
    """Rows that carry a zh-Hans and an English text; `localized` picks the active one."""

    class Meta:
        abstract = True

    def localized(self, field: str) -> str:
        lang = get_language() or settings.LANGUAGE_CODE
        suffix = "en" if lang.startswith("en") else "zh"
        return str(getattr(self, f"{field}_{suffix}"))


class Office(Bilingual):
    class Mode(models.TextChoices):
        DUAL_TRACK = "dual_track", _("Appointments and walk-ins")
        WALK_IN_ONLY = "walk_in_only", _("Walk-in only")

    code = models.SlugField(_("code"), max_length=16, unique=True)
    name_zh = models.CharField(_("name (Chinese)"), max_length=100)
    name_en = models.CharField(_("name (English)"), max_length=150)
    mode = models.CharField(_("mode"), max_length=16, choices=Mode.choices)
    address_zh = models.CharField(_("address (Chinese)"), max_length=200)
    address_en = models.CharField(_("address (English)"), max_length=250)
    position = models.PositiveSmallIntegerField(_("position in lists"), default=100)

    class Meta:
        ordering = ["position", "code"]
        verbose_name = _("office")
        verbose_name_plural = _("offices")

    def __str__(self) -> str:
        return self.localized("name")

    @property
    def name(self) -> str:
        return self.localized("name")

    @property
    def address(self) -> str:
        return self.localized("address")


class OpeningSession(models.Model):
    class DayKind(models.TextChoices):
        WEEKDAY = "weekday", _("Working days")
        WEEKEND = "weekend", _("Weekends")

    office = models.ForeignKey(Office, on_delete=models.CASCADE, related_name="sessions", verbose_name=_("office"))
    day_kind = models.CharField(_("days of the week"), max_length=8, choices=DayKind.choices)
    opens_at = models.TimeField(_("opens at"))
    closes_at = models.TimeField(_("closes at"))

    class Meta:
        ordering = ["office", "day_kind", "opens_at"]
        verbose_name = _("opening session")
        verbose_name_plural = _("opening sessions")
        constraints = [
            models.CheckConstraint(
                condition=Q(opens_at__lt=models.F("closes_at")),
                name="session_opens_before_close",
                violation_error_message=_("A session must close after it opens."),
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_day_kind_display()} {self.opens_at:%H:%M}-{self.closes_at:%H:%M}"


class Service(Bilingual):
    class Document(models.TextChoices):
        PASSPORT = "passport", _("Ordinary passport")
        HK_MACAO = "hk_macao", _("Exit-Entry Permit for Travelling to and from Hong Kong and Macao")
        TAIWAN = "taiwan", _("Exit-Entry Permit for Travelling to and from Taiwan")

    class Business(models.TextChoices):
        FIRST = "first", _("First application")
        RENEWAL = "renewal", _("Renewal")
        REISSUE = "reissue", _("Reissue")
        ENDORSEMENT = "endorsement", _("Endorsement")

    code = models.SlugField(_("code"), max_length=32, unique=True)
    document = models.CharField(_("document"), max_length=16, choices=Document.choices)
    business = models.CharField(_("business type"), max_length=16, choices=Business.choices)
    weekend_service = models.BooleanField(_("served on weekends"), default=False)
    requirements_zh = models.TextField(_("what to bring (Chinese)"), blank=True)
    requirements_en = models.TextField(_("what to bring (English)"), blank=True)

    class Meta:
        ordering = ["document", "business"]
        verbose_name = _("service")
        verbose_name_plural = _("services")
        constraints = [models.UniqueConstraint(fields=["document", "business"], name="service_document_business")]

    def __str__(self) -> str:
        return self.name

    @property
    def name(self) -> str:
        return f"{self.get_document_display()} · {self.get_business_display()}"

    @property
    def requirements(self) -> str:
        return self.localized("requirements")


class Counter(models.Model):
    office = models.ForeignKey(Office, on_delete=models.CASCADE, related_name="counters", verbose_name=_("office"))
    number = models.PositiveSmallIntegerField(_("window number"))
    services = models.ManyToManyField(Service, related_name="counters", verbose_name=_("services"))
    enterprise_window = models.BooleanField(_("enterprise window"), default=False)

    class Meta:
        ordering = ["office", "number"]
        verbose_name = _("counter")
        verbose_name_plural = _("counters")
        constraints = [models.UniqueConstraint(fields=["office", "number"], name="counter_number_per_office")]

    def __str__(self) -> str:
        return _("%(office)s window %(number)s") % {"office": self.office, "number": self.number}


class StaffMember(models.Model):
    """A staff user's role and the offices it covers; clerks have exactly one office."""

    class Role(models.TextChoices):
        CLERK = "clerk", _("Counter clerk")
        SUPERVISOR = "supervisor", _("Supervisor")
        # An unattended device of one office: it issues walk-in tickets and checks bookings
        # in, nothing else.
        KIOSK = "kiosk", _("Kiosk (unattended device)")

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="staff", verbose_name=_("user")
    )
    role = models.CharField(_("role"), max_length=16, choices=Role.choices)
    offices = models.ManyToManyField(Office, related_name="staff", verbose_name=_("offices"))
    bureau_wide = models.BooleanField(
        _("covers the whole bureau"),
        default=False,
        help_text=_(
            "A supervisor who covers the whole bureau acts for every office, also offices added later, "
            "and may change the bureau-wide configuration: the booking policy, the holiday calendar and "
            "the issuance rules. Only for supervisors."
        ),
    )

    class Meta:
        verbose_name = _("staff member")
        verbose_name_plural = _("staff members")
        constraints = [
            models.CheckConstraint(
                condition=Q(bureau_wide=False) | Q(role="supervisor"),
                name="staff_bureau_wide_is_a_supervisor",
                violation_error_message=_("Only a supervisor can cover the whole bureau."),
            )
        ]

    def __str__(self) -> str:
        return f"{self.user.get_username()} ({self.get_role_display()})"


class CalendarYear(models.Model):
    """A year whose official holiday arrangement is known; years without a row are counted
    with weekends only and give provisional deadlines."""

    class Source(models.TextChoices):
        PACKAGE = "package", _("chinesecalendar package")
        SUPERVISOR = "supervisor", _("Entered by a supervisor")

    year = models.PositiveSmallIntegerField(
        _("year"), primary_key=True, validators=[MinValueValidator(2000), MaxValueValidator(2100)]
    )
    source = models.CharField(_("source"), max_length=16, choices=Source.choices, default=Source.SUPERVISOR)

    class Meta:
        ordering = ["year"]
        verbose_name = _("calendar year")
        verbose_name_plural = _("calendar years")

    def __str__(self) -> str:
        return str(self.year)


class CalendarDay(models.Model):
    """An exception to Monday-to-Friday: a public holiday or a make-up working day (调休)."""

    class Kind(models.TextChoices):
        HOLIDAY = "holiday", _("Public holiday")
        WORKDAY = "workday", _("Make-up working day")

    year = models.ForeignKey(CalendarYear, on_delete=models.CASCADE, related_name="days", verbose_name=_("year"))
    date = models.DateField(_("date"), unique=True)
    kind = models.CharField(_("kind"), max_length=8, choices=Kind.choices)
    name = models.CharField(_("name"), max_length=100)
    source = models.CharField(
        _("source"), max_length=16, choices=CalendarYear.Source.choices, default=CalendarYear.Source.SUPERVISOR
    )

    class Meta:
        ordering = ["date"]
        verbose_name = _("holiday or make-up working day")
        verbose_name_plural = _("holidays and make-up working days")
        constraints = [
            models.CheckConstraint(
                condition=Q(date__year=models.F("year_id")),
                name="calendar_day_in_its_year",
                violation_error_message=_("The date must lie in the chosen year."),
            )
        ]

    def __str__(self) -> str:
        return f"{self.date} {self.get_kind_display()} {self.name}"

    def clean(self) -> None:
        # The check constraint says the same, but forms skip it when the year is the parent
        # being added in the same form.
        if self.date and self.year_id and self.date.year != self.year_id:
            raise ValidationError({"date": _("The date must lie in the chosen year.")})


class IssuanceRule(models.Model):
    """How long the bureau may take to issue a document: count + unit, per case kind."""

    class Kind(models.TextChoices):
        IN_PROVINCE = "in_province", _("In-province resident")
        OUT_OF_PROVINCE = "out_of_province", _("Out-of-province resident")
        EXPEDITED = "expedited", _("Expedited")

    class Unit(models.TextChoices):
        WORKING_DAYS = "working_days", _("working days")
        CALENDAR_DAYS = "calendar_days", _("calendar days")

    kind = models.CharField(_("case"), max_length=16, choices=Kind.choices, unique=True)
    count = models.PositiveSmallIntegerField(_("count"))
    unit = models.CharField(_("unit"), max_length=16, choices=Unit.choices)

    class Meta:
        ordering = ["kind"]
        verbose_name = _("issuance rule")
        verbose_name_plural = _("issuance rules")
        constraints = [
            models.CheckConstraint(
                condition=Q(count__gte=1, count__lte=366),
                name="issuance_rule_count_range",
                violation_error_message=_("The count must be between 1 and 366."),
            )
        ]

    def __str__(self) -> str:
        return _("%(case)s: %(duration)s") % {"case": self.get_kind_display(), "duration": self.duration}

    @property
    def duration(self) -> str:
        """ "7 working days" / "7个工作日", as people say it."""
        if self.unit == self.Unit.WORKING_DAYS:
            return ngettext("%(n)d working day", "%(n)d working days", self.count) % {"n": self.count}
        return ngettext("%(n)d calendar day", "%(n)d calendar days", self.count) % {"n": self.count}


class Residency(models.TextChoices):
    IN_PROVINCE = "in_province", _("In-province")
    OUT_OF_PROVINCE = "out_of_province", _("Out-of-province")


class Application(models.Model):
    """An accepted case and the issuance date the bureau promised for it."""

    class Status(models.TextChoices):
        ACCEPTED = "accepted", _("Accepted")
        IN_PRODUCTION = "in_production", _("In production")
        READY = "ready", _("Ready for collection")
        MAILED = "mailed", _("Mailed")
        COLLECTED = "collected", _("Collected")

    OPEN_STATUSES = (Status.ACCEPTED, Status.IN_PRODUCTION)

    reference = models.CharField(_("reference"), max_length=16, unique=True)
    office = models.ForeignKey(Office, on_delete=models.PROTECT, related_name="applications", verbose_name=_("office"))
    service = models.ForeignKey(
        Service, on_delete=models.PROTECT, related_name="applications", verbose_name=_("service")
    )
    applicant_name = models.CharField(_("applicant name"), max_length=60)
    id_number = models.CharField(_("ID number"), max_length=18, db_index=True)
    residency = models.CharField(_("residency"), max_length=16, choices=Residency.choices)
    residency_override_reason = models.CharField(_("reason for residency override"), max_length=200, blank=True)
    expedited = models.BooleanField(_("expedited"), default=False)
    accepted_on = models.DateField(_("accepted on"))
    due_on = models.DateField(_("due on"), null=True, blank=True)
    provisional = models.BooleanField(_("provisional deadline"), default=False)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.ACCEPTED)

    class Meta:
        ordering = ["-accepted_on", "-id"]
        verbose_name = _("application")
        verbose_name_plural = _("applications")
        indexes = [models.Index(fields=["status", "due_on"], name="application_status_due")]

    def __str__(self) -> str:
        return self.reference


class ApplicationEvent(models.Model):
    """Who moved an application to which status, and when."""

    application = models.ForeignKey(
        Application, on_delete=models.CASCADE, related_name="events", verbose_name=_("application")
    )
    status = models.CharField(_("status"), max_length=16, choices=Application.Status.choices)
    at = models.DateTimeField(_("time of change"))
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("changed by")
    )
    note = models.CharField(_("note"), max_length=200, blank=True)

    class Meta:
        ordering = ["at", "id"]
        verbose_name = _("application event")
        verbose_name_plural = _("application events")

    def __str__(self) -> str:
        return f"{self.application_id} {self.status} {self.at:%Y-%m-%d %H:%M}"


class DeadlineRecompute(models.Model):
    """One recomputation of open deadlines after a calendar or rule change, and its tally."""

    reason = models.CharField(_("reason"), max_length=200)
    requested_at = models.DateTimeField(_("requested at"))
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    examined = models.PositiveIntegerField(_("open applications examined"), default=0)
    changed = models.PositiveIntegerField(_("deadlines changed"), default=0)

    class Meta:
        ordering = ["-requested_at"]
        verbose_name = _("deadline recomputation")
        verbose_name_plural = _("deadline recomputations")

    def __str__(self) -> str:
        return f"{self.requested_at:%Y-%m-%d %H:%M} {self.reason}"


class OutboxMessage(models.Model):
    """One SMS to an applicant, written in the same transaction as the change that causes it
    (the transactional outbox): a broker or worker outage delays it, never loses it. A sender
    claims it with a lease before sending, so two senders at once never both send it."""

    class Kind(models.TextChoices):
        CONFIRMATION = "confirmation", pgettext_lazy("message kind", "Booking confirmation")
        CHANGE = "change", pgettext_lazy("message kind", "Change of time")
        CANCELLATION = "cancellation", pgettext_lazy("message kind", "Cancellation")
        REMINDER = "reminder", pgettext_lazy("message kind", "Reminder")
        CLOSURE = "closure", pgettext_lazy("message kind", "Office closed")
        MANAGE_LINK = "manage_link", pgettext_lazy("message kind", "Manage link")
        CASE = "case", pgettext_lazy("message kind", "Priority case")
        ENTERPRISE = "enterprise", pgettext_lazy("message kind", "Enterprise registration")

    # Says what the message is about and makes a repeated write of the same message a no-op.
    key = models.CharField(_("key"), max_length=80, unique=True)
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    reference = models.CharField(_("reference"), max_length=16, db_index=True)
    phone = models.CharField(_("mobile number"), max_length=11)
    text = models.TextField(_("text"))
    created_at = models.DateTimeField(_("written at"))
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    # A sender owns the message until then; after it (a crashed sender) another may retry.
    lease_until = models.DateTimeField(_("claimed until"), null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    last_error = models.CharField(_("last error"), max_length=200, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("SMS message")
        verbose_name_plural = _("SMS messages")
        indexes = [
            models.Index(fields=["created_at"], condition=Q(sent_at__isnull=True), name="outbox_pending"),
        ]

    def __str__(self) -> str:
        return self.key
