"""The emergency case pages (priority/public_views.py): filing a case with its documents
(public and at the counter), and the applicant's page of the case through its private link."""

import html
import re
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import translation
from pytest_django.fixtures import SettingsWrapper

from bureau.models import Counter, Office, OutboxMessage, Service
from bureau.redaction import redact
from priority import grounds, selectors, services
from priority.models import Case, CaseEvent, EvidenceFile
from tests.priority.conftest import ID_NUMBER, PDF, PHONE, pdf, png, trip_day
from walkins import services as walkins

# Every test stores its evidence under its own tmp_path.
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("evidence_root")]

EN = {"accept-language": "en"}
FUNERAL_FILES = ("event_notice", "kinship_proof")


def field_errors(page: str, field: str) -> list[str]:
    """The messages the page shows under a field (templates/includes/field.html)."""
    block = re.search(rf'id="id_{field}_error">(.*?)</div>', page, re.S)
    return [html.unescape(m) for m in re.findall(r'<p class="error">(.*?)</p>', block.group(1), re.S)] if block else []


def stored_files(root: Path) -> list[Path]:
    return [path for path in root.rglob("*") if path.is_file()] if root.exists() else []


def case_form(office: Office, /, **change: object) -> dict[str, object]:
    """A funeral-abroad case with both of its documents (a PDF and a phone photo)."""
    return {
        "office": str(office.pk),
        "ground": "funeral_wedding",
        "trip_date": trip_day(),
        "description": "父亲在加拿大去世，需尽快赴加奔丧",
        "name": "王小晶",
        "id_number": ID_NUMBER,
        "phone": PHONE,
        "event_notice": pdf("death-notice.pdf"),
        "kinship_proof": png("hukou.png"),
        **change,
    }


# --- the form --------------------------------------------------------------------------------


def test_case_new_lists_every_ground_with_its_documents(office: Office) -> None:
    page = Client().get("/emergency/", headers=EN).content.decode()
    for ground in grounds.GROUNDS:
        with translation.override("en"):
            assert html.escape(str(ground.name)) in page
            for item in ground.evidence:
                assert html.escape(str(item.name)) in page
    assert 'type="file"' not in page  # the ground comes first
    assert 'name="ground" value="funeral_wedding"' in page


def test_case_new_with_a_ground_asks_for_its_documents_only(office: Office, settings: SettingsWrapper) -> None:
    settings.EVIDENCE_MAX_BYTES = 5 * 1024 * 1024
    page = Client().get("/emergency/?ground=funeral_wedding", headers=EN).content.decode()
    inputs = re.findall(r'<input type="file" name="(\w+)"[^>]*accept="application/pdf,image/jpeg,image/png"', page)
    assert inputs == list(FUNERAL_FILES)
    assert 'enctype="multipart/form-data"' in page
    assert "at most 5.0\xa0MB each" in html.unescape(page)
    assert 'name="office"' in page


def test_case_new_in_chinese_by_default(office: Office) -> None:
    page = Client().get("/emergency/").content.decode()
    assert '<html lang="zh-hans">' in page


def test_case_filed_with_every_document_goes_to_its_page(office: Office, evidence_root: Path) -> None:
    response = Client().post("/emergency/", case_form(office))
    assert response.status_code == 302
    case = Case.objects.get()
    token = selectors.case_token(case)
    assert response["Location"] == f"/emergency/{case.reference}/{token}/?new=1"
    assert (case.office, case.ground, case.name, case.status) == (office, "funeral_wedding", "王小晶", "submitted")
    assert case.filed_by is None
    files = list(EvidenceFile.objects.filter(case=case).order_by("code"))
    assert [(f.code, f.content_type, f.original_name) for f in files] == [
        ("event_notice", "application/pdf", "death-notice.pdf"),
        ("kinship_proof", "image/png", "hukou.png"),
    ]
    assert sorted(path.name for path in stored_files(evidence_root)) == sorted(f.stored_name for f in files)
    event = CaseEvent.objects.get(case=case)
    assert (event.action, event.status, event.by) == ("filed", "submitted", None)
    sms = OutboxMessage.objects.get(reference=case.reference)
    assert (sms.kind, sms.phone) == ("case", PHONE)
    assert f"/emergency/{case.reference}/{token}/" in sms.text


