"""Supervisors' screens of the priority channels: student sessions (opened here, through
services.student_session_open, then read-only), each office's green-channel age, and the
cases and enterprises as records (decided at the counter, not here). Personal fields are
shown masked and looked up by exact reference only."""

from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.auth.models import User
from django.db.models import Model, QuerySet
from django.forms import ModelForm
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from bureau import selectors
from bureau.admin import ReadOnly, SupervisorAccess
from bureau.identity import mask_id_number, mask_name, mask_phone
from bureau.services import DomainError
from priority import services
from priority.models import Case, CaseEvent, Enterprise, EnterpriseContact, EvidenceFile, GreenChannel, StudentSession


class StudentSessionForm(ModelForm[StudentSession]):
    """Opens the session when everything else on the form is valid, as the last step of its
    validation: the service's refusals (an overlap, an office that is not the supervisor's)
    become errors on the form. The admin's add view runs in one transaction, and nothing
    runs after this step that could reject the form, so a refused form writes nothing."""

    opened_by: User  # set by StudentSessionAdmin.get_form for the request
    opened: StudentSession | None = None

    class Meta:
        model = StudentSession
        fields = ["name", "first_day", "last_day", "offices", "places"]
        widgets = {"offices": forms.CheckboxSelectMultiple}

    def full_clean(self) -> None:
        super().full_clean()
        if not self.is_bound or self.errors or self.instance.pk is not None:
            return
        data = self.cleaned_data
        try:
            self.opened = services.student_session_open(
                name=data["name"],
                first_day=data["first_day"],
                last_day=data["last_day"],
                offices=list(data["offices"]),
                places=data["places"],
                by=self.opened_by,
            )
        except DomainError as exc:
            for field, message in (exc.errors or {"": exc.message}).items():
                self.add_error(field if field in self.fields else None, message)


@admin.register(StudentSession)
class StudentSessionAdmin(SupervisorAccess, admin.ModelAdmin[StudentSession]):
    """Supervisors open sessions for their offices; an opened session is not changed or
    deleted here (its places are already in the slots, perhaps booked)."""

    form = StudentSessionForm
    list_display = ["name", "first_day", "last_day", "places", "office_names", "created_at", "created_by"]
    list_filter = ["offices"]
    date_hierarchy = "first_day"
    opened = ["created_at", "created_by"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[StudentSession]:
        own = selectors.staff_offices(request.user)
        mine = StudentSession.objects.filter(offices__in=own).values("pk")
        return super().get_queryset(request).filter(pk__in=mine).prefetch_related("offices")

    def has_add_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return self.has_module_permission(request)

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def get_fields(self, request: HttpRequest, obj: StudentSession | None = None) -> Any:
        return [*StudentSessionForm.Meta.fields, *(self.opened if obj is not None else [])]

    def get_readonly_fields(self, request: HttpRequest, obj: StudentSession | None = None) -> list[str]:
        return self.opened if obj is not None else []

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        form: Any = super().get_form(request, obj, change=change, **kwargs)  # a new class each request
        form.opened_by = request.user
        return form

    def formfield_for_manytomany(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "offices":
            kwargs["queryset"] = selectors.staff_offices(request.user).order_by("position", "code")
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    def save_form(self, request: HttpRequest, form: Any, change: bool) -> Any:
        """The session the form's validation opened."""
        return form.opened

    def save_model(self, request: HttpRequest, obj: StudentSession, form: Any, change: bool) -> None:
        """Saved by services.student_session_open (see StudentSessionForm)."""

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        """The offices were set by services.student_session_open."""

    @admin.display(description=_("offices"))
    def office_names(self, session: StudentSession) -> str:
        return ", ".join(str(office) for office in session.offices.all())


@admin.register(GreenChannel)
class GreenChannelAdmin(SupervisorAccess, admin.ModelAdmin[GreenChannel]):
    """From which age an office's applicants get a green-channel ticket (60 when an office
    has no row). Supervisors set it for their own offices."""

    list_display = ["office", "min_age"]
    list_select_related = ["office"]
    supervisors_add_and_delete = True

    def get_queryset(self, request: HttpRequest) -> QuerySet[GreenChannel]:
        return super().get_queryset(request).filter(office__in=selectors.staff_offices(request.user))

    def get_readonly_fields(self, request: HttpRequest, obj: GreenChannel | None = None) -> list[str]:
        return ["office"] if obj is not None else []

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "office":
            kwargs["queryset"] = selectors.staff_offices(request.user).filter(green_channel__isnull=True)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class EvidenceFileInline(ReadOnly, admin.TabularInline[EvidenceFile, Case]):
    """What was uploaded; the files themselves open from the counter's case page, which
    records who opened them."""

    model = EvidenceFile
    fields = ["code", "original_name", "content_type", "size", "uploaded_at"]
    extra = 0


class CaseEventInline(ReadOnly, admin.TabularInline[CaseEvent, Case]):
    model = CaseEvent
    fields = ["at", "action", "status", "by", "reason"]
    extra = 0


@admin.register(Case)
class CaseAdmin(ReadOnly, admin.ModelAdmin[Case]):
    list_display = ["reference", "kind", "office", "ground", "status", "expedited", "trip_date", "created_at"]
    list_filter = ["status", "kind", "office"]
    list_select_related = ["office"]
    search_fields = ["=reference"]
    fields = [
        "reference",
        "kind",
        "office",
        "ground",
        "enterprise",
        "destination",
        "trip_date",
        "return_date",
        "description",
        "masked_name",
        "masked_id",
        "masked_phone",
        "status",
        "reason",
        "expedited",
        "language",
        "created_at",
        "changed_at",
        "filed_by",
        "ticket",
        "booking",
    ]
    readonly_fields = ["masked_name", "masked_id", "masked_phone"]
    inlines = [EvidenceFileInline, CaseEventInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Case]:
        return super().get_queryset(request).filter(office__in=selectors.staff_offices(request.user))

    @admin.display(description=_("name"))
    def masked_name(self, case: Case) -> str:
        return mask_name(case.name)

    @admin.display(description=_("ID number"))
    def masked_id(self, case: Case) -> str:
        return mask_id_number(case.id_number)

    @admin.display(description=_("mobile number"))
    def masked_phone(self, case: Case) -> str:
        return mask_phone(case.phone)


class EnterpriseContactInline(ReadOnly, admin.TabularInline[EnterpriseContact, Enterprise]):
    model = EnterpriseContact
    fields = ["masked_name", "masked_id", "masked_phone"]
    readonly_fields = ["masked_name", "masked_id", "masked_phone"]
    extra = 0

    @admin.display(description=_("name"))
    def masked_name(self, contact: EnterpriseContact) -> str:
        return mask_name(contact.name)

    @admin.display(description=_("ID number"))
    def masked_id(self, contact: EnterpriseContact) -> str:
        return mask_id_number(contact.id_number)

    @admin.display(description=_("mobile number"))
    def masked_phone(self, contact: EnterpriseContact) -> str:
        return mask_phone(contact.phone)


@admin.register(Enterprise)
class EnterpriseAdmin(ReadOnly, admin.ModelAdmin[Enterprise]):
    """Registrations as records: a supervisor decides them at the counter's enterprise page."""

    list_display = ["reference", "name", "credit_code", "office", "status", "created_at", "decided_at"]
    list_filter = ["status", "office"]
    list_select_related = ["office"]
    search_fields = ["=reference", "=credit_code"]
    inlines = [EnterpriseContactInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Enterprise]:
        return super().get_queryset(request).filter(office__in=selectors.staff_offices(request.user))
