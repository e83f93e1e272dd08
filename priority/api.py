"""Priority channels' API (SPEC 5, 9): the emergency grounds, emergency cases with their
evidence (multipart), a clerk's decision on a case, priority tickets at an office, enterprise
registration and student bookings.

Every answer masks ID numbers and mobile numbers; every error is in the error shape, naming
each field at fault (a nested one as `student.phone` or `contacts.0.id_number`)."""

from collections.abc import Mapping
from typing import Any, NoReturn

from django.conf import settings
from django.http import QueryDict
from django.template.defaultfilters import filesizeformat
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import exceptions, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from appointments import services as bookings
from appointments.api import ApplicantInput, CodeField, NewBookingSerializer, PlaceInput, PublicAPIView, office_or_404
from bureau import selectors as core
from bureau.access import signed_in_user
from bureau.api import guard
from bureau.api_errors import PayloadTooLargeError
from bureau.api_fields import DateInRange, IdNumberField, MobileNumberField
from bureau.identity import mask_id_number, mask_phone
from bureau.models import Office
from bureau.ratelimit import client_address
from bureau.services import DomainError
from priority import grounds, selectors, services
from priority.models import Case, Enterprise
from walkins.api import StaffAPIView, TicketSerializer
from walkins.models import Ticket, TicketChannel

CASE_TOKEN = OpenApiParameter(
    "X-Case-Token", location=OpenApiParameter.HEADER, required=True, description="The token given when filing."
)
# What a case's form fields may take besides its files; a request over the files' limit plus
# this is refused (413) before a byte of it is read.
FORM_ALLOWANCE_BYTES = 256 * 1024


def _flat(errors: Any, prefix: str = "") -> dict[str, list[str]]:
    """A serializer's errors with nested fields named by their path (`student.phone`,
    `contacts.0.name`): the error shape holds one list of messages per field."""
    if isinstance(errors, Mapping):
        flat: dict[str, list[str]] = {}
        for key, value in errors.items():
            name = f"{prefix}.{key}" if prefix and key != "non_field_errors" else (prefix or str(key))
            flat.update(_flat(value, name))
        return flat
    if isinstance(errors, list) and any(isinstance(item, Mapping | list) for item in errors):
        flat = {}
        for item in errors:
            flat.update(_flat(item, prefix))
        return flat
    return {prefix: [str(message) for message in (errors if isinstance(errors, list) else [errors])]}


def _person_errors(raw: Any, prefix: str = "") -> dict[str, list[str]]:
    """The applicant rules' faults with a person's details (name, ID number, mobile number),
    to name them together with faults of the request's shape."""
    if not isinstance(raw, Mapping):
        return {}
    values = {key: raw.get(key, "") for key in ("name", "id_number", "phone")}
    if not all(isinstance(value, str) for value in values.values()):
        return {}
    try:
        bookings.applicant_validated(**values)
    except bookings.BookingInputError as exc:
        return {f"{prefix}{field}": [message] for field, message in exc.errors.items()}
    return {}


def _refused(serializer: serializers.Serializer[Any], also: dict[str, list[str]] | None = None) -> NoReturn:
    """400 naming every field at fault: the serializer's, and `also` (rules' faults found on
    the fields the serializer took), unless the serializer already named that field."""
    errors = {**(also or {}), **_flat(serializer.errors)}
    raise serializers.ValidationError(errors)


def _renamed(exc: DomainError, names: Mapping[str, str]) -> DomainError:
    """The same refusal, with the fields the service named as the API names them."""
    errors = {names.get(field, field): message for field, message in exc.errors.items()}
    return type(exc)(exc.message, code=exc.code, errors=errors)


# --- grounds ---------------------------------------------------------------------------------


class EvidenceSerializer(serializers.Serializer[grounds.Evidence]):
    code = serializers.CharField()
    name = serializers.CharField()


class GroundSerializer(serializers.Serializer[grounds.Ground]):
    code = serializers.CharField()
    name = serializers.CharField()
    evidence = EvidenceSerializer(many=True, help_text="The documents to upload, one file field per code.")


