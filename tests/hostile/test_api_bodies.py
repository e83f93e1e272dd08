"""Hostile request bodies against every POST endpoint of the API, one endpoint (and one field)
at a time, generated from the OpenAPI schema (SPEC 8, 9; STYLE: parsing untrusted input
without bounds): JSON nested 100,000 levels deep, deep values, lone surrogates, control and
bidirectional characters, dates outside the years the calendar takes, values of the wrong
type, duplicate keys, huge bodies, form and multipart bodies. Each answer is a 400 in the
error shape {"code", "detail", "fields"} naming the field, in Chinese by default and in
English when asked, never a 500, and nothing is written."""

import json
import re
from typing import Any
from unittest import mock
from urllib.parse import urlencode

import pytest
from django.test import Client
from django.utils import translation

from bureau.forms import out_of_range_message
from tests.hostile.conftest import (
    ID_NUMBERS,
    NOW,
    World,
    api_client,
    error_body,
    fingerprint,
    is_chinese,
    is_english,
)
from tests.hostile.operations import (
    MOMENT,
    OPERATIONS,
    POSTS,
    VALID_BODY,
    Field,
    Operation,
    request_headers,
    schema_route,
    url_conf_operations,
)

pytestmark = pytest.mark.django_db

DEPTH = 100_000
DEEP_BODIES = {
    "array": "[" * DEPTH + "]" * DEPTH,
    "object": '{"a":' * DEPTH + "1" + "}" * DEPTH,
}
# Deep, but inside what the parser takes (Python's recursion limit is 1,000): the field is
# what refuses it.
PARSEABLE_DEPTH = 500
DEEP_VALUES = {
    "array": "[" * PARSEABLE_DEPTH + "]" * PARSEABLE_DEPTH,
    "object": '{"a":' * PARSEABLE_DEPTH + "1" + "}" * PARSEABLE_DEPTH,
}
LANGUAGES = {"zh-hans": {}, "en": {"accept-language": "en"}}


def in_language(language: str, msgid: str) -> str:
    with translation.override(language):
        return translation.gettext(msgid)


def send(operation: Operation, world: World, body: str, *, language: str = "zh-hans", **headers: str) -> Any:
    client = api_client(**request_headers(operation, world), **LANGUAGES[language], **headers)
    with mock.patch("django.utils.timezone.now", return_value=MOMENT.get(operation.id, NOW)):
        return client.generic(operation.method, operation.url(world), body, content_type="application/json")


def with_raw_value(operation: Operation, world: World, field: str, raw_json: str) -> str:
    """The operation's valid body as JSON text, with `field` holding `raw_json` as written."""
    body = {**VALID_BODY[operation.id](world), field: "@@VALUE@@"}
    return json.dumps(body, ensure_ascii=False).replace('"@@VALUE@@"', raw_json)


def field_cases(*, text_only: bool = False) -> list[Any]:
    return [
        pytest.param(op, field, id=f"{op.id} {field.name}")
        for op in POSTS
        for field in op.fields
        if field.takes_text or not text_only
    ]


def catalogue_pattern(language: str, msgid: str) -> re.Pattern[str]:
    """The message as the catalogue writes it in `language`, its %(name)s placeholders
    standing for any text."""
    template = in_language(language, msgid)
    return re.compile(re.sub(r"%\\\(\w+\\\)s", ".+", re.escape(template)))


def assert_each_names_the_field(
    operation: Operation, world: World, field: str, raw_values: list[str], *, msgid: str | None = None
) -> None:
    """Each raw JSON value in `field` (the rest of the body valid) is a 400 naming the field,
    in Chinese by default; the first is also asked in English. Nothing is written. With
    `msgid`, each message is that one, as each language's catalogue has it (whether the
    catalogue has Chinese for it is tests/hostile/test_translations.py's business); without,
    the Chinese answer is in Chinese and the English one is not."""
    before = fingerprint()
    for n, raw in enumerate(raw_values):
        body = with_raw_value(operation, world, field, raw)
        for language in ("zh-hans", "en") if n == 0 else ("zh-hans",):
            answer = error_body(send(operation, world, body, language=language), 400)
            # An object's or a list's own fields count: `student.name`, `contacts.0`.
            named = [name for name in answer["fields"] if name == field or name.startswith(f"{field}.")]
            assert named, (raw[:40], language, answer)
            messages = [message for name in named for message in answer["fields"][name]]
            if msgid is not None:
                pattern = catalogue_pattern(language, msgid)
                assert all(pattern.fullmatch(m) for m in messages), (raw[:40], language, messages, pattern.pattern)
            elif language == "en":
                assert all(is_english(m, sent=body) for m in messages), (raw[:40], messages)
            else:
                assert all(is_chinese(m, sent=body) for m in messages), (raw[:40], messages)
    assert fingerprint() == before


