"""gunicorn, as `make run` and the compose file's web services start it.

Threads, not processes, carry the concurrency: a request mostly waits on the database, and
each thread keeps at most one database connection, so connections stay bounded at
workers x threads (16 by default) however many clients arrive at once; the rest queue in
the listen backlog instead of being reset."""

import os

bind = os.environ.get("HOST", "127.0.0.1:8000")
worker_class = "gthread"
workers = int(os.environ.get("WEB_WORKERS", "2"))
threads = int(os.environ.get("WEB_THREADS", "8"))
backlog = 2048
timeout = 30
graceful_timeout = 10
accesslog = "-"
# The access log without the secret of manage links (bureau/redaction.py).
logger_class = "bureau.redaction.AccessLogger"


def post_worker_init(worker: object) -> None:
    """Ctrl-C reaches every process of the terminal's group: a worker that handled it too,
    beside its master's own stop signal, could hang until the graceful timeout. Workers
    leave SIGINT to the master."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)
