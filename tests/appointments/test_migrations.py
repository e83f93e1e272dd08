"""Data migrations carry existing rows over."""

from datetime import UTC, datetime

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

pytestmark = pytest.mark.django_db(transaction=True)


def test_booking_start_is_copied_from_its_slot() -> None:
    executor = MigrationExecutor(connection)
    executor.migrate([("appointments", "0002_housekeeping_schedules")])
    old = executor.loader.project_state([("appointments", "0002_housekeeping_schedules")]).apps
    office = old.get_model("bureau", "Office").objects.create(code="XH", name_zh="西湖", name_en="Xihu")
    service = old.get_model("bureau", "Service").objects.create(code="passport-first", document="passport")
    template = old.get_model("appointments", "SlotTemplate").objects.create(
        office=office, day_kind="weekday", starts_at="09:00", ends_at="10:00"
    )
    start = datetime(2026, 12, 2, 1, 0, tzinfo=UTC)
    slot = old.get_model("appointments", "Slot").objects.create(
        office=office, template=template, starts_at=start, ends_at=start.replace(hour=2), general_quota=1
    )
    old.get_model("appointments", "Booking").objects.create(
        reference="R1", office=office, service=service, slot=slot, name="王小晶", id_number="33010619900101123X",
        phone="13812345678", created_at=start, changed_at=start,
    )  # fmt: skip

    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())
    new = executor.loader.project_state(executor.loader.graph.leaf_nodes()).apps
    assert new.get_model("appointments", "Booking").objects.get().starts_at == start
