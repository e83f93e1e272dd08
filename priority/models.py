"""Priority channels: emergency cases and enterprise requests with their evidence and every
decision on them, registered enterprises, student sessions and their proof, each office's
green-channel age."""

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from appointments.models import Booking
from bureau.models import Office
from priority import grounds
from walkins.models import Ticket


class Enterprise(models.Model):
    """An enterprise or foreign-related unit with urgent business abroad, known by its
    Unified Social Credit Code; a supervisor of its office approves the registration."""

    class Status(models.TextChoices):
        PENDING = "pending", pgettext_lazy("registration status", "Awaiting approval")
        APPROVED = "approved", pgettext_lazy("registration status", "Approved")
        REJECTED = "rejected", pgettext_lazy("registration status", "Rejected")

    reference = models.CharField(_("reference"), max_length=16, unique=True)
    name = models.CharField(_("enterprise name"), max_length=100)
    credit_code = models.CharField(_("Unified Social Credit Code"), max_length=18)
    office = models.ForeignKey(
        Office, on_delete=models.PROTECT, related_name="enterprises", verbose_name=_("office that serves it")
    )
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.PENDING)
    reason = models.CharField(_("reason"), max_length=300, blank=True)
    language = models.CharField(_("language"), max_length=8, default="zh-hans")
    created_at = models.DateTimeField(_("registered at"))
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("decided by"),
    )

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("enterprise")
        verbose_name_plural = _("enterprises")
        constraints = [
            # One live registration a code: a rejected one may register again.
            models.UniqueConstraint(
                fields=["credit_code"], condition=~Q(status="rejected"), name="one_live_registration_a_code"
            )
        ]

    def __str__(self) -> str:
        return self.name


class EnterpriseContact(models.Model):
    """A person the enterprise registered to file requests for it."""

    enterprise = models.ForeignKey(
        Enterprise, on_delete=models.CASCADE, related_name="contacts", verbose_name=_("enterprise")
    )
    name = models.CharField(_("name"), max_length=60)
    id_number = models.CharField(_("ID number"), max_length=18)
    phone = models.CharField(_("mobile number"), max_length=11)

    class Meta:
        ordering = ["pk"]
        verbose_name = _("enterprise contact")
        verbose_name_plural = _("enterprise contacts")
        constraints = [
            models.UniqueConstraint(fields=["enterprise", "id_number"], name="contact_once_an_enterprise"),
        ]

    def __str__(self) -> str:
        return self.name


class Case(models.Model):
    """An emergency case (急事急办) or an enterprise's urgent request: who, why, the evidence,
    the decisions (CaseEvent) and, once approved, the ticket or booking that serves it."""

    class Kind(models.TextChoices):
        EMERGENCY = "emergency", _("Emergency or special affair")
        ENTERPRISE = "enterprise", _("Enterprise urgent request")

    class Status(models.TextChoices):
        SUBMITTED = "submitted", pgettext_lazy("case status", "Awaiting verification")
        MORE_REQUESTED = "more_requested", pgettext_lazy("case status", "More evidence requested")
        AWAITING_SUPERVISOR = "awaiting_supervisor", pgettext_lazy("case status", "Awaiting a supervisor")
        APPROVED = "approved", pgettext_lazy("case status", "Approved")
        REJECTED = "rejected", pgettext_lazy("case status", "Rejected")

    reference = models.CharField(_("reference"), max_length=16, unique=True)
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    office = models.ForeignKey(Office, on_delete=models.PROTECT, related_name="cases", verbose_name=_("office"))
    ground = models.CharField(_("ground"), max_length=24, choices=grounds.CHOICES, blank=True)
    enterprise = models.ForeignKey(
        Enterprise, on_delete=models.PROTECT, null=True, blank=True, related_name="cases", verbose_name=_("enterprise")
    )
    destination = models.CharField(_("destination"), max_length=100, blank=True)
    trip_date = models.DateField(_("date of travel"))
    return_date = models.DateField(_("date of return"), null=True, blank=True)
    description = models.TextField(_("description"), max_length=1000)
    name = models.CharField(_("name"), max_length=60)
    id_number = models.CharField(_("ID number"), max_length=18)
    phone = models.CharField(_("mobile number"), max_length=11)
    status = models.CharField(_("status"), max_length=24, choices=Status.choices, default=Status.SUBMITTED)
    # The last decision's reason, shown to the applicant (every reason stays in the events).
    reason = models.CharField(_("reason"), max_length=300, blank=True)
    expedited = models.BooleanField(_("expedited issuance"), default=False)
    language = models.CharField(_("language"), max_length=8, default="zh-hans")
    created_at = models.DateTimeField(_("filed at"))
    changed_at = models.DateTimeField(_("last changed at"))
    filed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("filed by (clerk)"),
    )
    ticket = models.OneToOneField(
        Ticket, on_delete=models.PROTECT, null=True, blank=True, related_name="case", verbose_name=_("ticket")
    )
    booking = models.OneToOneField(
        Booking, on_delete=models.PROTECT, null=True, blank=True, related_name="case", verbose_name=_("booking")
    )

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("priority case")
        verbose_name_plural = _("priority cases")
        constraints = [
            models.CheckConstraint(
                condition=Q(kind="emergency", enterprise__isnull=True) & ~Q(ground="")
                | Q(kind="enterprise", enterprise__isnull=False, ground=""),
                name="case_kind_fields",
            ),
            # Served once: a ticket or a booking, and only once approved.
            models.CheckConstraint(
                condition=Q(ticket__isnull=True, booking__isnull=True)
                | Q(status="approved") & (Q(ticket__isnull=True) | Q(booking__isnull=True)),
                name="case_served_once_approved",
            ),
        ]
        indexes = [models.Index(fields=["office", "status"], name="case_office_status")]

    def __str__(self) -> str:
        return self.reference

    @property
    def required_evidence(self) -> tuple[grounds.Evidence, ...]:
        if self.kind == self.Kind.ENTERPRISE:
            return grounds.ENTERPRISE_EVIDENCE
        return grounds.BY_CODE[self.ground].evidence


