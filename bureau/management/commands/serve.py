"""`make run`'s server: gunicorn, the django-q2 cluster and (with REDIS_URL) a Celery worker,
started together and stopped together."""

import os
import signal
import subprocess
import sys
import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

STOP_WAIT_SECONDS = 15
# A job runner that stops is started again, at most this often.
RESTART_AFTER_SECONDS = 5


class Command(BaseCommand):
    help = (
        "Serve with gunicorn and run the scheduled jobs (and the Celery worker when REDIS_URL is set); "
        "a job runner that stops is started again. Ctrl-C or TERM stops every process it started, and so "
        "does the end of the process that started it."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("address", nargs="?", default="127.0.0.1:8000")

    def handle(self, *args: Any, address: str, **options: Any) -> None:
        python = sys.executable
        web = [python, "-m", "gunicorn", "bureau.wsgi:application", "--config", "gunicorn.conf.py", "--bind", address]
        jobs = [[python, "manage.py", "qcluster"]]
        if settings.REDIS_URL:
            jobs.append([python, "-m", "celery", "--app", "bureau", "worker", "--loglevel", "WARNING"])
        parent = os.getppid()
        stopping: list[int] = []
        signal.signal(signal.SIGTERM, lambda signum, frame: stopping.append(signum))
        signal.signal(signal.SIGINT, lambda signum, frame: stopping.append(signum))
        server = subprocess.Popen(web, cwd=settings.BASE_DIR)  # noqa: S603 - our own interpreter and modules
        runners = [subprocess.Popen(command, cwd=settings.BASE_DIR) for command in jobs]  # noqa: S603
        started = [time.monotonic()] * len(runners)
        self.stdout.write(f"Serving on http://{address}/ (gunicorn, {len(runners)} job runner(s)); Ctrl-C stops.")
        code = 0
        try:
            while not stopping:
                if server.poll() is not None:
                    code = 1  # the server died: take the job runners down too, and say so
                    break
                for index, runner in enumerate(runners):
                    # A job runner that gave up (a Celery worker after a long broker outage)
                    # is started again: the site serves without it, and its jobs wait for it.
                    if runner.poll() is not None and time.monotonic() - started[index] > RESTART_AFTER_SECONDS:
                        self.stderr.write(f"{' '.join(jobs[index][1:3])} stopped; starting it again.")
                        runners[index] = subprocess.Popen(jobs[index], cwd=settings.BASE_DIR)  # noqa: S603
                        started[index] = time.monotonic()
                if os.getppid() != parent:  # `make` was killed: nobody will stop us otherwise
                    break
                time.sleep(0.5)
        finally:
            _stop([server, *runners])
        sys.exit(code)


def _stop(children: list[subprocess.Popen[bytes]]) -> None:
    for child in children:
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + STOP_WAIT_SECONDS
    for child in children:
        try:
            child.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
