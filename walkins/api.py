"""Queue API (SPEC 9): tickets, check-in with its ticket, counters and calling, the public
queue of an office."""

from typing import Any

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import exceptions, serializers, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from appointments.api import BookingSerializer, CodeField, PublicAPIView, office_or_404
from bureau import selectors as core
from bureau.access import DeskStaffOnly, signed_in_user
from bureau.models import Counter
from walkins import selectors, services
from walkins.models import Ticket, TicketChannel


class TicketSerializer(serializers.Serializer[Ticket]):
    id = serializers.IntegerField()
    number = serializers.CharField()
    service = serializers.CharField(source="service.code")
    channel = serializers.ChoiceField(choices=TicketChannel.choices)
    status = serializers.ChoiceField(choices=Ticket.Status.choices)
    issued_at = serializers.DateTimeField()
    counter = serializers.SerializerMethodField()
    ahead = serializers.IntegerField(read_only=True, help_text="People who would be called first; 0 once called.")
    estimated_wait_minutes = serializers.IntegerField(read_only=True)

    def get_counter(self, ticket: Ticket) -> int | None:
        return ticket.counter.number if ticket.counter_id and ticket.counter else None

    def to_representation(self, ticket: Ticket) -> dict[str, Any]:
        place = selectors.place_of(ticket)
        ticket.ahead, ticket.estimated_wait_minutes = place.ahead, place.estimated_wait_minutes  # type: ignore[attr-defined]
        return dict(super().to_representation(ticket))


class TicketInput(serializers.Serializer[None]):
    service = CodeField(lookup=core.service_by_code)
    channel = serializers.ChoiceField(choices=[(c, TicketChannel(c).label) for c in services.TRIAGE_CHANNELS])


class StaffAPIView(APIView):
    permission_classes = [IsAuthenticated, DeskStaffOnly]


class NoInput(serializers.Serializer[None]):
    """An action that takes no fields still reads its body: a body that cannot be read (too
    deep, not an object, an unknown media type) is refused, not ignored."""


def read_no_input(request: Request) -> None:
    NoInput(data={} if request.data is None else request.data).is_valid(raise_exception=True)


class Tickets(StaffAPIView):
    @extend_schema(request=TicketInput, responses={201: TicketSerializer})
    def post(self, request: Request, code: str) -> Response:
        """Staff: a walk-in ticket (triage) at this office, with the number of people ahead
        and the estimated wait."""
        office = office_or_404(code)
        data = TicketInput(data=request.data)
        data.is_valid(raise_exception=True)
        ticket = services.ticket_issue(office=office, by=signed_in_user(request), **data.validated_data)
        return Response(TicketSerializer(ticket).data, status=status.HTTP_201_CREATED)


class CheckInInput(serializers.Serializer[None]):
    code = serializers.CharField(max_length=64)


class CheckedInSerializer(BookingSerializer):
    ticket = TicketSerializer()


class CheckIn(StaffAPIView):
    domain_errors = {"POST": (409,)}  # changed a moment ago

    @extend_schema(request=CheckInInput, responses=CheckedInSerializer)
    def post(self, request: Request, code: str) -> Response:
        """Staff: check a booking in by its reference or QR content, at this office, on its
        day, inside the check-in window, and issue its appointment ticket; 400 with the
        reason otherwise (too late: the booking is marked late, take a walk-in ticket)."""
        office = office_or_404(code)
        data = CheckInInput(data=request.data)
        data.is_valid(raise_exception=True)
        done = services.ticket_check_in(code=data.validated_data["code"], office=office, by=signed_in_user(request))
        return Response(CheckedInSerializer(done.booking).data)


class CounterSerializer(serializers.Serializer[Counter]):
    id = serializers.IntegerField()
    number = serializers.IntegerField()
    services = serializers.SerializerMethodField()
    enterprise_window = serializers.BooleanField()
    open = serializers.SerializerMethodField()
    current = serializers.SerializerMethodField()

    def get_services(self, counter: Counter) -> list[str]:
        return sorted(service.code for service in counter.services.all())

    def get_open(self, counter: Counter) -> bool:
        return selectors.open_shift(counter) is not None

    def get_current(self, counter: Counter) -> str | None:
        ticket = selectors.current_ticket(counter)
        return ticket.number if ticket else None


class OfficeCounters(StaffAPIView):
    @extend_schema(responses=CounterSerializer(many=True))
    def get(self, request: Request, code: str) -> Response:
        """Staff of the office: its counters, whether each is open, and its current ticket."""
        office = office_or_404(code)
        if not core.staff_offices(request.user).filter(pk=office.pk).exists():
            raise exceptions.PermissionDenied(_("You are not on the staff of this office."))
        counters = Counter.objects.filter(office=office).prefetch_related("services")
        return Response(CounterSerializer(counters, many=True).data)  # type: ignore[arg-type]


