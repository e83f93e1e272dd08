"""Hangzhou demo data: offices, counters, services, hours, staff and a month of accepted
applications. Never for production."""

import random
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.db.models import Count
from stdnum.cn import ric

from bureau import selectors, workdays
from bureau.identity import residency_of
from bureau.models import (
    Application,
    ApplicationEvent,
    Counter,
    IssuanceRule,
    Office,
    OpeningSession,
    Residency,
    Service,
    StaffMember,
)

DEMO_PASSWORD = "demo-pass"  # noqa: S105 - published demo credential, refused in production
# Demo applications and today's demo bookings carry references starting with this.
DEMO_PREFIX = "DEMO"
# Demo applications are accepted on the days from this many days ago to yesterday.
HISTORY_DAYS = 30

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
    help = (
        "Load the Hangzhou demo data and print the demo accounts. Idempotent: offices, services and "
        "accounts are matched by code and user name; demo applications (references starting with "
        f"{DEMO_PREFIX}, one set per office and acceptance day of the last {HISTORY_DAYS} days) are "
        "only added when their reference is not there yet, so a second run adds and changes nothing "
        "and a run on a later day adds only the days not loaded before. Refused in production."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        if settings.PRODUCTION:
            raise CommandError("Demo data is never loaded in production.")
        with transaction.atomic():
            services = self._services()
            offices = self._offices(services)
            self._staff(offices)
            applications = demo_applications_load(offices)
        self.stdout.write(f"Demo applications added: {applications}")
        self.stdout.write(
            f"Demo accounts (password '{DEMO_PASSWORD}'):\n"
            "  demo-supervisor              supervisor of all offices\n"
            "  demo-clerk-<office>-<window>  clerk, e.g. demo-clerk-hz-1 ... demo-clerk-hz-12, demo-clerk-fy-1\n"
            "  demo-kiosk-<office>          the office's kiosk, e.g. demo-kiosk-hz\n"
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
        member, _ = StaffMember.objects.update_or_create(
            user=supervisor, defaults={"role": StaffMember.Role.SUPERVISOR, "bureau_wide": True}
        )
        member.offices.add(*offices)
        for office in offices:
            for counter in office.counters.all():
                clerk = self._user(f"demo-clerk-{office.code.lower()}-{counter.number}", password, is_staff=False)
                member, _ = StaffMember.objects.get_or_create(user=clerk, defaults={"role": StaffMember.Role.CLERK})
                member.offices.add(office)
            # The office's kiosk: an unattended device that issues walk-in tickets and checks in.
            kiosk = self._user(demo_kiosk_username(office.code), password, is_staff=False)
            member, _ = StaffMember.objects.get_or_create(user=kiosk, defaults={"role": StaffMember.Role.KIOSK})
            member.offices.add(office)

    def _user(self, username: str, password: str, *, is_staff: bool) -> Any:
        user, _ = get_user_model().objects.get_or_create(
            username=username, defaults={"password": password, "is_staff": is_staff}
        )
        return user


# --- demo people ---------------------------------------------------------------------------

# Made-up names: a common surname and two given-name characters drawn apart; no real person
# is meant. ID numbers are drawn the same way and get a valid GB 11643 check character.
SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓"
    "曹彭曾肖田董袁潘蒋蔡余杜叶程苏魏吕丁沈姚卢姜钟陆汪范金夏方邹孟熊秦江"
)
GIVEN_FIRST = "子梓浩宇俊思雨欣佳志建文晓海立雅诗可若家"
GIVEN_SECOND = "轩涵然航杰琪桐怡华强博燕波新琴敏瑶宁远岚"
# Address codes (the first six digits): districts of Hangzhou and other Zhejiang cities, then
# other provinces (out-of-province residents).
IN_PROVINCE_AREAS = (
    "330102",
    "330105",
    "330106",
    "330108",
    "330109",
    "330110",
    "330111",
    "330113",
    "330122",
    "330182",
    "330203",
    "330302",
    "330402",
    "330602",
    "330702",
)
OUT_OF_PROVINCE_AREAS = (
    "110105",
    "310115",
    "320106",
    "340104",
    "360102",
    "410105",
    "420106",
    "430104",
    "440305",
    "500103",
    "510107",
    "610113",
)
BORN_FROM, BORN_TO = date(1950, 1, 1), date(2012, 12, 31)


def demo_person(rng: random.Random, *, in_province: bool = True) -> tuple[str, str]:
    """A made-up Chinese name and a valid 18-character resident ID number."""
    name = rng.choice(SURNAMES) + rng.choice(GIVEN_FIRST) + rng.choice(GIVEN_SECOND)
    area = rng.choice(IN_PROVINCE_AREAS if in_province else OUT_OF_PROVINCE_AREAS)
    born = BORN_FROM + timedelta(days=rng.randrange((BORN_TO - BORN_FROM).days))
    body = f"{area}{born:%Y%m%d}{rng.randrange(1, 1000):03d}"
    return name, body + ric.calc_check_digit(body + "0")  # the function skips the last character


def demo_phone(rng: random.Random) -> str:
    return f"1{rng.choice('3578')}{rng.randrange(10**9):09d}"


def demo_clerk_username(office_code: str, window: int) -> str:
    return f"demo-clerk-{office_code.lower()}-{window}"


def demo_kiosk_username(office_code: str) -> str:
    return f"demo-kiosk-{office_code.lower()}"


def office_local(day: date, at: time) -> datetime:
    return datetime.combine(day, at, tzinfo=ZoneInfo(settings.OFFICE_TIME_ZONE))


# --- demo applications ---------------------------------------------------------------------

# How often each service is applied for (passports and Hong Kong/Macao permits lead).
SERVICE_WEIGHTS = {
    "passport-first": 6,
    "passport-renewal": 5,
    "hkmo-first": 4,
    "hkmo-endorsement": 4,
    "hkmo-renewal": 3,
    "tw-first": 2,
    "tw-endorsement": 2,
}
MOVED_IN_REASON = "户籍已迁入浙江省，已核验迁移证明"

Status = Application.Status


class _Plan:
    """One demo application before it is written, and the events that bring it to its status."""

    def __init__(self, application: Application, due_on: date, accepted_at: datetime, windows: int) -> None:
        self.application = application
        self.due_on = due_on
        self.windows = windows
        self.rng = random.Random(f"demo-lifecycle:{application.reference}")  # noqa: S311 - demo data
        self.events: list[tuple[str, datetime, str]] = [(Status.ACCEPTED, accepted_at, self._clerk())]

    def _clerk(self) -> str:
        return demo_clerk_username(self.application.office.code, self.rng.randint(1, self.windows))

    def move(self, status: str, at: datetime) -> None:
        self.events.append((status, at, self._clerk()))
        self.application.status = status


def _day_kind(calendar: workdays.WorkCalendar, day: date) -> str | None:
    """Which opening sessions apply on a day (as slots_generate decides): none on holidays."""
    if calendar.is_working_day(day):
        return OpeningSession.DayKind.WEEKDAY
    if day in calendar.holidays:
        return None
    return OpeningSession.DayKind.WEEKEND


def _next_working_day(calendar: workdays.WorkCalendar, day: date) -> date:
    day += timedelta(days=1)
    while not calendar.is_working_day(day):
        day += timedelta(days=1)
    return day


def _pick_day(rng: random.Random, first: date, last: date, fits: Callable[[date], bool]) -> date | None:
    days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    fitting = [day for day in days if fits(day)]
    return rng.choice(fitting) if fitting else None


def demo_applications_load(offices: list[Office]) -> int:
    """Add the demo applications of the last HISTORY_DAYS days (office-local dates, today
    excluded) whose references are not there yet, with due dates from the deadline code and
    status events by the office's demo clerks; returns how many were added."""
    today = selectors.office_today()
    calendar = selectors.work_calendar()
    rules = selectors.issuance_rules()
    services = list(Service.objects.order_by("code"))
    sessions: dict[tuple[int, str], list[tuple[time, time]]] = {}
    for session in OpeningSession.objects.filter(office__in=offices):
        sessions.setdefault((session.office_id, session.day_kind), []).append((session.opens_at, session.closes_at))
    windows = dict(
        Counter.objects.filter(office__in=offices).values("office").annotate(n=Count("pk")).values_list("office", "n")
    )
    existing = set(Application.objects.filter(reference__startswith=DEMO_PREFIX).values_list("reference", flat=True))
    plans: list[_Plan] = []
    for offset in range(HISTORY_DAYS, 0, -1):
        day = today - timedelta(days=offset)
        kind = _day_kind(calendar, day)
        for office in offices:
            if kind is None or (office.pk, kind) not in sessions:
                continue
            day_plans = _day_plans(
                office, day, kind, sessions[office.pk, kind], windows.get(office.pk, 1), calendar, rules, services
            )
            plans += [plan for plan in day_plans if plan.application.reference not in existing]

    def open_on(office: Office) -> Callable[[date], bool]:
        return lambda day: (office.pk, _day_kind(calendar, day)) in sessions

    _lifecycles(plans, calendar=calendar, today=today, open_on=open_on)
    clerks = {user.username: user for user in get_user_model().objects.filter(username__startswith="demo-clerk-")}
    Application.objects.bulk_create([plan.application for plan in plans])
    ApplicationEvent.objects.bulk_create(
        ApplicationEvent(application=plan.application, status=status, at=at, by=clerks[username])
        for plan in plans
        for status, at, username in plan.events
    )
    return len(plans)


def _day_plans(
    office: Office,
    day: date,
    kind: str,
    day_sessions: list[tuple[time, time]],
    windows: int,
    calendar: workdays.WorkCalendar,
    rules: dict[str, IssuanceRule],
    services: list[Service],
) -> list[_Plan]:
    """The office's applications of one day. Everything is drawn from a generator seeded with
    the office and the day, so the same references always get the same contents."""
    rng = random.Random(f"demo-applications:{office.code}:{day.isoformat()}")  # noqa: S311 - demo data
    weekend = kind == OpeningSession.DayKind.WEEKEND
    if office.mode == WALK_IN:
        count = int(rng.random() < 0.3)
    elif windows >= 12:  # the municipal hall
        count = rng.randint(1, 2) if weekend else rng.randint(2, 3)
    else:
        count = int(rng.random() < (0.3 if weekend else 0.6))
    offered = [s for s in services if s.weekend_service or not weekend]
    plans = []
    for n in range(1, count + 1):
        service = rng.choices(offered, weights=[SERVICE_WEIGHTS.get(s.code, 1) for s in offered])[0]
        name, number = demo_person(rng, in_province=rng.random() < 0.75)
        residency = residency_of(number, home_province=settings.HOME_PROVINCE_CODE)
        reason = ""
        if residency == Residency.OUT_OF_PROVINCE and rng.random() < 0.15:
            residency, reason = Residency.IN_PROVINCE, MOVED_IN_REASON
        expedited = rng.random() < 0.1
        deadline = selectors.deadline_for(
            calendar=calendar,
            rule=rules[selectors.rule_kind(residency=residency, expedited=expedited)],
            accepted_on=day,
        )
        opens, closes = rng.choice(day_sessions)
        minutes = (closes.hour - opens.hour) * 60 + closes.minute - opens.minute - 10
        accepted_at = office_local(day, opens) + timedelta(minutes=rng.randrange(max(minutes, 1)))
        application = Application(
            reference=f"{DEMO_PREFIX}{office.code}{day:%y%m%d}{n:02d}",
            office=office,
            service=service,
            applicant_name=name,
            id_number=number,
            residency=residency,
            residency_override_reason=reason,
            expedited=expedited,
            accepted_on=day,
            due_on=deadline.due_on,
            provisional=deadline.provisional,
        )
        plans.append(_Plan(application, deadline.due_on, accepted_at, windows))
    return plans


def _lifecycles(
    plans: list[_Plan],
    *,
    calendar: workdays.WorkCalendar,
    today: date,
    open_on: Callable[[Office], Callable[[date], bool]],
) -> None:
    """Move each planned application as far as it would be by now. Production starts on the
    working day after acceptance; what has passed its due date is finished (mailed, ready or
    collected) except a few left overdue; of what falls due soon most is still in production.
    Every event lies before today, so the time of day the command runs at changes nothing."""
    yesterday = today - timedelta(days=1)
    horizon = workdays.add_working_days(calendar, today, selectors.DUE_SOON_WORKING_DAYS).due_on
    past_due, due_soon, later = [], [], []
    for plan in plans:
        due_on = plan.due_on
        if _next_working_day(calendar, plan.application.accepted_on) >= today:
            continue  # production has not started: still accepted
        if due_on < today:
            past_due.append(plan)
        elif due_on <= horizon:
            due_soon.append(plan)
        else:
            later.append(plan)

    def working(day: date) -> bool:
        return calendar.is_working_day(day)

    def produce(plan: _Plan) -> date:
        started = _next_working_day(calendar, plan.application.accepted_on)
        plan.move(Status.IN_PRODUCTION, office_local(started, time(10)) + timedelta(minutes=plan.rng.randrange(120)))
        return started

    def finish(plan: _Plan, started: date, last: date, status: str) -> date | None:
        done = _pick_day(plan.rng, started + timedelta(days=1), last, working)
        if done is None:
            return None
        plan.move(status, office_local(done, time(14)) + timedelta(minutes=plan.rng.randrange(180)))
        return done

    overdue = set(range(5, len(past_due), 20))
    if len(overdue) < 2:
        overdue |= set(range(min(2, len(past_due))))
    not_started = set(sorted(overdue)[1::3])  # overdue and not even in production yet
    for index, plan in enumerate(past_due):
        if index in not_started:
            continue
        started = produce(plan)
        if index in overdue:
            continue
        last = min(plan.due_on, yesterday)
        kind = index % 5
        if kind == 0:
            finish(plan, started, last, Status.MAILED)
            continue
        ready = finish(plan, started, last, Status.READY)
        if ready is not None and kind >= 2:
            collected = _pick_day(plan.rng, ready + timedelta(days=1), yesterday, open_on(plan.application.office))
            if collected is not None:
                at = office_local(collected, time(9)) + timedelta(minutes=plan.rng.randrange(420))
                plan.move(Status.COLLECTED, at)
    for every, group in ((3, due_soon), (6, later)):
        for index, plan in enumerate(group):
            started = produce(plan)
            if index % every == every - 1:
                finish(plan, started, yesterday, Status.READY)  # ready before its due date
