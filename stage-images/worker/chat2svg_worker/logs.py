"""Structured JSON logs, one object per line on stderr (stdout carries the StageOutput in local mode)."""

from __future__ import annotations

import json
import sys
import time
from typing import Any

_context: dict[str, Any] = {}


def bind(**fields: Any) -> None:
    """Adds fields (requestId, stage) to every later log line."""
    _context.update({k: v for k, v in fields.items() if v is not None})


def log(message: str, level: str = "INFO", **fields: Any) -> None:
    now = time.time()
    line = {
        "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + f".{int(now * 1000) % 1000:03d}Z",
        "level": level,
        "message": message,
        **_context,
        **fields,
    }
    sys.stderr.write(json.dumps(line, default=str) + "\n")
    sys.stderr.flush()
