"""MODEL_DIR checks and memory plans."""

from __future__ import annotations

import json
import shutil

import pytest

from chat2svg_detail.fetch import PINNED_MANIFEST
from chat2svg_detail.fetch import main as fetch_main
from chat2svg_detail.models import GIB, check_models, memory_plan
from chat2svg_worker import ModelUnavailable


def test_tiny_models_are_a_complete_model_dir(tiny_models):
    models = check_models(tiny_models)

    assert models.tiny and models.has("controlnet")
    assert (models.path("sdxl") / "model_index.json").is_file()


def test_a_disabled_controlnet_is_not_required(tiny_models, tmp_path):
    root = tmp_path / "m"
    shutil.copytree(tiny_models, root, ignore=shutil.ignore_patterns("controlnet-tile"))
    manifest = json.loads((root / "models.json").read_text())
    manifest["components"]["controlnet"]["enabled"] = False
    (root / "models.json").write_text(json.dumps(manifest))

    assert not check_models(root).has("controlnet")


def test_a_missing_sam_is_named(tiny_models, tmp_path):
    root = tmp_path / "m"
    shutil.copytree(tiny_models, root, ignore=shutil.ignore_patterns("sam"))

    with pytest.raises(ModelUnavailable, match=r"sam/config\.json"):
        check_models(root)


def test_a_manifest_that_is_not_json_is_model_unavailable(tmp_path):
    (tmp_path / "models.json").write_text("{")

    with pytest.raises(ModelUnavailable, match="not a model manifest"):
        check_models(tmp_path)


def test_the_pinned_manifest_pins_every_enabled_component_to_a_commit():
    manifest = json.loads(PINNED_MANIFEST.read_text())

    enabled = {k: v for k, v in manifest["components"].items() if v.get("enabled", True)}
    assert {"sdxl", "sam"} <= set(enabled)
    assert all(len(v["revision"]) == 40 and int(v["revision"], 16) >= 0 for v in enabled.values())


def test_fetch_if_missing_leaves_a_complete_dir_alone(tiny_models):
    assert fetch_main(["--dest", str(tiny_models), "--if-missing"]) == 0


def test_fetch_refuses_an_unpinned_component(tmp_path):
    manifest = json.loads(PINNED_MANIFEST.read_text())
    manifest["components"] = {"sam": {**manifest["components"]["sam"], "revision": "main"}}
    (tmp_path / "pins.json").write_text(json.dumps(manifest))

    with pytest.raises(SystemExit, match="must pin a 40-hex commit"):
        fetch_main(["--dest", str(tmp_path / "m"), "--manifest", str(tmp_path / "pins.json")])


@pytest.mark.parametrize(
    ("gpu_gib", "points", "expected"),
    [
        (80, 32, ("resident", 128)),
        (80, 64, ("resident", 64)),
        (16, 32, ("offload+vae_tiling", 64)),
        (8, 24, ("offload+attention_slicing+vae_tiling", 32)),
    ],
)
def test_memory_plans_shrink_with_the_gpu_and_the_tier(gpu_gib, points, expected):
    plan = memory_plan("cuda", gpu_gib * GIB, points)

    assert (plan.describe(), plan.sam_points_per_batch) == expected


def test_cpu_runs_resident():
    assert memory_plan("cpu", 0, 64).describe() == "resident"
