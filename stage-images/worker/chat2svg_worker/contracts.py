"""Validates stage documents against the JSON Schemas generated from functions/contracts/schemas.ts."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

from chat2svg_worker.errors import InvalidInput, StageError

SCHEMA_DIR = Path(__file__).parent / "schemas"
SCHEMA_NAMES = ("payload-ref", "stage-input", "stage-output", "stage-failure", "pipeline-plan")


@cache
def validator(name: str) -> Draft202012Validator:
    schema = json.loads((SCHEMA_DIR / f"{name}.schema.json").read_text())
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def errors(name: str, doc: Any) -> list[str]:
    """Human-readable schema violations, empty when `doc` is valid."""
    found = sorted(validator(name).iter_errors(doc), key=lambda e: list(e.absolute_path))
    return [f"{'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}" for e in found]


def validate(name: str, doc: Any, error: type[StageError] = InvalidInput) -> dict[str, Any]:
    problems = errors(name, doc)
    if problems:
        raise error(f"invalid {name}: " + "; ".join(problems[:5]))
    return doc


def validate_stage_input(doc: Any) -> dict[str, Any]:
    return validate("stage-input", doc)


def validate_stage_output(doc: Any) -> dict[str, Any]:
    # A worker that produces a bad output has a bug; the input was fine.
    from chat2svg_worker.errors import Failed

    return validate("stage-output", doc, Failed)


def validate_payload_ref(doc: Any) -> dict[str, Any]:
    return validate("payload-ref", doc)