class Grounds(PublicAPIView):
    @extend_schema(responses=GroundSerializer(many=True))
    def get(self, request: Request) -> Response:
        """The grounds of an emergency case and the documents each needs, in the caller's
        language (Accept-Language)."""
        return Response(GroundSerializer(grounds.GROUNDS, many=True).data)  # type: ignore[arg-type]


# --- emergency cases -------------------------------------------------------------------------


class CaseFields(serializers.Serializer[None]):
    office = CodeField(lookup=core.office_by_code)
    ground = serializers.ChoiceField(choices=grounds.CHOICES)
    trip_date = DateInRange(help_text="The date of travel, within a year from today.")
    name = serializers.CharField(max_length=200, allow_blank=True)
    id_number = IdNumberField()
    phone = MobileNumberField()
    description = serializers.CharField(max_length=4000, allow_blank=True, help_text="Why it is urgent.")


@extend_schema_field({"type": "string", "format": "binary"})
class EvidenceFileField(serializers.FileField):
    """For the schema only: a document's file (the service checks it by content)."""


# The request as the schema documents it: the fields, and one optional file field per
# evidence code (which ones a ground needs: GET /api/v1/emergency-grounds/).
CaseInput = type(
    "CaseInput",
    (CaseFields,),
    {
        code: EvidenceFileField(required=False, help_text=format_lazy("{}: PDF, JPEG or PNG.", name))
        for code, name in grounds.evidence_names().items()
    },
)


class NewCaseSerializer(serializers.Serializer[Case]):
    reference = serializers.CharField()
    token = serializers.SerializerMethodField(help_text="Send it as X-Case-Token to read the case.")
    status = serializers.ChoiceField(choices=Case.Status.choices)

    def get_token(self, case: Case) -> str:
        return selectors.case_token(case)


class CaseSerializer(serializers.Serializer[Case]):
    reference = serializers.CharField()
    kind = serializers.ChoiceField(choices=Case.Kind.choices)
    office = serializers.CharField(source="office.code")
    status = serializers.ChoiceField(choices=Case.Status.choices)
    ground = serializers.CharField(help_text="The ground's code; empty for an enterprise request.")
    trip_date = serializers.DateField()
    reason = serializers.CharField(help_text="The last decision's reason.")
    documents = serializers.SerializerMethodField()
    ticket = serializers.SerializerMethodField()
    booking = serializers.SerializerMethodField()
    expedited = serializers.BooleanField()
    name = serializers.CharField()
    id_number = serializers.SerializerMethodField()
    phone = serializers.SerializerMethodField()

    def get_documents(self, case: Case) -> list[str]:
        """The codes of the documents received."""
        return sorted(set(case.evidence.values_list("code", flat=True)))

    def get_ticket(self, case: Case) -> str | None:
        """The number of the case's ticket, once issued."""
        return case.ticket.number if case.ticket_id and case.ticket else None

    def get_booking(self, case: Case) -> str | None:
        """The reference of the place booked for the case, if any."""
        return case.booking.reference if case.booking_id and case.booking else None

    def get_id_number(self, case: Case) -> str:
        return mask_id_number(case.id_number)

    def get_phone(self, case: Case) -> str:
        return mask_phone(case.phone)


def _case_files(request: Request) -> dict[str, Any]:
    return {code: upload for code in grounds.EVIDENCE_CODES if (upload := request.FILES.get(code)) is not None}


def _refuse_oversized(request: Request) -> None:
    """413 for a request larger than all the files a ground needs at their limit and the
    form's fields, from its Content-Length, before it is read."""
    documents = max(len(ground.evidence) for ground in grounds.GROUNDS)
    limit = documents * settings.EVIDENCE_MAX_BYTES + FORM_ALLOWANCE_BYTES
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > limit:
        raise PayloadTooLargeError(
            _("The request is larger than %(limit)s: send each document within %(file)s.")
            % {"limit": filesizeformat(limit), "file": filesizeformat(settings.EVIDENCE_MAX_BYTES)},
            code="request_too_large",
        )