@pytest.mark.parametrize(
    ("field", "upload", "message"),
    [
        ("kinship_proof", None, "Upload this document: Proof of kinship"),
        ("event_notice", SimpleUploadedFile("x.pdf", b"not a pdf at all", "application/pdf"), "is not a PDF"),
        ("event_notice", SimpleUploadedFile("x.pdf", b"", "application/pdf"), "is empty"),
    ],
    ids=["missing", "forged", "empty"],
)
def test_case_refused_file_is_400_naming_the_field_and_nothing_is_written(
    office: Office, evidence_root: Path, field: str, upload: SimpleUploadedFile | None, message: str
) -> None:
    form = case_form(office)
    if upload is None:
        del form[field]
    else:
        form[field] = upload
    response = Client().post("/emergency/", form, headers=EN)
    assert response.status_code == 400
    errors = field_errors(response.content.decode(), field)
    assert len(errors) == 1
    assert message in errors[0]
    assert (Case.objects.count(), EvidenceFile.objects.count(), CaseEvent.objects.count()) == (0, 0, 0)
    assert OutboxMessage.objects.count() == 0
    assert stored_files(evidence_root) == []


def test_case_oversized_file_is_413_on_its_field(
    office: Office, evidence_root: Path, settings: SettingsWrapper
) -> None:
    settings.EVIDENCE_MAX_BYTES = len(PDF) - 1
    response = Client().post("/emergency/", case_form(office), headers=EN)
    assert response.status_code == 413
    assert field_errors(response.content.decode(), "event_notice") == [
        f"The file for Death notice or wedding invitation is larger than {len(PDF) - 1}\xa0bytes."
    ]
    assert Case.objects.count() == 0
    assert stored_files(evidence_root) == []


# The UTF-8 bytes of a lone surrogate, as a broken encoder sends them (Django decodes them as
# U+FFFD). A one-item list: the test client would send each byte of a bare bytes value apart.
LONE_SURROGATE = [b"\xed\xa0\x80"]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("description", ""),
        ("description", "急" * 1001),
        ("description", "父亲\x00去世"),
        ("description", "父亲\u202e去世"),
        ("description", LONE_SURROGATE),
        ("name", ""),
        ("name", "王" * 61),
        ("name", "王\x00晶"),
        ("name", "王\u202e晶"),
        ("name", LONE_SURROGATE),
        ("phone", "138\x001234567"),
        ("phone", "1" * 21),
        ("id_number", "\u202e33010619900101123X"),
        ("id_number", LONE_SURROGATE),
        ("trip_date", "9999-12-31"),
        ("trip_date", "2020-01-01"),
        ("trip_date", LONE_SURROGATE),
        ("office", "-1"),
    ],
)
def test_case_bad_value_is_400_with_the_fields_error(
    office: Office, evidence_root: Path, field: str, value: str | list[bytes]
) -> None:
    response = Client().post("/emergency/", case_form(office, **{field: value}))
    assert response.status_code == 400
    assert field_errors(response.content.decode(), field), field
    assert Case.objects.count() == 0
    assert stored_files(evidence_root) == []


def test_case_form_names_every_bad_field_at_once(office: Office) -> None:
    response = Client().post("/emergency/", case_form(office, trip_date="", phone="123"), headers=EN)
    page = response.content.decode()
    assert response.status_code == 400
    assert field_errors(page, "trip_date") and field_errors(page, "phone")
    assert Case.objects.count() == 0


