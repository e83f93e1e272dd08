"""`make run` stops every process it started: `manage.py serve` (what `make run` runs once
the data is ready) under a parent shell, stopped by TERM to that parent or by Ctrl-C (SIGINT
to the whole process group), leaves no gunicorn, django-q2 or Celery process behind."""

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.faults.conftest import (
    BASE_DIR,
    Identity,
    alive,
    descendants,
    free_port,
    kill_leftovers,
    process_table,
    server_env,
    sqlite_copy,
    wait_for_http,
)

STOP_WITHIN = 15.0  # seconds


def command_line(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
    except OSError:
        return "?"


def whole_tree(roots: set[Identity]) -> set[Identity]:
    """The processes below any of `roots` that still run (a stopped parent's children are
    found through the processes already known)."""
    found = set(roots)
    for pid, _ in [ident for ident in roots if alive(ident)]:
        found |= descendants(pid)
    return found


def settled_tree(root: int, *, wanted: tuple[str, ...]) -> set[Identity]:
    """The process tree once it has stopped growing and holds every `wanted` program."""
    tree: set[Identity] = set()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        now = descendants(root)
        lines = [command_line(pid) for pid, _ in now]
        if now == tree and all(any(w in line for line in lines) for w in wanted):
            return tree
        tree = now
        time.sleep(1.0)
    pytest.fail(f"the process tree never settled with {wanted}: {[command_line(p) for p, _ in tree]}")


@pytest.mark.parametrize(
    ("stop", "with_celery"),
    [("TERM to the parent", False), ("Ctrl-C to the group", False), ("Ctrl-C to the group", True)],
    ids=["term-parent", "ctrl-c", "ctrl-c-with-celery-worker"],
)
def test_serve_stops_every_process_it_started(
    stop: str, with_celery: bool, prepared_sqlite: Path, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """Catches: a child left running when the parent goes (an orphaned gunicorn master still
    holding the port, a qcluster sentinel and its workers polling the database, a Celery
    worker), and a stop that takes longer than a supervisor waits."""
    port = free_port()
    extra = {}
    wanted: tuple[str, ...] = ("gunicorn", "qcluster")
    if with_celery:
        redis_server = request.getfixturevalue("redis_server")
        if not redis_server.running:
            redis_server.start()
        extra["REDIS_URL"] = redis_server.url
        wanted += ("celery",)
    env = server_env(sqlite_copy(prepared_sqlite, tmp_path), **extra)
    script = '"$0" manage.py serve "$1"; echo "serve ended with $?"'  # not exec'd: sh stays the parent
    with (tmp_path / "serve.log").open("wb") as log:
        parent = subprocess.Popen(  # noqa: S603
            ["/bin/sh", "-c", script, sys.executable, f"127.0.0.1:{port}"],
            cwd=BASE_DIR,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, as a terminal gives `make run`
        )
    started: set[Identity] = set()
    try:
        wait_for_http(f"http://127.0.0.1:{port}/healthz", parent)
        started = settled_tree(parent.pid, wanted=wanted)
        if stop == "TERM to the parent":
            parent.send_signal(signal.SIGTERM)
        else:
            os.killpg(parent.pid, signal.SIGINT)
        began = time.monotonic()
        known = set(started)
        while time.monotonic() - began < STOP_WITHIN:
            parent.poll()  # reap the shell: a zombie is gone
            known = whole_tree(known)
            if not any(alive(ident) for ident in known):
                break
            time.sleep(0.1)
        left = sorted(command_line(pid) for pid, start in known if alive((pid, start)))
        print(f"\n{stop}: {len(known)} processes, all gone after {time.monotonic() - began:.1f} s")
        assert left == [], f"still running {STOP_WITHIN} s after {stop}: {left}"
    finally:
        kill_leftovers(whole_tree(started | descendants(parent.pid)))  # after a failure: ours only
        parent.wait()


def test_a_job_runner_that_stops_is_started_again_and_the_web_serves_on(prepared_sqlite: Path, tmp_path: Path) -> None:
    """Catches: a Celery worker that gave up after a long broker outage (Celery's default:
    100 tries, about 46 minutes) took gunicorn down with it, so the whole site stopped."""
    port = free_port()
    env = server_env(sqlite_copy(prepared_sqlite, tmp_path))
    with (tmp_path / "serve.log").open("wb") as log:
        serve = subprocess.Popen(  # noqa: S603
            [sys.executable, "manage.py", "serve", f"127.0.0.1:{port}"],
            cwd=BASE_DIR,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def job_runners() -> list[int]:
        return [pid for pid, ppid in process_table().items() if ppid == serve.pid and "qcluster" in command_line(pid)]

    started: set[Identity] = set()
    try:
        wait_for_http(f"http://127.0.0.1:{port}/healthz", serve)
        started = settled_tree(serve.pid, wanted=("gunicorn", "qcluster"))
        [first] = job_runners()
        os.kill(first, signal.SIGKILL)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not [pid for pid in job_runners() if pid != first]:
            time.sleep(0.5)
        assert [pid for pid in job_runners() if pid != first], "the job runner was not started again"
        assert serve.poll() is None
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10) as page:
            assert page.status == 200
    finally:
        serve.send_signal(signal.SIGTERM)
        serve.wait(timeout=30)
        kill_leftovers(whole_tree(started | descendants(serve.pid)))
