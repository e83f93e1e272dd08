"""Every screen in the admin registry, opened by every role: the change list, the add page and
the change page of an existing object, with its inlines. Generated from
`admin.site._registry`, so a newly registered model is opened here by itself, and fails until
its expectations are written in EXPECTED below."""

from datetime import UTC, date, datetime, time
from typing import Any

import pytest
from django.contrib import admin
from django.contrib.auth.models import Group, User
from django.db.models import Model
from django.test import Client
from django.utils import timezone
from django_q.models import OrmQ, Schedule, Task
from django_q.tasks import async_task
from rest_framework.authtoken.models import Token

from appointments import selectors as booking_selectors
from appointments.models import Booking, Slot, SlotTemplate
from bureau.admin import PersonalDataGuard, is_personal
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
)
from priority.models import Case, CaseEvent, Enterprise, EnterpriseContact, EvidenceFile, GreenChannel, StudentSession
from tests.factories import ApplicationFactory, OfficeFactory, ServiceFactory, bureau_wide_supervisor, supervisor
from walkins.models import QueueSettings, Ticket, TicketEvent

pytestmark = pytest.mark.django_db

SUPERUSER, OFFICE_SUPERVISOR, BUREAU_WIDE = "superuser", "office supervisor", "bureau-wide supervisor"
ROLES = (SUPERUSER, OFFICE_SUPERVISOR, BUREAU_WIDE)
# The change page answers 200 with a form that saves (EDIT), 200 read-only (VIEW), or 403.
EDIT, VIEW = "edit", "view"
Pages = tuple[int, int, int | str]  # (change list, add page, change page)


def roles(superuser: Pages, office_supervisor: Pages, bureau_wide: Pages | None = None) -> dict[str, Pages]:
    return {SUPERUSER: superuser, OFFICE_SUPERVISOR: office_supervisor, BUREAU_WIDE: bureau_wide or office_supervisor}


SUPERUSERS_ONLY = roles((200, 200, EDIT), (403, 403, 403))
# Bureau-wide configuration: every supervisor sees it, bureau-wide ones change it.
BUREAU_CONFIG = roles((200, 200, EDIT), (200, 403, VIEW), (200, 200, EDIT))
# Records written by the system (applications, bookings, recomputations): nobody edits them here.
RECORDS = roles((200, 403, VIEW), (200, 403, VIEW))

EXPECTED: dict[str, dict[str, Pages]] = {
    "auth.Group": SUPERUSERS_ONLY,
    "auth.User": SUPERUSERS_ONLY,
    "authtoken.TokenProxy": SUPERUSERS_ONLY,
    "django_q.Schedule": SUPERUSERS_ONLY,
    "django_q.Success": roles((200, 403, EDIT), (403, 403, 403)),  # every field is read-only
    "django_q.Failure": roles((200, 403, EDIT), (403, 403, 403)),
    "django_q.OrmQ": roles((200, 403, EDIT), (403, 403, 403)),
    "bureau.Office": roles((200, 200, EDIT), (200, 403, EDIT)),  # code and mode read-only for supervisors
    "bureau.Service": roles((200, 200, EDIT), (200, 403, VIEW)),
    "bureau.CalendarYear": BUREAU_CONFIG,
    "bureau.CalendarDay": BUREAU_CONFIG,
    "bureau.IssuanceRule": roles((200, 403, EDIT), (200, 403, VIEW), (200, 403, EDIT)),  # three fixed rows
    "bureau.StaffMember": SUPERUSERS_ONLY,
    "bureau.Application": RECORDS,
    "bureau.DeadlineRecompute": RECORDS,
    "bureau.OutboxMessage": roles((200, 403, VIEW), (403, 403, 403), (200, 403, VIEW)),  # names no office
    "appointments.SlotTemplate": roles((200, 200, EDIT), (200, 200, EDIT)),
    "appointments.BookingPolicy": roles((200, 403, EDIT), (200, 403, VIEW), (200, 403, EDIT)),  # one row
    "appointments.Booking": RECORDS,
    "walkins.QueueSettings": roles((200, 200, EDIT), (200, 403, EDIT)),  # one row an office, made when needed
    "walkins.Ticket": RECORDS,
    "priority.Case": RECORDS,
    "priority.Enterprise": RECORDS,
    "priority.GreenChannel": roles((200, 200, EDIT), (200, 200, EDIT)),  # one row an office, made when needed
    "priority.StudentSession": roles((200, 200, VIEW), (200, 200, VIEW)),  # opened here, then read-only
}

