"""Supervisors' configuration screens. Access follows the staff role, scoped to the
supervisor's offices; superusers see everything. Changes to the calendar or the issuance
rules send a recomputation of open deadlines after commit."""

from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Model, QuerySet
from django.forms import BaseInlineFormSet, ModelForm
from django.http import HttpRequest
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from bureau import selectors, services
from bureau.identity import mask_id_number
from bureau.models import (
    Application,
    ApplicationEvent,
    CalendarDay,
    CalendarYear,
    Counter,
    DeadlineRecompute,
    IssuanceRule,
    Office,
    OpeningSession,
    Service,
    StaffMember,
)

admin.site.site_header = _("Exit-entry bureau configuration")
admin.site.site_title = _("Exit-entry bureau")


def is_supervisor(request: HttpRequest) -> bool:
    if not hasattr(request, "_bureau_role"):
        request._bureau_role = selectors.staff_role(request.user)  # type: ignore[attr-defined]
    return request._bureau_role == StaffMember.Role.SUPERVISOR  # type: ignore[attr-defined]


class SupervisorAccess:
    """Supervisors may view and change; adding and deleting are for superusers unless a
    screen says otherwise."""

    supervisors_add_and_delete = False

    def has_module_permission(self, request: HttpRequest) -> bool:
        return is_supervisor(request)

    def has_view_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return is_supervisor(request)

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return is_supervisor(request)

    def has_add_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return request.user.is_superuser or (self.supervisors_add_and_delete and is_supervisor(request))

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return request.user.is_superuser or (self.supervisors_add_and_delete and is_supervisor(request))


class ReadOnly(SupervisorAccess):
    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_add_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False


class OpeningSessionInline(SupervisorAccess, admin.TabularInline[OpeningSession, Office]):
    model = OpeningSession
    extra = 0
    supervisors_add_and_delete = True


class CounterInline(SupervisorAccess, admin.TabularInline[Counter, Office]):
    model = Counter
    extra = 0
    filter_horizontal = ["services"]
    supervisors_add_and_delete = True


@admin.register(Office)
class OfficeAdmin(SupervisorAccess, admin.ModelAdmin[Office]):
    list_display = ["code", "name_zh", "name_en", "mode"]
    list_filter = ["mode"]
    inlines = [OpeningSessionInline, CounterInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Office]:
        return super().get_queryset(request).filter(pk__in=selectors.staff_offices(request.user))

    def get_readonly_fields(self, request: HttpRequest, obj: Office | None = None) -> list[str]:
        return [] if request.user.is_superuser else ["code", "mode"]

    def save_model(self, request: HttpRequest, obj: Office, form: ModelForm[Office], change: bool) -> None:
        super().save_model(request, obj, form, change)
        codes = (obj.code, form.initial.get("code", ""))
        transaction.on_commit(lambda: selectors.forget_by_code(Office, *codes))


@admin.register(Service)
class ServiceAdmin(SupervisorAccess, admin.ModelAdmin[Service]):
    list_display = ["code", "document", "business", "weekend_service"]
    list_filter = ["document", "weekend_service"]

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return request.user.is_superuser

    def save_model(self, request: HttpRequest, obj: Service, form: ModelForm[Service], change: bool) -> None:
        super().save_model(request, obj, form, change)
        codes = (obj.code, form.initial.get("code", ""))
        transaction.on_commit(lambda: selectors.forget_by_code(Service, *codes))


class CalendarChangeRecomputes:
    """Every saved or deleted calendar day, year or rule asks for a recomputation."""

    def _recompute(self, request: HttpRequest, what: str) -> None:
        run = services.deadlines_request_recompute(reason=f"{what} ({request.user.get_username()})")
        messages.info(request, gettext("Open deadlines are being recomputed (run %(id)s).") % {"id": run.pk})

    def save_model(self, request: HttpRequest, obj: Any, form: ModelForm[Any], change: bool) -> None:
        if hasattr(obj, "source"):
            obj.source = CalendarYear.Source.SUPERVISOR
        super().save_model(request, obj, form, change)  # type: ignore[misc]

    def save_related(self, request: HttpRequest, form: ModelForm[Any], formsets: Any, change: bool) -> None:
        super().save_related(request, form, formsets, change)  # type: ignore[misc]
        self._recompute(request, gettext("%(object)s saved") % {"object": form.instance})

    def save_formset(
        self, request: HttpRequest, form: ModelForm[Any], formset: BaseInlineFormSet[Any, Any, Any], change: bool
    ) -> None:
        for day_form in formset.forms:
            if day_form.has_changed() and hasattr(day_form.instance, "source"):
                day_form.instance.source = CalendarYear.Source.SUPERVISOR
        super().save_formset(request, form, formset, change)  # type: ignore[misc]

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        super().delete_model(request, obj)  # type: ignore[misc]
        self._recompute(request, gettext("%(object)s deleted") % {"object": obj})

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        super().delete_queryset(request, queryset)  # type: ignore[misc]
        self._recompute(request, gettext("calendar entries deleted"))


