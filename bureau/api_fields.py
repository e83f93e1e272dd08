"""Input fields shared by the API's serializers: dates inside the years the calendar
arithmetic takes, with the same message as the pages' forms."""

from datetime import date, datetime
from typing import Any

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
        except serializers.ValidationError as exc:
            if exc.get_codes() == ["overflow"]:
                raise serializers.ValidationError(out_of_range_message(), code="out_of_range") from exc
            raise
        if problem := date_out_of_range(moment.date()):
            raise serializers.ValidationError(problem, code="out_of_range")
        return moment
