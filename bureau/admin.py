"""Supervisors' configuration screens. Access follows the staff role, scoped to the
supervisor's offices; superusers see everything. Bureau-wide configuration (booking policy,
holiday calendar, issuance rules) is changed only by bureau-wide supervisors and superusers.
Changes to the calendar or the issuance rules send a recomputation of open deadlines after
commit. No screen lets anyone filter, search or sort by a personal field beyond an exact match."""

from collections.abc import Callable
from typing import Any

from django.contrib import admin, messages
from django.contrib.admin.views.main import ChangeList
from django.core import checks
from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.db.models import Expression, F, Model, QuerySet
from django.db.models.constants import LOOKUP_SEP
from django.forms import BaseInlineFormSet, ModelForm
from django.http import HttpRequest
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from bureau import selectors, services
from bureau.identity import mask_id_number, mask_phone
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
    OutboxMessage,
    Service,
    StaffMember,
)
from bureau.redaction import redact


def is_supervisor(request: HttpRequest) -> bool:
    if not hasattr(request, "_bureau_role"):
        request._bureau_role = selectors.staff_role(request.user)  # type: ignore[attr-defined]
    return request._bureau_role == StaffMember.Role.SUPERVISOR  # type: ignore[attr-defined]


def covers_bureau(request: HttpRequest) -> bool:
    """A superuser or a bureau-wide supervisor: may change bureau-wide configuration."""
    if not hasattr(request, "_bureau_wide"):
        request._bureau_wide = selectors.staff_covers_bureau(request.user)  # type: ignore[attr-defined]
    return bool(request._bureau_wide)  # type: ignore[attr-defined]


# Fields holding a full ID number or phone number, in any model: these names, or a name
# ending in "_" and one of them ("contact_phone"), so a new model is covered by itself.
PERSONAL_FIELD_NAMES = frozenset({"id_number", "phone"})
# The only lookups allowed on one: an exact match finds one person and reveals nothing more.
EXACT_LOOKUPS: tuple[list[str], ...] = ([], ["exact"])


# Fields that may hold a secret (an SMS's text holds the manage link): no lookup at all, or
# `text__contains=<reference>/<prefix>` recovers the link's token a character at a time.
SECRET_FIELD_NAMES = frozenset({"text"})


def is_personal(field: Any) -> bool:
    return not field.is_relation and any(
        field.name == name or field.name.endswith(f"_{name}") for name in PERSONAL_FIELD_NAMES
    )


def holds_secret(field: Any) -> bool:
    return not field.is_relation and field.name in SECRET_FIELD_NAMES


def personal_lookup(model: Any, lookup: str, reaches: Callable[[Any], bool] = is_personal) -> list[str] | None:
    """The parts of `lookup` after the personal field (or the field `reaches` picks) it
    reaches, through relations too, or None when it reaches none:
    `booking__id_number__startswith` -> ["startswith"]."""
    parts = lookup.lstrip("-").split(LOOKUP_SEP)
    for index, part in enumerate(parts):
        try:
            field = model._meta.get_field(part)
        except FieldDoesNotExist:
            return None
        if reaches(field):
            return parts[index + 1 :]
        if field.related_model is None:
            return None
        model = field.related_model
    return None


def orders_by_personal(model: type[Model], order: Any) -> bool:
    if isinstance(order, str):
        return personal_lookup(model, order) is not None
    if isinstance(order, Expression | F):
        nodes = order.flatten() if isinstance(order, Expression) else [order]
        return any(isinstance(node, F) and orders_by_personal(model, node.name) for node in nodes)
    return False


class PersonalDataChangeList(ChangeList):
    """A list cannot be sorted by a personal field: the order alone would tell the numbers apart."""

    def get_ordering_field(self, field_name: Any) -> Any:
        order = super().get_ordering_field(field_name)
        return None if orders_by_personal(self.model, order) else order


