"""One settings module, driven by environment variables.

Without DATABASE_URL / REDIS_URL it runs embedded: SQLite, Celery eager, local-memory
cache, django-q2 on the database broker. BUREAU_ENV=production refuses unsafe values.
"""

import os
from pathlib import Path

import dj_database_url
import django_stubs_ext
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

# Lets admin and DRF generics be subscripted for mypy (ModelAdmin[Office]) at run time too.
django_stubs_ext.monkeypatch()

BASE_DIR = Path(__file__).resolve().parent.parent

_DEV_SECRET_KEY = "dev-only-insecure-key-never-use-in-production"  # noqa: S105


def _env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


# Two environments, and nothing else: a misspelt name ("Production") must not quietly run
# with the development key.
ENVIRONMENTS = ("development", "production")
BUREAU_ENV = os.environ.get("BUREAU_ENV", "development")
if BUREAU_ENV not in ENVIRONMENTS:
    raise ImproperlyConfigured(f"BUREAU_ENV must be one of {', '.join(ENVIRONMENTS)}; it is {BUREAU_ENV!r}.")
PRODUCTION = BUREAU_ENV == "production"
# Off unless asked for (`make dev`): `make run` serves the project's own error pages.
DEBUG = _env_bool("DEBUG", default=False)
SECRET_KEY = os.environ.get("SECRET_KEY", _DEV_SECRET_KEY)
if PRODUCTION and DEBUG:
    raise ImproperlyConfigured("BUREAU_ENV=production refuses to start with DEBUG on.")
if PRODUCTION and SECRET_KEY == _DEV_SECRET_KEY:
    raise ImproperlyConfigured("BUREAU_ENV=production needs its own SECRET_KEY.")
# Django's own deployment check asks for the same: manage links and sessions are signed with it.
if PRODUCTION and (len(SECRET_KEY) < 50 or len(set(SECRET_KEY)) < 5):
    raise ImproperlyConfigured("BUREAU_ENV=production needs a SECRET_KEY of at least 50 varied characters.")

ALLOWED_HOSTS = [h for h in os.environ.get("ALLOWED_HOSTS", "127.0.0.1,localhost").split(",") if h]
CSRF_TRUSTED_ORIGINS = [o for o in os.environ.get("CSRF_TRUSTED_ORIGINS", "").split(",") if o]
if PRODUCTION:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    # Only behind a TLS proxy that sets the header itself may it be trusted.
    if _env_bool("BEHIND_TLS_PROXY", default=False):
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
        SECURE_SSL_REDIRECT = True
        SECURE_HSTS_SECONDS = 31536000

INSTALLED_APPS = [
    "bureau.admin_apps.AdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "django_q",
    "bureau",
    "appointments",
    "walkins",
    "priority",
    "bureau.dashboards",
]

