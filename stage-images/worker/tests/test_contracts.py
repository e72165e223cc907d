"""The shared vectors: test/unit/schema-vectors.test.ts checks the same files with the zod schemas."""

import json
from pathlib import Path

import pytest

from chat2svg_worker import InvalidInput, validate
from chat2svg_worker.contracts import errors

VECTORS = Path(__file__).parent / "vectors"
CASES = sorted(VECTORS.glob("*/*/*.json"))


def test_every_schema_has_valid_and_invalid_vectors() -> None:
    for schema in ("payload-ref", "stage-input", "stage-output", "stage-failure"):
        assert list((VECTORS / schema / "valid").glob("*.json")), schema
        assert list((VECTORS / schema / "invalid").glob("*.json")), schema


@pytest.mark.parametrize("path", CASES, ids=lambda p: f"{p.parts[-3]}/{p.parts[-2]}/{p.stem}")
def test_vector_is_judged_as_its_folder_says(path: Path) -> None:
    schema, kind = path.parts[-3], path.parts[-2]
    doc = json.loads(path.read_text())
    problems = errors(schema, doc)
    assert (problems == []) == (kind == "valid"), problems


def test_validate_raises_invalid_input_naming_the_field() -> None:
    doc = json.loads((VECTORS / "stage-input/invalid/negative-seed.json").read_text())
    with pytest.raises(InvalidInput, match="seed"):
        validate("stage-input", doc)
