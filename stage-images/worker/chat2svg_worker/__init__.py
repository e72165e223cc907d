"""Shared worker library of the chat2svg container stages (docs/architecture.md §5–§6)."""

from chat2svg_worker.contracts import (
    validate,
    validate_payload_ref,
    validate_stage_input,
    validate_stage_output,
)
from chat2svg_worker.entries import execute, main, main_activity, main_local, main_task
from chat2svg_worker.errors import (
    Failed,
    InvalidInput,
    ModelUnavailable,
    OutOfMemory,
    StageError,
    Timeout,
    Unavailable,
    as_stage_error,
)
from chat2svg_worker.logs import log
from chat2svg_worker.payload import (
    BUDGETS,
    make_json_payload,
    make_output_payload,
    make_payload,
    read_json_payload,
    read_payload,
    run_key,
)
from chat2svg_worker.pool import WarmWorker, main_pool, model_loads, note_model_load

__all__ = [
    "BUDGETS",
    "Failed",
    "InvalidInput",
    "ModelUnavailable",
    "OutOfMemory",
    "StageError",
    "Timeout",
    "Unavailable",
    "WarmWorker",
    "as_stage_error",
    "execute",
    "log",
    "main",
    "main_activity",
    "main_local",
    "main_pool",
    "main_task",
    "make_json_payload",
    "make_output_payload",
    "make_payload",
    "model_loads",
    "note_model_load",
    "read_json_payload",
    "read_payload",
    "run_key",
    "validate",
    "validate_payload_ref",
    "validate_stage_input",
    "validate_stage_output",
]