class PersonalDataGuard:
    """Every screen: a query-string lookup on a personal field (ID number, phone number), also
    through a relation, is refused (400) unless it is one exact match, as a clerk looks one
    person up: `?id_number=<the full number>`. Prefixes, ranges, regexes, lists, null tests or
    several values would recover a number a character at a time. Sorting by one is ignored,
    and `check()` refuses a list that shows, filters, searches or orders by one."""

    model: Any  # the ModelAdmin's

    def lookup_allowed(self, lookup: str, value: str, request: HttpRequest | None = None) -> bool:
        rest = personal_lookup(self.model, lookup)
        values = len(request.GET.getlist(lookup)) if request is not None else 1
        if rest is not None and (rest not in EXACT_LOOKUPS or values > 1):
            return False
        if personal_lookup(self.model, lookup, reaches=holds_secret) is not None:
            return False
        return bool(super().lookup_allowed(lookup, value, request))  # type: ignore[misc]

    def get_changelist(self, request: HttpRequest, **kwargs: Any) -> type[ChangeList]:
        return PersonalDataChangeList

    def get_sortable_by(self, request: HttpRequest) -> Any:
        sortable = super().get_sortable_by(request)  # type: ignore[misc]
        return [name for name in sortable if not orders_by_personal(self.model, self._order_of(name))]

    def _order_of(self, name: Any) -> Any:
        if not isinstance(name, str):
            return getattr(name, "admin_order_field", None)
        try:
            return self.model._meta.get_field(name).name
        except FieldDoesNotExist:
            attr = getattr(self, name, None) or getattr(self.model, name, None)
            return getattr(attr, "admin_order_field", None) if attr is not None else name

    def check(self, **kwargs: Any) -> list[checks.CheckMessage]:
        errors: list[checks.CheckMessage] = super().check(**kwargs)  # type: ignore[misc]
        if not isinstance(self, admin.ModelAdmin):
            return errors
        named = [
            *(("list_display", self._order_of(name)) for name in self.list_display),
            *(("list_filter", item[0] if isinstance(item, list | tuple) else item) for item in self.list_filter),
            *(("search_fields", name.lstrip("^@")) for name in self.search_fields if not name.startswith("=")),
            *(("ordering", name) for name in self.ordering or ()),
        ]
        for option, name in named:
            if (isinstance(name, str) and personal_lookup(self.model, name) is not None) or (
                not isinstance(name, str) and orders_by_personal(self.model, name)
            ):
                errors.append(
                    checks.Error(
                        f"{option} of {type(self).__name__} reaches a personal field through {name!r}.",
                        hint="Show it masked in a method without admin_order_field; search it with '=' only.",
                        obj=type(self),
                        id="bureau.E001",
                    )
                )
        return errors


class SupervisorAccess(PersonalDataGuard):
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


class BureauWideConfig(SupervisorAccess):
    """Configuration of the whole bureau: every supervisor may view it; only bureau-wide
    supervisors and superusers change it (and add or delete, where the screen allows that)."""

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return covers_bureau(request)

    def has_add_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return request.user.is_superuser or (self.supervisors_add_and_delete and covers_bureau(request))

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return request.user.is_superuser or (self.supervisors_add_and_delete and covers_bureau(request))


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
        services.office_save(office=obj, fields=form.changed_data if change else None)


@admin.register(Service)
class ServiceAdmin(SupervisorAccess, admin.ModelAdmin[Service]):
    list_display = ["code", "document", "business", "weekend_service"]
    list_filter = ["document", "weekend_service"]

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return request.user.is_superuser

    def save_model(self, request: HttpRequest, obj: Service, form: ModelForm[Service], change: bool) -> None:
        services.service_save(service=obj, fields=form.changed_data if change else None)


class CalendarChangeRecomputes:
    """Calendar writes go through bureau.services.calendar_update, which marks them as a
    supervisor's, makes the future slots follow and recomputes open deadlines; this only
    hands it what the forms changed and says what happened."""

    def _update(self, request: HttpRequest, what: str, **changes: Any) -> None:
        run = services.calendar_update(reason=f"{what} ({request.user.get_username()})", **changes)
        if run is not None:
            messages.info(request, gettext("Open deadlines are being recomputed (run %(id)s).") % {"id": run.pk})

    def save_model(self, request: HttpRequest, obj: Any, form: ModelForm[Any], change: bool) -> None:
        """Saved with its days in save_related, in one calendar change."""

    def save_related(self, request: HttpRequest, form: ModelForm[Any], formsets: Any, change: bool) -> None:
        days: list[CalendarDay] = []
        deleted: list[CalendarDay] = []
        for formset in formsets:
            days += formset.save(commit=False)
            deleted += formset.deleted_objects
        obj = form.instance
        if isinstance(obj, CalendarYear):
            years = [obj] if form.has_changed() or not change else []
            self._update(
                request, gettext("%(object)s saved") % {"object": obj}, years=years, days=days, deleted_days=deleted
            )
        else:
            self._update(request, gettext("%(object)s saved") % {"object": obj}, days=[obj])

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        what = gettext("%(object)s deleted") % {"object": obj}
        if isinstance(obj, CalendarYear):
            self._update(request, what, deleted_years=[obj])
        else:
            self._update(request, what, deleted_days=[obj])

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        key = "deleted_years" if queryset.model is CalendarYear else "deleted_days"
        self._update(request, gettext("calendar entries deleted"), **{key: list(queryset)})


