"""The priority channels' rules, through their services: each ground's evidence, the
decisions and their audit, who may decide, the expedited deadline that reaches the
application, E tickets called first, the reserved places, credit codes, the green
channel's age."""

import threading
from datetime import date, timedelta
from pathlib import Path
from unittest import mock

import pytest
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from pytest_django.fixtures import SettingsWrapper

from appointments.models import BookingPolicy, Slot
from appointments.services import SlotFull, booking_cancel, slots_generate
from bureau import selectors as core
from bureau.models import Application, Counter, Office, OutboxMessage, Service
from bureau.services import Conflict, DomainError, NotAllowed, application_accept
from priority import grounds, selectors, services, uploads
from priority.models import Case, CaseEvent, Enterprise, EvidenceFile, GreenChannel
from tests.factories import OfficeFactory, clerk, nine_to_ten, staff, supervisor, walk_in_ticket
from tests.priority.conftest import ID_NUMBER, PDF, PNG, file_case
from walkins import services as walkins

pytestmark = pytest.mark.usefixtures("evidence_root")


def upload(name: str = "x.pdf", content: bytes = PDF, content_type: str = "application/pdf") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type=content_type)


def files_for(ground: str) -> dict[str, SimpleUploadedFile]:
    return {item.code: upload(f"{item.code}.pdf") for item in grounds.BY_CODE[ground].evidence}


@pytest.fixture
def desk(desk_clerk: User) -> User:
    return desk_clerk


# --- evidence -------------------------------------------------------------------------------


@pytest.mark.parametrize("ground", [g.code for g in grounds.GROUNDS])
def test_each_ground_needs_each_of_its_documents(office: Office, ground: str) -> None:
    for missing in grounds.BY_CODE[ground].evidence:
        files = files_for(ground)
        del files[missing.code]
        with pytest.raises(services.CaseInputError) as refused:
            file_case(office, ground, files=files)
        assert set(refused.value.errors) == {missing.code}
    case = file_case(office, ground)
    assert sorted(case.evidence.values_list("code", flat=True)) == sorted(e.code for e in case.required_evidence)


def test_a_document_another_ground_needs_is_refused(office: Office) -> None:
    files = {**files_for("visa_expiry"), "hospital_certificate": upload()}
    with pytest.raises(services.CaseInputError) as refused:
        file_case(office, "visa_expiry", files=files)
    assert set(refused.value.errors) == {"hospital_certificate"}


@pytest.mark.parametrize(
    ("name", "content", "content_type", "code"),
    [
        ("visa.pdf", b"just text, named like a PDF", "application/pdf", "file_type"),
        ("visa.png", b"<html><script>alert(1)</script></html>", "image/png", "file_type"),
        ("visa.pdf", b"", "application/pdf", "file_empty"),
        ("visa.pdf", b"%PDF-1.7\n garbage", "application/pdf", "file_malformed"),
    ],
)
def test_a_file_that_is_not_really_pdf_jpeg_or_png_is_refused_and_nothing_is_written(
    office: Office, settings: SettingsWrapper, name: str, content: bytes, content_type: str, code: str
) -> None:
    with pytest.raises(services.CaseInputError) as refused:
        file_case(office, "visa_expiry", files={"visa": upload(name, content, content_type)})
    assert list(refused.value.errors) == ["visa"]
    assert (Case.objects.count(), EvidenceFile.objects.count(), OutboxMessage.objects.count()) == (0, 0, 0)
    assert not list(Path(settings.EVIDENCE_ROOT).glob("**/*.*"))


def test_a_png_named_pdf_is_kept_as_the_png_it_is(office: Office) -> None:
    case = file_case(office, "visa_expiry", files={"visa": upload("visa.pdf", PNG, "application/pdf")})
    assert case.evidence.get().content_type == "image/png"


