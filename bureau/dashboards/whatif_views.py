"""The supervisors' "what if" page: a past day of an office replayed with other counters."""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, cast

from django import forms
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext, pgettext_lazy
from django.views.decorators.http import require_GET
from django_stubs_ext import StrOrPromise

from bureau import selectors
from bureau.access import supervisor_required
from bureau.dashboards import replay, whatif
from bureau.models import Office
from walkins.selectors import OFFICE_TZ

FIRST_YEAR = 2000  # no office kept tickets before: earlier dates are refused
MAX_EXTRA = 20  # extra counters a what-if may add
TIME_FORMATS = ["%H:%M", "%H:%M:%S"]


def _time_field(label: StrOrPromise) -> forms.TimeField:
    return forms.TimeField(
        label=label,
        required=False,
        input_formats=TIME_FORMATS,
        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
    )


class DayForm(forms.Form):
    office = forms.ModelChoiceField(
        queryset=Office.objects.none(), to_field_name="code", empty_label=None, label=gettext_lazy("Office")
    )
    day = forms.DateField(
        label=gettext_lazy("Day"),
        input_formats=["%Y-%m-%d"],
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )

    def __init__(self, *args: Any, offices: QuerySet[Office], today: date, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ModelChoiceField[Office], self.fields["office"]).queryset = offices
        self.today = today
        self.fields["day"].widget.attrs.update(min=f"{FIRST_YEAR}-01-01", max=str(today - timedelta(days=1)))

    def clean_day(self) -> date:
        day: date = self.cleaned_data["day"]
        if day.year < FIRST_YEAR:
            raise forms.ValidationError(_("Choose a day from %(year)d on.") % {"year": FIRST_YEAR}, code="too_early")
        if day >= self.today:
            raise forms.ValidationError(_("Choose a day before today: only a finished day can be replayed."))
        return day


@dataclass(frozen=True)
class CounterRow:
    """A real counter on the page: its open times that day and the fields to change them."""

    counter: whatif.RealCounter
    services: list[str]
    hours: str
    opens: forms.BoundField
    closes: forms.BoundField
    closed: forms.BoundField


def _local(moment: datetime) -> time:
    return timezone.localtime(moment, OFFICE_TZ).time().replace(second=0, microsecond=0)


def _hhmm(moment: datetime | None) -> str:
    return _local(moment).strftime("%H:%M") if moment is not None else ""


