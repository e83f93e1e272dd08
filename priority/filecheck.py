"""Is a file a real PDF, JPEG or PNG? `python -m priority.filecheck PATH` prints one JSON line:
{"kind": "pdf" | "jpeg" | "png"} or {"error": "type" | "malformed"}.

priority/uploads.py runs it in a child process with a wall-clock timeout, because parsers fed
hostile files can take memory and time without end (a PNG claiming 50000x50000 pixels, a PDF
whose cross-reference table loops). The child first limits its own address space and CPU time,
so such a file kills the child, never a web worker. Plain Python, no Django: it reads no
settings and touches no database.

The kind comes from the file's first bytes, never from its name or declared content type; a
file that starts like one of the three kinds must then be read through in full by the parser
of that kind (Pillow, pypdf), or it is malformed."""

import json
import resource
import sys
import warnings
from pathlib import Path

MEMORY_BYTES = 512 * 1024 * 1024
CPU_SECONDS = 5
# About a 40-megapixel photo; Pillow refuses twice this outright and warns above it (the
# warning is an error here). A full decode of RGBA at the limit takes 160 MB.
MAX_IMAGE_PIXELS = 40_000_000

PDF_MAGIC = b"%PDF-"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
JPEG_MAGIC = b"\xff\xd8\xff"
# Pillow names a JPEG that carries more than one picture (phones' and 3D cameras' MPO) "MPO";
# its first picture is an ordinary JPEG.
IMAGE_FORMATS = {"jpeg": {"JPEG", "MPO"}, "png": {"PNG"}}


class Malformed(Exception):
    """The file starts like a PDF, JPEG or PNG but cannot be read as one."""


def limit_resources() -> None:
    """Cap this process: address space (an allocation past it raises MemoryError), CPU time
    (SIGXCPU, then SIGKILL one second later), no core dump."""
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_BYTES, MEMORY_BYTES))
    resource.setrlimit(resource.RLIMIT_CPU, (CPU_SECONDS, CPU_SECONDS + 1))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def kind_by_magic(head: bytes) -> str | None:
    if head.startswith(PDF_MAGIC):
        return "pdf"
    if head.startswith(PNG_MAGIC):
        return "png"
    if head.startswith(JPEG_MAGIC):
        return "jpeg"
    return None


def check_image(path: Path, kind: str) -> None:
    from PIL import Image

    Image.MAX_IMAGE_PIXELS = MAX_IMAGE_PIXELS
    formats = IMAGE_FORMATS[kind]
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        # verify() checks the structure (PNG chunk CRCs) and leaves the image unusable, so the
        # file is opened again and decoded in full: a truncated stream fails only there.
        with Image.open(path, formats=["JPEG", "PNG"]) as image:
            if image.format not in formats:
                raise Malformed(f"{kind} file read as {image.format}")
            image.verify()
        with Image.open(path, formats=["JPEG", "PNG"]) as image:
            image.load()


def check_pdf(path: Path) -> None:
    from pypdf import PdfReader

    reader = PdfReader(path, strict=False)
    # Clerks must be able to open it; an encrypted PDF is refused even with an empty password.
    if reader.is_encrypted:
        raise Malformed("encrypted")
    if len(reader.pages) < 1:
        raise Malformed("no pages")
    for page in reader.pages:
        box = page.mediabox
        if box.width <= 0 or box.height <= 0:
            raise Malformed("empty page box")


def check(path: Path) -> dict[str, str]:
    with path.open("rb") as file:
        head = file.read(len(PNG_MAGIC))
    kind = kind_by_magic(head)
    if kind is None:
        return {"error": "type"}
    try:
        if kind == "pdf":
            check_pdf(path)
        else:
            check_image(path, kind)
    except Exception:  # noqa: BLE001 - any failure of a parser on this file means the file is bad
        return {"error": "malformed"}
    return {"kind": kind}


def main(argv: list[str]) -> int:
    limit_resources()
    if len(argv) != 1:
        print("usage: python -m priority.filecheck PATH", file=sys.stderr)
        return 2
    print(json.dumps(check(Path(argv[0]))))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
