"""The real URLs plus /bench/ceiling/: a minimal DRF endpoint that runs only the booking
statement (the conditional UPDATE of a slot's place count). Benchmark use only."""

from django.db import transaction
from django.db.models import F
from django.urls import path
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from appointments.models import Slot
from bureau.urls import urlpatterns as real_urlpatterns


class Ceiling(APIView):
    def post(self, request: Request) -> Response:
        with transaction.atomic():
            taken = Slot.objects.filter(pk=request.data["slot"], general_booked__lt=F("general_quota")).update(
                general_booked=F("general_booked") + 1
            )
        if taken:
            return Response({"booked": True}, status=status.HTTP_201_CREATED)
        return Response({"code": "slot_full"}, status=status.HTTP_409_CONFLICT)


urlpatterns = [*real_urlpatterns, path("bench/ceiling/", Ceiling.as_view())]