def test_one_mobile_number_files_three_cases_a_day(office: Office) -> None:
    for _ in range(3):
        assert Client().post("/emergency/", case_form(office)).status_code == 302
    refused = Client().post("/emergency/", case_form(office), headers=EN)
    assert refused.status_code == 403
    assert "At most 3 cases a day can be filed with one mobile number" in refused.content.decode()
    assert Case.objects.count() == 3


def test_case_unknown_ground_is_400_on_the_ground(office: Office) -> None:
    response = Client().post("/emergency/", case_form(office, ground="vip"))
    assert response.status_code == 400
    assert field_errors(response.content.decode(), "ground")
    assert Case.objects.count() == 0


def test_case_filing_is_rate_limited_per_address(office: Office, settings: SettingsWrapper) -> None:
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "case-address": "2/minute"}
    client = Client()
    assert [client.post("/emergency/", {"ground": "other"}).status_code for _ in range(2)] == [400, 400]
    refused = client.post("/emergency/", case_form(office))
    assert refused.status_code == 429
    assert int(refused["Retry-After"]) > 0
    assert Case.objects.count() == 0


# --- the applicant's page ----------------------------------------------------------------------


def page_of(case: Case) -> str:
    return reverse("case-page", args=[case.reference, selectors.case_token(case)])


def test_case_page_is_private_and_never_cached(case: Case) -> None:
    response = Client().get(page_of(case))
    assert response.status_code == 200
    assert response["Referrer-Policy"] == "strict-origin"
    assert "no-store" in response["Cache-Control"]
    assert case.name not in response.content.decode()  # nothing personal beyond what is needed
    assert ID_NUMBER not in response.content.decode()


def test_case_page_wrong_token_is_404(case: Case) -> None:
    wrong = "0" * 32
    response = Client().get(reverse("case-page", args=[case.reference, wrong]), headers=EN)
    assert response.status_code == 404
    assert "No case matches this link." in response.content.decode()
    assert response["Referrer-Policy"] == "strict-origin"


def test_case_page_lists_the_documents_by_name_without_links(case: Case) -> None:
    page = Client().get(page_of(case), headers=EN).content.decode()
    assert "Visa or entry permit" in page
    assert "visa.pdf" in page
    assert "/files/" not in page


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_case_page_shows_the_status_and_the_reason(case: Case, desk_clerk: User, language: str) -> None:
    services.case_decide(case=case, decision="reject", reason="签证有效期还有半年", by=desk_clerk)
    page = Client().get(page_of(case), headers={"accept-language": language}).content.decode()
    with translation.override(language):
        status = str(Case.Status.REJECTED.label)
        ordinary = translation.gettext(
            "You can still apply as an ordinary case: book an appointment or come as a walk-in."
        )
    assert f'<html lang="{language}">' in page
    assert html.escape(status) in page
    assert "签证有效期还有半年" in page
    assert html.escape(ordinary) in page
    assert 'type="file"' not in page  # decided: no more documents


def test_case_page_asks_for_more_and_takes_them(case: Case, desk_clerk: User, evidence_root: Path) -> None:
    services.case_decide(case=case, decision="more", reason="请上传签证首页", by=desk_clerk)
    client = Client()
    page = client.get(page_of(case), headers=EN).content.decode()
    assert "More documents are needed:" in page
    assert "请上传签证首页" in page
    assert 'name="visa"' in page
    response = client.post(page_of(case), {"visa": png("visa-page.png")})
    assert response.status_code == 302
    assert response["Location"] == page_of(case)
    case.refresh_from_db()
    assert case.status == "submitted"
    assert case.evidence.count() == 2
    assert list(case.events.values_list("action", "by")) == [
        ("filed", None),
        ("more_requested", desk_clerk.pk),
        ("evidence_added", None),
    ]


def test_case_page_added_document_forged_is_400(case: Case, evidence_root: Path) -> None:
    before = stored_files(evidence_root)
    response = Client().post(page_of(case), {"visa": SimpleUploadedFile("v.png", b"GIF89a....", "image/png")})
    assert response.status_code == 400
    assert field_errors(response.content.decode(), "visa")
    assert case.evidence.count() == 1
    assert stored_files(evidence_root) == before


