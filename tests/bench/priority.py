"""Benchmark: what the priority channels cost, as ratios measured in one run.

- checking a document: each upload is read by Pillow or pypdf in a child process with
  limits; against the cost of starting a bare Python process;
- filing an emergency case with two documents through the API, against booking a slot;
- a decompression bomb and a looping PDF: how long until they are refused;
- the clerk's priority desk with 200 cases waiting, against 2 (it must not grow per case).

On a throw-away PostgreSQL test database, through Django's test client (no server).

    make bench      (DATABASE_URL must point at PostgreSQL)
"""

import io
import logging
import os
import random
import struct
import subprocess
import sys
import tempfile
import time
import zlib
from collections.abc import Callable
from datetime import time as clock
from datetime import timedelta
from pathlib import Path

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bureau.settings")
django.setup()

from django.conf import settings  # noqa: E402
from django.core.files.uploadedfile import SimpleUploadedFile  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext, setup_test_environment  # noqa: E402
from PIL import Image  # noqa: E402
from pypdf import PdfWriter  # noqa: E402

from appointments.models import BookingPolicy, Slot  # noqa: E402
from appointments.services import slots_generate  # noqa: E402
from bureau import selectors as core  # noqa: E402
from bureau.management.commands.load_demo import demo_person  # noqa: E402
from bureau.models import Counter, Office, OpeningSession  # noqa: E402
from bureau.services import DomainError  # noqa: E402
from priority import uploads  # noqa: E402
from tests.factories import OfficeFactory, ServiceFactory, clerk, nine_to_ten  # noqa: E402

ROUNDS = int(os.environ.get("BENCH_ROUNDS", "30"))


def timed(work: Callable[[], object], rounds: int = ROUNDS) -> list[float]:
    times = []
    for _ in range(rounds):
        began = time.perf_counter()
        work()
        times.append(time.perf_counter() - began)
    return sorted(times)


def p(times: list[float], share: float) -> float:
    return times[min(len(times) - 1, int(share * len(times)))]


def pdf(pages: int = 1) -> bytes:
    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(width=595, height=842)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def photo() -> bytes:
    """A phone photo: 4000 x 3000 pixels, within the 5 MB limit (noise compresses badly, so a
    low quality keeps it under)."""
    out = io.BytesIO()
    Image.effect_noise((4000, 3000), 30).convert("RGB").save(out, "JPEG", quality=40)
    return out.getvalue()


