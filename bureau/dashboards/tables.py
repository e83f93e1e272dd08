"""A dashboard table: the rows a page shows are the rows its CSV and XLSX exports hold.

Exports are opened in spreadsheet programs, which run a cell that starts with = + - @ as a
formula: such text (an applicant's name is typed by the public) is written with a leading
apostrophe, and control characters that XLSX cannot hold are dropped."""

import csv
import io
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from django.http import Http404, HttpRequest, HttpResponse
from django.utils.encoding import force_str
from django.utils.formats import date_format
from django.utils.functional import Promise
from openpyxl import Workbook


class Share(float):
    """A share from 0 to 1: shown as a percentage, exported as the number."""


Cell = str | int | float | date | Promise | None

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
CSV = "text/csv; charset=utf-8"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@dataclass(frozen=True)
class Table:
    slug: str  # names the table in an export request and in the file name
    title: str | Promise
    columns: Sequence[str | Promise]
    rows: Sequence[Sequence[Cell]]
    footer: Sequence[Cell] = ()

    @property
    def shown_rows(self) -> list[list[tuple[str, bool]]]:
        """Each cell as shown, and whether it is a figure (set right-aligned)."""
        return [[(shown(cell), _is_figure(cell)) for cell in row] for row in self.rows]

    @property
    def shown_footer(self) -> list[tuple[str, bool]]:
        return [(shown(cell), _is_figure(cell)) for cell in self.footer]


def _is_figure(cell: Cell) -> bool:
    return cell is None or (isinstance(cell, int | float) and not isinstance(cell, bool))


def shown(cell: Cell) -> str:
    """A cell as a page shows it: a share as a percentage, a date in the language's format,
    nothing as a dash."""
    if cell is None:
        return "—"
    if isinstance(cell, Share):
        return f"{cell:.0%}"
    if isinstance(cell, float):
        return f"{cell:.1f}"
    if isinstance(cell, date):
        return date_format(cell, "SHORT_DATE_FORMAT")
    return force_str(cell)


def _plain(value: Cell) -> str | int | float | date | None:
    if value is None or isinstance(value, int | float | date):
        return value
    text = CONTROL.sub("", force_str(value))
    return "'" + text if text.startswith(FORMULA_START) else text


def _lines(table: Table) -> list[list[str | int | float | date | None]]:
    lines = [[_plain(column) for column in table.columns]]
    lines += [[_plain(cell) for cell in row] for row in table.rows]
    if table.footer:
        lines.append([_plain(cell) for cell in table.footer])
    return lines


def as_csv(table: Table, filename: str) -> HttpResponse:
    response = HttpResponse(content_type=CSV, headers=_attachment(f"{filename}.csv"))
    response.write("\ufeff")  # so that spreadsheet programs read the Chinese as UTF-8
    writer = csv.writer(response)
    for line in _lines(table):
        writer.writerow("" if cell is None else cell.isoformat() if isinstance(cell, date) else cell for cell in line)
    return response


def as_xlsx(table: Table, filename: str) -> HttpResponse:
    book = Workbook(write_only=True)
    sheet = book.create_sheet(title=table.slug)
    for line in _lines(table):
        sheet.append(line)
    content = io.BytesIO()
    book.save(content)
    return HttpResponse(content.getvalue(), content_type=XLSX, headers=_attachment(f"{filename}.xlsx"))


def _attachment(filename: str) -> dict[str, str]:
    return {"Content-Disposition": f'attachment; filename="{filename}"', "X-Content-Type-Options": "nosniff"}


EXPORTS = {"csv": as_csv, "xlsx": as_xlsx}


def export_requested(request: HttpRequest, tables: Mapping[str, Table], filename: str) -> HttpResponse | None:
    """The export a request asks for (`export=<table slug>&format=csv|xlsx`), None when it
    asks for none; an unknown table or format is a 404."""
    slug, kind = request.GET.get("export"), request.GET.get("format")
    if slug is None and kind is None:
        return None
    if slug is None or kind is None or slug not in tables or kind not in EXPORTS:
        raise Http404
    return EXPORTS[kind](tables[slug], f"{filename}-{slug}")
