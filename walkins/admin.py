"""Supervisors' queue configuration: each office's calling figures; tickets read-only."""

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from bureau import selectors
from bureau.admin import ReadOnly, SupervisorAccess
from walkins.models import QueueSettings, Ticket, TicketEvent


@admin.register(QueueSettings)
class QueueSettingsAdmin(SupervisorAccess, admin.ModelAdmin[QueueSettings]):
    """Weights, ageing, max wait, recalls, the kiosk's daily quota: per office, so each
    office's supervisors set their own."""

    list_display = [
        "office",
        "max_wait_minutes",
        "target_wait_minutes",
        "ageing_per_minute",
        "appointment_boost",
        "daily_ticket_quota",
    ]
    supervisors_add_and_delete = False

    def get_queryset(self, request: HttpRequest) -> QuerySet[QueueSettings]:
        return super().get_queryset(request).filter(office__in=selectors.staff_offices(request.user))


class TicketEventInline(ReadOnly, admin.TabularInline[TicketEvent, Ticket]):
    model = TicketEvent
    fields = ["at", "action", "status", "counter", "by"]
    extra = 0


@admin.register(Ticket)
class TicketAdmin(ReadOnly, admin.ModelAdmin[Ticket]):
    list_display = ["number", "office", "day", "service", "channel", "status", "issued_at", "called_at", "counter"]
    list_filter = ["status", "channel", "office", "day"]
    list_select_related = ["office", "service", "counter"]
    search_fields = ["=number"]
    # The calling key means nothing to a person; the mobile number, kept only until its SMS is
    # written, is nobody's business in the admin (the outbox shows what was sent).
    exclude = ["base_key", "phone"]
    inlines = [TicketEventInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Ticket]:
        return super().get_queryset(request).filter(office__in=selectors.staff_offices(request.user))