def png_bomb() -> bytes:
    """A 40,000 x 40,000 PNG header over a small zlib stream of zeros."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 40_000, 40_000, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 10_000_000, 9))


def check(name: str, content: bytes) -> Callable[[], object]:
    def work() -> object:
        upload = SimpleUploadedFile(name, content, content_type="application/octet-stream")
        try:
            return uploads.evidence_checked(field="visa", upload=upload)
        except DomainError as refused:
            return refused

    return work


def main() -> None:
    if connection.vendor != "postgresql":
        sys.exit("make bench needs PostgreSQL: set DATABASE_URL=postgres://...")
    setup_test_environment()
    logging.getLogger("celery").setLevel(logging.WARNING)  # a line per SMS sent otherwise
    settings.RATE_LIMITS = dict.fromkeys(settings.RATE_LIMITS, "100000/minute")
    settings.CELERY_TASK_ALWAYS_EAGER = True
    settings.SMS_BACKEND = "bureau.sms.FileBackend"  # the console's would fill the report
    test_db = connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    evidence = tempfile.TemporaryDirectory()
    settings.EVIDENCE_ROOT = Path(evidence.name) / "evidence"
    settings.SMS_FILE_DIR = str(Path(evidence.name) / "sms")
    try:
        run()
    finally:
        connection.creation.destroy_test_db(test_db, verbosity=0)
        evidence.cleanup()


def run() -> None:
    bare = timed(lambda: subprocess.run([sys.executable, "-c", "pass"], check=True))  # noqa: S603
    one_page, big_photo = pdf(), photo()
    rows = [
        ("1-page PDF", len(one_page), timed(check("a.pdf", one_page))),
        ("20-page PDF", len(pdf(20)), timed(check("b.pdf", pdf(20)))),
        ("4000x3000 JPEG", len(big_photo), timed(check("c.jpg", big_photo), rounds=max(5, ROUNDS // 3))),
    ]
    print(f"Checking one document (child process), {ROUNDS} rounds; bare Python start p50 {p(bare, 0.5) * 1000:.0f} ms")
    for label, size, times in rows:
        ratio = p(times, 0.5) / p(bare, 0.5)
        print(
            f"  {label:>15} ({size / 1024:,.0f} KiB): p50 {p(times, 0.5) * 1000:.0f} ms, "
            f"p99 {p(times, 0.99) * 1000:.0f} ms = {ratio:.1f}x a bare start"
        )
    for label, content in (("PNG bomb (40k x 40k)", png_bomb()), ("PDF /Prev loop", loop_pdf())):
        times = timed(check("x", content), rounds=5)
        print(
            f"  {label}: refused or read in p50 {p(times, 0.5) * 1000:.0f} ms "
            f"(limit {settings.EVIDENCE_CHECK_SECONDS:.0f} s)"
        )

    office = OfficeFactory.create(code="XH")
    OpeningSession.objects.create(office=office, day_kind="weekday", opens_at=clock(9), closes_at=clock(17))
    service = ServiceFactory.create(code="passport-first")
    window = Counter.objects.create(office=office, number=1)
    window.services.set([service])
    nine_to_ten(office, service, general_quota=10_000)
    BookingPolicy.objects.get_or_create(pk=1)
    slots_generate(today=core.office_today())
    rng = random.Random("bench-priority")
    people = (demo_person(rng)[1] for _ in range(10_000))
    start = next(iter(slot_starts(office)))
    client = Client()

    def book() -> None:
        body = {"office": "XH", "service": service.code, "start": start, "name": "王小晶", "id_number": next(people)}
        answer = client.post("/api/v1/bookings/", {**body, "phone": "13812345678"}, "application/json")
        assert answer.status_code == 201, answer.content

    def file_case() -> None:
        body = {
            "office": "XH",
            "ground": "critical_illness",
            "trip_date": (core.office_today() + timedelta(days=3)).isoformat(),
            "description": "母亲病危",
            "name": "王小晶",
            "id_number": next(people),
            "phone": "13812345678",
            "hospital_certificate": io.BytesIO(one_page),
            "kinship_proof": io.BytesIO(one_page),
        }
        answer = client.post("/api/v1/emergency-cases/", body)
        assert answer.status_code == 201, answer.content

    booked, filed = timed(book), timed(file_case)
    print(f"API, {ROUNDS} requests each (in-process client):")
    print(f"  POST bookings/: p50 {p(booked, 0.5) * 1000:.0f} ms")
    print(
        f"  POST emergency-cases/ with 2 PDFs: p50 {p(filed, 0.5) * 1000:.0f} ms "
        f"= {p(filed, 0.5) / p(booked, 0.5):.1f}x a booking"
    )

    desk = Client()
    desk.force_login(clerk(office, username="bench-clerk"))
    page = f"/counter/{office.code}/priority/"
    few, few_queries = timed(lambda: desk.get(page), rounds=ROUNDS), queries(lambda: desk.get(page))
    for _ in range(200 - ROUNDS):
        file_case()
    many, many_queries = timed(lambda: desk.get(page), rounds=ROUNDS), queries(lambda: desk.get(page))
    print(
        f"Priority desk page: p50 {p(few, 0.5) * 1000:.0f} ms and {few_queries} queries with {ROUNDS} cases "
        f"waiting, {p(many, 0.5) * 1000:.0f} ms and {many_queries} queries with 200 = {p(many, 0.5) / p(few, 0.5):.2f}x"
    )


def queries(work: Callable[[], object]) -> int:
    with CaptureQueriesContext(connection) as captured:
        work()
    return len(captured.captured_queries)


def loop_pdf() -> bytes:
    body = b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n"
    body += b"2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\n"
    xref_at = len(body)
    trailer = f"trailer << /Size 3 /Root 1 0 R /Prev {xref_at} >>\nstartxref\n{xref_at}\n%%EOF\n"
    return body + b"xref\n0 3\n0000000000 65535 f \n" + trailer.encode()


def slot_starts(office: Office) -> list[str]:
    return [slot.starts_at.isoformat() for slot in Slot.objects.filter(office=office).order_by("starts_at")]


if __name__ == "__main__":
    main()