def test_an_oversized_file_is_refused_before_anything_is_written(office: Office, settings: SettingsWrapper) -> None:
    settings.EVIDENCE_MAX_BYTES = 100
    with pytest.raises(DomainError) as refused:
        file_case(office, "visa_expiry")
    assert (refused.value.code, refused.value.field) == ("file_too_large", "visa")
    assert Case.objects.count() == 0


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"ground": "holiday"}, "ground"),
        ({"trip_date": None}, "trip_date"),
        ({"trip_date": date(2020, 1, 1)}, "trip_date"),
        ({"trip_date": date(9999, 12, 31)}, "trip_date"),
        ({"description": " "}, "description"),
        ({"description": "x" * 1001}, "description"),
        ({"description": "病危\u202e"}, "description"),
        ({"name": "王\x00晶"}, "name"),
        ({"id_number": "330106900101123"}, "id_number"),
        ({"phone": "12345"}, "phone"),
    ],
)
def test_bad_case_fields_are_each_named_and_nothing_is_written(office: Office, change: dict, field: str) -> None:
    with pytest.raises(services.CaseInputError) as refused:
        file_case(office, **change)
    assert field in refused.value.errors
    assert Case.objects.count() == 0


# --- decisions and their audit ----------------------------------------------------------------


def test_every_decision_is_audited_and_the_applicant_told(office: Office, desk) -> None:
    case = file_case(office, "visa_expiry")
    services.case_decide(case=case, decision="more", reason="签证页不清晰", by=desk)
    services.case_add_evidence(case=case, files={"visa": upload("visa2.pdf")})
    services.case_decide(case=case, decision="reject", reason="签证仍有三个月有效期", by=desk)
    events = list(CaseEvent.objects.filter(case=case).values_list("action", "status", "by", "reason"))
    assert events == [
        ("filed", "submitted", None, ""),
        ("more_requested", "more_requested", desk.pk, "签证页不清晰"),
        ("evidence_added", "submitted", None, ""),
        ("rejected", "rejected", desk.pk, "签证仍有三个月有效期"),
    ]
    assert all(event.at is not None for event in CaseEvent.objects.filter(case=case))
    texts = list(OutboxMessage.objects.filter(reference=case.reference).order_by("pk").values_list("text", flat=True))
    assert len(texts) == 3 and "签证仍有三个月有效期" in texts[-1]  # filed, more, rejected
    case.refresh_from_db()
    assert (case.status, case.reason, case.evidence.count()) == ("rejected", "签证仍有三个月有效期", 2)
    with pytest.raises(Conflict):
        services.case_decide(case=case, decision="approve", reason="", by=desk)


@pytest.mark.parametrize("decision", ["reject", "more"])
def test_a_refusal_or_a_request_needs_a_reason(office: Office, desk, decision: str) -> None:
    case = file_case(office)
    with pytest.raises(services.CaseInputError) as refused:
        services.case_decide(case=case, decision=decision, reason=" ", by=desk)
    assert list(refused.value.errors) == ["reason"]
    assert CaseEvent.objects.filter(case=case).count() == 1


def test_other_urgent_matters_need_a_second_person_a_supervisor(office: Office, desk) -> None:
    case = file_case(office, "other")
    services.case_decide(case=case, decision="approve", reason="", by=desk)
    case.refresh_from_db()
    assert case.status == "awaiting_supervisor"
    assert OutboxMessage.objects.filter(reference=case.reference).count() == 1  # only "received"
    with pytest.raises(NotAllowed):  # a clerk cannot finish it
        services.case_decide(case=case, decision="approve", reason="", by=clerk(office, username="clerk-2"))
    boss = supervisor(office, username="boss")
    services.case_decide(case=case, decision="approve", reason="", by=boss)
    case.refresh_from_db()
    assert (case.status, case.expedited) == ("approved", True)
    assert list(case.events.values_list("action", "by")) == [
        ("filed", None),
        ("approved", desk.pk),
        ("supervisor_approved", boss.pk),
    ]


def test_a_supervisor_who_approved_as_first_person_cannot_approve_again(office: Office) -> None:
    boss = supervisor(office, username="boss")
    case = file_case(office, "other")
    services.case_decide(case=case, decision="approve", reason="", by=boss)
    with pytest.raises(NotAllowed):
        services.case_decide(case=case, decision="approve", reason="", by=boss)
    services.case_decide(case=case, decision="reject", reason="不符合条件", by=boss)  # refusing is fine
    case.refresh_from_db()
    assert case.status == "rejected"


def test_staff_of_another_office_or_a_kiosk_cannot_decide(office: Office) -> None:
    case = file_case(office)
    other = OfficeFactory.create(code="SC")
    for outsider in (clerk(other, username="other-clerk"), staff("kiosk", office, username="kiosk-xh")):
        with pytest.raises(NotAllowed):
            services.case_decide(case=case, decision="approve", reason="", by=outsider)
    assert case.events.count() == 1


