"""The API's operations, read from the OpenAPI schema the project generates (the one
/api/schema/ serves), so that every endpoint is sent every hostile input by itself, and a new
endpoint is covered the day it appears."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.urls import URLPattern, URLResolver, get_resolver, resolve
from drf_spectacular.generators import SchemaGenerator
from rest_framework.permissions import IsAuthenticated

from tests.hostile.conftest import CHECK_IN_TIME, FREE_SLOT, ID_NUMBERS, PHONE, World

API_PREFIX = "/api/v1/"


@dataclass(frozen=True)
class Field:
    name: str
    kind: str  # the schema's type ("string", "boolean"), or "enum" for a choice

    @property
    def takes_text(self) -> bool:
        return self.kind != "boolean"


@dataclass(frozen=True)
class Operation:
    method: str
    path: str  # as the schema writes it: /api/v1/bookings/{reference}/reschedule/
    fields: tuple[Field, ...]  # of the request body; read-only ones left out
    headers: tuple[str, ...]  # header parameters

    @property
    def id(self) -> str:
        return f"{self.method} {self.path}"

    def url(self, world: World, **values: str) -> str:
        defaults = {
            "reference": world.booking.reference if self.path.startswith(f"{API_PREFIX}bookings/") else "APP0000001",
            "code": world.office.code,
            "counter_id": str(world.counter.pk),
        }
        url = self.path
        for name, value in {**defaults, **values}.items():
            url = url.replace("{%s}" % name, value)  # noqa: UP031 - braces are the point
        assert "{" not in url, f"{self.id}: no value for a path parameter; add it to Operation.url"
        return url

    @property
    def staff(self) -> bool:
        """Whether it takes signed-in staff only (so a staff token is sent, and the body is
        then really read)."""
        view = resolve(self.url_for_resolving).func
        permissions = getattr(view, "view_class", None) and view.view_class.permission_classes  # type: ignore[attr-defined]
        return any(isinstance(p, type) and issubclass(p, IsAuthenticated) for p in permissions or ())

    @property
    def url_for_resolving(self) -> str:
        url = self.path.replace("{counter_id}", "1")
        for name in ("reference", "code"):
            url = url.replace("{%s}" % name, "X1")  # noqa: UP031
        return url


def _schema() -> dict[str, Any]:
    # Through JSON, as /api/schema/?format=json serves it (lazy strings become text).
    return json.loads(json.dumps(SchemaGenerator().get_schema(request=None, public=True), default=str))


def _fields(schema: dict[str, Any], operation: dict[str, Any]) -> tuple[Field, ...]:
    content = operation.get("requestBody", {}).get("content", {})
    if "application/json" not in content:
        return ()
    reference = content["application/json"]["schema"]["$ref"]
    component = schema["components"]["schemas"][reference.rsplit("/", 1)[-1]]
    fields = []
    for name, spec in component["properties"].items():
        if spec.get("readOnly"):
            continue
        fields.append(Field(name=name, kind=spec.get("type", "enum")))
    return tuple(fields)


def operations_of(schema: dict[str, Any]) -> list[Operation]:
    found = []
    for path, methods in schema["paths"].items():
        if not path.startswith(API_PREFIX):
            continue
        for method, operation in methods.items():
            headers = tuple(p["name"] for p in operation.get("parameters", []) if p["in"] == "header")
            found.append(Operation(method.upper(), path, _fields(schema, operation), headers))
    return sorted(found, key=lambda op: op.id)


SCHEMA = _schema()
OPERATIONS = operations_of(SCHEMA)
POSTS = [op for op in OPERATIONS if op.method == "POST"]


def url_conf_operations() -> set[tuple[str, str]]:
    """(method, route) of every API view in the URL configuration, for a cross-check with
    the schema: a view the schema left out would escape the generated tests."""
    found = set()

    def walk(resolver: URLResolver, prefix: str) -> None:
        for entry in resolver.url_patterns:
            route = prefix + str(entry.pattern)
            if isinstance(entry, URLResolver):
                walk(entry, route)
            elif isinstance(entry, URLPattern) and route.startswith(API_PREFIX.lstrip("/")):
                view_class = getattr(entry.callback, "view_class", None)
                for method in ("get", "post", "put", "patch", "delete"):
                    if view_class is not None and hasattr(view_class, method):
                        found.add((method.upper(), "/" + route))

    walk(get_resolver(), "")
    return found


def schema_route(path: str) -> str:
    """/api/v1/bookings/{reference}/ as the URL configuration writes it."""
    for name in ("reference", "code"):
        path = path.replace("{%s}" % name, f"<ref:{name}>")  # noqa: UP031
    return path.replace("{counter_id}", "<id:counter_id>")


# A body every POST takes without naming a field at fault, so that a hostile value in one
# field is the only thing wrong with a request. A POST endpoint without one here fails
# test_every_post_operation_has_a_valid_body: add it.
VALID_BODY: dict[str, Callable[[World], dict[str, Any]]] = {
    "POST /api/v1/auth/token/": lambda w: {"username": w.clerk.username, "password": "pw"},
    "POST /api/v1/applications/": lambda w: {
        "office": w.office.code,
        "service": w.service.code,
        "applicant_name": "李四",
        "id_number": ID_NUMBERS[2],
        "expedited": False,
        "residency_override": "out_of_province",
        "override_reason": "户籍已迁出",
    },
    "POST /api/v1/applications/status/": lambda w: {"reference": "APP0000001", "id_number": ID_NUMBERS[0]},
    "POST /api/v1/applications/{reference}/": lambda w: {"status": "in_production", "note": "已送制证中心"},
    "POST /api/v1/bookings/": lambda w: {
        "office": w.office.code,
        "service": w.service.code,
        "start": FREE_SLOT.isoformat(),
        "name": "李四",
        "id_number": ID_NUMBERS[1],
        "phone": PHONE,
    },
    "POST /api/v1/bookings/{reference}/reschedule/": lambda w: {"start": FREE_SLOT.isoformat()},
    "POST /api/v1/offices/{code}/check-ins/": lambda w: {"code": w.booking.reference},
    "POST /api/v1/offices/{code}/tickets/": lambda w: {"service": w.service.code, "channel": "general"},
    "POST /api/v1/counters/{counter_id}/open/": lambda w: {},
    "POST /api/v1/counters/{counter_id}/close/": lambda w: {},
    "POST /api/v1/counters/{counter_id}/call-next/": lambda w: {},
    "POST /api/v1/counters/{counter_id}/recall/": lambda w: {},
    "POST /api/v1/counters/{counter_id}/complete/": lambda w: {},
    "POST /api/v1/counters/{counter_id}/no-show/": lambda w: {},
    "POST /api/v1/counters/{counter_id}/park/": lambda w: {},
    "POST /api/v1/counters/{counter_id}/transfer/": lambda w: {"service": w.other_service.code},
    # Multipart only: a JSON body is parsed, then refused as a whole (400, no field named).
    "POST /api/v1/emergency-cases/": lambda w: {
        "office": w.office.code,
        "ground": "visa_expiry",
        "trip_date": "2026-12-20",
        "name": "李四",
        "id_number": ID_NUMBERS[1],
        "phone": PHONE,
        "description": "签证即将到期",
    },
    "POST /api/v1/cases/{reference}/decisions/": lambda w: {
        "decision": "reject",
        "reason": "材料不全",
        "expedited": False,
    },
    "POST /api/v1/offices/{code}/priority-tickets/": lambda w: {
        "service": w.service.code,
        "channel": "green",
        "case": "",
        "id_number": ID_NUMBERS[1],
        "school": "",
        "proof": "",
    },
    "POST /api/v1/enterprises/": lambda w: {
        "office": w.office.code,
        "name": "杭州某某科技有限公司",
        "credit_code": "91110000600037341L",
        "contacts": [{"name": "李四", "id_number": ID_NUMBERS[1], "phone": PHONE}],
    },
    "POST /api/v1/student-bookings/": lambda w: {
        "office": w.office.code,
        "service": w.service.code,
        "start": FREE_SLOT.isoformat(),
        "school": "浙江大学",
        "proof": "ZJU2026001",
        "student": {"name": "李四", "id_number": ID_NUMBERS[1], "phone": PHONE},
        "parent": {"name": "张三", "id_number": ID_NUMBERS[2], "phone": "13912345678"},
    },
}


# When a valid body is sent, if not at NOW: a booking is checked in on its day, in its window.
MOMENT: dict[str, datetime] = {"POST /api/v1/offices/{code}/check-ins/": CHECK_IN_TIME}


def request_headers(operation: Operation, world: World) -> dict[str, str]:
    """What the operation needs to read the body at all: a staff token, the booking's token."""
    headers = {}
    if operation.staff:
        headers["authorization"] = f"Token {world.staff_token}"
    if "X-Booking-Token" in operation.headers:
        headers["x-booking-token"] = world.token
    return headers
