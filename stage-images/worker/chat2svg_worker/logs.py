"""Structured JSON logs, one object per line on stderr (stdout carries the StageOutput in local mode),
with the field names of Powertools for AWS Lambda's Logger, so one query reads the handlers' and the
workers' logs alike: `level` (upper case), `message`, `timestamp` (ISO-8601 UTC, milliseconds),
`service`, then the bound context (requestId, stage) and the entry's own fields. An error is logged as
`error: {"name", "message"}`, as the handlers log one."""

from __future__ import annotations

import json
import os
import sys
import time
from typing import Any

_context: dict[str, Any] = {}


def bind(**fields: Any) -> None:
    """Adds fields (requestId, stage) to every later log line."""
    _context.update({k: v for k, v in fields.items() if v is not None})


def timestamp(now: float | None = None) -> str:
    now = time.time() if now is None else now
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + f".{int(now * 1000) % 1000:03d}Z"


def log(message: str, level: str = "INFO", **fields: Any) -> None:
    service = os.environ.get("POWERTOOLS_SERVICE_NAME") or f"{_context.get('stage', 'worker')}-stage"
    line = {"level": level, "message": message, "timestamp": timestamp(), "service": service, **_context, **fields}
    sys.stderr.write(json.dumps(line, default=str) + "\n")
    sys.stderr.flush()
