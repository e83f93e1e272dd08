"""Fixtures of the priority pages: an office with a counter, its clerks and supervisor, another
office's clerk, real small PDF and PNG files, and evidence stored under pytest's tmp_path (the
page tests use `evidence_root` for every test; tests/priority/test_uploads.py has its own)."""

import io
from datetime import time, timedelta
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image
from pypdf import PdfWriter
from pytest_django.fixtures import SettingsWrapper

from bureau import selectors as core
from bureau.models import Counter, Office, OpeningSession, Service
from priority import services
from priority.models import Case
from tests.factories import OfficeFactory, ServiceFactory, clerk, supervisor

# Valid resident ID numbers: born 1990 (too young for the green channel) and 1949.
ID_NUMBER = "33010619900101123X"
ELDERLY_ID_NUMBER = "11010519491231002X"
PHONE = "13812345678"


def pdf_bytes() -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(width=200, height=200)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def png_bytes() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (32, 24), (200, 30, 30)).save(out, format="PNG")
    return out.getvalue()


PDF = pdf_bytes()
PNG = png_bytes()


def pdf(name: str = "scan.pdf") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, PDF, content_type="application/pdf")


def png(name: str = "photo.png") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, PNG, content_type="image/png")


def trip_day() -> str:
    return (core.office_today() + timedelta(days=10)).isoformat()


@pytest.fixture
def evidence_root(settings: SettingsWrapper, tmp_path: Path) -> Path:
    root = tmp_path / "evidence"
    settings.EVIDENCE_ROOT = root
    return root


@pytest.fixture
def office(db: None) -> Office:
    office = OfficeFactory.create(code="XH")
    OpeningSession.objects.create(office=office, day_kind="weekday", opens_at=time(9), closes_at=time(17))
    OpeningSession.objects.create(office=office, day_kind="weekend", opens_at=time(9), closes_at=time(12))
    return office


@pytest.fixture
def other_office(db: None) -> Office:
    return OfficeFactory.create(code="BJ")


@pytest.fixture
def passport(db: None) -> Service:
    return ServiceFactory.create(code="passport-first")


@pytest.fixture
def counter(office: Office, passport: Service) -> Counter:
    window = Counter.objects.create(office=office, number=1)
    window.services.set([passport])
    return window


@pytest.fixture
def desk_clerk(office: Office) -> User:
    return clerk(office, username="clerk-xh")


@pytest.fixture
def second_clerk(office: Office) -> User:
    return clerk(office, username="clerk-xh-2")


@pytest.fixture
def boss(office: Office) -> User:
    return supervisor(office, username="supervisor-xh")


@pytest.fixture
def second_boss(office: Office) -> User:
    return supervisor(office, username="supervisor-xh-2")


@pytest.fixture
def other_clerk(other_office: Office) -> User:
    return clerk(other_office, username="clerk-bj")


def file_case(office: Office, ground: str = "visa_expiry", **change: object) -> Case:
    """A case filed online with every document its ground needs (PDFs)."""
    from priority import grounds

    required = grounds.BY_CODE[ground].evidence if ground in grounds.BY_CODE else ()
    files = {item.code: pdf(f"{item.code}.pdf") for item in required}
    values: dict[str, object] = {
        "office": office,
        "ground": ground,
        "trip_date": core.office_today() + timedelta(days=10),
        "description": "签证下周到期",
        "name": "王小晶",
        "id_number": ID_NUMBER,
        "phone": PHONE,
        "files": files,
        **change,
    }
    return services.case_file(**values)  # type: ignore[arg-type]


@pytest.fixture
def case(office: Office) -> Case:
    return file_case(office)