class EvidenceFile(models.Model):
    """One uploaded document, stored outside the web root under a random name; its address
    carries `public_id`, so it cannot be guessed from a neighbour's."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="evidence", verbose_name=_("case"))
    public_id = models.CharField(_("file key"), max_length=32, unique=True)
    code = models.CharField(_("document"), max_length=32)
    stored_name = models.CharField(_("stored as"), max_length=64)
    original_name = models.CharField(_("file name"), max_length=100)
    content_type = models.CharField(_("type"), max_length=32)
    size = models.PositiveIntegerField(_("size (bytes)"))
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    uploaded_at = models.DateTimeField(_("uploaded at"))

    class Meta:
        ordering = ["uploaded_at", "pk"]
        verbose_name = _("evidence file")
        verbose_name_plural = _("evidence files")

    def __str__(self) -> str:
        return self.original_name


class CaseEvent(models.Model):
    """The audit of a case: who (None: the applicant), when, what and why."""

    class Action(models.TextChoices):
        FILED = "filed", pgettext_lazy("case action", "Filed")
        EVIDENCE_ADDED = "evidence_added", pgettext_lazy("case action", "Evidence added")
        APPROVED = "approved", pgettext_lazy("case action", "Approved")
        REJECTED = "rejected", pgettext_lazy("case action", "Rejected")
        MORE_REQUESTED = "more_requested", pgettext_lazy("case action", "More evidence requested")
        SUPERVISOR_APPROVED = "supervisor_approved", pgettext_lazy("case action", "Approved by a supervisor")
        SUPERVISOR_REJECTED = "supervisor_rejected", pgettext_lazy("case action", "Rejected by a supervisor")
        TICKET_ISSUED = "ticket_issued", pgettext_lazy("case action", "Ticket issued")
        BOOKED = "booked", pgettext_lazy("case action", "Place booked")
        FILE_OPENED = "file_opened", pgettext_lazy("case action", "Evidence opened")

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="events", verbose_name=_("case"))
    action = models.CharField(_("action"), max_length=24, choices=Action.choices)
    status = models.CharField(_("status after"), max_length=24, choices=Case.Status.choices)
    at = models.DateTimeField(_("time"))
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("by"),
    )
    reason = models.CharField(_("reason"), max_length=300, blank=True)

    class Meta:
        ordering = ["at", "pk"]
        verbose_name = _("case event")
        verbose_name_plural = _("case events")

    def __str__(self) -> str:
        return f"{self.case_id} {self.action} {self.at:%Y-%m-%d %H:%M}"


class StudentSession(models.Model):
    """Places set aside for students in the summer peak: every slot of its offices from the
    first day to the last gets `places` student places."""

    name = models.CharField(_("name"), max_length=60)
    first_day = models.DateField(_("first day"))
    last_day = models.DateField(_("last day"))
    offices = models.ManyToManyField(Office, related_name="student_sessions", verbose_name=_("offices"))
    places = models.PositiveSmallIntegerField(_("student places per slot"))
    created_at = models.DateTimeField(_("opened at"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("opened by")
    )

    class Meta:
        ordering = ["-first_day"]
        verbose_name = _("student session")
        verbose_name_plural = _("student sessions")
        constraints = [
            models.CheckConstraint(
                condition=Q(first_day__lte=F("last_day")),
                name="student_session_days_in_order",
                violation_error_message=_("The last day cannot be before the first day."),
            ),
            models.CheckConstraint(
                condition=Q(places__gte=1, places__lte=50),
                name="student_session_places_range",
                violation_error_message=_("A slot has 1 to 50 student places."),
            ),
        ]

    def __str__(self) -> str:
        return self.name


class StudentProof(models.Model):
    """What a student booking was made on: the school and the admission notice or student
    card number, checked at the counter; a parent booked with the child points to it."""

    booking = models.OneToOneField(
        Booking, on_delete=models.CASCADE, related_name="student_proof", verbose_name=_("booking")
    )
    school = models.CharField(_("school"), max_length=100)
    proof = models.CharField(_("admission notice or student card number"), max_length=40)
    parent_booking = models.OneToOneField(
        Booking,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="child_proof",
        verbose_name=_("parent's booking"),
    )

    class Meta:
        verbose_name = _("student proof")
        verbose_name_plural = _("student proofs")

    def __str__(self) -> str:
        return self.school


class GreenChannel(models.Model):
    """An office's green channel: from which age (from the ID number's birth date) an
    applicant gets a priority ticket without an appointment."""

    office = models.OneToOneField(
        Office, on_delete=models.CASCADE, related_name="green_channel", verbose_name=_("office")
    )
    min_age = models.PositiveSmallIntegerField(_("from age"), default=60)

    class Meta:
        verbose_name = _("green channel")
        verbose_name_plural = _("green channels")
        constraints = [
            models.CheckConstraint(
                condition=Q(min_age__gte=50, min_age__lte=100),
                name="green_channel_age_range",
                violation_error_message=_("The age is 50 to 100."),
            )
        ]

    def __str__(self) -> str:
        return str(self.office)