class CaseCreate(PublicAPIView):
    # Multipart, as the schema says: the documents are files (DRF's MultiPartParser, among
    # the API's parsers). A JSON body is parsed like any other, a body that cannot be parsed
    # refused as anywhere, then refused as a whole with a 400 in the error shape. A form body
    # is read like multipart without files: its documents are named as missing.
    domain_errors = {"POST": (403, 409, 413, 429)}  # phone allowance; checks busy; too large; too many

    @extend_schema(request={"multipart/form-data": CaseInput}, responses={201: NewCaseSerializer})
    def post(self, request: Request) -> Response:
        """File an emergency case with a file for each document its ground needs (PDF, JPEG
        or PNG, by content). 400 naming every field at fault (a file that is empty or not
        really such a file is named by its field); 413 naming the file too large; 429 with
        Retry-After when attempts come too fast."""
        guard("case-address", client_address(request))
        _refuse_oversized(request)
        if not isinstance(request.data, QueryDict):
            raise serializers.ValidationError(
                [_("Send the case as multipart/form-data, with a file field for each document.")]
            )
        data = CaseFields(data=request.data)
        if not data.is_valid():
            _refused(data, _person_errors(request.data))
        fields = data.validated_data
        case = services.case_file(
            office=fields["office"],
            ground=fields["ground"],
            trip_date=fields["trip_date"],
            description=fields["description"],
            name=fields["name"],
            id_number=fields["id_number"],
            phone=fields["phone"],
            files=_case_files(request),
        )
        return Response(NewCaseSerializer(case).data, status=status.HTTP_201_CREATED)


class CaseDetail(PublicAPIView):
    @extend_schema(parameters=[CASE_TOKEN], responses=CaseSerializer)
    def get(self, request: Request, reference: str) -> Response:
        """The case, with the token given when it was filed: its status, the last decision's
        reason, the documents received, and its ticket or booking once served."""
        case = selectors.case_by_secret(reference, request.headers.get("X-Case-Token", ""))
        if case is None:
            raise exceptions.NotFound(_("No case matches this reference and token."))
        return Response(CaseSerializer(case).data)


class DecisionInput(serializers.Serializer[None]):
    decision = serializers.ChoiceField(
        choices=[
            ("approve", pgettext_lazy("case decision", "Approve")),
            ("reject", pgettext_lazy("case decision", "Reject")),
            ("more", pgettext_lazy("case decision", "Ask for more documents")),
        ]
    )
    reason = serializers.CharField(
        max_length=1000, allow_blank=True, default="", help_text="Required to reject or to ask for more."
    )
    expedited = serializers.BooleanField(
        default=False, help_text="An enterprise request's expedited issuance; an emergency case always has it."
    )


class CaseDecision(StaffAPIView):
    domain_errors = {"POST": (409,)}  # the case is not waiting for a decision

    @extend_schema(request=DecisionInput, responses=CaseSerializer)
    def post(self, request: Request, reference: str) -> Response:
        """Staff of the case's office: approve it, reject it with a reason, or ask for more
        documents saying what is missing. A ground that needs a supervisor waits for one (403
        for a clerk then; the supervisor is not the clerk who approved); 409 when the case
        is not waiting for a decision."""
        data = DecisionInput(data=request.data)
        if not data.is_valid():
            _refused(data)
        user = signed_in_user(request)
        case = selectors.case_for_staff(user, reference)
        if case is None and selectors.case_elsewhere(user, reference):
            raise exceptions.PermissionDenied(_("You are not on the staff of this case's office."))
        if case is None:
            raise exceptions.NotFound(_("No case of your offices has this reference."))
        case = services.case_decide(case=case, by=user, **data.validated_data)
        return Response(CaseSerializer(case).data)


# --- priority tickets ------------------------------------------------------------------------

PRIORITY_TICKET_CHANNELS = (
    TicketChannel.EMERGENCY,
    TicketChannel.ENTERPRISE,
    TicketChannel.GREEN,
    TicketChannel.STUDENT,
)
# What each channel needs besides the service.
NEEDS: dict[str, tuple[str, ...]] = {
    TicketChannel.EMERGENCY: ("case",),
    TicketChannel.ENTERPRISE: ("case",),
    TicketChannel.GREEN: ("id_number",),
    TicketChannel.STUDENT: ("school", "proof"),
}


