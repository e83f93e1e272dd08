from datetime import date, datetime, time

import factory
from django.contrib.auth.models import User

from appointments.models import SlotTemplate
from bureau.models import Application, Office, Residency, Service, StaffMember
from walkins.models import Ticket


class OfficeFactory(factory.django.DjangoModelFactory[Office]):
    class Meta:
        model = Office
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"O{n}")
    name_zh = factory.Sequence(lambda n: f"第{n}出入境接待大厅")
    name_en = factory.Sequence(lambda n: f"Exit-Entry Hall {n}")
    mode = Office.Mode.DUAL_TRACK
    address_zh = "解放东路8号"
    address_en = "8 Jiefang East Road"


class ServiceFactory(factory.django.DjangoModelFactory[Service]):
    class Meta:
        model = Service
        django_get_or_create = ("document", "business")

    code = factory.LazyAttribute(lambda s: f"{s.document}-{s.business}")
    document = Service.Document.PASSPORT
    business = Service.Business.FIRST
    weekend_service = True


class UserFactory(factory.django.DjangoModelFactory[User]):
    class Meta:
        model = User

    username = factory.Sequence(lambda n: f"user{n}")
    password = factory.django.Password("pw")


def staff(role: str, *offices: Office, username: str | None = None) -> User:
    user = UserFactory.create(
        **({"username": username} if username else {}), is_staff=role == StaffMember.Role.SUPERVISOR
    )
    member = StaffMember.objects.create(user=user, role=role)
    member.offices.set(offices)
    return user


def clerk(office: Office, **kwargs: str) -> User:
    return staff(StaffMember.Role.CLERK, office, **kwargs)


def supervisor(*offices: Office, **kwargs: str) -> User:
    return staff(StaffMember.Role.SUPERVISOR, *offices, **kwargs)


class ApplicationFactory(factory.django.DjangoModelFactory[Application]):
    class Meta:
        model = Application

    reference = factory.Sequence(lambda n: f"REF{n:07d}")
    office = factory.SubFactory(OfficeFactory)
    service = factory.SubFactory(ServiceFactory)
    applicant_name = "王小晶"
    id_number = "33010619900101123X"
    residency = Residency.IN_PROVINCE
    accepted_on = date(2026, 3, 2)


def bureau_wide_supervisor(**kwargs: str) -> User:
    """A supervisor over the whole bureau: every office, and the bureau-wide configuration."""
    user = supervisor(**kwargs)
    StaffMember.objects.filter(user=user).update(bureau_wide=True)
    return user


def nine_to_ten(office: Office, *services: Service, day_kind: str = "weekday", **quotas: int) -> SlotTemplate:
    """A template of two half-hour slots, 09:00 and 09:30, for `services` (quotas: general 3,
    the others 0, unless given)."""
    quotas = {"general_quota": 3, "enterprise_quota": 0, "emergency_quota": 0, **quotas}
    template = SlotTemplate.objects.create(
        office=office, day_kind=day_kind, starts_at=time(9), ends_at=time(10), slot_minutes=30, **quotas
    )
    template.services.set(services)
    return template


def walk_in_ticket(*, office: Office, service: Service, channel: str, by: User, now: datetime | None = None) -> Ticket:
    """A ticket in any walk-in queue: triage's for general, on the priority desk's word for
    the others (whether someone may use a priority channel is tested in tests/priority)."""
    from walkins import services

    issue = services.ticket_issue if channel == "general" else services.ticket_issue_for_priority
    return issue(office=office, service=service, channel=channel, by=by, now=now)