# --- the operations themselves ------------------------------------------------------------


def test_the_served_schema_has_the_operations_the_tests_are_generated_from(client: Client) -> None:
    response = client.get("/api/schema/?format=json")
    assert response.status_code == 200
    served = {(method.upper(), path) for path, ops in json.loads(response.content)["paths"].items() for method in ops}
    assert served == {(op.method, op.path) for op in OPERATIONS}
    assert {"POST /api/v1/bookings/", "POST /api/v1/auth/token/", "POST /api/v1/offices/{code}/check-ins/"} <= {
        op.id for op in POSTS
    }


def test_every_api_view_of_the_url_configuration_is_in_the_schema() -> None:
    in_schema = {(op.method, schema_route(op.path)) for op in OPERATIONS}
    assert url_conf_operations() == in_schema


@pytest.mark.parametrize("operation", POSTS, ids=lambda op: op.id)
def test_every_post_operation_has_a_valid_body(operation: Operation, world: World) -> None:
    """The base of every field case below: with it, no field is at fault (an answer may still
    be a domain refusal, such as a check-in on the wrong day)."""
    assert operation.id in VALID_BODY, f"{operation.id}: add a body it takes to VALID_BODY in operations.py"
    assert {f.name for f in operation.fields} <= set(VALID_BODY[operation.id](world)), "a field has no valid value"
    response = send(operation, world, json.dumps(VALID_BODY[operation.id](world)))
    assert response.status_code < 500, response.content
    if response.status_code >= 400:
        assert error_body(response, response.status_code)["fields"] == {}


# --- 1. nesting --------------------------------------------------------------------------


@pytest.mark.parametrize("operation", POSTS, ids=lambda op: op.id)
def test_json_nested_100000_levels_is_400_parse_error(operation: Operation, world: World) -> None:
    """Python's parser recurses: past its limit it raises RecursionError, not ValueError."""
    before = fingerprint()
    for shape, body in DEEP_BODIES.items():
        for language in LANGUAGES:
            answer = error_body(send(operation, world, body, language=language), 400)
            assert answer["code"] == "parse_error", shape
            assert answer["detail"] == in_language(language, "The request body is not valid JSON.")
            assert answer["fields"] == {}
    assert fingerprint() == before


SURROGATES = ['"\\ud800"', '"\\udfff"', '"王\\ud83d晶"', '"\\udc00\\ud800"']
NOT_TEXT = ["null", "[]", "{}", '["x"]', '{"x": "y"}']


@pytest.mark.parametrize(("operation", "field"), field_cases())
def test_deep_value_surrogate_or_wrong_shape_is_400_naming_the_field(
    operation: Operation, field: Field, world: World
) -> None:
    """A value nested 500 deep (parseable: the field refuses it), a lone surrogate written as
    a JSON escape in the raw body (no encoder sends one, json.loads lets it through, and
    UTF-8 cannot encode it: not into the database, not into the answer), null, an array or
    an object, in one field at a time."""
    values = [*DEEP_VALUES.values(), *(SURROGATES if field.takes_text else []), *NOT_TEXT]
    assert_each_names_the_field(operation, world, field.name, values)