MIDDLEWARE = [
    "bureau.middleware.head_without_body",  # first, so it sees the answer last
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    # Before anything reads the request: an unreadable charset or an oversized body is a 400.
    "bureau.middleware.unreadable_requests_refused",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "bureau.urls"
WSGI_APPLICATION = "bureau.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}", conn_max_age=60, conn_health_checks=True
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The embedded default serves many threads: WAL lets readers go on beside the one writer,
    # and IMMEDIATE takes the write lock when a transaction starts, so concurrent writers
    # wait for it (up to `timeout` seconds) instead of failing on a lock upgrade.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = os.environ.get("REDIS_URL", "")
# How long a Redis call may take before it counts as down (the cache then reads through to
# the database, and rate limits count in the process).
REDIS_TIMEOUT_SECONDS = 0.5
if REDIS_URL:
    # django-redis keeps one client per connection pool; Django's own backend builds a new
    # redis-py client for every operation, which cost ~0.8 ms each on the booking path.
    # IGNORE_EXCEPTIONS: Redis is a cache, never a dependency of a decision. A read while it
    # is down is a miss (the caller reads the database) and a write is dropped.
    CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "OPTIONS": {
                "IGNORE_EXCEPTIONS": True,
                "SOCKET_CONNECT_TIMEOUT": REDIS_TIMEOUT_SECONDS,
                "SOCKET_TIMEOUT": REDIS_TIMEOUT_SECONDS,
            },
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
# Each process's own short-lived copies (configuration rows, the day a booking just read): the
# shared cache costs a round trip per read, and most requests in a rush need no other.
CACHES["local"] = {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "local"}

# Celery: event-driven domain jobs. Without a broker the tasks run at once, in process.
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TIMEZONE = "Asia/Shanghai"
# A task is only ever a nudge: what it does is recorded in the database first, and a
# django-q2 sweep does it if the nudge is lost. So a request does not wait for a broker
# that is down; it tries once and goes on.
CELERY_TASK_PUBLISH_RETRY = False
CELERY_BROKER_CONNECTION_TIMEOUT = 2
# Once means one connection attempt too: otherwise kombu retries connecting for the whole
# timeout above, and every booking, cancel and reschedule waits 2 s while Redis is down.
CELERY_BROKER_TRANSPORT_OPTIONS = {"max_retries": 0}
# The worker itself waits for the broker as long as it takes (Celery's default gives up after
# 100 tries, about 46 minutes, and exits).
CELERY_BROKER_CONNECTION_MAX_RETRIES = None

# django-q2: periodic housekeeping, on the database broker so it needs no Redis.
Q_CLUSTER = {
    "name": "bureau",
    "orm": "default",
    "workers": 2,
    "timeout": 300,
    "retry": 360,
    "catch_up": False,
    "label": _("Scheduled jobs"),
}

# Applicant SMS (bureau/sms.py): console by default; file or HTTP gateway by setting. Every
# message is an outbox row first (bureau.models.OutboxMessage).
SMS_BACKEND = os.environ.get("SMS_BACKEND", "bureau.sms.ConsoleBackend")
SMS_FILE_DIR = os.environ.get("SMS_FILE_DIR", str(BASE_DIR / "sms-outbox"))
SMS_GATEWAY_URL = os.environ.get("SMS_GATEWAY_URL", "")
SMS_GATEWAY_TOKEN = os.environ.get("SMS_GATEWAY_TOKEN", "")
# Links in messages (the manage link) are absolute: the address applicants reach the site at.
PUBLIC_BASE_URL = os.environ.get("PUBLIC_BASE_URL", "http://127.0.0.1:8000").rstrip("/")

# Every limit on what a stranger may try, in one place (bureau/ratelimit.py): at most N
# attempts in any moving window. RATE_LIMITS=off turns them off for load tests fired from
# one address.
RATE_LIMITS_ENABLED = os.environ.get("RATE_LIMITS", "on") != "off"
RATE_LIMITS = {
    "booking-address": "30/minute",  # booking and rescheduling attempts per client address
    "booking-applicant": "10/10minutes",  # valid attempts per ID number and mobile number
    "lookup-address": "20/minute",  # application status look-ups per client address
    "link-address": "5/10minutes",  # manage-link resend requests per client address
    "login-address": "10/minute",  # staff logins (pages and API) per client address
    "case-address": "10/10minutes",  # emergency cases filed (each file checked in a child process)
    "enterprise-address": "5/10minutes",  # enterprise registrations per client address
}
# Addresses (or networks) of the reverse proxies in front of the app. Only a request from one
# of them may name the client in X-Forwarded-For; by default none does.
TRUSTED_PROXIES = [p.strip() for p in os.environ.get("TRUSTED_PROXIES", "").split(",") if p.strip()]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Database sessions whose key from a cookie is checked before it reaches a query.
SESSION_ENGINE = "bureau.sessions"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "staff-home"
LOGOUT_REDIRECT_URL = "home"

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("Simplified Chinese")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "bureau" / "locale"]
FORMAT_MODULE_PATH = ["bureau.formats"]
USE_I18N = True
USE_TZ = True
# The database keeps UTC (USE_TZ); pages show times, and offices count days, in the
# offices' zone, which is the same for every office.
TIME_ZONE = "Asia/Shanghai"
OFFICE_TIME_ZONE = TIME_ZONE
# The hall's displays (the board, /queues/, the queue API, the kiosk) reuse an office's
# queue figures while its queue has not changed, for this many seconds at most: the
# estimated wait plays the calling rule forward, too dear for every anonymous poll. Counts
# are never stale: any ticket or counter change is a new state (walkins.selectors).
DISPLAY_FIGURES_REUSE_SECONDS = int(os.environ.get("DISPLAY_FIGURES_REUSE_SECONDS", "30"))
# First two digits of a resident ID number that make an applicant in-province (Zhejiang).
HOME_PROVINCE_CODE = "33"

