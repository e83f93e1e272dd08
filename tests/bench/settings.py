"""The benchmark's server: the real settings plus the reference endpoint's URLs."""

from bureau.settings import *  # noqa: F403

ROOT_URLCONF = "tests.bench.urls"
