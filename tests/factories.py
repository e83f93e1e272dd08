from datetime import date

import factory
from django.contrib.auth.models import User

from bureau.models import Application, Office, Residency, Service, StaffMember


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