# --- approved: the E ticket, the deadline, the reserved place ----------------------------------


def test_an_approved_case_s_ticket_is_called_first_and_its_application_expedited(
    office: Office, passport: Service, counter: Counter, desk, django_capture_on_commit_callbacks
) -> None:
    earlier = [walk_in_ticket(office=office, service=passport, channel="general", by=desk) for _ in range(3)]
    case = file_case(office, "critical_illness")
    services.case_decide(case=case, decision="approve", reason="", by=desk)
    ticket = services.case_issue_ticket(case=case, service=passport, by=desk)
    assert ticket.number == "E001" and ticket.issued_at > earlier[-1].issued_at
    with pytest.raises(Conflict):  # served once
        services.case_issue_ticket(case=case, service=passport, by=desk)
    walkins.counter_open(counter=counter, by=desk)
    assert walkins.ticket_call_next(counter=counter, by=desk) == ticket
    with django_capture_on_commit_callbacks(execute=True):
        application = application_accept(
            office=office,
            service=passport,
            applicant_name="王小晶",
            id_number=ID_NUMBER,
            expedited=False,
            by=desk,
            arrival={"ticket": str(ticket.pk)},
        )
    application.refresh_from_db()
    today = core.office_today()
    expedited = core.deadline_preview(accepted_on=today, residency="in_province", expedited=True).due_on
    ordinary = core.deadline_preview(accepted_on=today, residency="in_province", expedited=False).due_on
    assert (application.expedited, application.due_on) == (True, expedited)
    assert expedited < ordinary
    assert list(case.events.values_list("action", flat=True)) == ["filed", "approved", "ticket_issued"]


def test_an_application_for_an_ordinary_ticket_is_not_expedited(
    office: Office, passport: Service, counter: Counter, desk
) -> None:
    rejected = file_case(office)
    services.case_decide(case=rejected, decision="reject", reason="材料不符", by=desk)
    ticket = walk_in_ticket(office=office, service=passport, channel="general", by=desk)
    walkins.counter_open(counter=counter, by=desk)
    walkins.ticket_call_next(counter=counter, by=desk)
    application = application_accept(
        office=office,
        service=passport,
        applicant_name="王小晶",
        id_number=ID_NUMBER,
        expedited=False,
        by=desk,
        arrival={"ticket": str(ticket.pk)},
    )
    assert Application.objects.get(pk=application.pk).expedited is False


def test_a_case_that_is_not_approved_gets_no_ticket_or_place(office: Office, passport: Service, desk) -> None:
    case = file_case(office)
    with pytest.raises(Conflict):
        services.case_issue_ticket(case=case, service=passport, by=desk)
    assert case.events.count() == 1


def test_an_approved_case_books_a_reserved_emergency_place_once(office: Office, passport: Service, desk) -> None:
    nine_to_ten(office, passport, emergency_quota=1)
    BookingPolicy.objects.get_or_create(pk=1)
    slots_generate(today=core.office_today())
    slot = Slot.objects.filter(office=office).order_by("starts_at").first()
    assert slot is not None
    first, second = file_case(office), file_case(office, id_number="11010519491231002X")
    for case in (first, second):
        services.case_decide(case=case, decision="approve", reason="", by=desk)
    booking = services.case_book_place(case=first, service=passport, start=slot.starts_at, by=desk)
    assert (booking.channel, booking.booked_by, booking.id_number) == ("emergency", desk, ID_NUMBER)
    with pytest.raises(SlotFull):  # the reserve of that slot is used up
        services.case_book_place(case=second, service=passport, start=slot.starts_at, by=desk)
    slot.refresh_from_db()
    assert (slot.emergency_booked, slot.general_booked) == (1, 0)
    second.refresh_from_db()
    assert second.booking is None and list(second.events.values_list("action", flat=True)) == ["filed", "approved"]


# --- enterprises ----------------------------------------------------------------------------------

CONTACT = {"name": "李四", "id_number": ID_NUMBER, "phone": "13812345678"}


