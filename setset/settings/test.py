"""Test settings: real PostgreSQL and Redis, fast password hashing, in-memory e-mail."""

from .base import *  # noqa: F403
from .base import REDIS_TRANSPORT_OPTIONS, env

SECRET_KEY = "test-only-key"
DEBUG = False
DATABASES = {
    "default": env.db("TEST_DATABASE_URL", default="postgres://postgres@127.0.0.1:5432/setset"),
}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DJANGO_CONN_MAX_AGE", default=0)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = env.bool("DJANGO_CONN_HEALTH_CHECKS", default=True)
# A replica alias on the same test database (a mirror), used only where a test turns
# READ_REPLICA_ENABLED on: a second connection, so it reads committed rows only.
DATABASES["replica"] = {**DATABASES["default"], "TEST": {"MIRROR": "default"}}
READ_REPLICA_ENABLED = False
CELERY_BROKER_URL = env("TEST_CELERY_BROKER_URL", default="redis://127.0.0.1:6379/15")
CELERY_BROKER_TRANSPORT_OPTIONS = dict(REDIS_TRANSPORT_OPTIONS)
# Unit tests run tasks in-process; the integration tests start a real worker on Redis.
CELERY_TASK_ALWAYS_EAGER = env.bool("SETSET_TEST_TASKS_EAGER", default=True)
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
DEMO_ACCOUNTS_ALLOWED = True
# Tests call the API far more often than anyone should; the throttling test sets its own rates.
REST_FRAMEWORK = {
    **REST_FRAMEWORK,  # noqa: F405
    "DEFAULT_THROTTLE_RATES": {"anon": "1000000/hour", "user": "1000000/hour"},
}
# Uploads live in memory, unless a test shares them with a worker in another process.
_SHARED_MEDIA = env("SETSET_TEST_MEDIA_ROOT", default="")
STORAGES = {
    "default": (
        {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": _SHARED_MEDIA},
        }
        if _SHARED_MEDIA
        else {"BACKEND": "django.core.files.storage.InMemoryStorage"}
    ),
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# Most tests change figures inside a transaction that never commits, which the figures' version
# (and so the page cache) rightly never sees: they render every page afresh. The page cache's
# own tests commit, with a real cache.
CACHES = {**CACHES, "pages": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}}  # noqa: F405
