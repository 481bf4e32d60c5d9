"""Logging for every process (web, worker, scheduler, CLI), configured once, as text or JSON.

Each line carries the request id of the web request it belongs to and, in a worker, the id
and name of the task: the request id travels from the request into the tasks it enqueued
(:mod:`core.celery_app`), so one id follows a subscription from the page to its email.
"""

from __future__ import annotations

import json
import logging
import sys
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import IO, Any

from core.error_reports import start_error_reports
from core.settings import Settings

request_id: ContextVar[str] = ContextVar("herald_request_id", default="")
"""The id of the web request (or of the request that enqueued the running task)."""
task_id: ContextVar[str] = ContextVar("herald_task_id", default="")
"""The id of the Celery task this worker is running."""
task_name: ContextVar[str] = ContextVar("herald_task_name", default="")
"""The name of the Celery task this worker is running."""

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s%(context)s: %(message)s"

# Libraries that configure loggers of their own: their lines go through Herald's handler.
_OWN_HANDLERS = ("uvicorn", "uvicorn.error", "celery", "celery.task", "celery.redirected")
# Herald writes its own access line (tokens redacted); uvicorn's would repeat it unredacted.
_SILENCED = ("uvicorn.access",)
# One INFO line per HTTP request Herald makes (providers, webhooks, feeds): noise at the
# default level, and their URLs can carry a signed link. Warnings and errors still show.
_QUIET_BELOW_WARNING = ("httpx", "httpcore")


class _CurrentStderr(logging.StreamHandler):  # type: ignore[type-arg]
    """A handler writing to whatever ``sys.stderr`` is at the time of each line.

    Test runners swap ``sys.stderr`` for each test; a handler that kept the first one would
    write into a closed file.
    """

    @property
    def stream(self) -> IO[str]:
        return sys.stderr

    @stream.setter
    def stream(self, _value: IO[str]) -> None:
        pass


class _Context(logging.Filter):
    """Adds the request and task ids to every record, as attributes the formatters read."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id.get()
        record.task_id = task_id.get()
        record.task_name = task_name.get()
        parts = [f"{key}={value}" for key, value in _ids(record).items()]
        record.context = f" [{' '.join(parts)}]" if parts else ""
        return True


def _ids(record: logging.LogRecord) -> dict[str, str]:
    found = {
        "request_id": getattr(record, "request_id", ""),
        "task_id": getattr(record, "task_id", ""),
        "task_name": getattr(record, "task_name", ""),
    }
    return {key: value for key, value in found.items() if value}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, ids, exception text."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as one line of JSON."""
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            **_ids(record),
        }
        http = getattr(record, "http", None)
        if http:
            line["http"] = http
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            line["exception"] = record.exc_text
        if record.stack_info:
            line["stack"] = self.formatStack(record.stack_info)
        return json.dumps(line, ensure_ascii=False, default=str)


_handler: logging.Handler | None = None


def configure_logging(settings: Settings) -> None:
    """Send every log line at ``log_level`` and above to stderr in ``log_format``.

    Safe to call again (the app factory runs once per test): it replaces only the handler
    it installed itself, so a test runner's own handlers stay.
    """
    global _handler
    root = logging.getLogger()
    if _handler is not None:
        root.removeHandler(_handler)
    handler = _CurrentStderr()
    handler.addFilter(_Context())
    handler.setFormatter(
        JsonFormatter() if settings.log_format == "json" else logging.Formatter(TEXT_FORMAT)
    )
    root.addHandler(handler)
    root.setLevel(settings.log_level)
    _handler = handler
    # Python warnings (a library's deprecation, Celery's about running as root) become
    # log lines too: in JSON, nothing else may reach the stream.
    logging.captureWarnings(True)
    for name in _OWN_HANDLERS:
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.setLevel(logging.NOTSET)
        logger.propagate = True
    for name in _SILENCED:
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = False
    for name in _QUIET_BELOW_WARNING:
        logging.getLogger(name).setLevel(max(logging.WARNING, root.level))
    # Here, so that every process that logs also reports its errors.
    start_error_reports(settings)
