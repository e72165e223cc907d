"""run-local end to end on CPU with tiny models: the stage contract (docs/architecture.md §6)."""

from __future__ import annotations

import copy
import hashlib
import io
import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import boto3
import numpy as np
from PIL import Image

from chat2svg_detail.svgdoc import SvgDoc
from chat2svg_worker import read_payload, validate_stage_output

HERE = Path(__file__).resolve().parent
RUN_LOCAL = HERE.parent / "run-local"
FIXTURE = json.loads((HERE / "fixtures" / "stage-input.json").read_text())


def run_local(stage_input: Any, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "PAYLOAD_"))}
    full_env.update(env)
    return subprocess.run(
        [str(RUN_LOCAL)],
        input=json.dumps(stage_input),
        env=full_env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def failure(proc: subprocess.CompletedProcess[str]) -> dict[str, str]:
    return json.loads(proc.stderr.strip().splitlines()[-1])


def with_svg(stage_input: dict[str, Any], svg: str) -> dict[str, Any]:
    out = copy.deepcopy(stage_input)
    data = svg.encode()
    out["svg"] = {
        "inline": svg,
        "encoding": "utf8",
        "mediaType": "image/svg+xml",
        "bytes": len(data),
        "sha256": hashlib.sha256(data).hexdigest(),
    }
    return out


def test_tiny_models_produce_an_enhanced_svg_and_a_target_image(tiny_models, s3_env):
    # A long description that gzip cannot shrink enough makes the SVG too large to travel inline
    # (64 KiB, half the output budget): it must go to S3 while the small target stays inline.
    template = FIXTURE["svg"]["inline"]
    description = "<desc>" + np.random.default_rng(0).bytes(70_000).hex() + "</desc>"
    big = template.replace("<rect", description + "<rect", 1)
    proc = run_local(with_svg(FIXTURE, big), {"MODEL_DIR": str(tiny_models), **s3_env})

    assert proc.returncode == 0, proc.stderr[-2000:]
    output = validate_stage_output(json.loads(proc.stdout))
    assert output["svg"]["s3"] == {
        "bucket": s3_env["PAYLOAD_BUCKET"],
        "key": "runs/req-detail-fixture/detail/detail.svg",
    }
    assert "inline" in output["target"] and output["target"]["mediaType"] == "image/png"
    assert len(proc.stdout) <= 128 * 1024
    s3 = boto3.client(
        "s3",
        endpoint_url=s3_env["AWS_ENDPOINT_URL_S3"],
        region_name="us-east-1",
        aws_access_key_id="S3RVER",
        aws_secret_access_key="S3RVER",
    )
    doc = SvgDoc(read_payload(output["svg"], client=s3).decode())
    assert {f"path_{i}" for i in range(5)} <= {el.get("id") for el in doc.root.iter()}
    assert doc.render(128).shape == (128, 128, 3)
    metrics = output["metrics"]
    target = Image.open(io.BytesIO(read_payload(output["target"])))
    # Tiny SDXL works at 64 px; the target is not upscaled past what the diffusion produced.
    assert target.size == (metrics["diffusionSize"], metrics["diffusionSize"]) == (64, 64)
    assert metrics["device"] == "cpu" and metrics["dtype"] == "float32"
    assert metrics["steps"] == 3  # int(4 steps * strength 0.9)
    assert metrics["controlnet"] is True and metrics["tinyModels"] is True
    assert metrics["pathsAdded"] == len(doc.shapes()) - 5


def test_without_models_it_fails_with_model_unavailable(tmp_path):
    proc = run_local(FIXTURE, {"MODEL_DIR": str(tmp_path)})

    assert proc.returncode == 1
    error = failure(proc)
    assert error["error"] == "Stage.ModelUnavailable"
    assert "models.json" in error["cause"] and "fetch-models" in error["cause"]


def test_an_incomplete_model_dir_names_what_is_missing(tiny_models, tmp_path):
    broken = tmp_path / "models"
    shutil.copytree(tiny_models, broken)
    for weights in (broken / "sdxl" / "unet").glob("*.safetensors"):
        weights.unlink()

    proc = run_local(FIXTURE, {"MODEL_DIR": str(broken)})

    error = failure(proc)
    assert error["error"] == "Stage.ModelUnavailable"
    assert "sdxl/unet/*.safetensors" in error["cause"]


def test_corrupt_weights_are_model_unavailable_not_a_crash(tiny_models, tmp_path):
    broken = tmp_path / "models"
    shutil.copytree(tiny_models, broken)
    for weights in (broken / "sdxl" / "vae").glob("*.safetensors"):
        weights.write_bytes(b"not a safetensors file")

    proc = run_local(FIXTURE, {"MODEL_DIR": str(broken)})

    error = failure(proc)
    assert error["error"] == "Stage.ModelUnavailable"
    assert error["cause"].startswith("cannot load sdxl")


def test_a_bad_config_is_invalid_input(tiny_models):
    stage_input = copy.deepcopy(FIXTURE)
    stage_input["config"]["samPointsPerSide"] = 0

    proc = run_local(stage_input, {"MODEL_DIR": str(tiny_models)})

    assert proc.returncode == 2
    # The config is checked against the generated detail-config schema, ranges included.
    assert failure(proc) == {
        "error": "Stage.InvalidInput",
        "cause": "invalid stage-input: config/samPointsPerSide: 0 is less than the minimum of 1",
    }


def test_a_template_that_is_not_svg_is_invalid_input(tiny_models):
    proc = run_local(with_svg(FIXTURE, "<html></html>"), {"MODEL_DIR": str(tiny_models)})

    assert failure(proc)["error"] == "Stage.InvalidInput"


def test_without_python_it_reports_stage_unavailable(tmp_path):
    proc = run_local(FIXTURE, {"CHAT2SVG_PYTHON": str(tmp_path / "no-python")})

    assert proc.returncode == 3
    assert failure(proc)["error"] == "Stage.Unavailable"
