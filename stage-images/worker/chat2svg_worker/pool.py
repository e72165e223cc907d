"""The warm worker core: load a stage's models once, then run many StageInputs in this process.

A transport feeds it work. The local one (`main_pool`) reads JSON lines on stdin and answers JSON
lines on stdout; a queue poller on AWS can drive the same `WarmWorker.handle` per message.

Protocol of `main_pool`, one JSON object a line:
- worker → host, once loaded: `{"event": "ready", "pid": N, "modelLoads": {"sdxl": 1, ...}}`
- host → worker: `{"id": "j1", "input": <StageInput>}`
- worker → host: `{"id": "j1", "output": <StageOutput>, "modelLoads": {...}}` or
  `{"id": "j1", "error": "Stage.…", "cause": "…", "modelLoads": {...}}`
"""

from __future__ import annotations

import json
import os
import sys
import threading
from collections import Counter
from collections.abc import Callable
from typing import IO, Any

from chat2svg_worker.entries import RunFn, execute
from chat2svg_worker.errors import StageError, as_stage_error
from chat2svg_worker.logs import log

LoadFn = Callable[[], None]

_loads: Counter[str] = Counter()
_loads_lock = threading.Lock()


def note_model_load(name: str) -> None:
    """Stages call this each time they load model weights, so a warm worker can prove it loads once."""
    with _loads_lock:
        _loads[name] += 1


def model_loads() -> dict[str, int]:
    with _loads_lock:
        return dict(_loads)


class WarmWorker:
    """One stage's models, loaded at construction, and a `handle` for each StageInput after that."""

    def __init__(self, run: RunFn, load: LoadFn | None = None) -> None:
        self._run = run
        if load is not None:
            load()
        self.handled = 0

    def handle(self, stage_input: Any) -> dict[str, Any]:
        """The StageOutput, or raises StageError (as `execute` does)."""
        try:
            return execute(self._run, stage_input)
        finally:
            self.handled += 1


def _answer(out: IO[str], message: dict[str, Any]) -> None:
    out.write(json.dumps(message, separators=(",", ":")) + "\n")
    out.flush()


def main_pool(run: RunFn, load: LoadFn | None = None, *, stdin: IO[str] | None = None) -> int:
    """Loads once, then answers one JSON line per request line until stdin closes."""
    # The protocol owns the real stdout; anything the stage or a library prints goes to stderr.
    out = os.fdopen(os.dup(sys.stdout.fileno()), "w", encoding="utf-8")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    sys.stdout = sys.stderr
    source = stdin or sys.stdin
    try:
        worker = WarmWorker(run, load)
    except BaseException as exc:  # noqa: BLE001 - a worker that cannot load says why, then exits
        error = as_stage_error(exc)
        log("warm worker failed to load", level="ERROR", error=error.name, cause=error.cause)
        sys.stderr.write(json.dumps(error.failure()) + "\n")
        sys.stderr.flush()
        return 3
    _answer(out, {"event": "ready", "pid": os.getpid(), "modelLoads": model_loads()})
    for line in source:
        if not line.strip():
            continue
        job_id = None
        try:
            message = json.loads(line)
            job_id = message["id"]
            reply: dict[str, Any] = {"id": job_id, "output": worker.handle(message["input"])}
        except StageError as error:
            reply = {"id": job_id, **error.failure()}
        except BaseException as exc:  # noqa: BLE001 - one bad request must not end the worker
            if isinstance(exc, KeyboardInterrupt | SystemExit):
                raise
            reply = {"id": job_id, **as_stage_error(exc).failure()}
        reply["modelLoads"] = model_loads()
        _answer(out, reply)
    return 0
