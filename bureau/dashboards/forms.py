"""The dashboards' filters (GET, so that a view can be bookmarked) and the provincial total."""

from datetime import date, timedelta
from typing import Any

from django import forms
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from bureau.dashboards.models import ProvincialTotal
from bureau.dashboards.selectors import MAX_PERIOD_DAYS
from bureau.forms import DateInput, date_out_of_range
from bureau.models import Counter, Office

DEFAULT_DAYS = 30
MAX_WEEKS = 53


class DateInRangeField(forms.DateField):
    widget = DateInput

    def clean(self, value: Any) -> date | None:
        day: date | None = super().clean(value)
        if day is not None and (problem := date_out_of_range(day)):
            raise forms.ValidationError(problem)
        return day


class OfficesForm(forms.Form):
    """A filter over one of the user's offices, or all of them."""

    office = forms.ModelChoiceField(
        label=_("Office"),
        queryset=Office.objects.none(),
        required=False,
        empty_label=_("All my offices"),
        to_field_name="code",
    )

    def __init__(self, *args: Any, offices: QuerySet[Office], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.offices = offices.order_by("position", "code")
        self.fields["office"].queryset = self.offices  # type: ignore[attr-defined]

    def chosen(self) -> QuerySet[Office]:
        office = self.cleaned_data.get("office")
        return self.offices.filter(pk=office.pk) if office else self.offices


class ServiceLevelForm(OfficesForm):
    counter = forms.IntegerField(
        label=_("Counter (window number)"), required=False, min_value=1, max_value=999, help_text=_("With one office.")
    )
    first = DateInRangeField(label=_("From"), required=False)
    last = DateInRangeField(label=_("Until"), required=False)

    def __init__(self, *args: Any, today: date, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.today = today

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        last = data.get("last") or self.today - timedelta(days=1)
        first = data.get("first") or last - timedelta(days=DEFAULT_DAYS - 1)
        if last > self.today:
            self.add_error("last", _("Choose a day up to today."))
        elif first > last:
            self.add_error("first", _("The first day comes before the last."))
        elif (last - first).days >= MAX_PERIOD_DAYS:
            self.add_error("first", _("Choose at most %(days)d days.") % {"days": MAX_PERIOD_DAYS})
        data["first"], data["last"] = first, last
        data["counter_row"] = None
        if (number := data.get("counter")) is not None:
            office = data.get("office")
            if office is None:
                self.add_error("counter", _("Choose the counter's office too."))
            elif (counter := Counter.objects.filter(office=office, number=number).first()) is None:
                self.add_error("counter", _("This office has no counter with this number."))
            else:
                data["counter_row"] = counter
        return data


class DeadlinesForm(OfficesForm):
    weeks = forms.IntegerField(label=_("Weeks"), required=False, min_value=1, max_value=MAX_WEEKS, initial=12)


class DocumentsForm(OfficesForm):
    period = forms.ChoiceField(label=_("Period"), choices=ProvincialTotal.Period.choices, required=False)
    on = DateInRangeField(label=_("Day in the period"), required=False)

    def __init__(self, *args: Any, today: date, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.today = today

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        data["period"] = data.get("period") or ProvincialTotal.Period.MONTH
        on = data.get("on") or self.today
        if on > self.today:
            self.add_error("on", _("Choose a day up to today."))
        data["first"], data["last"] = period_of(data["period"], min(on, self.today), self.today)
        return data


def period_of(period: str, on: date, today: date) -> tuple[date, date]:
    """The first and last day of the period that holds `on`, not past today."""
    if period == ProvincialTotal.Period.DAY:
        first = on
    elif period == ProvincialTotal.Period.WEEK:
        first = on - timedelta(days=on.weekday())
    elif period == ProvincialTotal.Period.MONTH:
        first = on.replace(day=1)
    else:
        first = on.replace(month=1, day=1)
    ends = {
        ProvincialTotal.Period.DAY: first,
        ProvincialTotal.Period.WEEK: first + timedelta(days=6),
        ProvincialTotal.Period.MONTH: (first.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1),
        ProvincialTotal.Period.YEAR: on,
    }
    return first, min(ends[ProvincialTotal.Period(period)], today)


class ProvincialTotalForm(forms.Form):
    period = forms.ChoiceField(label=_("Period"), choices=ProvincialTotal.Period.choices)
    on = DateInRangeField(label=_("Day in the period"))
    total = forms.IntegerField(label=_("Documents accepted in the province"), min_value=1, max_value=100_000_000)

    def __init__(self, *args: Any, today: date, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.today = today

    def clean_on(self) -> date:
        on: date = self.cleaned_data["on"]
        if on > self.today:
            raise forms.ValidationError(_("Choose a day up to today."))
        return on
