"""Hangzhou demo data: offices, counters, services, hours and staff. Never for production."""

from datetime import time
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from bureau.models import Counter, Office, OpeningSession, Service, StaffMember

DEMO_PASSWORD = "demo-pass"  # noqa: S105 - published demo credential, refused in production

DUAL, WALK_IN = Office.Mode.DUAL_TRACK, Office.Mode.WALK_IN_ONLY
# code, zh name, en name, mode, zh address, en address, counters
OFFICES = [
    (
        "HZ",
        "杭州市公安局出入境管理局",
        "Hangzhou Municipal Exit-Entry Administration",
        DUAL,
        "上城区解放东路8号",
        "8 Jiefang East Road, Shangcheng District",
        12,
    ),
    (
        "SC",
        "上城区出入境接待大厅",
        "Shangcheng District Exit-Entry Hall",
        DUAL,
        "上城区钱江路1号",
        "1 Qianjiang Road, Shangcheng District",
        6,
    ),
    (
        "GS",
        "拱墅区出入境接待大厅",
        "Gongshu District Exit-Entry Hall",
        DUAL,
        "拱墅区湖墅南路266号",
        "266 Hushu South Road, Gongshu District",
        6,
    ),
    (
        "XH",
        "西湖区出入境接待大厅",
        "Xihu District Exit-Entry Hall",
        DUAL,
        "西湖区文三路388号",
        "388 Wensan Road, Xihu District",
        6,
    ),
    (
        "BJ",
        "滨江区出入境接待大厅",
        "Binjiang District Exit-Entry Hall",
        DUAL,
        "滨江区江南大道3850号",
        "3850 Jiangnan Avenue, Binjiang District",
        6,
    ),
    (
        "XS",
        "萧山区出入境接待大厅",
        "Xiaoshan District Exit-Entry Hall",
        DUAL,
        "萧山区市心中路818号",
        "818 Shixin Middle Road, Xiaoshan District",
        6,
    ),
    (
        "YH",
        "余杭区出入境接待大厅",
        "Yuhang District Exit-Entry Hall",
        DUAL,
        "余杭区文一西路1500号",
        "1500 Wenyi West Road, Yuhang District",
        6,
    ),
    (
        "LP",
        "临平区出入境接待大厅",
        "Linping District Exit-Entry Hall",
        DUAL,
        "临平区南苑街道人民大道501号",
        "501 Renmin Avenue, Linping District",
        6,
    ),
    (
        "QT",
        "钱塘区出入境接待大厅",
        "Qiantang District Exit-Entry Hall",
        DUAL,
        "钱塘区文泽路501号",
        "501 Wenze Road, Qiantang District",
        6,
    ),
    (
        "FY",
        "富阳区出入境接待大厅",
        "Fuyang District Exit-Entry Hall",
        WALK_IN,
        "富阳区富春街道江滨西大道57号",
        "57 Jiangbin West Avenue, Fuyang District",
        3,
    ),
    (
        "LA",
        "临安区出入境接待大厅",
        "Lin'an District Exit-Entry Hall",
        WALK_IN,
        "临安区锦城街道钱王街398号",
        "398 Qianwang Street, Lin'an District",
        3,
    ),
    (
        "TL",
        "桐庐县出入境接待大厅",
        "Tonglu County Exit-Entry Hall",
        WALK_IN,
        "桐庐县城南街道迎春南路277号",
        "277 Yingchun South Road, Tonglu County",
        3,
    ),
    (
        "CA",
        "淳安县出入境接待大厅",
        "Chun'an County Exit-Entry Hall",
        WALK_IN,
        "淳安县千岛湖镇新安东路1号",
        "1 Xin'an East Road, Qiandaohu Town, Chun'an County",
        3,
    ),
    (
        "JD",
        "建德市出入境接待大厅",
        "Jiande City Exit-Entry Hall",
        WALK_IN,
        "建德市新安江街道江滨中路88号",
        "88 Jiangbin Middle Road, Jiande",
        3,
    ),
    (
        "WL",
        "西湖风景名胜区出入境服务点",
        "West Lake Scenic Area Exit-Entry Service Point",
        WALK_IN,
        "西湖区龙井路1号",
        "1 Longjing Road, West Lake Scenic Area",
        3,
    ),
    (
        "DJ",
        "钱塘区大江东出入境服务点",
        "Dajiangdong Exit-Entry Service Point",
        WALK_IN,
        "钱塘区河庄街道江东大道3799号",
        "3799 Jiangdong Avenue, Qiantang District",
        3,
    ),
]
WEEKDAY_SESSIONS = [(time(9), time(12)), (time(13, 30), time(17))]
WEEKEND_SESSIONS = [(time(9), time(12)), (time(13, 30), time(16, 30))]

