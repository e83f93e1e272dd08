"""Supervisors' booking configuration: slot templates per office, the booking policy, and
read-only bookings."""

from typing import Any

from django.contrib import admin, messages
from django.db.models import Model, QuerySet
from django.forms import ModelForm
from django.http import HttpRequest
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from appointments import selectors as booking_selectors
from appointments import services
from appointments.models import Booking, BookingPolicy, SlotTemplate
from bureau import selectors
from bureau.admin import BureauWideConfig, ReadOnly, SupervisorAccess
from bureau.identity import mask_id_number, mask_phone


@admin.register(SlotTemplate)
class SlotTemplateAdmin(SupervisorAccess, admin.ModelAdmin[SlotTemplate]):
    list_display = [
        "office",
        "day_kind",
        "starts_at",
        "ends_at",
        "slot_minutes",
        "general_quota",
        "enterprise_quota",
        "emergency_quota",
    ]
    list_filter = ["office", "day_kind"]
    filter_horizontal = ["services"]
    supervisors_add_and_delete = True

    def get_queryset(self, request: HttpRequest) -> QuerySet[SlotTemplate]:
        return super().get_queryset(request).filter(office__in=selectors.staff_offices(request.user))

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "office":
            kwargs["queryset"] = selectors.staff_offices(request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_related(self, request: HttpRequest, form: ModelForm[Any], formsets: Any, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        created = services.template_apply(template=form.instance)
        messages.info(
            request,
            gettext("%(count)d slots created; slots that already have bookings were kept as they were.")
            % {"count": created},
        )


@admin.register(BookingPolicy)
class BookingPolicyAdmin(BureauWideConfig, admin.ModelAdmin[BookingPolicy]):
    """One row: the booking window, check-in window, hold and no-show block. Every supervisor
    sees it; bureau-wide supervisors change it."""

    def has_add_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: BookingPolicy, form: ModelForm[Any], change: bool) -> None:
        services.policy_update(policy=obj, fields=form.changed_data if change else None)

    def get_queryset(self, request: HttpRequest) -> QuerySet[BookingPolicy]:
        booking_selectors.policy()  # the row exists before anyone looks for it
        return super().get_queryset(request)


@admin.register(Booking)
class BookingAdmin(ReadOnly, admin.ModelAdmin[Booking]):
    list_display = ["reference", "office", "service", "slot", "channel", "status", "masked_id", "masked_phone"]
    list_filter = ["status", "channel", "office"]
    list_select_related = ["office", "service", "slot"]
    search_fields = ["reference"]
    exclude = ["id_number", "phone", "idempotency_key"]
    readonly_fields = ["masked_id", "masked_phone"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Booking]:
        return super().get_queryset(request).filter(office__in=selectors.staff_offices(request.user))

    @admin.display(description=_("ID number"))
    def masked_id(self, booking: Booking) -> str:
        return mask_id_number(booking.id_number)

    @admin.display(description=_("mobile number"))
    def masked_phone(self, booking: Booking) -> str:
        return mask_phone(booking.phone)