class PriorityTicketInput(serializers.Serializer[None]):
    service = CodeField(lookup=core.service_by_code)
    channel = serializers.ChoiceField(choices=[(c.value, c.label) for c in PRIORITY_TICKET_CHANNELS])
    case = serializers.CharField(
        max_length=32, required=False, allow_blank=True, help_text="emergency, enterprise: the approved case."
    )
    id_number = IdNumberField(required=False, help_text="green: the applicant's ID number (their age).")
    school = serializers.CharField(max_length=200, required=False, allow_blank=True, help_text="student")
    proof = serializers.CharField(
        max_length=100, required=False, allow_blank=True, help_text="student: admission notice or student card number"
    )


def _priority_ticket(request: Request, office: Office, fields: dict[str, Any]) -> Ticket:
    user, channel, service = signed_in_user(request), fields["channel"], fields["service"]
    if channel in (TicketChannel.EMERGENCY, TicketChannel.ENTERPRISE):
        case = selectors.case_for_staff(user, fields["case"])
        if case is None or case.office_id != office.pk:
            raise serializers.ValidationError({"case": [_("No case of this office has this reference.")]})
        if services.CASE_TICKET[case.kind] != channel:
            label = TicketChannel(services.CASE_TICKET[case.kind]).label
            raise serializers.ValidationError(
                {"channel": [_("This case's ticket is in the %(channel)s channel.") % {"channel": label}]}
            )
        return services.case_issue_ticket(case=case, service=service, by=user)
    if channel == TicketChannel.GREEN:
        return services.green_ticket_issue(office=office, service=service, id_number=fields["id_number"], by=user)
    return services.student_ticket_issue(
        office=office, service=service, school=fields["school"], proof=fields["proof"], by=user
    )


class PriorityTickets(StaffAPIView):
    domain_errors = {"POST": (409,)}  # the case is not approved, or already has its ticket or booking

    @extend_schema(request=PriorityTicketInput, responses={201: TicketSerializer})
    def post(self, request: Request, code: str) -> Response:
        """Staff of the office: a priority ticket. emergency / enterprise: for an approved
        case of this office (`case`), once; green: for an applicant of the office's
        green-channel age (`id_number`); student: on a day of a student session, once the
        proof was seen (`school`, `proof`). 400 naming a field the channel needs."""
        office = office_or_404(code)
        if not core.staff_offices(request.user).filter(pk=office.pk).exists():
            raise exceptions.PermissionDenied(_("You are not on the staff of this office."))
        data = PriorityTicketInput(data=request.data)
        if not data.is_valid():
            _refused(data)
        fields = dict(data.validated_data)
        missing = [name for name in NEEDS[fields["channel"]] if not str(fields.get(name, "")).strip()]
        if missing:
            raise serializers.ValidationError(
                {name: [_("This channel needs this field.")] for name in missing}, code="required"
            )
        ticket = _priority_ticket(request, office, fields)
        return Response(TicketSerializer(ticket).data, status=status.HTTP_201_CREATED)


# --- enterprises -----------------------------------------------------------------------------


class ContactInput(ApplicantInput):
    """A contact the enterprise registers to file requests for it."""


class EnterpriseInput(serializers.Serializer[None]):
    office = CodeField(lookup=core.office_by_code)
    name = serializers.CharField(max_length=200, allow_blank=True)
    credit_code = serializers.CharField(
        max_length=40, allow_blank=True, help_text="Unified Social Credit Code (GB 32100), 18 characters."
    )
    contacts = serializers.ListField(child=ContactInput(), min_length=1, max_length=services.MAX_CONTACTS)


class NewEnterpriseSerializer(serializers.Serializer[Enterprise]):
    reference = serializers.CharField()
    status = serializers.ChoiceField(choices=Enterprise.Status.choices)


