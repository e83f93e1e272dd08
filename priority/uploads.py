"""Applicants' evidence files (a death notice, a hospital certificate, a visa, an invitation
letter): checked by content and stored where no URL reaches them.

A file is a PDF, JPEG or PNG by what its bytes are, never by its name or declared content
type. The parsers (pypdf, Pillow) run in a child process (priority/filecheck.py) that caps its
own memory and CPU time and that is killed after settings.EVIDENCE_CHECK_SECONDS, so a
decompression bomb or a PDF that loops costs one short-lived process, not a web worker.

Stored files live under settings.EVIDENCE_ROOT (directories 0o700, files 0o600) under a random
name and an extension chosen from the detected kind; the client's file name is kept only for
display (CheckedFile.original_name)."""

import hashlib
import json
import logging
import os
import re
import secrets
import subprocess
import sys
import tempfile
import threading
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _

from bureau.services import Conflict, DomainError, PayloadTooLarge

logger = logging.getLogger(__name__)

CONTENT_TYPES = {"pdf": "application/pdf", "jpeg": "image/jpeg", "png": "image/png"}
EXTENSIONS = {"pdf": ".pdf", "jpeg": ".jpg", "png": ".png"}
STORED_NAME = re.compile(r"[0-9a-f]{32}\.(?:pdf|jpg|png)")
ORIGINAL_NAME_LENGTH = 100
# Controls, format characters (bidi overrides that make "x\u202egpj.exe" read as "xexe.jpg"),
# surrogates, private use, unassigned, line and paragraph separators.
HIDDEN_CATEGORIES = {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}
CHUNK = 64 * 1024


@dataclass(frozen=True)
class CheckedFile:
    kind: str  # "pdf" | "jpeg" | "png"
    content_type: str  # "application/pdf" | "image/jpeg" | "image/png"
    size: int
    sha256: str
    original_name: str  # the client's name, cleaned, for display only


class FileTooLarge(PayloadTooLarge):
    """The upload is over settings.EVIDENCE_MAX_BYTES: HTTP 413."""

    code = "file_too_large"


def clean_original_name(name: str | None) -> str:
    """The client's file name for display: its last path part, without hidden characters, at
    most ORIGINAL_NAME_LENGTH characters."""
    base = re.split(r"[/\\]", name or "")[-1]
    visible = "".join(char for char in base if unicodedata.category(char) not in HIDDEN_CATEGORIES)
    return visible.strip()[:ORIGINAL_NAME_LENGTH]


def _check_command(path: Path) -> list[str]:
    return [sys.executable, "-m", "priority.filecheck", str(path)]


