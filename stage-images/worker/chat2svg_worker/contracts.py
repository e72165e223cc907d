"""Validates stage documents against the JSON Schemas generated from functions/contracts/schemas.ts, and
reads the tier table generated from functions/contracts/tiers.ts (scripts/gen-schemas.ts writes both)."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator, ValidationError

from chat2svg_worker.errors import InvalidInput, StageError

SCHEMA_DIR = Path(__file__).parent / "schemas"
SCHEMA_NAMES = (
    "payload-ref",
    "stage-input",
    "stage-output",
    "stage-failure",
    "pipeline-plan",
    "detail-config",
    "optimize-config",
)


@cache
def validator(name: str) -> Draft202012Validator:
    schema = json.loads((SCHEMA_DIR / f"{name}.schema.json").read_text())
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def _branch_errors(error: ValidationError) -> list[ValidationError]:
    """The violations of a union (StageInput is one per `stage`) in the branches whose own `stage`
    matched, so a bad detail config reads as such and not as "valid under none of the schemas"."""
    if error.validator not in ("oneOf", "anyOf") or not error.context:
        return [error]
    branches: dict[Any, list[ValidationError]] = {}
    for sub in error.context:
        branches.setdefault(sub.relative_schema_path[0], []).append(sub)
    matching = [subs for subs in branches.values() if not any(list(e.relative_path) == ["stage"] for e in subs)]
    return [leaf for subs in matching for sub in subs for leaf in _branch_errors(sub)] or [error]


def errors(name: str, doc: Any) -> list[str]:
    """Human-readable schema violations, empty when `doc` is valid."""
    found = [leaf for error in validator(name).iter_errors(doc) for leaf in _branch_errors(error)]
    found.sort(key=lambda e: [str(part) for part in e.absolute_path])
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


def validate_stage_config(stage: str, config: Any) -> dict[str, Any]:
    """A stage's `StageInput.config`, checked against that stage's config schema (keys and ranges)."""
    return validate(f"{stage}-config", config)


@cache
def tiers() -> dict[str, dict[str, dict[str, Any]]]:
    """The default config matrix: tier ⇒ stage ⇒ config (camelCase keys, as in StageInput.config)."""
    return json.loads((SCHEMA_DIR / "tiers.json").read_text())["tiers"]
