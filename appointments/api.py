"""Booking API (SPEC 9): availability, bookings, reschedule, staff check-in."""

import re
from collections.abc import Callable
from typing import Any

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, serializers, status
from rest_framework.authentication import BaseAuthentication
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from appointments import selectors, services
from appointments.models import Booking, Channel
from bureau import selectors as core
from bureau.api import guard
from bureau.api_fields import DateInRange, DateTimeInRange, IdNumberField, MobileNumberField
from bureau.identity import mask_id_number
from bureau.models import Office
from bureau.ratelimit import client_address

TOKEN_HEADER = OpenApiParameter("X-Booking-Token", location=OpenApiParameter.HEADER, required=True)


class PublicAPIView(APIView):
    """An endpoint for applicants, who have no account: no session or token is looked at."""

    authentication_classes: list[type[BaseAuthentication]] = []


class AvailabilityQuery(serializers.Serializer[None]):
    service = serializers.CharField(max_length=32)
    date = DateInRange()


class OpenSlotSerializer(serializers.Serializer[None]):
    start = serializers.DateTimeField()
    remaining = serializers.IntegerField()


class AvailabilitySerializer(serializers.Serializer[dict[str, object]]):
    """The answer's shape, for the schema; the answer itself is built by hand (see below)."""

    date = serializers.DateField()
    slots = OpenSlotSerializer(many=True)


def office_or_404(code: str) -> Office:
    office = core.office_by_code(code)
    if office is None:
        raise exceptions.NotFound(_("No office has this code."))
    return office


class Availability(PublicAPIView):
    @extend_schema(parameters=[AvailabilityQuery], responses=AvailabilitySerializer)
    def get(self, request: Request, code: str) -> Response:
        """Places left per slot for a service on a day (general channel). Days outside the
        booking window, and walk-in-only offices, have no slots."""
        query = AvailabilityQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        day, service = query.validated_data["date"], query.validated_data["service"]
        slots = selectors.availability(office_code=code, service_code=service, day=day)
        if not slots:  # the hot path answers from the cache; names are checked only here
            office_or_404(code)
            if core.service_by_code(service) is None:
                raise serializers.ValidationError({"service": [_("Unknown service.")]})
        # Serializing 20-odd datetimes cost more than the rest of the read; the cached day
        # already holds each start as ISO 8601 in office time.
        answer = [{"start": slot.start, "remaining": slot.remaining} for slot in slots]
        return Response({"date": day.isoformat(), "slots": answer})


class BookingSerializer(serializers.Serializer[Booking]):
    # A plain serializer: a ModelSerializer would rebuild its fields from the model for
    # every booking answered.
    reference = serializers.CharField()
    office = serializers.CharField(source="office.code")
    service = serializers.CharField(source="service.code")
    start = serializers.DateTimeField(source="starts_at")
    status = serializers.ChoiceField(choices=Booking.Status.choices)
    channel = serializers.ChoiceField(choices=Channel.choices)
    name = serializers.CharField()
    id_number = serializers.SerializerMethodField()

    def get_id_number(self, booking: Booking) -> str:
        return mask_id_number(booking.id_number)


class NewBookingSerializer(BookingSerializer):
    token = serializers.SerializerMethodField()

    def get_token(self, booking: Booking) -> str:
        return selectors.booking_token(booking.reference)


class CodeField(serializers.CharField):
    """An office or service named by its code, read through the configuration cache (a
    booking in a rush should not spend two queries on rows that hardly ever change)."""

    def __init__(self, *, lookup: Callable[[str], object | None], **kwargs: Any) -> None:
        self.lookup = lookup
        super().__init__(max_length=32, **kwargs)

    def run_validation(self, data: Any = serializers.empty) -> Any:
        row = self.lookup(super().run_validation(data))
        if row is None:
            raise serializers.ValidationError(_("Nothing has this code."), code="does_not_exist")
        return row


class PlaceInput(serializers.Serializer[None]):
    office = CodeField(lookup=core.office_by_code)
    service = CodeField(lookup=core.service_by_code)
    start = DateTimeInRange()


class ApplicantInput(serializers.Serializer[None]):
    name = serializers.CharField(max_length=200, allow_blank=True)
    id_number = IdNumberField()
    phone = MobileNumberField()