def _verdict(path: Path) -> dict[str, str]:
    """Run the content check in a child process; a timeout, a crash or an unreadable answer
    counts as a malformed file."""
    command = _check_command(path)
    try:
        # The command is this interpreter and a fixed module; the path is a temporary file's.
        result = subprocess.run(  # noqa: S603
            command,
            capture_output=True,
            timeout=settings.EVIDENCE_CHECK_SECONDS,
            check=False,
            cwd=settings.BASE_DIR,
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired:
        logger.warning("evidence check timed out after %ss", settings.EVIDENCE_CHECK_SECONDS)
        return {"error": "malformed"}
    if result.returncode != 0:
        logger.warning(
            "evidence check exited with %s: %s", result.returncode, result.stderr.decode("utf-8", "replace")[-500:]
        )
        return {"error": "malformed"}
    try:
        answer = json.loads(result.stdout.decode("utf-8").strip().splitlines()[-1])
    except (ValueError, IndexError):
        logger.warning("evidence check gave no answer: %r", result.stdout[-200:])
        return {"error": "malformed"}
    if not isinstance(answer, dict):
        return {"error": "malformed"}
    if answer.get("kind") in CONTENT_TYPES:
        return {"kind": answer["kind"]}
    if answer.get("error") == "type":
        return {"error": "type"}
    return {"error": "malformed"}


class ChecksBusy(Conflict):
    code = "checks_busy"

    def __init__(self) -> None:
        super().__init__(
            _("Many documents are being checked right now. Please send them again in a minute; nothing was saved.")
        )


# The checks a process runs at once: a burst of uploads (each check is a child process that
# may use its whole CPU limit) cannot take every CPU from the other requests, nor make a
# real document miss its time limit because too many were read together.
_CHECKS = threading.BoundedSemaphore(settings.EVIDENCE_CHECKS_AT_ONCE)


def _checked_in_turn(path: Path) -> dict[str, str]:
    """The verdict on a file, once one of the process's check places is free; ChecksBusy if
    none frees within EVIDENCE_CHECK_WAIT_SECONDS: a request waiting longer would hold one
    of the server's threads that every other request needs."""
    if not _CHECKS.acquire(timeout=settings.EVIDENCE_CHECK_WAIT_SECONDS):
        raise ChecksBusy
    try:
        return _verdict(path)
    finally:
        _CHECKS.release()


def evidence_checked(*, field: str, upload: UploadedFile, label: str = "") -> CheckedFile:
    """Check that an upload is a non-empty PDF, JPEG or PNG within settings.EVIDENCE_MAX_BYTES,
    by content (a child process reads it; see the module's docstring). Copies the upload to a
    private temporary file for the check and removes it. Raises DomainError on `field` with code
    file_empty, file_type or file_malformed, or FileTooLarge (file_too_large)."""
    names = {"field": label or field}  # the document's name, in the messages
    limit = settings.EVIDENCE_MAX_BYTES
    too_large = _("The file for %(field)s is larger than %(limit)s.") % {**names, "limit": filesizeformat(limit)}
    empty = _("The file for %(field)s is empty.") % names
    # Refused before a byte is read or copied.
    if upload.size is not None and upload.size > limit:
        raise FileTooLarge(too_large, field=field)
    if upload.size == 0:
        raise DomainError(empty, field=field, code="file_empty")
    digest = hashlib.sha256()
    size = 0
    descriptor, temporary = tempfile.mkstemp(prefix="evidence-check-")
    path = Path(temporary)
    try:
        with os.fdopen(descriptor, "wb") as copy:
            for chunk in upload.chunks(CHUNK):
                size += len(chunk)
                if size > limit:  # a size the upload under-reported
                    raise FileTooLarge(too_large, field=field)
                digest.update(chunk)
                copy.write(chunk)
        if size == 0:
            raise DomainError(empty, field=field, code="file_empty")
        verdict = _checked_in_turn(path)
    finally:
        path.unlink(missing_ok=True)
    kind = verdict.get("kind")
    if kind is None:
        if verdict.get("error") == "type":
            raise DomainError(
                _("The file for %(field)s is not a PDF, JPEG or PNG file.") % names, field=field, code="file_type"
            )
        raise DomainError(
            _(
                "The file for %(field)s cannot be read: it is damaged, incomplete or protected by a password. "
                "Send it again as a PDF, JPEG or PNG file."
            )
            % names,
            field=field,
            code="file_malformed",
        )
    return CheckedFile(
        kind=kind,
        content_type=CONTENT_TYPES[kind],
        size=size,
        sha256=digest.hexdigest(),
        original_name=clean_original_name(upload.name),
    )


def _evidence_root() -> Path:
    """settings.EVIDENCE_ROOT, created with every missing directory 0o700."""
    root = Path(settings.EVIDENCE_ROOT).resolve()
    missing = [directory for directory in (root, *root.parents) if not directory.exists()]
    for directory in reversed(missing):
        directory.mkdir(mode=0o700, exist_ok=True)
        directory.chmod(0o700)  # whatever the umask
    return root


def evidence_save(*, checked: CheckedFile, upload: UploadedFile) -> str:
    """Write the upload's bytes into EVIDENCE_ROOT under a new random name (0o600, synced to
    disk); returns the stored name. Refuses (ValueError, nothing kept) bytes that are not the
    ones `checked` describes."""
    name = secrets.token_hex(16) + EXTENSIONS[checked.kind]
    path = _evidence_root() / name
    digest = hashlib.sha256()
    size = 0
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    try:
        with os.fdopen(descriptor, "wb") as stored:
            os.fchmod(stored.fileno(), 0o600)
            for chunk in upload.chunks(CHUNK):
                size += len(chunk)
                digest.update(chunk)
                stored.write(chunk)
            stored.flush()
            os.fsync(stored.fileno())
        if size != checked.size or digest.hexdigest() != checked.sha256:
            raise ValueError("The upload's bytes are not the ones that were checked.")
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return name


def evidence_path(name: str) -> Path:
    """The absolute path of a name evidence_save returned; anything else (a path, "..", another
    extension) is a ValueError."""
    if not STORED_NAME.fullmatch(name):
        raise ValueError(f"Not a stored evidence name: {name!r}")
    return Path(settings.EVIDENCE_ROOT).resolve() / name
