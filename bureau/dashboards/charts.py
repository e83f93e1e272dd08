"""The data of a chart, as static/js/charts.js draws it with the vendored Chart.js; the
page shows the same figures in a table, for screen readers, print and export."""

from collections.abc import Mapping, Sequence
from typing import Any

Series = Mapping[str, Sequence[float | int | None]]


def _chart(kind: str, labels: Sequence[object], series: Series, **options: Any) -> dict[str, Any]:
    return {
        "type": kind,
        "labels": [str(label) for label in labels],
        "datasets": [{"label": str(name), "data": list(values)} for name, values in series.items()],
        **options,
    }


def bars(labels: Sequence[object], series: Series, *, stacked: bool = False) -> dict[str, Any]:
    return _chart("bar", labels, series, stacked=stacked)


def lines(labels: Sequence[object], series: Series, *, percent: bool = False) -> dict[str, Any]:
    return _chart("line", labels, series, percent=percent)