STATIC_URL = "static/"
# Collected only for production (the image); elsewhere WhiteNoise serves the folders as they are.
STATIC_ROOT = BASE_DIR / "staticfiles" if PRODUCTION else None
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if PRODUCTION
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = not PRODUCTION  # also with DEBUG off (`make run`)

# Applicants' evidence (priority/uploads.py): PDF, JPEG or PNG, checked by content in a child
# process with memory and CPU limits and this wall-clock timeout, stored under EVIDENCE_ROOT,
# which no URL serves (it must lie outside the static folders).
EVIDENCE_ROOT = Path(os.environ.get("EVIDENCE_ROOT", str(BASE_DIR / "var" / "evidence"))).resolve()
EVIDENCE_MAX_BYTES = int(os.environ.get("EVIDENCE_MAX_BYTES", str(5 * 1024 * 1024)))
# A whole multipart request (a case's documents together): more is a 413 before it is read.
MULTIPART_MAX_BYTES = int(os.environ.get("MULTIPART_MAX_BYTES", str(6 * EVIDENCE_MAX_BYTES + 1024 * 1024)))
EVIDENCE_CHECK_SECONDS = float(os.environ.get("EVIDENCE_CHECK_SECONDS", "10"))
# Documents one process checks at once (each in a child process); more wait for a place this
# long, then are told to send again.
EVIDENCE_CHECKS_AT_ONCE = int(os.environ.get("EVIDENCE_CHECKS_AT_ONCE", "2"))
EVIDENCE_CHECK_WAIT_SECONDS = float(os.environ.get("EVIDENCE_CHECK_WAIT_SECONDS", "2"))
for _served in [*STATICFILES_DIRS, *([STATIC_ROOT] if STATIC_ROOT else [])]:
    if EVIDENCE_ROOT.is_relative_to(Path(_served).resolve()):
        raise ImproperlyConfigured(f"EVIDENCE_ROOT ({EVIDENCE_ROOT}) must not lie inside a static folder ({_served}).")

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_SCHEMA_CLASS": "bureau.schema.AutoSchema",
    "DEFAULT_PARSER_CLASSES": [
        "bureau.api_errors.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "EXCEPTION_HANDLER": "bureau.api_errors.exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Exit-entry appointments and walk-in triage API",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {
        "BookingStatusEnum": "appointments.models.Booking.Status",
        "ApplicationStatusEnum": "bureau.models.Application.Status",
        "ChannelEnum": "appointments.models.Channel",
        "ResidencyEnum": "bureau.models.Residency",
        "CaseStatusEnum": "priority.models.Case.Status",
        "CaseKindEnum": "priority.models.Case.Kind",
        "EnterpriseStatusEnum": "priority.models.Enterprise.Status",
    },
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    # Secrets (the token in a manage link) never reach a log line.
    "filters": {"redact": {"()": "bureau.redaction.RedactSecrets"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "filters": ["redact"]}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    # Django logs every 4xx (a full slot is a 409) as a warning; DJANGO_LOG_LEVEL=ERROR quiets it.
    "loggers": {"django": {"level": os.environ.get("DJANGO_LOG_LEVEL", "INFO")}},
}
