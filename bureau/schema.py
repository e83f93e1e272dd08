"""The OpenAPI schema documents every error an endpoint answers, in the error shape.

Most are known from the view itself: 400 when it reads a body or query parameters, 401 and
403 when it needs a signed-in caller, 404 when its path names something. What only the
domain knows (a full slot, a blocked applicant, a rate limit) a view declares in
`domain_errors`, by method."""

from typing import Any

from drf_spectacular import openapi
from rest_framework import serializers
from rest_framework.permissions import AllowAny


class ErrorSerializer(serializers.Serializer[None]):
    code = serializers.CharField(help_text="A stable code: invalid, not_found, slot_full, throttled, ...")
    detail = serializers.CharField(help_text="What went wrong, in the caller's language.")
    # Named as the answer names it; DRF takes declared fields off the class, so the
    # serializer's own `fields` property is untouched.
    fields = serializers.DictField(  # type: ignore[assignment]
        child=serializers.ListField(child=serializers.CharField()),
        help_text="A message list per field at fault (empty when none is).",
    )


class AutoSchema(openapi.AutoSchema):
    def _error_statuses(self) -> set[int]:
        statuses = set(getattr(self.view, "domain_errors", {}).get(self.method, ()))
        if self.method in {"POST", "PUT", "PATCH"}:
            statuses.add(400)
        if any(parameter.get("in") == "query" for parameter in self._get_parameters()):
            statuses.add(400)
        if any(not issubclass(permission, AllowAny) for permission in self.view.permission_classes):
            statuses |= {401, 403}
        if "{" in self.path:
            statuses.add(404)
        return statuses

    def _get_response_bodies(self, direction: Any = "response") -> dict[str, Any]:
        responses: dict[str, Any] = super()._get_response_bodies(direction)
        for status in map(str, sorted(self._error_statuses())):
            responses.setdefault(status, self._get_response_for_code(ErrorSerializer, status, None, direction))
        return responses
