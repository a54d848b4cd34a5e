"""Settings shared by every environment; each value is read from the environment."""

from datetime import date, timedelta
from pathlib import Path

import environ
from celery.schedules import crontab
from csp.constants import NONE, SELF
from django_guid.integrations import CeleryIntegration

from setset.logging import logging_config

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DJANGO_DEBUG", default=False)
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "setset.apps.SetOutcomesAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "axes",
    "django_guid",
    "strategy",
    "kpis",
    "reporting",
]

MIDDLEWARE = [
    # First, so every log line of the request carries its id.
    "django_guid.middleware.guid_middleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "setset.replica.replica_reads_middleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes asks: it answers a locked-out log-in with the lock-out page.
    "axes.middleware.AxesMiddleware",
    "csp.middleware.CSPMiddleware",
]

ROOT_URLCONF = "setset.urls"
WSGI_APPLICATION = "setset.wsgi.application"
ASGI_APPLICATION = "setset.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# With no DATABASE_URL the product runs on an embedded SQLite file: a fresh clone needs no server.
DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'setset.sqlite3'}"),
}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
# A kept connection is checked before each request reuses it, so one the database dropped
# (a restart, a failover, an idle timeout) is replaced rather than failing the request.
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DJANGO_CONN_MAX_AGE", default=0)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = env.bool("DJANGO_CONN_HEALTH_CHECKS", default=True)
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The embedded default: the web server and the worker share one file. Write-ahead logging
    # lets pages read while the worker writes, and a writer waits for the other, not fails.
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
    }


def with_replica(databases: dict) -> dict:
    """A PostgreSQL read replica, optional (``DATABASE_REPLICA_URL``): anonymous GET requests
    (public pages, the API) read from it (setset/replica.py); writes and signed-in users stay
    on the primary."""
    if env("DATABASE_REPLICA_URL", default=""):
        databases["replica"] = {
            **env.db("DATABASE_REPLICA_URL"),
            "CONN_MAX_AGE": databases["default"]["CONN_MAX_AGE"],
            "CONN_HEALTH_CHECKS": True,
        }
    return databases


DATABASES = with_replica(DATABASES)
READ_REPLICA_ENABLED = "replica" in DATABASES
DATABASE_ROUTERS = ["setset.replica.ReplicaRouter"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "strategy.User"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"

# Content-Security-Policy (django-csp): scripts and everything else from this site only, never
# inline. Styles may be inline because Plotly writes its charts' styles into the page.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF, "'unsafe-inline'"],
        "img-src": [SELF, "data:"],
        "font-src": [SELF, "data:"],
        "connect-src": [SELF],
        "worker-src": [SELF, "blob:"],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}

# Log-in throttling (django-axes): after SETSET_LOGIN_FAILURE_LIMIT wrong passwords for one
# username, that account cannot log in for SETSET_LOGIN_LOCKOUT_MINUTES, even with the right
# password. By username, not address: colleagues behind one NHS network address must not lock
# each other out. Administrators unlock in the admin (Access attempts) or with
# `manage.py axes_reset_username <username>`.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env.int("SETSET_LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("SETSET_LOGIN_LOCKOUT_MINUTES", default=30))
AXES_LOCKOUT_PARAMETERS = ["username"]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_VERBOSE = False
# Axes warns when the lock is not also by address, as User-Agents and cookies can be rotated:
# ours is by username, which an attacker cannot rotate against one account.
SILENCED_SYSTEM_CHECKS = ["axes.W006"]
LOGIN_REDIRECT_URL = "reporting:home"
LOGOUT_REDIRECT_URL = "reporting:home"

LANGUAGE_CODE = "en-gb"
TIME_ZONE = "Europe/London"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "setset" / "static"]
STATICFILES_FINDERS = [
    "django.contrib.staticfiles.finders.FileSystemFinder",
    "django.contrib.staticfiles.finders.AppDirectoriesFinder",
    "setset.staticfinders.PlotlyJsFinder",
]
STATIC_ROOT = env.path("DJANGO_STATIC_ROOT", default=VAR_DIR / "static")
MEDIA_ROOT = env.path("DJANGO_MEDIA_ROOT", default=VAR_DIR / "media")
MEDIA_URL = "media/"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

EMAIL_BACKEND = env(
    "DJANGO_EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend"
)
DEFAULT_FROM_EMAIL = env("DJANGO_DEFAULT_FROM_EMAIL", default="set-outcomes@localhost")

