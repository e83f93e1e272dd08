"""`GET /api/v1/offices/{code}/day-stats/` (SPEC 9): the day's figures of an office, for its
staff and the supervisors over it (bureau.dashboards.selectors defines every figure)."""

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from appointments.api import office_or_404
from bureau import selectors as core
from bureau.access import DeskStaffOnly
from bureau.api_fields import DateInRange
from bureau.dashboards import selectors


class DayStatsQuery(serializers.Serializer[None]):
    date = DateInRange(required=False, help_text=_("The office's local date; today when left out."))


class DayStatsSerializer(serializers.Serializer[selectors.DayStats]):
    date = serializers.DateField()
    tickets_issued = serializers.IntegerField()
    tickets_served = serializers.IntegerField()
    tickets_missed = serializers.IntegerField()
    waiting_now = serializers.IntegerField()
    appointments_booked = serializers.IntegerField()
    appointments_checked_in = serializers.IntegerField()
    appointments_no_show = serializers.IntegerField()
    wait_minutes_p50 = serializers.FloatField(allow_null=True)
    wait_minutes_p90 = serializers.FloatField(allow_null=True)
    wait_minutes_mean = serializers.FloatField(allow_null=True)
    served_within_target = serializers.FloatField(
        allow_null=True,
        source="within_target_share",
        help_text=_("Share of the tickets called within the target wait."),
    )
    target_wait_minutes = serializers.IntegerField()
    longest_wait_minutes = serializers.FloatField(help_text=_("How long the earliest ticket still waiting has waited."))
    service_minutes_mean = serializers.FloatField(allow_null=True)
    service_minutes_p90 = serializers.FloatField(allow_null=True)


class DayStats(APIView):
    permission_classes = [IsAuthenticated, DeskStaffOnly]

    @extend_schema(parameters=[DayStatsQuery], responses=DayStatsSerializer)
    def get(self, request: Request, code: str) -> Response:
        """The office's figures of a day: tickets issued, served, missed and waiting now;
        appointments booked, checked in and no-show; the wait from issue to first call (p50,
        p90, mean, the share within the target) and the service time (mean, p90), in
        minutes. For the office's staff and the supervisors over it."""
        query = DayStatsQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        office = office_or_404(code)
        if not core.staff_offices(request.user).filter(pk=office.pk).exists():
            raise exceptions.PermissionDenied(_("You are not on the staff of this office."))
        day = query.validated_data.get("date") or core.office_today()
        return Response(DayStatsSerializer(selectors.day_stats(office, day)).data)
