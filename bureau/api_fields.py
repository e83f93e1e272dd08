"""Input fields shared by the API's serializers: dates inside the years the calendar
arithmetic takes, with the same message as the pages' forms; ID numbers and mobile numbers,
documented in the schema in the canonical form clients should send."""

from datetime import date, datetime
from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from bureau.forms import date_out_of_range, out_of_range_message


class DateInRange(serializers.DateField):
    def to_internal_value(self, value: Any) -> date:
        day = super().to_internal_value(value)
        if problem := date_out_of_range(day):
            raise serializers.ValidationError(problem, code="out_of_range")
        return day


class DateTimeInRange(serializers.DateTimeField):
    """An ISO 8601 moment with its offset. Year 1 or 9999 would overflow on the way to UTC or
    to the next day; they are refused like any date outside the range."""

    def to_internal_value(self, value: Any) -> datetime:
        try:
            moment = super().to_internal_value(value)
        except OverflowError as exc:  # DRF's check of a time without an offset (year 1) overflows
            raise serializers.ValidationError(out_of_range_message(), code="out_of_range") from exc
        except serializers.ValidationError as exc:
            if exc.get_codes() == ["overflow"]:
                raise serializers.ValidationError(out_of_range_message(), code="out_of_range") from exc
            raise
        if problem := date_out_of_range(moment.date()):
            raise serializers.ValidationError(problem, code="out_of_range")
        return moment


@extend_schema_field(
    {
        "type": "string",
        "pattern": "^[0-9]{17}[0-9X]$",
        "maxLength": 40,
        "description": "Resident ID number (GB 11643): 17 digits and a check digit or X. Spaces, a lower-case x "
        "and full-width digits are accepted and normalised; the check digit and birth date are verified.",
    }
)
class IdNumberField(serializers.CharField):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(max_length=40, allow_blank=True, **kwargs)


@extend_schema_field(
    {
        "type": "string",
        "pattern": "^1[3-9][0-9]{9}$",
        "maxLength": 40,
        "description": "Mainland mobile number, 11 digits. Spaces, dashes and a +86 prefix are accepted and dropped.",
    }
)
class MobileNumberField(serializers.CharField):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(max_length=40, allow_blank=True, **kwargs)
