"""Logging: one line per event, as JSON in production, each with the request's id.

The id comes from the ``X-Request-ID`` header a proxy sends, or is made here, and is returned
in the response's own ``X-Request-ID`` (django-guid); Celery tasks carry the id of the request
that queued them. A refusal (403, 404 and other 4xx) is logged in one line, without the
traceback Django would add: it is an answer, not a fault.
"""

from __future__ import annotations

import logging


class ClientErrorsWithoutTraceback(logging.Filter):
    """Drops the traceback from ``django.request``'s records of 4xx answers."""

    def filter(self, record: logging.LogRecord) -> bool:
        status = getattr(record, "status_code", None)
        if status is not None and 400 <= status < 500:
            record.exc_info = None
            record.exc_text = None
        return True


def logging_config(*, log_format: str, level: str) -> dict:
    """The ``LOGGING`` setting: ``log_format`` "json" (production) or "text"."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {
            "request_id": {
                "()": "django_guid.log_filters.CorrelationId",
                "correlation_id_field": "request_id",
            },
            "client_errors_without_traceback": {"()": ClientErrorsWithoutTraceback},
        },
        "formatters": {
            "json": {
                "()": "pythonjsonlogger.json.JsonFormatter",
                "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s",
                "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
                "timestamp": False,
            },
            "text": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
        },
        "handlers": {
            "console": {
                "class": "logging.StreamHandler",
                "formatter": log_format,
                "filters": ["request_id", "client_errors_without_traceback"],
            }
        },
        "root": {"handlers": ["console"], "level": level},
        # It would say, for every request, that it made an id.
        "loggers": {"django_guid": {"level": "WARNING"}},
    }