class BookingInput(PlaceInput, ApplicantInput):
    """The request body, for the schema; it is validated in its two parts."""


IDEMPOTENCY_KEY = re.compile(r"[A-Za-z0-9_.:-]{8,64}")


def _validated_booking(data: Any) -> tuple[dict[str, Any], services.Applicant]:
    """The place and the applicant, or a 400 naming every bad field of both."""
    place, person = PlaceInput(data=data), ApplicantInput(data=data)
    place.is_valid()
    person.is_valid()
    errors: dict[str, Any] = {**place.errors, **person.errors}
    applicant = None
    if not person.errors:
        try:
            applicant = services.applicant_validated(**person.validated_data)
        except services.BookingInputError as exc:
            errors.update({field: [message] for field, message in exc.errors.items()})
    if errors or applicant is None:
        raise serializers.ValidationError(errors)
    return place.validated_data, applicant


class BookingCreate(PublicAPIView):
    domain_errors = {"POST": (403, 409, 429)}  # blocked, slot_full / already_booked, too many attempts

    @extend_schema(
        request=BookingInput,
        parameters=[OpenApiParameter("Idempotency-Key", location=OpenApiParameter.HEADER, required=False)],
        responses={201: NewBookingSerializer},
    )
    def post(self, request: Request) -> Response:
        """Book a slot. 400 naming every bad field; then 409 `slot_full` when no place is
        left, 403 `blocked` after repeated no-shows, 429 with Retry-After when attempts come
        too fast."""
        if not isinstance(request.data, dict):
            raise serializers.ValidationError([_("Send the booking as a JSON object.")])
        guard("booking-address", client_address(request))
        key = request.headers.get("Idempotency-Key")
        if key is not None and not IDEMPOTENCY_KEY.fullmatch(key):
            raise serializers.ValidationError({"Idempotency-Key": [_("Use 8 to 64 letters, digits or -_.:")]})
        place, applicant = _validated_booking(request.data)
        # Counted only for a valid request, by ID number and mobile number together: junk
        # naming someone's ID number cannot use up that person's allowance.
        guard("booking-applicant", applicant.id_number, applicant.phone)
        booking = services.booking_create(idempotency_key=key, **place, **applicant._asdict())
        return Response(NewBookingSerializer(booking).data, status=status.HTTP_201_CREATED)


class BookingByToken(PublicAPIView):
    def _booking(self, request: Request, reference: str) -> Booking:
        booking = selectors.booking_by_secret(reference, request.headers.get("X-Booking-Token", ""))
        if booking is None:
            raise exceptions.NotFound(_("No booking matches this reference and token."))
        return booking


class BookingDetail(BookingByToken):
    domain_errors = {"DELETE": (400, 409)}  # too late; no longer active

    @extend_schema(parameters=[TOKEN_HEADER], responses=BookingSerializer)
    def get(self, request: Request, reference: str) -> Response:
        return Response(BookingSerializer(self._booking(request, reference)).data)

    @extend_schema(parameters=[TOKEN_HEADER], responses={204: None})
    def delete(self, request: Request, reference: str) -> Response:
        """Cancel the booking (until its slot starts)."""
        services.booking_cancel(booking=self._booking(request, reference))
        return Response(status=status.HTTP_204_NO_CONTENT)


class RescheduleInput(serializers.Serializer[None]):
    start = DateTimeInRange()


class BookingReschedule(BookingByToken):
    domain_errors = {"POST": (409, 429)}  # slot_full / not active; too many attempts

    @extend_schema(parameters=[TOKEN_HEADER], request=RescheduleInput, responses=BookingSerializer)
    def post(self, request: Request, reference: str) -> Response:
        """Move the booking to another slot of the same office and service; the old place
        is kept until the new one is held."""
        guard("booking-address", client_address(request))
        booking = self._booking(request, reference)
        data = RescheduleInput(data=request.data)
        data.is_valid(raise_exception=True)
        guard("booking-applicant", booking.id_number, booking.phone)
        booking = services.booking_reschedule(booking=booking, start=data.validated_data["start"])
        return Response(BookingSerializer(booking).data)
