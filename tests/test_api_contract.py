"""The API does what its OpenAPI schema says (SPEC 9): schemathesis (pinned) against the
running app, with its checks for server errors, documented status codes, content types and
response schemas, bounded in time. Realistic identifiers (an office, a booking and its
token, an application, an emergency case and its token) let it reach the rules and not only
the 404s."""

import importlib
import shutil
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from django.apps import apps as django_apps
from django.utils import timezone
from rest_framework.authtoken.models import Token

from appointments import selectors
from appointments.models import BookingPolicy, Slot, SlotTemplate
from appointments.services import booking_create, slots_generate
from bureau.services import application_accept, calendar_seed_from_package
from priority.models import Case
from priority.selectors import case_token
from tests.factories import OfficeFactory, ServiceFactory, clerk

pytestmark = pytest.mark.django_db(transaction=True)

CHECKS = "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance"
EXAMPLES_PER_OPERATION = 25
SEED = 20261129  # reproducible; a failure names the case to replay


def _schemathesis() -> str:
    found = shutil.which("schemathesis", path=str(Path(sys.executable).parent))
    assert found, "schemathesis is a pinned dev dependency"
    return found


@pytest.fixture
def bureau_with_a_booking(db: None) -> dict[str, str]:
    """An office with slots from tomorrow, a booking, an application, an emergency case waiting
    for a decision and a clerk's token."""
    importlib.import_module("bureau.migrations.0002_default_issuance_rules").create_rules(django_apps, None)
    calendar_seed_from_package()
    office = OfficeFactory.create(code="XH")
    OfficeFactory.create(code="FY", mode="walk_in_only")
    service = ServiceFactory.create(code="passport-first")
    template = SlotTemplate.objects.create(office=office, day_kind="weekday", starts_at="09:00", ends_at="12:00")
    template.services.set([service])
    BookingPolicy.objects.get_or_create(pk=1)
    slots_generate()
    first = Slot.objects.order_by("starts_at").first()
    assert first is not None
    booking = booking_create(
        office=office,
        service=service,
        start=first.starts_at,
        name="王小晶",
        id_number="33010619900101123X",
        phone="13812345678",
    )
    user = clerk(office)
    application = application_accept(
        office=office,
        service=service,
        applicant_name="王小晶",
        id_number="11010519491231002X",
        expedited=False,
        by=user,
    )
    now = timezone.now()
    case = Case.objects.create(
        reference="CASE000001",
        kind=Case.Kind.EMERGENCY,
        office=office,
        ground="visa_expiry",
        trip_date=timezone.localdate() + timedelta(days=10),
        description="签证即将到期",
        name="王小晶",
        id_number="33010619900101123X",
        phone="13812345678",
        created_at=now,
        changed_at=now,
    )
    return {
        "office": office.code,
        "case": case.reference,
        "case_token": case_token(case),
        "booking": booking.reference,
        "token": selectors.booking_token(booking.reference),
        "application": application.reference,
        "staff_token": Token.objects.create(user=user).key,
    }


def test_the_api_keeps_to_its_schema(live_server, bureau_with_a_booking: dict[str, str], tmp_path: Path) -> None:
    known = bureau_with_a_booking
    config = tmp_path / "schemathesis.toml"
    config.write_text(
        f"""
[[operations]]
include-path-regex = "^/api/v1/offices/\\\\{{code\\\\}}/"
parameters = {{ code = "{known["office"]}" }}

[[operations]]
include-path-regex = "^/api/v1/bookings/\\\\{{reference\\\\}}/"
parameters = {{ reference = "{known["booking"]}", "X-Booking-Token" = "{known["token"]}" }}

[[operations]]
include-path-regex = "^/api/v1/applications/\\\\{{reference\\\\}}/"
parameters = {{ reference = "{known["application"]}" }}

[[operations]]
include-path-regex = "^/api/v1/emergency-cases/\\\\{{reference\\\\}}/"
parameters = {{ reference = "{known["case"]}", "X-Case-Token" = "{known["case_token"]}" }}

[[operations]]
include-path-regex = "^/api/v1/cases/\\\\{{reference\\\\}}/"
parameters = {{ reference = "{known["case"]}" }}
"""
    )
    run = subprocess.run(  # noqa: S603 - a fixed, pinned tool
        [
            _schemathesis(),
            "--config-file",
            str(config),
            "--no-color",
            "run",
            f"{live_server.url}/api/schema/",
            "--checks",
            CHECKS,
            "--max-examples",
            str(EXAMPLES_PER_OPERATION),
            "--seed",
            str(SEED),
            "--generation-database",
            "none",
            "--request-timeout",
            "10",
            "--header",
            f"Authorization: Token {known['staff_token']}",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    summary = run.stdout[-6000:]
    assert run.returncode == 0, summary
    assert "passed" in summary