# Demo accounts (one per role, with printed passwords) exist only where this is switched on.
DEMO_ACCOUNTS_ALLOWED = env.bool("SETSET_DEMO_ACCOUNTS_ALLOWED", default=False)
# The date the synthetic demo data runs up to, fixed so the demo is reproducible.
DEMO_AS_OF = date.fromisoformat(env("SETSET_DEMO_AS_OF", default="2025-09-30"))

FIXTURES_DIR = BASE_DIR / "fixtures"

# Quarterly returns: limits on uploaded files, and how many issues a report keeps.
RETURN_MAX_BYTES = env.int("SETSET_RETURN_MAX_BYTES", default=20_000_000)
RETURN_MAX_ROWS = env.int("SETSET_RETURN_MAX_ROWS", default=100_000)
# Reading a file slower than this is refused with a reason (the budget is 60 s a file in all).
RETURN_READ_SECONDS = env.float("SETSET_RETURN_READ_SECONDS", default=45.0)
# CSV files larger than this are validated and staged in chunks of RETURN_CHUNK_ROWS rows.
RETURN_CHUNK_BYTES = env.int("SETSET_RETURN_CHUNK_BYTES", default=5_000_000)
RETURN_CHUNK_ROWS = env.int("SETSET_RETURN_CHUNK_ROWS", default=100_000)
RETURN_MAX_STORED_ISSUES = env.int("SETSET_RETURN_MAX_STORED_ISSUES", default=5_000)
# On PostgreSQL, stage with COPY and ingest in set-based SQL (the portable path is the same
# comparison in pandas and the ORM, used on SQLite).
RETURN_SQL_FAST_PATH = env.bool("SETSET_RETURN_SQL_FAST_PATH", default=True)
# The version written into return templates; quarterly returns must carry it.
RETURN_TEMPLATE_VERSION = "2025.1"
# Reporting calendar: days after a period ends that a return is due, and then locked.
RETURN_DUE_DAYS = env.int("SETSET_RETURN_DUE_DAYS", default=45)
RETURN_LOCK_DAYS = env.int("SETSET_RETURN_LOCK_DAYS", default=75)
# Days before the due date that reminders start.
RETURN_REMINDER_DAYS = env.int("SETSET_RETURN_REMINDER_DAYS", default=14)
# A validation attempt that has shown no sign of life for this many seconds (its worker died:
# a deploy, an out-of-memory kill) is taken over by the next attempt.
RETURN_CLAIM_TIMEOUT = env.int("SETSET_RETURN_CLAIM_TIMEOUT", default=300)
# The periodic sweep requeues an upload received or validating but silent for this long, up to
# RETURN_MAX_ATTEMPTS attempts in all, then ends it failed with the reason.
RETURN_STUCK_AFTER = env.int("SETSET_RETURN_STUCK_AFTER", default=900)
# Approving a return of more rows than this writes its values in a worker, with progress.
RETURN_APPROVE_IN_BACKGROUND_ROWS = env.int(
    "SETSET_RETURN_APPROVE_IN_BACKGROUND_ROWS", default=20_000
)
RETURN_MAX_ATTEMPTS = env.int("SETSET_RETURN_MAX_ATTEMPTS", default=3)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Token first, so a bad token is answered 401 with WWW-Authenticate: Token.
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    # Every API view names its action in the access table (reporting.api.permissions).
    "DEFAULT_PERMISSION_CLASSES": ["reporting.api.permissions.AccessTablePermission"],
    "DEFAULT_THROTTLE_CLASSES": [
        "rest_framework.throttling.AnonRateThrottle",
        "rest_framework.throttling.UserRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env("SETSET_API_ANON_RATE", default="1200/hour"),
        "user": env("SETSET_API_USER_RATE", default="20000/hour"),
    },
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "URL_FORMAT_OVERRIDE": "format",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "SET Outcomes API",
    "DESCRIPTION": (
        "The outcomes framework of the Southend, Essex and Thurrock Mental Health Strategy "
        "2023-28: the strategy, places, KPIs, periods, releases, and every figure with its "
        "computed story. Anonymous calls read published figures, with the source's "
        "disclosure rules applied; analysts and the Strategy Implementation Group call with a "
        "token, sent as the header Authorization: Token followed by the key."
    ),
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {"PeriodTypeEnum": "kpis.models.PeriodType"},
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "reporting.api.schema.add_error_responses",
    ],
}

