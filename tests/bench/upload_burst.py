"""Benchmark: a burst of slow uploads against a running server (docs/benchmarks.md).

Sixteen emergency cases are filed at once, each with a 3.8 MB PDF of 30,000 pages whose
xref offset is wrong (pypdf rebuilds the table by reading the whole file: about 3 s of CPU,
within the check's limits, so a real if unusual document), while
a public `GET offices/` is timed every 0.2 s. Prints what became of the filings and how
long the GET took. Against `make run`'s server with the demo data and rate limits off:

    RATE_LIMITS=off make run            # one terminal
    .venv/bin/python -m tests.bench.upload_burst [http://127.0.0.1:8000]
"""

import io
import statistics
import sys
import threading
import time
from collections import Counter
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import requests
from pypdf import PdfWriter

BASE = sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8000"
FILINGS = 16


def slow_pdf(pages: int = 30_000) -> bytes:
    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(width=10, height=10)
    out = io.BytesIO()
    writer.write(out)
    body = out.getvalue()
    start = body.rindex(b"startxref") + len(b"startxref\n")
    return body[:start] + b"9" + body[start:]  # an offset past the end: the reader must search


def main() -> None:
    pdf = slow_pdf()
    trip_date = (datetime.now(tz=ZoneInfo("Asia/Shanghai")).date() + timedelta(days=5)).isoformat()
    outcomes: list[tuple[int, str]] = []
    waits: list[float] = []
    stop = threading.Event()

    def file_case(n: int) -> None:
        answer = requests.post(
            f"{BASE}/api/v1/emergency-cases/",
            data={
                "office": "HZ",
                "ground": "visa_expiry",
                "trip_date": trip_date,
                "description": "burst",
                "name": "王小晶",
                "id_number": "33010619900101123X",
                "phone": f"1390000{n:04d}",
            },
            files={"visa": ("visa.pdf", pdf, "application/pdf")},
            timeout=120,
        )
        outcomes.append((answer.status_code, answer.json().get("code", "")))

    def poll() -> None:
        while not stop.is_set():
            began = time.perf_counter()
            requests.get(f"{BASE}/api/v1/offices/", timeout=120)
            waits.append(time.perf_counter() - began)
            time.sleep(0.2)

    poller = threading.Thread(target=poll)
    poller.start()
    time.sleep(1)
    began = time.perf_counter()
    threads = [threading.Thread(target=file_case, args=(n,)) for n in range(FILINGS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    stop.set()
    poller.join()
    waits.sort()
    print(f"PDF of {len(pdf) / 1e6:.1f} MB; {FILINGS} filings at once in {elapsed:.1f} s: {dict(Counter(outcomes))}")
    print(
        f"GET offices/ meanwhile: {len(waits)} requests, p50 {statistics.median(waits) * 1000:.0f} ms, "
        f"max {waits[-1] * 1000:.0f} ms"
    )


if __name__ == "__main__":
    main()