class AtLeastOneDay(BaseInlineFormSet[CalendarDay, CalendarYear, ModelForm[CalendarDay]]):
    """A year without a single holiday is a mistake, and would end provisional deadlines."""

    def clean(self) -> None:
        super().clean()
        if not any(form.cleaned_data and not form.cleaned_data.get("DELETE") for form in self.forms):
            raise ValidationError(_("Enter at least one holiday or make-up working day of the year."))


class CalendarDayInline(SupervisorAccess, admin.TabularInline[CalendarDay, CalendarYear]):
    model = CalendarDay
    fields = ["date", "kind", "name", "source"]
    readonly_fields = ["source"]
    extra = 3
    formset = AtLeastOneDay
    supervisors_add_and_delete = True


@admin.register(CalendarYear)
class CalendarYearAdmin(CalendarChangeRecomputes, SupervisorAccess, admin.ModelAdmin[CalendarYear]):
    """A whole year: its holidays and make-up working days as the State Council publishes them."""

    list_display = ["year", "source"]
    readonly_fields = ["source"]
    inlines = [CalendarDayInline]
    actions = ["seed_from_package"]
    supervisors_add_and_delete = True

    @admin.action(description=_("Load every year the chinesecalendar package knows"))
    def seed_from_package(self, request: HttpRequest, queryset: QuerySet[CalendarYear]) -> None:
        years, days = services.calendar_seed_from_package()
        messages.info(request, gettext("%(years)d years and %(days)d days added.") % {"years": years, "days": days})
        if years or days:
            self._recompute(request, gettext("calendar loaded from package"))


@admin.register(CalendarDay)
class CalendarDayAdmin(CalendarChangeRecomputes, SupervisorAccess, admin.ModelAdmin[CalendarDay]):
    list_display = ["date", "kind", "name", "source"]
    list_filter = ["kind", "year", "source"]
    readonly_fields = ["source"]
    date_hierarchy = "date"
    supervisors_add_and_delete = True


@admin.register(IssuanceRule)
class IssuanceRuleAdmin(CalendarChangeRecomputes, SupervisorAccess, admin.ModelAdmin[IssuanceRule]):
    """The three rules always exist: their count and unit change, nothing else."""

    list_display = ["kind", "count", "unit"]
    readonly_fields = ["kind"]

    def has_add_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False


@admin.register(StaffMember)
class StaffMemberAdmin(SupervisorAccess, admin.ModelAdmin[StaffMember]):
    list_display = ["user", "role"]
    list_filter = ["role", "offices"]
    filter_horizontal = ["offices"]

    def has_module_permission(self, request: HttpRequest) -> bool:
        return request.user.is_superuser

    has_view_permission = has_change_permission = has_module_permission  # type: ignore[assignment]


class ApplicationEventInline(ReadOnly, admin.TabularInline[ApplicationEvent, Application]):
    model = ApplicationEvent
    fields = ["status", "at", "by", "note"]
    extra = 0


@admin.register(Application)
class ApplicationAdmin(ReadOnly, admin.ModelAdmin[Application]):
    list_display = ["reference", "office", "service", "masked_id", "accepted_on", "due_on", "provisional", "status"]
    list_filter = ["status", "provisional", "expedited", "residency", "office"]
    list_select_related = ["office", "service"]
    search_fields = ["reference"]
    exclude = ["id_number"]
    readonly_fields = ["masked_id"]
    inlines = [ApplicationEventInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Application]:
        return super().get_queryset(request).filter(office__in=selectors.staff_offices(request.user))

    @admin.display(description=_("ID number"))
    def masked_id(self, application: Application) -> str:
        return mask_id_number(application.id_number)


@admin.register(DeadlineRecompute)
class DeadlineRecomputeAdmin(ReadOnly, admin.ModelAdmin[DeadlineRecompute]):
    list_display = ["requested_at", "reason", "finished_at", "examined", "changed"]
