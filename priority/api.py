"""Placeholder: being written."""

from rest_framework.views import APIView


class Grounds(APIView):
    pass


class CaseCreate(APIView):
    pass


class CaseDetail(APIView):
    pass


class CaseDecision(APIView):
    pass


class PriorityTickets(APIView):
    pass


class EnterpriseCreate(APIView):
    pass


class StudentBookingCreate(APIView):
    pass