@pytest.mark.parametrize(
    "code",
    [
        "91110000600037341X",  # wrong check character
        "9111000060003734",  # too short
        "91110000600037341LL",  # too long
        "9111000060003734IL",  # I is not in the alphabet
        "",
    ],
)
def test_an_invalid_credit_code_is_refused(office: Office, code: str) -> None:
    with pytest.raises(services.CaseInputError) as refused:
        services.enterprise_register(office=office, name="杭州某某贸易有限公司", credit_code=code, contacts=[CONTACT])
    assert list(refused.value.errors) == ["credit_code"]
    assert Enterprise.objects.count() == 0


@pytest.mark.parametrize("typed", [" 91110000600037341l ", "9111 0000 6000 3734 1L", "９１110000600037341Ｌ"])
def test_a_credit_code_is_registered_once_in_canonical_form(office: Office, typed: str) -> None:
    enterprise = services.enterprise_register(
        office=office, name="杭州某某贸易有限公司", credit_code=typed, contacts=[CONTACT]
    )
    assert enterprise.credit_code == "91110000600037341L"
    with pytest.raises(Conflict):
        services.enterprise_register(office=office, name="另一家", credit_code="91110000600037341L", contacts=[CONTACT])


def test_an_approved_enterprise_s_request_is_a_case_its_office_decides(
    office: Office, passport: Service, counter: Counter, desk
) -> None:
    enterprise = services.enterprise_register(
        office=office, name="杭州某某贸易有限公司", credit_code="91110000600037341L", contacts=[CONTACT]
    )
    with pytest.raises(NotAllowed):  # a clerk does not approve registrations
        services.enterprise_decide(enterprise=enterprise, approve=True, reason="", by=desk)
    services.enterprise_decide(enterprise=enterprise, approve=True, reason="", by=supervisor(office, username="b"))
    assert "/enterprise/" in OutboxMessage.objects.get(kind="enterprise").text
    case = services.enterprise_request_file(
        enterprise=enterprise,
        contact_id=enterprise.contacts.get().pk,
        destination="德国 汉堡",
        trip_date=core.office_today() + timedelta(days=10),
        return_date=core.office_today() + timedelta(days=20),
        purpose="参加汉堡国际展会",
        files={"invitation_letter": upload()},
    )
    assert (case.kind, case.id_number, case.office) == ("enterprise", ID_NUMBER, office)
    services.case_decide(case=case, decision="approve", reason="", by=desk, expedited=False)
    case.refresh_from_db()
    assert (case.status, case.expedited) == ("approved", False)
    assert services.case_issue_ticket(case=case, service=passport, by=desk).number == "Q001"


# --- the green channel -----------------------------------------------------------------------------


def _born_years_ago(years: int, *, day_after: bool = False) -> str:
    """An ID number of someone who turns `years` today (or tomorrow)."""
    from stdnum.cn import ric

    today = core.office_today()
    born = today.replace(year=today.year - years) + timedelta(days=1 if day_after else 0)
    body = f"330106{born:%Y%m%d}123"
    return body + ric.calc_check_digit(body + "0")  # it reads the first 17 of 18


def test_the_green_channel_starts_on_the_birthday_of_the_office_s_age(
    office: Office, passport: Service, counter: Counter, desk
) -> None:
    with pytest.raises(DomainError) as refused:
        services.green_ticket_issue(
            office=office, service=passport, id_number=_born_years_ago(60, day_after=True), by=desk
        )
    assert (refused.value.code, refused.value.field) == ("too_young", "id_number")
    ticket = services.green_ticket_issue(office=office, service=passport, id_number=_born_years_ago(60), by=desk)
    assert ticket.number == "G001"
    GreenChannel.objects.create(office=office, min_age=65)
    with pytest.raises(DomainError):
        services.green_ticket_issue(office=office, service=passport, id_number=_born_years_ago(64), by=desk)


def test_a_bad_id_number_gets_no_green_ticket(office: Office, passport: Service, counter: Counter, desk) -> None:
    with pytest.raises(DomainError) as refused:
        services.green_ticket_issue(office=office, service=passport, id_number="330106195001011234", by=desk)
    assert refused.value.field == "id_number"


# --- what an attacker tried (the review of this issue) -------------------------------------------


