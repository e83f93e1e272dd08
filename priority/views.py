"""Placeholder: being written."""

from django.http import Http404, HttpRequest, HttpResponse


def _todo(request: HttpRequest, **kwargs: str) -> HttpResponse:
    raise Http404


desk = _todo

case_new_at_counter = _todo

case_detail = _todo

evidence_file = _todo

enterprise_detail = _todo
