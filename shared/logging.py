"""structlog setup: JSON lines off a TTY, pretty on one, per-message context, and secret redaction."""

from __future__ import annotations

import logging
import os
import re
import sys
from collections.abc import Iterable, MutableMapping
from typing import Any, TextIO

import structlog
from structlog.typing import EventDict, Processor, WrappedLogger

REDACTED = "***"

# Keys whose values are never logged, whatever they hold.
_SECRET_KEY = re.compile(r"(secret|token|password|passwd|api[_-]?key|authorization|credential|cookie)", re.I)
# Secrets embedded in free text: bearer tokens, `key=value` pairs with a secret-looking key, OpenAI-style keys.
_SECRET_TEXT = (
    re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]{8,}"),
    re.compile(
        r"(?i)((?:secret|token|password|api[_-]?key|authorization|client_secret)[\"']?\s*[:=]\s*[\"']?)[^\s\"'&,}]+"
    ),
    re.compile(r"\bsk-[A-Za-z0-9_-]{10,}"),
)

CONTEXT_KEYS = ("journey_id", "task_id", "stage", "message_id")
# Libraries log through the standard `logging` module; their records go through the same redaction, from this level.
LIBRARY_LOG_LEVEL = logging.WARNING
_ENV_SECRET_MIN_LEN = 8  # shorter values (the emulators' `test`) would blank out ordinary words


class Redactor:
    """A structlog processor that replaces secrets in keys, nested values and free text with `***`."""

    def __init__(self, literals: Iterable[str] = ()) -> None:
        self._literals: set[str] = set()
        self.add(literals)

    def add(self, literals: Iterable[str]) -> None:
        """Register literal secret values (e.g. a configured key) to scrub wherever they appear."""
        self._literals.update(v for v in literals if v and len(v) >= 4)

    def __call__(self, _logger: WrappedLogger, _name: str, event_dict: EventDict) -> EventDict:
        return {k: self._clean(k, v) for k, v in event_dict.items()}

    def _clean(self, key: str, value: Any) -> Any:
        if _SECRET_KEY.search(key) and value not in (None, "", False):
            return REDACTED
        if isinstance(value, str):
            return self._clean_text(value)
        if isinstance(value, MutableMapping):
            return {k: self._clean(str(k), v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self._clean("", v) for v in value]
        return value

    def _clean_text(self, text: str) -> str:
        for literal in self._literals:
            if literal in text:
                text = text.replace(literal, REDACTED)
        for pattern in _SECRET_TEXT:
            text = pattern.sub(lambda m: (m.group(1) if m.groups() else "") + REDACTED, text)
        return text


redactor = Redactor()
_library_handler: logging.Handler | None = None


def environment_secrets(environ: MutableMapping[str, str] | None = None) -> list[str]:
    """Values of environment variables with a secret-looking name (`AWS_SECRET_ACCESS_KEY`, `OPENAI_API_KEY`, …)."""
    env = os.environ if environ is None else environ
    return [v for k, v in env.items() if _SECRET_KEY.search(k) and len(v) >= _ENV_SECRET_MIN_LEN]


def _route_library_logs(out: TextIO, prepare: list[Processor], renderer: Processor) -> None:
    """Send the standard `logging` records of libraries (aiohttp, botocore, httpx, openai) through the same
    processors (redaction included) and renderer, instead of Python's unformatted last-resort handler."""
    global _library_handler
    root = logging.getLogger()
    if _library_handler is not None:
        root.removeHandler(_library_handler)
    handler = logging.StreamHandler(out)
    handler.setLevel(LIBRARY_LOG_LEVEL)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[structlog.stdlib.add_logger_name, *prepare],
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, redactor, renderer],
        )
    )
    root.addHandler(handler)
    _library_handler = handler


def configure_logging(
    level: str = "INFO", fmt: str = "auto", *, secrets: Iterable[str] = (), stream: TextIO | None = None
) -> None:
    """Configure structlog once per process; `fmt` is `json`, `console` or `auto` (console on a TTY)."""
    out = stream or sys.stderr
    redactor.add(secrets)
    redactor.add(environment_secrets())
    as_json = fmt == "json" or (fmt == "auto" and not out.isatty())
    prepare: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.StackInfoRenderer(),
        structlog.processors.format_exc_info,
    ]
    renderer: Processor = (
        structlog.processors.JSONRenderer() if as_json else structlog.dev.ConsoleRenderer(colors=out.isatty())
    )
    _route_library_logs(out, prepare, renderer)
    structlog.configure(
        processors=[*prepare, redactor, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelNamesMapping()[level]),
        logger_factory=structlog.PrintLoggerFactory(out),
        cache_logger_on_first_use=False,
    )


def bind_context(**values: str | None) -> None:
    """Bind the per-message context keys (journey_id, task_id, stage, message_id) for the current task."""
    unknown = set(values) - set(CONTEXT_KEYS)
    if unknown:
        raise ValueError(f"not a log context key: {sorted(unknown)}")
    structlog.contextvars.bind_contextvars(**{k: v for k, v in values.items() if v is not None})


def get_logger(name: str) -> Any:
    """A structlog logger tagged with the module it logs for."""
    # Initial values stay lazy: the logger is built on first use, after `configure_logging` ran.
    return structlog.get_logger(module=name)
