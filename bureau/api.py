"""Public and staff API of the core (SPEC 9): offices, services, tokens, deadlines,
applications."""

from typing import Any

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import exceptions, generics, serializers, status
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from bureau import selectors, services
from bureau.access import DeskStaffOnly, signed_in_user
from bureau.api_fields import DateInRange
from bureau.identity import mask_id_number, mask_name
from bureau.models import Application, Office, Residency, Service
from bureau.ratelimit import client_address, retry_after


class Throttled(exceptions.Throttled):
    default_detail = _("Too many attempts. Please wait and try again.")


def guard(scope: str, *identity: str) -> None:
    """Count an attempt against its rate limit (bureau/ratelimit.py); 429 with Retry-After
    when it is over."""
    if (wait := retry_after(scope, *identity)) is not None:
        raise Throttled(wait=wait)


class OfficeSerializer(serializers.ModelSerializer[Office]):
    name = serializers.CharField(read_only=True)
    address = serializers.CharField(read_only=True)

    class Meta:
        model = Office
        fields = ["code", "name", "mode", "address"]


class ServiceSerializer(serializers.ModelSerializer[Service]):
    name = serializers.CharField(read_only=True)

    class Meta:
        model = Service
        fields = ["code", "name", "weekend_service"]


class OfficeList(generics.ListAPIView[Office]):
    queryset = Office.objects.all()
    serializer_class = OfficeSerializer
    pagination_class = None


class ServiceList(generics.ListAPIView[Service]):
    queryset = Service.objects.all()
    serializer_class = ServiceSerializer
    pagination_class = None


class TokenObtain(ObtainAuthToken):
    """Exchange a staff username and password for an API token."""

    domain_errors = {"POST": (429,)}

    renderer_classes = ObtainAuthToken.renderer_classes[-1:]
    # DRF's view names its own parsers, among them its JSON parser, which lets a body nested
    # deeper than the recursion limit crash (a 500); the API's parsers answer it with a 400.
    parser_classes = APIView.parser_classes

    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        guard("login-address", client_address(request))
        return super().post(request, *args, **kwargs)


class DeadlinePreviewQuery(serializers.Serializer[None]):
    accepted_on = DateInRange()
    residency = serializers.ChoiceField(choices=Residency.choices)
    expedited = serializers.BooleanField(default=False)


class DeadlineSerializer(serializers.Serializer[None]):
    due_on = serializers.DateField()
    provisional = serializers.BooleanField()


class DeadlinePreview(APIView):
    @extend_schema(parameters=[DeadlinePreviewQuery], responses=DeadlineSerializer)
    def get(self, request: Request) -> Response:
        """The date an application accepted on `accepted_on` would be ready."""
        query = DeadlinePreviewQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        deadline = selectors.deadline_preview(**query.validated_data)
        return Response({"due_on": deadline.due_on, "provisional": deadline.provisional})


class ApplicationSerializer(serializers.ModelSerializer[Application]):
    office: serializers.SlugRelatedField[Office] = serializers.SlugRelatedField(slug_field="code", read_only=True)
    service: serializers.SlugRelatedField[Service] = serializers.SlugRelatedField(slug_field="code", read_only=True)
    id_number = serializers.SerializerMethodField()

    class Meta:
        model = Application
        fields = [
            "reference",
            "office",
            "service",
            "applicant_name",
            "id_number",
            "residency",
            "expedited",
            "accepted_on",
            "due_on",
            "provisional",
            "status",
        ]

    def get_id_number(self, application: Application) -> str:
        return mask_id_number(application.id_number)


class CodeRelatedField(serializers.SlugRelatedField[Any]):
    """A row named by its code, looked up only if the code is text: the ORM walks a list
    given as a lookup value recursively, and one nested 500 deep crashes it (a 500)."""

    def to_internal_value(self, data: Any) -> Any:
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class ApplicationAcceptInput(serializers.Serializer[None]):
    office: serializers.SlugRelatedField[Office] = CodeRelatedField(slug_field="code", queryset=Office.objects.all())
    service: serializers.SlugRelatedField[Service] = CodeRelatedField(slug_field="code", queryset=Service.objects.all())
    applicant_name = serializers.CharField(max_length=60)
    id_number = serializers.CharField(max_length=32)
    expedited = serializers.BooleanField(default=False)
    residency_override = serializers.ChoiceField(choices=Residency.choices, required=False, default="")
    override_reason = serializers.CharField(max_length=200, required=False, default="", allow_blank=True)


