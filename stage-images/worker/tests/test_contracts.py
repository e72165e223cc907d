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


def test_a_bad_stage_config_is_named_by_its_key_within_the_stage_of_the_input() -> None:
    from chat2svg_worker.contracts import errors, tiers

    doc = {
        "schemaVersion": 1,
        "requestId": "req-1",
        "stage": "detail",
        "prompt": "a fox",
        "style": "",
        "seed": 0,
        "config": {**tiers()["low"]["detail"], "strength": 1.5},
        "svg": {"inline": "<svg/>", "encoding": "utf8", "mediaType": "image/svg+xml", "bytes": 6, "sha256": "0" * 64},
    }

    assert errors("stage-input", doc) == ["config/strength: 1.5 is greater than the maximum of 1"]
    doc["config"] = tiers()["low"]["optimize"]  # an optimize config under stage detail
    assert all(problem.startswith("config") for problem in errors("stage-input", doc))


def test_the_tier_table_has_every_tier_and_stage() -> None:
    from chat2svg_worker.contracts import tiers

    assert sorted(tiers()) == ["high", "low", "medium"]
    assert all(sorted(stages) == ["detail", "optimize", "template"] for stages in tiers().values())