@pytest.mark.parametrize(("operation", "field"), field_cases())
def test_numbers_and_booleans_never_crash_or_half_write(operation: Operation, field: Field, world: World) -> None:
    """A number where text is expected is read as its digits (DRF's CharField), so it may be
    taken; whatever the answer, it is not a 500, and a refusal writes nothing."""
    for raw in ("0", "1e308", "true", "123456789012345678901234567890"):
        before = fingerprint()
        response = send(operation, world, with_raw_value(operation, world, field.name, raw))
        assert response.status_code < 500, (raw, response.content)
        if response.status_code >= 400:
            error_body(response, response.status_code)
            assert fingerprint() == before, raw


# --- 5. control, bidirectional and invisible characters ------------------------------------

HIDDEN_CHARACTERS = "%(field)s contains control or invisible characters; please type it again."
NULL_CHARACTER = "Null characters are not allowed."  # DRF's own check comes first
HIDDEN = [
    "\x00",
    "\x07",
    "\n",
    "\t",
    "\x1b",
    "\u202e",
    "\u2066",
    "\u200f",
    "\u200b",
    "\ufeff",
    "\u2060",
    "\u2028",
    "\u2029",
    "\u3164",
    "\u034f",
    "\ufffd",  # what Django makes of a page form's bytes that are not UTF-8 (a lone surrogate)
]
# The free text a person types that is kept, shown and printed: names, school, proof, reasons, notes.
FREE_TEXT = {
    "POST /api/v1/bookings/": ("name",),
    "POST /api/v1/applications/": ("applicant_name", "override_reason"),
    "POST /api/v1/applications/{reference}/": ("note",),
    "POST /api/v1/enterprises/": ("name",),
    "POST /api/v1/student-bookings/": ("school", "proof"),
}


def free_text_cases() -> list[Any]:
    by_id = {op.id: op for op in POSTS}
    return [
        pytest.param(by_id[op_id], name, id=f"{op_id} {name}") for op_id, names in FREE_TEXT.items() for name in names
    ]


def test_free_text_fields_are_fields_of_the_schema() -> None:
    fields = {op.id: {f.name for f in op.fields} for op in POSTS}
    for op_id, names in FREE_TEXT.items():
        assert set(names) <= fields[op_id], op_id


@pytest.mark.parametrize(("operation", "field"), free_text_cases())
def test_control_or_bidi_character_in_free_text_is_400_naming_the_field(
    operation: Operation, field: str, world: World
) -> None:
    """In the middle of the text (DRF trims whitespace at the ends). NUL is refused by DRF's
    own check, the others by bureau.text."""
    assert_each_names_the_field(operation, world, field, [json.dumps("王\x00小晶")], msgid=NULL_CHARACTER)
    values = [json.dumps(f"王{char}小晶") for char in HIDDEN if char != "\x00"]
    assert_each_names_the_field(operation, world, field, values, msgid=HIDDEN_CHARACTERS)


def test_duplicate_keys_are_read_as_the_last_one(world: World) -> None:
    """What is validated is what is kept: a hidden character in the second of two `name`
    keys is refused, whatever the first said."""
    operation = next(op for op in POSTS if op.id == "POST /api/v1/bookings/")
    before = fingerprint()
    good = with_raw_value(operation, world, "name", '"李四"')
    body = good[:-1] + ', "name": "李\\u202e四"}'
    answer = error_body(send(operation, world, body, language="en"), 400)
    assert list(answer["fields"]) == ["name"]
    assert catalogue_pattern("en", HIDDEN_CHARACTERS).fullmatch(answer["fields"]["name"][0])
    assert fingerprint() == before


# --- 2. dates outside the years the calendar takes ------------------------------------------

BAD_MOMENTS = [
    "0001-01-01T00:00:00+08:00",
    "9999-12-31T23:59:59+08:00",
    "0001-01-01T00:00:00",
    "9999-12-31T23:59:59",
    "0001-01-01T00:00:00Z",
    "9999-12-31T23:59:59-12:00",
    "1999-12-31T23:59:59+08:00",
    "2100-01-01T00:00:00+08:00",
]


@pytest.mark.parametrize(
    "operation", [op for op in POSTS if "start" in {f.name for f in op.fields}], ids=lambda op: op.id
)
def test_start_outside_the_years_is_400_out_of_range(operation: Operation, world: World) -> None:
    """Year 1 or 9999 overflows on the way to UTC or to the office's zone."""
    before = fingerprint()
    for moment in BAD_MOMENTS:
        body = with_raw_value(operation, world, "start", json.dumps(moment))
        for language in LANGUAGES:
            answer = error_body(send(operation, world, body, language=language), 400)
            with translation.override(language):
                assert answer["fields"] == {"start": [out_of_range_message()]}, moment
    assert fingerprint() == before