REQUIREMENTS = {
    Service.Business.FIRST: (
        "居民身份证原件；近期彩色证件照（也可现场拍摄）；未成年人需监护人陪同并携带户口簿或出生医学证明。",
        "Original resident ID card; a recent colour photo (or have one taken on site); minors come with a "
        "guardian and bring the household register or birth certificate.",
    ),
    Service.Business.RENEWAL: (
        "居民身份证原件；原证件（有效或已过期）；近期彩色证件照（也可现场拍摄）。",
        "Original resident ID card; the old document (valid or expired); a recent colour photo (or have one "
        "taken on site).",
    ),
    Service.Business.REISSUE: (
        "居民身份证原件；证件遗失或损毁情况说明；近期彩色证件照（也可现场拍摄）。",
        "Original resident ID card; a statement on how the document was lost or damaged; a recent colour "
        "photo (or have one taken on site).",
    ),
    Service.Business.ENDORSEMENT: (
        "居民身份证原件；有效的通行证（电子证件可先在自助签注机办理）。",
        "Original resident ID card; the valid permit (chip-card permits can use the self-service "
        "endorsement machines first).",
    ),
}

Doc, Biz = Service.Document, Service.Business
# Weekend service: ordinary passports, Hong Kong/Macao endorsements and Taiwan permits (SPEC 2).
SERVICES = [
    ("passport-first", Doc.PASSPORT, Biz.FIRST, True),
    ("passport-renewal", Doc.PASSPORT, Biz.RENEWAL, True),
    ("passport-reissue", Doc.PASSPORT, Biz.REISSUE, True),
    ("hkmo-first", Doc.HK_MACAO, Biz.FIRST, False),
    ("hkmo-renewal", Doc.HK_MACAO, Biz.RENEWAL, False),
    ("hkmo-reissue", Doc.HK_MACAO, Biz.REISSUE, False),
    ("hkmo-endorsement", Doc.HK_MACAO, Biz.ENDORSEMENT, True),
    ("tw-first", Doc.TAIWAN, Biz.FIRST, True),
    ("tw-renewal", Doc.TAIWAN, Biz.RENEWAL, True),
    ("tw-reissue", Doc.TAIWAN, Biz.REISSUE, True),
    ("tw-endorsement", Doc.TAIWAN, Biz.ENDORSEMENT, True),
]


class Command(BaseCommand):
    help = "Load the Hangzhou demo data (idempotent) and print the demo accounts."

    def handle(self, *args: Any, **options: Any) -> None:
        if settings.PRODUCTION:
            raise CommandError("Demo data is never loaded in production.")
        with transaction.atomic():
            services = self._services()
            offices = self._offices(services)
            self._staff(offices)
        self.stdout.write(
            f"Demo accounts (password '{DEMO_PASSWORD}'):\n"
            "  demo-supervisor              supervisor of all offices\n"
            "  demo-clerk-<office>-<window>  clerk, e.g. demo-clerk-hz-1 ... demo-clerk-hz-12, demo-clerk-fy-1\n"
            f"  offices: {', '.join(code.lower() for code, *_ in OFFICES)}"
        )

    def _services(self) -> list[Service]:
        return [
            Service.objects.update_or_create(
                code=code,
                defaults={
                    "document": doc,
                    "business": biz,
                    "weekend_service": weekend,
                    "requirements_zh": REQUIREMENTS[biz][0],
                    "requirements_en": REQUIREMENTS[biz][1],
                },
            )[0]
            for code, doc, biz, weekend in SERVICES
        ]

    def _offices(self, services: list[Service]) -> list[Office]:
        offices = []
        for position, (code, name_zh, name_en, mode, address_zh, address_en, counters) in enumerate(OFFICES):
            office, _ = Office.objects.update_or_create(
                code=code,
                defaults={
                    "name_zh": name_zh,
                    "name_en": name_en,
                    "mode": mode,
                    "address_zh": address_zh,
                    "address_en": address_en,
                    "position": position,
                },
            )
            sessions = [(OpeningSession.DayKind.WEEKDAY, s) for s in WEEKDAY_SESSIONS]
            if mode == DUAL:
                sessions += [(OpeningSession.DayKind.WEEKEND, s) for s in WEEKEND_SESSIONS]
            for day_kind, (opens, closes) in sessions:
                OpeningSession.objects.get_or_create(office=office, day_kind=day_kind, opens_at=opens, closes_at=closes)
            for number in range(1, counters + 1):
                # The last window of a large hall is the enterprise window.
                enterprise = counters >= 6 and number == counters
                counter, created = Counter.objects.get_or_create(
                    office=office, number=number, defaults={"enterprise_window": enterprise}
                )
                if created:
                    counter.services.set(services)
            offices.append(office)
        return offices

    def _staff(self, offices: list[Office]) -> None:
        password = make_password(DEMO_PASSWORD)  # hashed once: 80 accounts would take a minute
        supervisor = self._user("demo-supervisor", password, is_staff=True)
        member, _ = StaffMember.objects.get_or_create(user=supervisor, defaults={"role": StaffMember.Role.SUPERVISOR})
        member.offices.add(*offices)
        for office in offices:
            for counter in office.counters.all():
                clerk = self._user(f"demo-clerk-{office.code.lower()}-{counter.number}", password, is_staff=False)
                member, _ = StaffMember.objects.get_or_create(user=clerk, defaults={"role": StaffMember.Role.CLERK})
                member.offices.add(office)

    def _user(self, username: str, password: str, *, is_staff: bool) -> Any:
        user, _ = get_user_model().objects.get_or_create(
            username=username, defaults={"password": password, "is_staff": is_staff}
        )
        return user