class PlanForm(forms.Form):
    """The supervisor's counters: per real counter its opening and closing (or closed all
    day), and extra counters serving every service. `plan_for` names the office and day the
    counter fields were shown for: on another day they are that day's real times again."""

    plan_for = forms.CharField(required=False, widget=forms.HiddenInput)
    extra = forms.IntegerField(
        label=pgettext_lazy("what if", "Extra counters"), required=False, min_value=0, max_value=MAX_EXTRA, initial=0
    )
    extra_opens = _time_field(gettext_lazy("Extra counters open at"))
    extra_closes = _time_field(gettext_lazy("Extra counters close at"))

    def __init__(self, *args: Any, real: whatif.RealDay, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.real = real
        for counter in real.counters:
            number = {"number": counter.number}
            self.fields[f"opens_{counter.id}"] = _time_field(_("Window %(number)d opens at") % number)
            self.fields[f"closes_{counter.id}"] = _time_field(_("Window %(number)d closes at") % number)
            self.fields[f"closed_{counter.id}"] = forms.BooleanField(
                label=_("Window %(number)d closed all day") % number, required=False
            )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        for counter in self.real.counters:
            if data.get(f"closed_{counter.id}"):
                continue
            opens = data.get(f"opens_{counter.id}") or (_local(counter.opens) if counter.opens else None)
            closes = data.get(f"closes_{counter.id}") or (_local(counter.closes) if counter.closes else None)
            if (opens is None) != (closes is None):
                self.add_error(
                    f"opens_{counter.id}" if opens is None else f"closes_{counter.id}",
                    _("Give both times to open a counter that was closed that day."),
                )
            elif opens is not None and closes is not None and opens >= closes:
                self.add_error(f"closes_{counter.id}", _("A counter closes after it opens."))
        if data.get("extra"):
            opens, closes = data.get("extra_opens"), data.get("extra_closes")
            if opens is None:
                self.add_error("extra_opens", _("Give the time the extra counters open."))
            if closes is None:
                self.add_error("extra_closes", _("Give the time the extra counters close."))
            if opens is not None and closes is not None and opens >= closes:
                self.add_error("extra_closes", _("A counter closes after it opens."))
        return data

    def changes(self) -> whatif.Changes:
        """The changes asked for: a time equal to the real one (to the minute) is no change."""
        data = self.cleaned_data
        counters = {}
        for counter in self.real.counters:
            opens, closes = data.get(f"opens_{counter.id}"), data.get(f"closes_{counter.id}")
            counters[counter.id] = whatif.CounterChange(
                closed=bool(data.get(f"closed_{counter.id}")),
                opens=None if opens is None or opens.strftime("%H:%M") == _hhmm(counter.opens) else opens,
                closes=None if closes is None or closes.strftime("%H:%M") == _hhmm(counter.closes) else closes,
            )
        return whatif.Changes(
            counters=counters,
            extra=data.get("extra") or 0,
            extra_opens=data.get("extra_opens"),
            extra_closes=data.get("extra_closes"),
        )


def _plan_form(request: HttpRequest, real: whatif.RealDay, office: Office) -> PlanForm:
    """Bound to the real times, with what the supervisor entered for this office and day
    over them (an empty time: as it really was)."""
    plan_for = f"{office.code}/{real.day.isoformat()}"
    data: dict[str, str] = {"plan_for": plan_for}
    for counter in real.counters:
        data[f"opens_{counter.id}"] = _hhmm(counter.opens)
        data[f"closes_{counter.id}"] = _hhmm(counter.closes)
    same_day = request.GET.get("plan_for") == plan_for
    for name in PlanForm.base_fields:
        if name != "plan_for" and (value := request.GET.get(name)):
            data[name] = value
    if same_day:
        for counter in real.counters:
            for name in (f"opens_{counter.id}", f"closes_{counter.id}", f"closed_{counter.id}"):
                if value := request.GET.get(name):
                    data[name] = value
    return PlanForm(data, real=real)


def _hours(hours: tuple[tuple[datetime, datetime], ...]) -> str:
    return ", ".join(f"{_hhmm(start)}–{_hhmm(end)}" for start, end in hours)


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


@dataclass(frozen=True)
class HourRow:
    hour: str
    issued: int
    real: float | None
    as_was: float | None
    changed: float | None


def _by_hour(comparison: whatif.Comparison) -> tuple[list[HourRow], dict[str, Any]]:
    """Per hour of arrival: the table's rows and the chart's data."""
    rows = [
        HourRow(
            hour=f"{hour:02d}:00",
            issued=issued,
            real=comparison.real.by_hour.get(hour),
            as_was=comparison.as_was.by_hour.get(hour),
            changed=comparison.changed.by_hour.get(hour),
        )
        for hour, issued in comparison.real.arrivals_by_hour.items()
    ]
    chart = {
        "type": "line",
        "labels": [row.hour for row in rows],
        "datasets": [
            {"label": pgettext("what if", "Real"), "data": [_rounded(row.real) for row in rows]},
            {"label": _("Replayed with the real counters"), "data": [_rounded(row.as_was) for row in rows]},
            {"label": _("Replayed with your counters"), "data": [_rounded(row.changed) for row in rows]},
        ],
    }
    return rows, chart


@supervisor_required
@require_GET
def what_if(request: HttpRequest) -> HttpResponse:
    """A past day of one of the supervisor's offices, replayed with the counters changed
    (bureau.dashboards.whatif): its waits beside the real ones, overall and per hour."""
    today = selectors.office_today()
    offices = selectors.staff_offices(request.user)
    asked = "office" in request.GET or "day" in request.GET
    day_form = DayForm(
        request.GET if asked else None,
        offices=offices,
        today=today,
        initial={"day": today - timedelta(days=1)},
    )
    context: dict[str, Any] = {"form": day_form}
    if not asked or not day_form.is_valid():
        return render(request, "dashboards/what_if.html", context, status=400 if asked else 200)
    office: Office = day_form.cleaned_data["office"]
    real = whatif.real_day(office, day_form.cleaned_data["day"])
    plan_form = _plan_form(request, real, office)
    context.update(office=office, day=real.day, real=real, plan=plan_form, form2=plan_form)
    context["counters"] = [
        CounterRow(
            counter=counter,
            services=sorted(real.service_names.get(s, str(s)) for s in counter.services),
            hours=_hours(counter.shifts),
            opens=plan_form[f"opens_{counter.id}"],
            closes=plan_form[f"closes_{counter.id}"],
            closed=plan_form[f"closed_{counter.id}"],
        )
        for counter in real.counters
    ]
    if not plan_form.is_valid():
        return render(request, "dashboards/what_if.html", context, status=400)
    comparison = whatif.compare(real, whatif.plan_with_changes(real, plan_form.changes()))
    rows, chart = _by_hour(comparison)
    context.update(comparison=comparison, hours=rows, chart=chart, figures=_figures(comparison))
    return render(request, "dashboards/what_if.html", context)


def _figures(comparison: whatif.Comparison) -> list[dict[str, Any]]:
    """The summary table's rows: the real figure, replayed as it was, replayed changed."""
    summaries: tuple[replay.Summary, ...] = (comparison.real, comparison.as_was, comparison.changed)
    named = [
        (_("Mean wait (minutes)"), "mean", True),
        (_("90th percentile of waits (minutes)"), "p90", True),
        (_("Longest wait (minutes)"), "max", True),
        (_("Tickets called"), "served", False),
        (_("Tickets never called"), "unserved", False),
    ]
    return [
        {"label": label, "minutes": minutes, "values": [getattr(summary, key) for summary in summaries]}
        for label, key, minutes in named
    ]
