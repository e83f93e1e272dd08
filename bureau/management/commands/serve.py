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


class Command(BaseCommand):
    help = (
        "Serve with gunicorn and run the scheduled jobs (and the Celery worker when REDIS_URL is set). "
        "Ctrl-C or TERM stops every process it started, and so does the end of the process that started it."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("address", nargs="?", default="127.0.0.1:8000")

    def handle(self, *args: Any, address: str, **options: Any) -> None:
        python = sys.executable
        commands = [
            [python, "-m", "gunicorn", "bureau.wsgi:application", "--config", "gunicorn.conf.py", "--bind", address],
            [python, "manage.py", "qcluster"],
        ]
        if settings.REDIS_URL:
            commands.append([python, "-m", "celery", "--app", "bureau", "worker", "--loglevel", "WARNING"])
        parent = os.getppid()
        stopping: list[int] = []
        signal.signal(signal.SIGTERM, lambda signum, frame: stopping.append(signum))
        signal.signal(signal.SIGINT, lambda signum, frame: stopping.append(signum))
        children = [subprocess.Popen(command, cwd=settings.BASE_DIR) for command in commands]  # noqa: S603
        self.stdout.write(f"Serving on http://{address}/ (gunicorn, {len(children) - 1} job runner(s)); Ctrl-C stops.")
        code = 0
        try:
            while not stopping:
                if any(child.poll() is not None for child in children):
                    code = 1  # one of them died: take the others down too, and say so
                    break
                if os.getppid() != parent:  # `make` was killed: nobody will stop us otherwise
                    break
                time.sleep(0.5)
        finally:
            _stop(children)
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