# The API's throttle counts live here: Redis when configured (shared by every web process).
# The dashboards' cached content lives in "pages" (reporting/page_cache.py): Redis when
# configured, otherwise each process keeps its own.
CACHES = {
    "default": env.cache("CACHE_URL", default="locmemcache://"),
    "pages": env.cache("CACHE_URL", default="locmemcache://pages"),
}
CACHES["pages"]["KEY_PREFIX"] = "pages"
if CACHES["pages"]["BACKEND"].endswith("LocMemCache"):
    CACHES["pages"].setdefault("OPTIONS", {})["MAX_ENTRIES"] = 1000
# Sessions are read from a shared cache (Redis) before the database. Never from a cache each
# process keeps for itself: a session ended in one process would live on in another.
if not CACHES["default"]["BACKEND"].endswith(("LocMemCache", "DummyCache")):
    SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
# A cached page is kept at most this long, and never once the figures have changed.
PAGE_CACHE_SECONDS = env.int("PAGE_CACHE_SECONDS", default=3600)
# Set to the build's revision where the cache outlives a deployment (Redis), so new templates
# are not served old content.
PAGE_CACHE_BUILD = env("BUILD_REVISION", default="")

# Celery. With no broker configured, jobs still run in a separate worker process through
# Celery's filesystem transport, so job progress behaves as it does in production.
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default="filesystem://")
# Redis hands an unacknowledged task (its worker died) to another worker after this many
# seconds: longer than any task should run, or a slow task would be run twice.
REDIS_TRANSPORT_OPTIONS = {"visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=3600)}
CELERY_BROKER_TRANSPORT_OPTIONS: dict = dict(REDIS_TRANSPORT_OPTIONS)
if CELERY_BROKER_URL == "filesystem://":
    _queue_dir = VAR_DIR / "celery"
    for _folder in ("queue", "processed", "control"):
        (_queue_dir / _folder).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_queue_dir / "queue"),
        "data_folder_out": str(_queue_dir / "queue"),
        "processed_folder": str(_queue_dir / "processed"),
        "control_folder": str(_queue_dir / "control"),
        "store_processed": False,
    }
# Job state lives in the application's own tables, so no result backend is needed.
CELERY_TASK_IGNORE_RESULT = True
CELERY_RESULT_BACKEND = None
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = TIME_ZONE
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=30 * 60)
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=25 * 60)
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_BEAT_SCHEDULE = {
    # Recompute everything nightly, as a check on the dirty flags.
    "progress-recompute-all-nightly": {
        "task": "kpis.tasks.progress_recompute_all_task",
        "schedule": crontab(hour=2, minute=30),
    },
    "releases-publish-due": {
        "task": "kpis.tasks.releases_publish_due_task",
        "schedule": 60.0,
    },
    "return-expectations-daily": {
        "task": "kpis.tasks.expectations_generate_task",
        "schedule": crontab(hour=6, minute=0),
    },
    "return-reminders-daily": {
        "task": "kpis.tasks.reminders_send_task",
        "schedule": crontab(hour=8, minute=0),
    },
    # Requeue (or fail, after too many attempts) uploads whose validation stopped silently.
    "returns-sweep-stuck": {
        "task": "kpis.tasks.uploads_sweep_stuck_task",
        "schedule": 300.0,
    },
    # Readiness (/health/ready) asks that some worker ran this lately.
    "worker-heartbeat": {
        "task": "kpis.tasks.worker_heartbeat_task",
        "schedule": 30.0,
    },
    # Pick up any series marked dirty whose enqueued job was lost.
    "progress-recompute-dirty": {
        "task": "kpis.tasks.progress_recompute_task",
        "schedule": 300.0,
    },
}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Readiness fails when no worker has beaten for this long (the heartbeat runs every 30 s).
WORKER_HEARTBEAT_MAX_AGE = env.int("SETSET_WORKER_HEARTBEAT_MAX_AGE", default=180)

# One line per event, with the request's id (setset/logging.py); JSON in production.
LOGGING = logging_config(
    log_format=env("SETSET_LOG_FORMAT", default="text"),
    level=env("DJANGO_LOG_LEVEL", default="INFO"),
)
DJANGO_GUID = {
    "GUID_HEADER_NAME": "X-Request-ID",
    "INTEGRATIONS": [CeleryIntegration(use_django_logging=True, log_parent=True)],
}
