"""Structured logs: one line per event, with a level, a module and key=value fields.

`log(logger, level, event, **fields)` writes e.g.
``2026-11-25T23:59:01.123Z INFO consensus view_change view=3 reason=timeout``
or, with `--log-format json`, one JSON object per line.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from typing import Any

_FIELDS_ATTR = "agora_fields"
LOGGER_ROOTS = ("agora", "p2p")


class _Formatter(logging.Formatter):
    def __init__(self, as_json: bool) -> None:
        super().__init__()
        self.as_json = as_json

    def format(self, record: logging.LogRecord) -> str:
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
        stamp += f".{int(record.msecs):03d}Z"
        fields: dict[str, Any] = getattr(record, _FIELDS_ATTR, {})
        message = record.getMessage()
        if record.exc_info and record.levelno >= logging.ERROR:
            fields = {**fields, "error": repr(record.exc_info[1])}
        if self.as_json:
            return json.dumps({"ts": stamp, "level": record.levelname, "module": record.name,
                               "event": message, **fields}, default=str)
        parts = [stamp, record.levelname, record.name, message]
        parts.extend(f"{key}={_fmt(value)}" for key, value in fields.items())
        line = " ".join(parts)
        return line.replace("\n", "\\n")


def _fmt(value: Any) -> str:
    text = value.hex()[:16] if isinstance(value, bytes) else str(value)
    if not text or any(c in text for c in ' ="'):
        return json.dumps(text)
    return text


def setup_logging(level: str = "info", fmt: str = "text", stream: Any = None) -> None:
    """Route the `agora.*` and `p2p.*` loggers to one stream (stderr by default) in the
    chosen format."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(_Formatter(fmt == "json"))
    # The P2P layer is a library of its own and logs under "p2p".
    for name in LOGGER_ROOTS:
        root = logging.getLogger(name)
        root.handlers[:] = [handler]
        root.setLevel(level.upper())
        root.propagate = False


def get_logger(name: str) -> logging.Logger:
    """The logger `agora.<name>`."""
    return logging.getLogger(f"agora.{name}")


def log(logger: logging.Logger, level: int, event: str, **fields: Any) -> None:
    """Write one structured line: `event` and its fields."""
    if logger.isEnabledFor(level):
        logger.log(level, event, extra={_FIELDS_ATTR: fields})
