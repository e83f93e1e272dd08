"""Evidence uploads (priority/uploads.py, priority/filecheck.py): the kind comes from the bytes,
hostile files are refused by a child process that cannot hang or exhaust the caller, and
stored files are private, randomly named and reachable by no URL. No database."""

import hashlib
import io
import json
import signal
import stat
import struct
import subprocess
import sys
import time
import zlib
from pathlib import Path
from unittest import mock

import pytest
from django.conf import settings as django_settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import translation
from PIL import Image
from pypdf import PdfWriter
from pytest_django.fixtures import SettingsWrapper

from bureau.api_errors import exception_handler
from bureau.services import DomainError, PayloadTooLarge
from priority import uploads
from priority.uploads import CheckedFile, FileTooLarge, evidence_checked, evidence_path, evidence_save

BASE_DIR = Path(django_settings.BASE_DIR)


# --- fixtures made in code -----------------------------------------------------------------------


def _image(fmt: str, size: tuple[int, int] = (64, 48)) -> bytes:
    # Noise, so the compressed stream is long enough to cut in the middle.
    pixels = bytes((x * 7 + y * 13) % 251 for y in range(size[1]) for x in range(size[0] * 3))
    out = io.BytesIO()
    Image.frombytes("RGB", size, pixels).save(out, format=fmt)
    return out.getvalue()


def _pdf(*, password: str | None = None) -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    if password is not None:
        writer.encrypt(user_password=password, owner_password="owner", algorithm="RC4-128")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _png_bomb(width: int, height: int) -> bytes:
    """A small PNG of width x height black grey pixels: a complete image stream when it fits in
    100 MB (so only the pixel limit refuses it), else the start of one."""
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    raw = (width + 1) * height  # a filter byte and a byte per pixel, each row
    compressor = zlib.compressobj(9)
    row = b"\0" * (width + 1)
    data = b"".join(compressor.compress(row) for _ in range(height if raw <= 100_000_000 else 100))
    data += compressor.flush()
    return b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", header) + _png_chunk(b"IDAT", data) + _png_chunk(b"IEND", b"")


def _png_with_bad_crc() -> bytes:
    """PNG whose first image data chunk fails its checksum (only verify() looks at it)."""
    start = PNG.index(b"IDAT") - 4
    length = struct.unpack(">I", PNG[start : start + 4])[0]
    crc = start + 8 + length
    return PNG[:crc] + bytes(b ^ 0xFF for b in PNG[crc : crc + 4]) + PNG[crc + 4 :]


def _pdf_by_hand(trailer_extra: bytes = b"") -> bytes:
    """A one-page PDF written object by object; SELF in trailer_extra stands for the offset
    of its own cross-reference table."""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    extra = trailer_extra.replace(b"SELF", str(xref).encode())
    out += b"trailer\n<< /Size %d /Root 1 0 R %s >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, extra, xref)
    return bytes(out)


PNG = _image("PNG")
JPEG = _image("JPEG")
PDF = _pdf()
# Over twice Pillow's pixel limit here (refused as it opens), and over the limit itself (a
# warning in Pillow, an error here) with a complete pixel stream that decodes without one.
BOMB_HUGE = _png_bomb(50_000, 50_000)
BOMB_OVER_LIMIT = _png_bomb(7_000, 7_000)


def _upload(name: str, content: bytes, content_type: str = "application/octet-stream") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type=content_type)


def _refusal(upload: SimpleUploadedFile, field: str = "death_notice") -> DomainError:
    with pytest.raises(DomainError) as caught:
        evidence_checked(field=field, upload=upload)
    return caught.value


@pytest.fixture
def evidence_root(settings: SettingsWrapper, tmp_path: Path) -> Path:
    settings.EVIDENCE_ROOT = tmp_path / "var" / "evidence"
    return settings.EVIDENCE_ROOT


