"""The path converters of every app's URLs, registered once on import."""

from datetime import date

from django.urls import register_converter

from bureau.forms import date_out_of_range


class Reference:
    """References and office codes: letters, digits and dashes only, so nothing odd (a NUL
    byte, say) reaches a database query."""

    regex = "[A-Za-z0-9-]{1,32}"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


class IsoDate:
    """A day in a page URL (2026-12-01), inside the years the calendar arithmetic takes; any
    other value is no match, so a 404 rather than an overflow further on."""

    regex = "[0-9]{4}-[0-9]{2}-[0-9]{2}"

    def to_python(self, value: str) -> date:
        day = date.fromisoformat(value)  # ValueError: no match
        if date_out_of_range(day):
            raise ValueError(value)
        return day

    def to_url(self, value: date | str) -> str:
        return value.isoformat() if isinstance(value, date) else value


class RowId:
    """A row's number in a path: digits, at most nine, so it fits any integer column."""

    regex = "[0-9]{1,9}"

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value: int) -> str:
        return str(value)


register_converter(Reference, "ref")
register_converter(RowId, "id")
register_converter(IsoDate, "date")