class ApplicationListQuery(serializers.Serializer[None]):
    due = serializers.ChoiceField(
        choices=[("soon", _("due within 2 working days")), ("overdue", _("overdue"))],
        required=False,
        help_text=_("Leave out for the latest 200 applications."),
    )


class ApplicationListCreate(APIView):
    permission_classes = [IsAuthenticated, DeskStaffOnly]

    @extend_schema(parameters=[ApplicationListQuery], responses=ApplicationSerializer(many=True))
    def get(self, request: Request) -> Response:
        """Applications of the caller's offices; `due=soon` (next 2 working days) or `due=overdue`."""
        query = ApplicationListQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        due = query.validated_data.get("due")
        if due == "soon":
            rows = selectors.applications_due_soon(request.user)
        elif due == "overdue":
            rows = selectors.applications_overdue(request.user)
        else:
            rows = selectors.applications_for_staff(request.user)[:200]
        return Response(ApplicationSerializer(rows, many=True).data)

    @extend_schema(request=ApplicationAcceptInput, responses={201: ApplicationSerializer})
    def post(self, request: Request) -> Response:
        """Accept an application at an office of the caller; its due date follows at once or shortly."""
        data = ApplicationAcceptInput(data=request.data)
        data.is_valid(raise_exception=True)
        application = services.application_accept(by=signed_in_user(request), **data.validated_data)
        application.refresh_from_db()
        return Response(ApplicationSerializer(application).data, status=status.HTTP_201_CREATED)


class ApplicationStatusInput(serializers.Serializer[None]):
    status = serializers.ChoiceField(choices=Application.Status.choices)
    note = serializers.CharField(max_length=200, required=False, default="", allow_blank=True)


class ApplicationDetail(APIView):
    domain_errors = {"POST": (409,)}  # someone else changed it
    permission_classes = [IsAuthenticated, DeskStaffOnly]

    def _application(self, request: Request, reference: str) -> Application:
        application = selectors.applications_for_staff(request.user).filter(reference=reference).first()
        if application is None:
            raise exceptions.NotFound(_("No application of your offices has this reference."))
        return application

    @extend_schema(responses=ApplicationSerializer)
    def get(self, request: Request, reference: str) -> Response:
        return Response(ApplicationSerializer(self._application(request, reference)).data)

    @extend_schema(
        operation_id="v1_applications_status_change", request=ApplicationStatusInput, responses=ApplicationSerializer
    )
    def post(self, request: Request, reference: str) -> Response:
        """Move the application to its next status (in production, ready, mailed, collected)."""
        data = ApplicationStatusInput(data=request.data)
        data.is_valid(raise_exception=True)
        application = services.application_set_status(
            application=self._application(request, reference), by=signed_in_user(request), **data.validated_data
        )
        return Response(ApplicationSerializer(application).data)


class ApplicantLookupInput(serializers.Serializer[None]):
    reference = serializers.CharField(max_length=32)
    id_number = serializers.CharField(max_length=32)


class ApplicantStatus(APIView):
    domain_errors = {"POST": (404, 429)}

    @extend_schema(
        request=ApplicantLookupInput,
        responses=inline_serializer(
            "ApplicantStatus",
            {
                "reference": serializers.CharField(),
                "applicant_name": serializers.CharField(),
                "office": serializers.CharField(),
                "status": serializers.CharField(),
                "accepted_on": serializers.DateField(),
                "due_on": serializers.DateField(allow_null=True),
                "provisional": serializers.BooleanField(),
            },
        ),
    )
    def post(self, request: Request) -> Response:
        """An applicant's own application, by reference and ID number (POST keeps the number
        out of URLs and access logs)."""
        guard("lookup-address", client_address(request))
        data = ApplicantLookupInput(data=request.data)
        data.is_valid(raise_exception=True)
        application = selectors.application_for_applicant(**data.validated_data)
        if application is None:
            raise exceptions.NotFound(_("No application matches this reference and ID number."))
        return Response(
            {
                "reference": application.reference,
                "applicant_name": mask_name(application.applicant_name),
                "office": application.office.code,
                "status": application.status,
                "accepted_on": application.accepted_on,
                "due_on": application.due_on,
                "provisional": application.provisional,
            }
        )