def counter_or_404(counter_id: int) -> Counter:
    counter = Counter.objects.select_related("office").filter(pk=counter_id).first()
    if counter is None:
        raise exceptions.NotFound(_("No counter has this number."))
    return counter


class CounterOpen(StaffAPIView):
    domain_errors = {"POST": (409,)}  # another clerk staffs it, or the caller staffs another

    @extend_schema(request=None, responses=CounterSerializer)
    def post(self, request: Request, counter_id: int) -> Response:
        """Open the counter, staffed by the caller (a clerk staffs one counter at a time)."""
        read_no_input(request)
        counter = counter_or_404(counter_id)
        services.counter_open(counter=counter, by=signed_in_user(request))
        return Response(CounterSerializer(counter).data)


class CounterClose(StaffAPIView):
    domain_errors = {"POST": (409,)}  # not open, or a ticket is still being served

    @extend_schema(request=None, responses=CounterSerializer)
    def post(self, request: Request, counter_id: int) -> Response:
        read_no_input(request)
        counter = counter_or_404(counter_id)
        services.counter_close(counter=counter, by=signed_in_user(request))
        return Response(CounterSerializer(counter).data)


class CallNext(StaffAPIView):
    domain_errors = {"POST": (409,)}  # the counter is not open

    @extend_schema(request=None, responses={200: TicketSerializer, 204: OpenApiResponse(description="Nobody waits.")})
    def post(self, request: Request, counter_id: int) -> Response:
        """End the counter's current ticket as served, if any, then call the next one by the
        office's rule; 204 when nobody waits for this counter's services."""
        read_no_input(request)
        counter = counter_or_404(counter_id)
        ticket = services.ticket_call_next(counter=counter, by=signed_in_user(request))
        if ticket is None:
            return Response(status=status.HTTP_204_NO_CONTENT)
        return Response(TicketSerializer(ticket).data)


class CounterAction(StaffAPIView):
    """Recall, complete, no-show or park the counter's current ticket."""

    domain_errors = {"POST": (409,)}  # not open, or no current ticket
    act: Any = None

    @extend_schema(request=None, responses=TicketSerializer)
    def post(self, request: Request, counter_id: int) -> Response:
        read_no_input(request)
        counter = counter_or_404(counter_id)
        ticket = type(self).act(counter=counter, by=signed_in_user(request))
        return Response(TicketSerializer(ticket).data)


class Recall(CounterAction):
    act = staticmethod(services.ticket_recall)


class Complete(CounterAction):
    act = staticmethod(services.ticket_complete)


class NoShow(CounterAction):
    act = staticmethod(services.ticket_no_show)


class Park(CounterAction):
    act = staticmethod(services.ticket_park)


class TransferInput(serializers.Serializer[None]):
    service = CodeField(lookup=core.service_by_code)


class Transfer(StaffAPIView):
    domain_errors = {"POST": (409,)}

    @extend_schema(request=TransferInput, responses=TicketSerializer)
    def post(self, request: Request, counter_id: int) -> Response:
        """Send the current ticket to another service's queue, in its place."""
        counter = counter_or_404(counter_id)
        data = TransferInput(data=request.data)
        data.is_valid(raise_exception=True)
        ticket = services.ticket_transfer(counter=counter, by=signed_in_user(request), **data.validated_data)
        return Response(TicketSerializer(ticket).data)


class QueueLineSerializer(serializers.Serializer[None]):
    queue = serializers.CharField()
    service = serializers.CharField()
    count = serializers.IntegerField()
    estimated_wait_minutes = serializers.IntegerField()


class RecentCallSerializer(serializers.Serializer[None]):
    number = serializers.CharField()
    counter = serializers.IntegerField()


class QueueSerializer(serializers.Serializer[None]):
    office = serializers.CharField()
    waiting = QueueLineSerializer(many=True)
    recent_calls = RecentCallSerializer(many=True)


class Queue(PublicAPIView):
    @extend_schema(responses=QueueSerializer)
    def get(self, request: Request, code: str) -> Response:
        """Public: waiting counts and estimated waits per queue, and the latest calls. No
        personal data."""
        office = office_or_404(code)
        return Response(
            {
                "office": office.code,
                "waiting": [line.__dict__ for line in selectors.queue_lines(office)],
                "recent_calls": [
                    {"number": ticket.number, "counter": ticket.counter.number}
                    for ticket in selectors.recent_calls(office)
                    if ticket.counter is not None
                ],
            }
        )
