"""The production shape: compose file, its commands, and the settings' refusals."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from django.core.management import get_commands

ROOT = Path(__file__).resolve().parent.parent


def _settings_process(**env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "SECRET_KEY", "BUREAU_ENV"}}
    return subprocess.run(  # noqa: S603 - fixed interpreter and arguments
        [
            sys.executable,
            "-c",
            "import django; from django.conf import settings; django.setup(); print(settings.DEBUG)",
        ],
        cwd=ROOT,
        env={**clean, "DJANGO_SETTINGS_MODULE": "bureau.settings", **env},
        capture_output=True,
        text=True,
        check=False,
    )


REAL_KEY = "s3cret-K3y_" * 5  # 55 characters, 9 distinct


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"BUREAU_ENV": "production", "SECRET_KEY": REAL_KEY, "DEBUG": "1"}, "DEBUG on"),
        ({"BUREAU_ENV": "production"}, "its own SECRET_KEY"),
        ({"BUREAU_ENV": "production", "DEBUG": "0"}, "its own SECRET_KEY"),
        ({"BUREAU_ENV": "production", "SECRET_KEY": "a-real-but-short-secret-key"}, "at least 50 varied characters"),
        ({"BUREAU_ENV": "production", "SECRET_KEY": "a" * 60}, "at least 50 varied characters"),
        ({"BUREAU_ENV": "Production", "SECRET_KEY": REAL_KEY}, "BUREAU_ENV must be one of development, production"),
        ({"BUREAU_ENV": "staging"}, "BUREAU_ENV must be one of"),
    ],
)
def test_production_settings_refuse_unsafe_values(env: dict[str, str], message: str) -> None:
    result = _settings_process(**env)
    assert result.returncode != 0
    assert message in result.stderr


def test_production_settings_start_with_a_secret_and_debug_off() -> None:
    result = _settings_process(BUREAU_ENV="production", SECRET_KEY=REAL_KEY)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"


def test_development_runs_with_debug_off_unless_asked() -> None:
    """`make run` serves the project's own error pages, not Django's debug page."""
    assert _settings_process().stdout.strip() == "False"
    assert _settings_process(DEBUG="1").stdout.strip() == "True"


def test_compose_file_runs_every_part_with_health_checks() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    assert set(services) == {"postgres", "redis", "migrate", "web", "web-read", "proxy", "worker", "scheduler"}
    for name in ("postgres", "redis", "web", "web-read", "proxy", "worker", "scheduler"):
        assert "healthcheck" in services[name], name
    assert services["web"]["command"][:2] == ["gunicorn", "bureau.wsgi:application"]
    assert services["worker"]["command"][:3] == ["celery", "--app", "bureau"]
    assert services["scheduler"]["command"] == ["python", "manage.py", "qcluster"]
    nginx = compose["configs"]["nginx"]["content"]
    assert re.search(r"location ~ \^/api/v1/offices/\[\^/\]\+/availability/\$ \{\s*proxy_pass http://web_read;", nginx)
    assert re.search(r"location / \{\s*proxy_pass http://web;", nginx)


def test_compose_management_commands_exist() -> None:
    commands = get_commands()
    for name in ("migrate", "seed_calendar", "qcluster", "qmonitor", "collectstatic"):
        assert name in commands, name


def test_wsgi_and_celery_entry_points_import() -> None:
    from bureau.celery import app
    from bureau.wsgi import application

    assert callable(application)
    app.loader.import_default_modules()  # what a worker does at start: autodiscovery
    assert "bureau.tasks.compute_application_deadline" in app.tasks


@pytest.mark.django_db
def test_every_django_q_schedule_names_a_function_that_exists() -> None:
    from django.utils.module_loading import import_string
    from django_q.models import Schedule

    schedules = dict(Schedule.objects.values_list("name", "func"))
    assert set(schedules) == {
        "open booking days",
        "release held places",
        "sweep no-shows",
        "send day-before reminders",
        "fill missing deadlines",
        "deliver pending messages",
        "close past days' queues",
        "roll up finished days for the dashboards",
    }
    for func in schedules.values():
        assert callable(import_string(func)), func


def test_wsgi_worker_loads_every_view_then_freezes_it_out_of_the_collector() -> None:
    check = (
        "import gc, sys; import bureau.wsgi; print('appointments.api' in sys.modules, gc.get_freeze_count() > 10_000)"
    )
    done = subprocess.run(  # noqa: S603 - fixed interpreter and arguments
        [sys.executable, "-c", check],
        cwd=ROOT,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "bureau.settings"},
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.split() == ["True", "True"]


@pytest.mark.parametrize(("answer", "alive"), [(200, True), (503, True), (None, False)])
def test_web_health_check_is_alive_while_it_answers_even_503(answer: int | None, alive: bool) -> None:
    """/healthz says 503 while Redis is down, and the web still serves: the container's
    health check must not call it unhealthy for that, only for not answering."""
    import http.server
    import threading

    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    script = compose["services"]["web"]["healthcheck"]["test"][-1]

    class Health(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(answer or 200)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Health)
    port = server.server_address[1]
    if answer is None:
        server.server_close()  # nothing listens there
    else:
        threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        done = subprocess.run(  # noqa: S603 - the compose file's own check
            [sys.executable, "-c", script.replace("localhost:8000", f"127.0.0.1:{port}")],
            capture_output=True,
            timeout=20,
            check=False,
        )
    finally:
        if answer is not None:
            server.shutdown()
    assert (done.returncode == 0) is alive