REGISTERED = sorted(admin.site._registry, key=lambda model: model._meta.label)
OUR_APPS = {"bureau", "appointments", "walkins", "priority"}


@pytest.fixture
def world() -> dict[str, User]:
    """At least one object of every registered model, all of one office, with rows in every
    inline; and a user per role, the supervisors over that office or the whole bureau."""
    now = timezone.now()
    office = OfficeFactory.create(code="XH")
    service = ServiceFactory.create()
    OpeningSession.objects.create(office=office, day_kind="weekday", opens_at=time(9), closes_at=time(17))
    Counter.objects.create(office=office, number=1).services.set([service])
    template = SlotTemplate.objects.create(
        office=office, day_kind="weekday", starts_at=time(9), ends_at=time(10), slot_minutes=30
    )
    template.services.set([service])
    start = datetime(2099, 1, 5, 1, tzinfo=UTC)
    slot = Slot.objects.create(office=office, template=template, starts_at=start, ends_at=start, general_quota=3)
    Booking.objects.create(
        reference="BOOK000001",
        office=office,
        service=service,
        slot=slot,
        starts_at=start,
        name="王小晶",
        id_number="33010619900101123X",
        phone="13812345678",
        created_at=now,
        changed_at=now,
    )
    booking_selectors.policy()
    counter = Counter.objects.get(office=office)
    QueueSettings.objects.create(office=office)
    ticket = Ticket.objects.create(
        office=office,
        day=date(2099, 1, 5),
        service=service,
        channel="general",
        number="B001",
        issued_at=now,
        base_key=0,
    )
    TicketEvent.objects.create(ticket=ticket, status="waiting", action="issued", at=now, counter=counter)
    year = CalendarYear.objects.create(year=2099)
    CalendarDay.objects.create(year=year, date=date(2099, 1, 1), kind=CalendarDay.Kind.HOLIDAY, name="元旦")
    IssuanceRule.objects.get_or_create(kind="in_province", defaults={"count": 7, "unit": "working_days"})
    DeadlineRecompute.objects.create(reason="calendar changed", requested_at=now)
    OutboxMessage.objects.create(
        key="confirmation:1", kind="confirmation", reference="BOOK000001", phone="13812345678", text="…", created_at=now
    )
    superuser = User.objects.create_superuser("root", password="pw")
    application = ApplicationFactory.create(office=office, service=service)
    ApplicationEvent.objects.create(application=application, status=Application.Status.ACCEPTED, at=now, by=superuser)
    Group.objects.create(name="clerks")
    Token.objects.create(user=superuser)
    Schedule.objects.create(name="probe", func="math.floor", args="1.5", schedule_type=Schedule.ONCE)
    for success in (True, False):
        Task.objects.create(
            id=f"{success:d}" * 32, name=f"task {success}", func="math.floor", started=now, stopped=now, success=success
        )
    async_task("math.floor", 1.5)
    enterprise = Enterprise.objects.create(
        reference="ENT0000001",
        name="杭州示例贸易有限公司",
        credit_code="91330106MA27Y5XX0B",
        office=office,
        created_at=now,
    )
    EnterpriseContact.objects.create(
        enterprise=enterprise, name="王小晶", id_number="33010619900101123X", phone="13812345678"
    )
    case = Case.objects.create(
        reference="CASE000001",
        kind="emergency",
        office=office,
        ground="visa_expiry",
        trip_date=date(2099, 1, 10),
        description="…",
        name="王小晶",
        id_number="33010619900101123X",
        phone="13812345678",
        created_at=now,
        changed_at=now,
    )
    EvidenceFile.objects.create(
        case=case,
        public_id="0" * 32,
        code="visa",
        stored_name="0" * 32 + ".pdf",
        original_name="visa.pdf",
        content_type="application/pdf",
        size=1,
        sha256="0" * 64,
        uploaded_at=now,
    )
    CaseEvent.objects.create(case=case, action="filed", status="submitted", at=now)
    GreenChannel.objects.create(office=office, min_age=65)
    session = StudentSession.objects.create(
        name="暑期学生专场",
        first_day=date(2099, 7, 1),
        last_day=date(2099, 8, 31),
        places=2,
        created_at=now,
        created_by=superuser,
    )
    session.offices.set([office])
    assert OrmQ.objects.exists()
    return {SUPERUSER: superuser, OFFICE_SUPERVISOR: supervisor(office), BUREAU_WIDE: bureau_wide_supervisor()}