def test_case_page_documents_sent_after_the_decision_are_refused(case: Case, desk_clerk: User) -> None:
    client = Client()
    client.get(page_of(case))  # the page was open with its form
    services.case_decide(case=case, decision="reject", reason="不符合条件", by=desk_clerk)
    response = client.post(page_of(case), {"visa": pdf()}, headers=EN)
    assert response.status_code == 409
    page = response.content.decode()
    assert "This case has been decided; documents can no longer be added." in page
    assert 'type="file"' not in page
    assert case.evidence.count() == 1


def test_case_page_approved_says_to_come_with_the_ticket(
    case: Case, desk_clerk: User, counter: Counter, passport: Service
) -> None:
    services.case_decide(case=case, decision="approve", reason="", by=desk_clerk)
    ticket = services.case_issue_ticket(case=case, service=passport, by=desk_clerk)
    page = Client().get(page_of(case), headers=EN).content.decode()
    assert f"with your ID card and this reference: {case.reference}" in page
    assert f"Your ticket: {ticket.number}" in page
    assert 'type="file"' not in page
    walkins.counter_open(counter=counter, by=desk_clerk)
    walkins.ticket_call_next(counter=counter, by=desk_clerk)
    walkins.ticket_complete(counter=counter, by=desk_clerk)
    served = Client().get(page_of(case), headers=EN).content.decode()
    assert f"You were served with ticket {ticket.number}." in served
    assert "with your ID card" not in served


def test_case_link_is_redacted_from_logs(case: Case) -> None:
    line = f'"GET {page_of(case)}?new=1 HTTP/1.1" 200'
    assert selectors.case_token(case) not in redact(line)
    assert case.reference in redact(line)


# --- filed at the counter ------------------------------------------------------------------


def test_counter_case_new_files_for_the_clerk(office: Office, desk_clerk: User) -> None:
    client = Client()
    client.force_login(desk_clerk)
    page = client.get(f"/counter/{office.code}/cases/new/?ground=funeral_wedding").content.decode()
    assert 'name="office"' not in page  # the clerk's own office
    assert 'name="kinship_proof"' in page
    form = case_form(office)
    del form["office"]
    response = client.post(f"/counter/{office.code}/cases/new/", form)
    assert response.status_code == 302
    case = Case.objects.get()
    assert response["Location"] == f"/counter/{office.code}/cases/{case.reference}/"
    assert case.filed_by == desk_clerk
    assert list(case.events.values_list("action", "by")) == [("filed", desk_clerk.pk)]


def test_counter_case_new_is_refused_to_another_offices_clerk(office: Office, other_clerk: User) -> None:
    client = Client()
    client.force_login(other_clerk)
    assert client.get(f"/counter/{office.code}/cases/new/").status_code == 403
    form = case_form(office)
    del form["office"]
    assert client.post(f"/counter/{office.code}/cases/new/", form).status_code == 403
    assert Case.objects.count() == 0


def test_counter_case_new_bad_file_is_400(office: Office, desk_clerk: User, evidence_root: Path) -> None:
    client = Client()
    client.force_login(desk_clerk)
    form = case_form(office, kinship_proof=SimpleUploadedFile("x.pdf", b"hello", "application/pdf"))
    del form["office"]
    response = client.post(f"/counter/{office.code}/cases/new/", form)
    assert response.status_code == 400
    assert field_errors(response.content.decode(), "kinship_proof")
    assert Case.objects.count() == 0
    assert stored_files(evidence_root) == []


def test_case_filed_with_a_file_of_another_ground_is_refused(office: Office) -> None:
    response = Client().post("/emergency/", case_form(office, visa=pdf()), headers=EN)
    assert response.status_code == 400
    assert "This document is not needed for this ground." in html.unescape(response.content.decode())
    assert Case.objects.count() == 0