def test_only_the_case_s_own_applicant_is_expedited_at_its_ticket(
    office: Office, passport: Service, counter: Counter, desk
) -> None:
    case = file_case(office)
    services.case_decide(case=case, decision="approve", reason="", by=desk)
    ticket = services.case_issue_ticket(case=case, service=passport, by=desk)
    walkins.counter_open(counter=counter, by=desk)
    walkins.ticket_call_next(counter=counter, by=desk)

    def accept(id_number: str) -> Application:
        application = application_accept(
            office=office,
            service=passport,
            applicant_name="王小晶",
            id_number=id_number,
            expedited=False,
            by=desk,
            arrival={"ticket": str(ticket.pk)},
        )
        return Application.objects.get(pk=application.pk)

    assert accept("11010519491231002X").expedited is False  # someone else at the same visit
    assert accept(ID_NUMBER).expedited is True


def test_a_clerk_cannot_approve_a_case_they_filed(office: Office, desk) -> None:
    case = file_case(office, by=desk)
    with pytest.raises(NotAllowed):
        services.case_decide(case=case, decision="approve", reason="", by=desk)
    services.case_decide(case=case, decision="approve", reason="", by=clerk(office, username="clerk-2"))
    case.refresh_from_db()
    assert case.status == "approved"


def test_one_mobile_number_files_at_most_three_cases_a_day_online(office: Office, desk) -> None:
    for _ in range(services.CASES_PER_PHONE):
        file_case(office)
    with pytest.raises(NotAllowed) as refused:
        file_case(office)
    assert refused.value.code == "phone_allowance"
    file_case(office, by=desk)  # at the counter, a clerk files it all the same
    assert Case.objects.count() == services.CASES_PER_PHONE + 1
    assert OutboxMessage.objects.count() == services.CASES_PER_PHONE + 1


def test_a_failed_filing_leaves_no_document_on_disk(office: Office, settings: SettingsWrapper) -> None:
    with (
        mock.patch.object(services, "_notify_case", side_effect=RuntimeError("outbox down")),
        pytest.raises(RuntimeError),
    ):
        file_case(office, "funeral_wedding")
    assert Case.objects.count() == 0
    assert not [path for path in Path(settings.EVIDENCE_ROOT).glob("**/*") if path.is_file()]


def test_a_cancelled_reserved_place_lets_the_case_be_served_again(office: Office, passport: Service, desk) -> None:
    nine_to_ten(office, passport, emergency_quota=1)
    BookingPolicy.objects.get_or_create(pk=1, defaults={"hold_minutes": 0})
    slots_generate(today=core.office_today())
    slot = Slot.objects.filter(office=office).order_by("starts_at").first()
    assert slot is not None
    case = file_case(office)
    services.case_decide(case=case, decision="approve", reason="", by=desk)
    booking = services.case_book_place(case=case, service=passport, start=slot.starts_at, by=desk)
    case.refresh_from_db()
    assert not selectors.case_awaits_service(case) and case not in selectors.cases_at_desk(office)
    booking_cancel(booking=booking)
    case.refresh_from_db()
    assert selectors.case_awaits_service(case) and case in selectors.cases_at_desk(office)  # the desk offers it
    Counter.objects.create(office=office, number=1).services.set([passport])
    assert services.case_issue_ticket(case=case, service=passport, by=desk).number == "E001"
    assert list(case.events.values_list("action", "reason")) == [
        ("filed", ""),
        ("approved", ""),
        ("booked", booking.reference),
        ("ticket_issued", "E001"),
    ]


def test_line_breaks_in_a_description_are_spaces(office: Office) -> None:
    case = file_case(office, description="母亲在悉尼\r\n病危\n需尽快出发")
    assert case.description == "母亲在悉尼 病危 需尽快出发"


def test_documents_wait_their_turn_and_a_busy_check_saves_nothing(
    office: Office, settings: SettingsWrapper, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A burst of uploads cannot run more checks at once than the process allows; one that
    finds no place within the time limit is told to send again (not that its file is
    damaged), and nothing is written."""
    places = threading.BoundedSemaphore(1)
    monkeypatch.setattr(uploads, "_CHECKS", places)
    settings.EVIDENCE_CHECK_WAIT_SECONDS = 0.3
    places.acquire()
    try:
        with pytest.raises(uploads.ChecksBusy):
            file_case(office, "visa_expiry")
    finally:
        places.release()
    assert (Case.objects.count(), OutboxMessage.objects.count()) == (0, 0)
    assert file_case(office, "visa_expiry").evidence.count() == 1