# --- accepted by content -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "content", "content_type", "kind", "expected_type"),
    [
        ("notice.pdf", PDF, "application/pdf", "pdf", "application/pdf"),
        ("photo.jpg", JPEG, "image/jpeg", "jpeg", "image/jpeg"),
        ("scan.png", PNG, "image/png", "png", "image/png"),
        ("hand-written.pdf", _pdf_by_hand(), "application/pdf", "pdf", "application/pdf"),
        # The name and the declared type are ignored: only the bytes count.
        ("scan.pdf", PNG, "application/pdf", "png", "image/png"),
        ("notice", PDF, "text/plain", "pdf", "application/pdf"),
        ("photo.png", JPEG, "image/png", "jpeg", "image/jpeg"),
    ],
)
def test_evidence_checked_accepts_by_content(
    name: str, content: bytes, content_type: str, kind: str, expected_type: str
) -> None:
    checked = evidence_checked(field="death_notice", upload=_upload(name, content, content_type))
    assert checked == CheckedFile(
        kind=kind,
        content_type=expected_type,
        size=len(content),
        sha256=hashlib.sha256(content).hexdigest(),
        original_name=name,
    )


# --- refused -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "content", "code"),
    [
        ("x.pdf", b"hello, this is not a PDF\n", "file_type"),
        ("x.png", b"<html><script>alert(1)</script></html>", "file_type"),
        ("x.png", b"alert(document.cookie);", "file_type"),
        ("x.gif", _image("GIF"), "file_type"),
        ("x.webp", _image("WEBP"), "file_type"),
        ("x.bmp", _image("BMP"), "file_type"),
        ("x.pdf", b" %PDF-1.7\n" + PDF[9:], "file_type"),  # the magic must be at offset 0
        ("x.pdf", PDF[: len(PDF) // 2], "file_malformed"),
        ("x.pdf", b"%PDF-1.7\n" + b"garbage \x00\xff" * 200, "file_malformed"),
        ("x.pdf", b"%PDF-", "file_malformed"),
        ("x.pdf", _pdf(password="secret"), "file_malformed"),
        ("x.pdf", _pdf(password=""), "file_malformed"),  # encrypted, even if it opens without one
        ("x.pdf", _pdf_by_hand().replace(b"/Kids [3 0 R] /Count 1", b"/Kids [2 0 R] /Count 1"), "file_malformed"),
        ("x.pdf", _pdf_by_hand().replace(b"/MediaBox [0 0 595 842]", b"/MediaBox [0 0 0 0]"), "file_malformed"),
        ("x.pdf", _pdf_by_hand().replace(b"/Kids [3 0 R] /Count 1", b"/Kids [] /Count 0"), "file_malformed"),
        ("x.png", PNG[: len(PNG) // 2], "file_malformed"),
        ("x.png", _png_with_bad_crc(), "file_malformed"),
        ("x.png", PNG[:8], "file_malformed"),
        ("x.png", PNG[:-20] + b"\0" * 20, "file_malformed"),
        ("x.jpg", JPEG[: len(JPEG) // 2], "file_malformed"),
        ("x.jpg", b"\xff\xd8\xff" + b"\0" * 100, "file_malformed"),
        ("x.png", BOMB_HUGE, "file_malformed"),
        ("x.png", BOMB_OVER_LIMIT, "file_malformed"),
    ],
)
def test_evidence_checked_refuses_by_content(name: str, content: bytes, code: str) -> None:
    refusal = _refusal(_upload(name, content, "application/pdf"))
    assert refusal.code == code
    assert refusal.field == "death_notice"
    assert list(refusal.errors) == ["death_notice"]
    assert "death_notice" in refusal.message


def test_evidence_checked_empty_file_is_file_empty() -> None:
    with translation.override("en"):
        refusal = _refusal(_upload("x.pdf", b""), field="visa")
    assert (refusal.code, refusal.field) == ("file_empty", "visa")
    assert refusal.message == "The file for visa is empty."
    assert not isinstance(refusal, PayloadTooLarge)


@pytest.mark.parametrize(("limit", "refused"), [(len(PNG) - 1, True), (len(PNG), False)])
def test_evidence_checked_oversized_is_file_too_large(settings: SettingsWrapper, limit: int, refused: bool) -> None:
    settings.EVIDENCE_MAX_BYTES = limit
    if not refused:
        assert evidence_checked(field="visa", upload=_upload("x.png", PNG)).kind == "png"
        return
    with pytest.raises(FileTooLarge) as caught:
        evidence_checked(field="visa", upload=_upload("x.png", PNG))
    assert isinstance(caught.value, PayloadTooLarge)
    assert (caught.value.code, caught.value.field) == ("file_too_large", "visa")
    assert "visa" in caught.value.message


def test_evidence_checked_oversized_is_refused_before_reading(settings: SettingsWrapper) -> None:
    settings.EVIDENCE_MAX_BYTES = 1000
    upload = _upload("x.png", PNG)
    upload.size = 1001
    with mock.patch.object(upload, "chunks", side_effect=AssertionError("read")), pytest.raises(FileTooLarge):
        evidence_checked(field="visa", upload=upload)


def test_evidence_checked_under_reported_size_is_counted(settings: SettingsWrapper) -> None:
    settings.EVIDENCE_MAX_BYTES = len(PNG) - 1
    upload = _upload("x.png", PNG)
    upload.size = 10
    with pytest.raises(FileTooLarge):
        evidence_checked(field="visa", upload=upload)


# --- the child process: limits and timeout ------------------------------------------------------


@pytest.mark.parametrize("content", [BOMB_HUGE, BOMB_OVER_LIMIT])
def test_evidence_checked_decompression_bomb_returns_quickly(content: bytes) -> None:
    started = time.monotonic()
    assert _refusal(_upload("bomb.png", content)).code == "file_malformed"
    assert time.monotonic() - started < 2  # far below EVIDENCE_CHECK_SECONDS


def test_evidence_checked_pdf_xref_loop_does_not_hang(settings: SettingsWrapper) -> None:
    # pypdf 6.1.3 followed a trailer /Prev that points at its own table forever; 6.21 notices
    # the loop and reads the file. Either way the answer comes at once: read, or refused.
    settings.EVIDENCE_CHECK_SECONDS = 1
    started = time.monotonic()
    try:
        assert (
            uploads.evidence_checked(field="visa", upload=_upload("loop.pdf", _pdf_by_hand(b"/Prev SELF"))).kind
            == "pdf"
        )
    except DomainError as refused:
        assert refused.code == "file_malformed"
    assert time.monotonic() - started < 3


def test_evidence_checked_slow_child_is_malformed(settings: SettingsWrapper) -> None:
    settings.EVIDENCE_CHECK_SECONDS = 0.5
    sleeper = [sys.executable, "-c", "import time; time.sleep(30)"]
    started = time.monotonic()
    with mock.patch.object(uploads, "_check_command", return_value=sleeper):
        assert _refusal(_upload("x.pdf", PDF)).code == "file_malformed"
    assert time.monotonic() - started < 2.5


@pytest.mark.parametrize(
    "script",
    [
        "import sys; sys.exit(1)",
        "print('not json')",
        "print('[1, 2]')",
        'print(\'{"kind": "gif"}\')',
        "",
    ],
)
def test_evidence_checked_child_without_a_verdict_is_malformed(script: str) -> None:
    with mock.patch.object(uploads, "_check_command", return_value=[sys.executable, "-c", script]):
        assert _refusal(_upload("x.pdf", PDF)).code == "file_malformed"


def _python(script: str, *args: str) -> subprocess.CompletedProcess[bytes]:
    """This interpreter running `script`, from the project's folder (so priority imports)."""
    return subprocess.run(  # noqa: S603 - this interpreter and the test's own script
        [sys.executable, "-c", script, *args], capture_output=True, cwd=BASE_DIR, timeout=30, check=False
    )


def test_filecheck_memory_limit_stops_a_large_allocation() -> None:
    script = "from priority.filecheck import limit_resources; limit_resources(); b = bytearray(1024 ** 3)"
    result = _python(script)
    assert result.returncode == 1
    assert b"MemoryError" in result.stderr


def test_filecheck_cpu_limit_kills_a_busy_child() -> None:
    script = "import priority.filecheck as f; f.CPU_SECONDS = 1; f.limit_resources()\nwhile True: pass"
    started = time.monotonic()
    result = _python(script)
    assert result.returncode == -signal.SIGXCPU
    assert time.monotonic() - started < 5


def test_filecheck_prints_one_json_line_and_imports_no_django(tmp_path: Path) -> None:
    path = tmp_path / "x.pdf"
    path.write_bytes(PDF)
    script = (
        "import runpy, sys; sys.argv = ['filecheck', sys.argv[1]]\n"
        "try:\n    runpy.run_module('priority.filecheck', run_name='__main__')\n"
        "except SystemExit:\n    pass\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'django'))"
    )
    result = _python(script, str(path))
    assert result.returncode == 0, result.stderr
    verdict, django_modules = result.stdout.decode().splitlines()
    assert json.loads(verdict) == {"kind": "pdf"}
    assert django_modules == "[]"


# --- the client's name --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "cleaned"),
    [
        ("护照.pdf", "护照.pdf"),
        ("C:\\Users\\li\\Desktop\\death notice.pdf", "death notice.pdf"),
        ("../../etc/passwd", "passwd"),
        ("a\x00b\nc\t.pdf", "abc.pdf"),
        ("invoice\u202egpj.exe", "invoicegpj.exe"),
        ("\ud800scan.png", "scan.png"),
        ("  spaced.png  ", "spaced.png"),
        ("x" * 150 + ".pdf", "x" * 100),
        ("", ""),
        (None, ""),
    ],
)
def test_clean_original_name_keeps_only_a_displayable_basename(name: str | None, cleaned: str) -> None:
    assert uploads.clean_original_name(name) == cleaned


# --- storing ------------------------------------------------------------------------------------


def test_evidence_save_writes_a_private_randomly_named_copy(evidence_root: Path) -> None:
    upload = _upload("death notice of 张三.pdf", PDF, "application/pdf")
    checked = evidence_checked(field="death_notice", upload=upload)
    names = [evidence_save(checked=checked, upload=upload) for _ in range(2)]
    assert names[0] != names[1]
    for name in names:
        assert uploads.STORED_NAME.fullmatch(name)
        assert name.endswith(".pdf")
        path = evidence_path(name)
        assert path == evidence_root / name
        assert path.read_bytes() == PDF
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(evidence_root.stat().st_mode) == 0o700
    assert stat.S_IMODE(evidence_root.parent.stat().st_mode) == 0o700


@pytest.mark.parametrize(("content", "extension"), [(PNG, ".png"), (JPEG, ".jpg")])
def test_evidence_save_extension_follows_the_kind(evidence_root: Path, content: bytes, extension: str) -> None:
    upload = _upload("x.pdf", content, "application/pdf")
    name = evidence_save(checked=evidence_checked(field="visa", upload=upload), upload=upload)
    assert Path(name).suffix == extension


def test_evidence_save_refuses_bytes_other_than_the_checked_ones(evidence_root: Path) -> None:
    checked = evidence_checked(field="visa", upload=_upload("x.png", PNG))
    with pytest.raises(ValueError, match="checked"):
        evidence_save(checked=checked, upload=_upload("x.png", JPEG))
    assert list(evidence_root.iterdir()) == []


def testevidence_root_default_is_outside_every_served_folder() -> None:
    root = Path(django_settings.EVIDENCE_ROOT)
    served = [*django_settings.STATICFILES_DIRS, BASE_DIR / "static", BASE_DIR / "staticfiles", BASE_DIR / "templates"]
    assert root == BASE_DIR / "var" / "evidence"
    assert not any(root.is_relative_to(Path(folder).resolve()) for folder in served)


@pytest.mark.parametrize(
    "name",
    [
        "../x",
        "/etc/passwd",
        "a/b",
        "",
        ".",
        "..",
        "0" * 32 + ".pdf/../../x",
        "0" * 32 + ".exe",
        "0" * 32 + ".pdf\n",
        "A" * 32 + ".pdf",
        "0" * 31 + ".pdf",
    ],
)
def test_evidence_path_refuses_anything_but_a_stored_name(name: str) -> None:
    with pytest.raises(ValueError, match="stored evidence name"):
        evidence_path(name)


# --- the API's answer ---------------------------------------------------------------------------


def test_api_maps_file_too_large_to_413_with_the_error_body() -> None:
    response = exception_handler(FileTooLarge("The file for visa is too large.", field="visa"), {})
    assert response is not None
    assert response.status_code == 413
    assert response.data == {
        "code": "file_too_large",
        "detail": "The file for visa is too large.",
        "fields": {"visa": ["The file for visa is too large."]},
    }


def test_api_maps_other_upload_refusals_to_400() -> None:
    with translation.override("en"):
        response = exception_handler(DomainError("Not a PDF.", field="visa", code="file_type"), {})
    assert response is not None
    assert response.status_code == 400
    assert response.data == {
        "code": "file_type",
        "detail": "Some fields are not valid.",
        "fields": {"visa": ["Not a PDF."]},
    }