def _enterprise_errors(raw: Any) -> dict[str, list[str]]:
    """The credit code's and the contacts' faults, named with those of the request's shape."""
    if not isinstance(raw, Mapping):
        return {}
    errors: dict[str, str] = {}
    if isinstance(code := raw.get("credit_code"), str):
        services.credit_code_normalized(code, errors)
    found = {field: [message] for field, message in errors.items()}
    contacts = raw.get("contacts")
    if isinstance(contacts, list):
        for index, contact in enumerate(contacts[: services.MAX_CONTACTS]):
            found.update(_person_errors(contact, prefix=f"contacts.{index}."))
    return found


class EnterpriseCreate(PublicAPIView):
    domain_errors = {"POST": (409, 429)}  # already registered; too many attempts

    @extend_schema(request=EnterpriseInput, responses={201: NewEnterpriseSerializer})
    def post(self, request: Request) -> Response:
        """Register an enterprise for the enterprise window, with 1 to 5 contacts, for a
        supervisor of its office to approve (the contacts get an SMS then). 400 naming
        every field at fault (an invalid credit code as `credit_code`, a contact's as
        `contacts.<i>.<field>`); 409 when the code already has a live registration."""
        guard("enterprise-address", client_address(request))
        data = EnterpriseInput(data=request.data)
        if not data.is_valid():
            _refused(data, _enterprise_errors(request.data))
        fields = data.validated_data
        enterprise = services.enterprise_register(
            office=fields["office"],
            name=fields["name"],
            credit_code=fields["credit_code"],
            contacts=fields["contacts"],
        )
        return Response(NewEnterpriseSerializer(enterprise).data, status=status.HTTP_201_CREATED)


# --- student bookings ------------------------------------------------------------------------


class StudentBookingInput(PlaceInput):
    school = serializers.CharField(max_length=200, allow_blank=True)
    proof = serializers.CharField(
        max_length=100, allow_blank=True, help_text="Admission notice or student card number."
    )
    student = ApplicantInput()
    parent = ApplicantInput(required=False, help_text="A parent booked with the student, in the same slot.")


class StudentBookingsSerializer(serializers.Serializer[None]):
    bookings = NewBookingSerializer(many=True)


# The services name the student's fields plainly and the parent's `people.1.<field>`.
STUDENT_FIELDS = {
    **{field: f"student.{field}" for field in ("name", "id_number", "phone")},
    **{f"people.1.{field}": f"parent.{field}" for field in ("name", "id_number", "phone")},
}


class StudentBookingCreate(PublicAPIView):
    domain_errors = {"POST": (403, 409, 429)}  # blocked; slot_full / already_booked; too many attempts

    @extend_schema(request=StudentBookingInput, responses={201: StudentBookingsSerializer})
    def post(self, request: Request) -> Response:
        """Book a student place in a slot of a student session, and one for a parent with
        the student when `parent` is given: places for both or for neither. 400 naming every
        field at fault; 409 `slot_full` when the places are not there; 429 when attempts
        come too fast."""
        guard("booking-address", client_address(request))
        data = StudentBookingInput(data=request.data)
        if not data.is_valid():
            raw = request.data if isinstance(request.data, Mapping) else {}
            _refused(
                data, {**_person_errors(raw.get("student"), "student."), **_person_errors(raw.get("parent"), "parent.")}
            )
        fields = data.validated_data
        student, parent = dict(fields["student"]), fields.get("parent")
        try:
            applicant = bookings.applicant_validated(**student)
        except bookings.BookingInputError:
            pass  # named below, with every other field at fault, and nothing written
        else:
            # Counted by the student's ID number and mobile number, once they are valid:
            # junk naming someone's ID number cannot use up that person's allowance.
            guard("booking-applicant", applicant.id_number, applicant.phone)
        try:
            made = services.student_booking_create(
                office=fields["office"],
                service=fields["service"],
                start=fields["start"],
                school=fields["school"],
                proof=fields["proof"],
                student=student,
                parent=dict(parent) if parent else None,
            )
        except (services.CaseInputError, bookings.BookingInputError) as exc:
            raise _renamed(exc, STUDENT_FIELDS) from None
        answer = {"bookings": NewBookingSerializer(made, many=True).data}  # type: ignore[arg-type]
        return Response(answer, status=status.HTTP_201_CREATED)