class AtLeastOneDay(BaseInlineFormSet[CalendarDay, CalendarYear, ModelForm[CalendarDay]]):
    """A year without a single holiday is a mistake, and would end provisional deadlines."""

    def clean(self) -> None:
        super().clean()
        if not any(form.cleaned_data and not form.cleaned_data.get("DELETE") for form in self.forms):
            raise ValidationError(_("Enter at least one holiday or make-up working day of the year."))


class CalendarDayInline(BureauWideConfig, admin.TabularInline[CalendarDay, CalendarYear]):
    model = CalendarDay
    fields = ["date", "kind", "name", "source"]
    readonly_fields = ["source"]
    extra = 3
    formset = AtLeastOneDay
    supervisors_add_and_delete = True


@admin.register(CalendarYear)
class CalendarYearAdmin(CalendarChangeRecomputes, BureauWideConfig, admin.ModelAdmin[CalendarYear]):
    """A whole year: its holidays and make-up working days as the State Council publishes them."""

    list_display = ["year", "source"]
    readonly_fields = ["source"]
    inlines = [CalendarDayInline]
    actions = ["seed_from_package"]
    supervisors_add_and_delete = True

    @admin.action(description=_("Load every year the chinesecalendar package knows"), permissions=["change"])
    def seed_from_package(self, request: HttpRequest, queryset: QuerySet[CalendarYear]) -> None:
        years, days = services.calendar_seed_from_package()
        messages.info(request, gettext("%(years)d years and %(days)d days added.") % {"years": years, "days": days})


@admin.register(CalendarDay)
class CalendarDayAdmin(CalendarChangeRecomputes, BureauWideConfig, admin.ModelAdmin[CalendarDay]):
    list_display = ["date", "kind", "name", "source"]
    list_filter = ["kind", "year", "source"]
    readonly_fields = ["source"]
    date_hierarchy = "date"
    supervisors_add_and_delete = True


@admin.register(IssuanceRule)
class IssuanceRuleAdmin(BureauWideConfig, admin.ModelAdmin[IssuanceRule]):
    """The three rules always exist: their count and unit change, nothing else."""

    list_display = ["kind", "count", "unit"]
    readonly_fields = ["kind"]

    def save_model(self, request: HttpRequest, obj: IssuanceRule, form: ModelForm[IssuanceRule], change: bool) -> None:
        run = services.issuance_rule_update(
            rule=obj,
            reason=gettext("%(object)s saved (%(user)s)") % {"object": obj, "user": request.user.get_username()},
        )
        messages.info(request, gettext("Open deadlines are being recomputed (run %(id)s).") % {"id": run.pk})

    def has_add_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False


@admin.register(StaffMember)
class StaffMemberAdmin(SupervisorAccess, admin.ModelAdmin[StaffMember]):
    """Who is staff, in which role and offices: for superusers only."""

    list_display = ["user", "role", "bureau_wide"]
    list_filter = ["role", "bureau_wide", "offices"]
    filter_horizontal = ["offices"]

    def has_module_permission(self, request: HttpRequest) -> bool:
        return request.user.is_superuser

    def has_view_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return request.user.is_superuser

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return request.user.is_superuser


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


@admin.register(OutboxMessage)
class OutboxMessageAdmin(ReadOnly, admin.ModelAdmin[OutboxMessage]):
    """Every SMS to an applicant and whether it went out: for whoever answers "I got no
    message". Bureau-wide (a message names no office); numbers masked, manage links
    without their secret."""

    list_display = ["created_at", "kind", "reference", "masked_phone", "sent_at", "attempts", "last_error"]
    list_filter = ["kind", ("sent_at", admin.EmptyFieldListFilter)]
    search_fields = ["=reference"]
    readonly_fields = ["created_at", "kind", "reference", "masked_phone", "shown_text", "sent_at", "attempts"]
    fields = [*readonly_fields, "last_error"]

    def has_module_permission(self, request: HttpRequest) -> bool:
        return covers_bureau(request)

    def has_view_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return covers_bureau(request)

    @admin.display(description=_("mobile number"))
    def masked_phone(self, message: OutboxMessage) -> str:
        return mask_phone(message.phone)

    @admin.display(description=_("text"))
    def shown_text(self, message: OutboxMessage) -> str:
        return redact(message.text)


@admin.register(DeadlineRecompute)
class DeadlineRecomputeAdmin(ReadOnly, admin.ModelAdmin[DeadlineRecompute]):
    list_display = ["requested_at", "reason", "finished_at", "examined", "changed"]
