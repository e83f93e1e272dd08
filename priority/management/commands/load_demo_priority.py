"""Demo priority channels (after load_demo and load_demo_bookings): emergency cases at the
municipal bureau waiting for a clerk, for a supervisor, approved and rejected; enterprises
registered and awaiting approval with a request; a student session over the booking window
at two offices. Everything goes through the real services (the documents are real, small
PDFs). Idempotent: a second run finds the demo enterprises and cases and adds nothing.
Never for production."""

import io
import random
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management.base import BaseCommand, CommandError
from django.utils import translation
from pypdf import PdfWriter
from stdnum.cn import uscc

from appointments.selectors import bookable_range
from bureau import selectors as core
from bureau.management.commands.load_demo import demo_clerk_username, demo_person, demo_phone
from bureau.models import Office
from priority import grounds, services
from priority.models import Case, Enterprise, StudentSession

HOME = "HZ"
STUDENT_OFFICES = ("HZ", "SC")
STUDENT_SESSION = "学生专场（演示）"
# The stems of two made-up credit codes (the check character is computed).
ENTERPRISES = (
    ("91330100MA2H7Y8K1", "杭州示例进出口有限公司", True),
    ("91330106MA2H7Y8K2", "浙江演示科技股份有限公司", False),
)
CASES = (  # ground, description, decisions in order (decision, reason, by: clerk or supervisor)
    ("critical_illness", "父亲在温哥华住院，医院已下病危通知，需尽快前往探望（演示）。", ()),
    ("visa_expiry", "赴日签证下周到期，护照即将用完签证页，需换发护照后入境（演示）。", ()),
    ("other", "作为志愿者随救援队赴海外灾区，出发时间已定（演示）。", (("approve", "", "clerk"),)),
    ("funeral_wedding", "祖母在新加坡去世，需出境奔丧（演示）。", (("approve", "", "clerk"),)),
    (
        "study_start",
        "英国大学开学，需要新护照（演示）。",
        (("reject", "录取通知书上的报到日期在三个月后，不属于急事急办。", "clerk"),),
    ),
)


def demo_pdf(name: str) -> SimpleUploadedFile:
    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)  # A4
    writer.add_metadata({"/Title": f"Demo document: {name}"})
    out = io.BytesIO()
    writer.write(out)
    return SimpleUploadedFile(f"{name}.pdf", out.getvalue(), content_type="application/pdf")


class Command(BaseCommand):
    help = "Load demo emergency cases, enterprises and a student session. Idempotent; never in production."

    def handle(self, *args: object, **options: object) -> None:
        if settings.PRODUCTION:
            raise CommandError("Demo data is never loaded in production.")
        office = Office.objects.filter(code=HOME).first()
        if office is None:
            raise CommandError("Run load_demo first.")
        clerk = User.objects.get(username=demo_clerk_username(HOME, 1))
        supervisor = User.objects.get(username="demo-supervisor")
        rng = random.Random("demo-priority")  # noqa: S311 - demo data
        with translation.override(settings.LANGUAGE_CODE):  # the applicants' language and SMS
            made = self._enterprises(office, supervisor, rng) + self._cases(office, clerk, supervisor, rng)
            made += self._student_session(supervisor)
        self.stdout.write(f"Demo priority channels: {made} added.")

    def _enterprises(self, office: Office, supervisor: User, rng: random.Random) -> int:
        added = 0
        for stem, name, approved in ENTERPRISES:
            code = stem + uscc.calc_check_digit(stem)
            if Enterprise.objects.filter(credit_code=code).exists():
                continue
            contacts = []
            for _ in range(2):
                person, number = demo_person(rng)
                contacts.append({"name": person, "id_number": number, "phone": demo_phone(rng)})
            enterprise = services.enterprise_register(office=office, name=name, credit_code=code, contacts=contacts)
            added += 1
            if approved:
                services.enterprise_decide(enterprise=enterprise, approve=True, reason="", by=supervisor)
                services.enterprise_request_file(
                    enterprise=enterprise,
                    contact_id=enterprise.contacts.values_list("pk", flat=True).first(),
                    destination="德国 汉诺威",
                    trip_date=core.office_today() + timedelta(days=6),
                    return_date=core.office_today() + timedelta(days=13),
                    purpose="参加汉诺威工业博览会并签订供货合同（演示）",
                    files={"invitation_letter": demo_pdf("invitation_letter")},
                )
        return added

    def _cases(self, office: Office, clerk: User, supervisor: User, rng: random.Random) -> int:
        if Case.objects.filter(office=office, kind=Case.Kind.EMERGENCY).exists():
            return 0
        for ground, description, decisions in CASES:
            name, number = demo_person(rng)
            case = services.case_file(
                office=office,
                ground=ground,
                trip_date=core.office_today() + timedelta(days=rng.randrange(2, 9)),
                description=description,
                name=name,
                id_number=number,
                phone=demo_phone(rng),
                files={item.code: demo_pdf(item.code) for item in grounds.BY_CODE[ground].evidence},
            )
            for decision, reason, who in decisions:
                by = clerk if who == "clerk" else supervisor
                services.case_decide(case=case, decision=decision, reason=reason, by=by)
        return len(CASES)

    def _student_session(self, supervisor: User) -> int:
        if StudentSession.objects.filter(name=STUDENT_SESSION).exists():
            return 0
        first, last = bookable_range()
        services.student_session_open(
            name=STUDENT_SESSION,
            first_day=first,
            last_day=last,
            offices=list(Office.objects.filter(code__in=STUDENT_OFFICES)),
            places=2,
            by=supervisor,
        )
        return 1