def change_url(client: Client, url: str) -> str:
    """The first object's link in the change list, as a superuser follows it (some screens
    link by something else than the primary key)."""
    changelist = client.get(url).context["cl"]
    assert changelist.result_list, f"no object in {url}: add one to the world fixture"
    return str(changelist.url_for_result(changelist.result_list[0]))


def change_page(response: Any) -> int | str:
    if response.status_code != 200:
        return int(response.status_code)
    return EDIT if response.context["has_change_permission"] else VIEW


def test_every_registered_model_has_expectations_and_no_stale_ones() -> None:
    assert sorted(EXPECTED) == [model._meta.label for model in REGISTERED]


@pytest.mark.parametrize("model", REGISTERED, ids=lambda model: model._meta.label)
def test_every_screen_answers_each_role_as_expected(client: Client, world: dict[str, User], model: type[Model]) -> None:
    label = model._meta.label
    assert label in EXPECTED, f"{label} is registered in the admin: write what each role gets in EXPECTED"
    model_admin = admin.site._registry[model]
    listing = f"/admin/{model._meta.app_label}/{model._meta.model_name}/"
    client.force_login(world[SUPERUSER])
    change = change_url(client, listing)
    for role in ROLES:
        client.force_login(world[role])
        expected = EXPECTED[label][role]
        page = client.get(change)
        assert (
            client.get(listing).status_code,
            client.get(f"{listing}add/").status_code,
            change_page(page),
        ) == expected, f"{label} as {role}"
        if page.status_code == 200:
            inlines = page.context["inline_admin_formsets"]
            assert len(inlines) == len(model_admin.inlines), f"{label} as {role}: inlines missing"
            for inline in inlines:
                assert inline.formset.initial_form_count() >= 1, f"{label}: no row in {inline.formset.prefix}"
                assert f'name="{inline.formset.prefix}-TOTAL_FORMS"' in page.content.decode()


@pytest.mark.parametrize("model", REGISTERED, ids=lambda model: model._meta.label)
def test_a_clerk_is_sent_to_the_login_page_everywhere(
    client: Client, world: dict[str, User], model: type[Model]
) -> None:
    from tests.factories import clerk

    client.force_login(clerk(Office.objects.get(code="XH")))
    listing = f"/admin/{model._meta.app_label}/{model._meta.model_name}/"
    assert client.get(listing).status_code == 302
    assert client.get(f"{listing}add/").status_code == 302


@pytest.mark.parametrize("model", REGISTERED, ids=lambda model: model._meta.label)
def test_every_screen_guards_personal_fields(model: type[Model]) -> None:
    model_admin = admin.site._registry[model]
    has_personal = any(is_personal(field) for field in model._meta.get_fields())
    if model._meta.app_label in OUR_APPS or has_personal:
        assert isinstance(model_admin, PersonalDataGuard), f"{type(model_admin).__name__} lacks the guard"
    assert model_admin.check() == []