@pytest.mark.parametrize(
    ("url", "field"),
    [
        ("/api/v1/offices/XH/availability/?service=passport-first&date={day}", "date"),
        ("/api/v1/deadlines/preview/?accepted_on={day}&residency=in_province", "accepted_on"),
    ],
)
def test_query_date_outside_the_years_is_400_out_of_range(url: str, field: str, world: World) -> None:
    for day in ("0001-01-01", "9999-12-31", "1999-12-31", "2100-01-01"):
        for language, headers in LANGUAGES.items():
            answer = error_body(api_client(**headers).get(url.format(day=day)), 400)
            with translation.override(language):
                assert answer["fields"] == {field: [out_of_range_message()]}, day


# --- bodies of the wrong kind ------------------------------------------------------------


@pytest.mark.parametrize("operation", POSTS, ids=lambda op: op.id)
def test_body_that_is_not_an_object_is_400(operation: Operation, world: World) -> None:
    """An action that takes no fields (a counter's call-next) may be sent nothing at all."""
    before = fingerprint()
    nothing = ("null", '{"": ""}', "") if operation.fields else ()
    for body in ("[]", '"text"', "42", "true", *nothing):
        error_body(send(operation, world, body), 400)
    assert fingerprint() == before


# --- huge bodies, other media types -------------------------------------------------------


@pytest.mark.parametrize("operation", POSTS, ids=lambda op: op.id)
def test_body_over_the_upload_limit_is_400_unread(operation: Operation, world: World, settings: Any) -> None:
    """Django refuses a form body over DATA_UPLOAD_MAX_MEMORY_SIZE; a JSON body is held to the
    same limit, rather than read into memory whatever its size."""
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    before = fingerprint()
    body = json.dumps({**VALID_BODY[operation.id](world), "padding": "x" * 20_000})
    for language in LANGUAGES:
        answer = error_body(send(operation, world, body, language=language), 400)
        assert answer["detail"] == in_language(language, "The request is not valid.")
    assert fingerprint() == before


@pytest.mark.parametrize(
    "operation", [op for op in POSTS if any(f.takes_text for f in op.fields)], ids=lambda op: op.id
)
def test_form_and_multipart_bodies_are_read_like_json(operation: Operation, world: World) -> None:
    """The API also takes form and multipart bodies (DRF's parsers): a hostile value in them
    is refused the same way, naming the field."""
    field = next(f.name for f in operation.fields if f.takes_text)
    body = {**VALID_BODY[operation.id](world), field: "王\x00晶"}
    headers = request_headers(operation, world)
    for content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        before = fingerprint()
        client = api_client(**headers)
        if content_type == "multipart/form-data":
            response = client.post(operation.url(world), body)
        else:
            response = client.post(operation.url(world), urlencode(body), content_type=content_type)
        answer = error_body(response, 400)
        assert field in answer["fields"], answer
        assert fingerprint() == before


@pytest.mark.parametrize("operation", POSTS, ids=lambda op: op.id)
def test_unsupported_media_type_is_415(operation: Operation, world: World) -> None:
    before = fingerprint()
    client = api_client(**request_headers(operation, world))
    body = json.dumps(VALID_BODY[operation.id](world))
    for content_type in ("text/plain", "application/xml", "", "application/json-patch+json"):
        answer = error_body(client.generic("POST", operation.url(world), body, content_type), 415)
        assert answer["code"] == "unsupported_media_type"
        assert is_chinese(answer["detail"], sent=body), answer
    assert fingerprint() == before


def test_id_numbers_used_here_are_valid() -> None:
    """The valid bodies stand on these being real numbers (check digit and all)."""
    from bureau.identity import normalize_id_number
    from tests.hostile.conftest import TODAY

    for number in ID_NUMBERS:
        assert normalize_id_number(number, today=TODAY) == number
