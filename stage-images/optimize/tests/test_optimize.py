"""The fit and the stage core: a shape moves onto its target, runs repeat exactly, size shrinks."""

import io
import json
import os
import subprocess
from pathlib import Path

import numpy as np
import pytest
import torch
from chat2svg_worker import InvalidInput, make_payload
from chat2svg_worker.contracts import errors
from PIL import Image

from chat2svg_optimize.optimize import OptimizeConfig, compact, optimize, simplify
from chat2svg_optimize.reference import render_resvg
from chat2svg_optimize.refine import split_segments
from chat2svg_optimize.svg import parse_svg, write_svg

RUN_LOCAL = Path(__file__).parents[1] / "run-local"
START = (
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64">'
    '<circle id="blob" cx="24" cy="26" r="13" fill="#3060c0"/></svg>'
)
TARGET = (
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64">'
    '<path d="M20 16 L50 22 L44 50 L18 44 Z" fill="#d04020"/></svg>'
)


def target_image(size: int = 96) -> torch.Tensor:
    return torch.from_numpy(render_resvg(TARGET, size, size).astype(np.float32))


def mask(svg: str, size: int) -> np.ndarray:
    return render_resvg(svg, size, size).min(-1) < 0.5


def test_fit_brings_a_circle_onto_a_quadrilateral_target() -> None:
    config = OptimizeConfig(iterations=200, learning_rate=0.01, opt_for_size=False, opt_for_quality=True, resolution=96)
    result = optimize(parse_svg(START), target_image(), config, seed=0, device=torch.device("cpu"))
    a, b = mask(result.svg, 256), mask(TARGET, 256)
    iou = (a & b).sum() / (a | b).sum()
    assert iou >= 0.95
    assert result.metrics["psnr"] > result.metrics["psnrBefore"] + 10
    assert result.scene.shapes[0].id == "blob"
    assert result.scene.shapes[0].fill[0] > 0.7  # the color followed too


def test_same_seed_gives_the_same_svg() -> None:
    config = OptimizeConfig(iterations=20, learning_rate=0.01, opt_for_size=True, opt_for_quality=True, resolution=64)
    runs = [optimize(parse_svg(START), target_image(64), config, 7, torch.device("cpu")).svg for _ in range(2)]
    assert runs[0] == runs[1]


def test_for_size_cuts_segments_and_bytes_within_a_bounded_loss() -> None:
    # An over-segmented ellipse (each quarter split in four) and coordinates with many decimals.
    scene = parse_svg(START.replace('cx="24"', 'cx="24.123456"'))
    heavy = split_segments(split_segments(scene, lambda *_: True), lambda *_: True)
    config = OptimizeConfig(iterations=0, opt_for_size=True, opt_for_quality=False, resolution=128)
    result = optimize(heavy, None, config, 0, torch.device("cpu"))
    assert heavy.segments == 16 and result.metrics["segments"] < 16
    assert result.metrics["bytes"] < len(write_svg(heavy, 6)) / 2
    a, b = render_resvg(write_svg(heavy, 6), 128, 128), render_resvg(result.svg, 128, 128)
    assert 10 * np.log10(1 / np.mean((a - b) ** 2)) >= 30


def test_simplify_turns_near_lines_into_lines_and_merges_them() -> None:
    scene = parse_svg(
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64"><path d="M0 0L10 0.01L20 0L20 20Z"/></svg>'
    )
    assert simplify(scene, 0.05).segments == 3


def test_config_is_validated() -> None:
    with pytest.raises(InvalidInput, match="iterations"):
        OptimizeConfig.from_stage_config({"iterations": "many"})
    cfg = OptimizeConfig.from_stage_config(
        {"iterations": 700, "learningRate": 0.008, "optForSize": True, "optForQuality": True}
    )
    assert (cfg.iterations, cfg.learning_rate, cfg.resolution) == (700, 0.008, 256)


def stage_input(iterations: int = 30, **extra) -> dict:
    buf = io.BytesIO()
    Image.fromarray((target_image(64).numpy() * 255).round().astype(np.uint8)).save(buf, format="PNG")
    return {
        "schemaVersion": 1,
        "requestId": "req-opt",
        "stage": "optimize",
        "prompt": "a red box",
        "style": "",
        "seed": 1,
        "config": {
            "iterations": iterations,
            "learningRate": 0.01,
            "optForSize": True,
            "optForQuality": True,
            "resolution": 64,
        },  # fmt: skip
        "svg": make_payload(START.encode(), "image/svg+xml", budget=64 * 1024),
        "target": make_payload(buf.getvalue(), "image/png", budget=64 * 1024),
        **extra,
    }


def run_local(doc: dict | str, env: dict | None = None) -> subprocess.CompletedProcess:
    text = doc if isinstance(doc, str) else json.dumps(doc)
    return subprocess.run(
        [str(RUN_LOCAL)], input=text, capture_output=True, text=True, timeout=120, env={**os.environ, **(env or {})}
    )


def test_run_local_answers_a_stage_output() -> None:
    done = run_local(stage_input())
    assert done.returncode == 0, done.stderr[-2000:]
    out = json.loads(done.stdout)
    assert errors("stage-output", out) == []
    assert out["svg"]["encoding"] == "utf8" and out["svg"]["inline"].startswith("<svg")
    for key in ("psnr", "ssim", "elements", "segments", "bytes", "itersPerSecond", "device"):
        assert key in out["metrics"], key
    assert out["metrics"]["iterations"] == 30 and out["metrics"]["psnr"] > out["metrics"]["psnrBefore"]


def test_run_local_reports_invalid_input() -> None:
    doc = stage_input()
    doc["svg"] = make_payload(b"<svg><path d='M 1'/></svg>", "image/svg+xml", budget=6144)
    done = run_local(doc)
    assert done.returncode != 0
    assert json.loads(done.stderr.strip().splitlines()[-1])["error"] == "Stage.InvalidInput"


def test_run_local_without_python_is_unavailable() -> None:
    done = run_local(stage_input(), env={"CHAT2SVG_PYTHON": "/nonexistent/python"})
    assert done.returncode == 3
    failure = json.loads(done.stderr.strip().splitlines()[-1])
    assert failure["error"] == "Stage.Unavailable" and "README" in failure["cause"]


@pytest.mark.gpu
def test_fit_on_cuda_reaches_the_target() -> None:
    config = OptimizeConfig(iterations=200, learning_rate=0.01, opt_for_size=False, opt_for_quality=True, resolution=96)
    result = optimize(parse_svg(START), target_image(), config, seed=0, device=torch.device("cuda"))
    a, b = mask(result.svg, 256), mask(TARGET, 256)
    assert (a & b).sum() / (a | b).sum() >= 0.95
    assert result.metrics["device"] == "cuda"


def test_quality_first_over_budget_rounds_before_it_simplifies() -> None:
    # Many short, non-round segments: one decimal less brings it under a budget between its 1- and
    # 2-decimal sizes, so no segment is merged; under a tighter budget it is simplified as for size.
    square = START.replace('<circle id="blob" cx="24" cy="26" r="13"', '<path d="M16.41 16.41H48.41V48.41H16.41Z"')
    scene = split_segments(split_segments(parse_svg(square), lambda *_: True), lambda *_: True)
    one, two = len(write_svg(scene, 1).encode()), len(write_svg(scene, 2).encode())
    cpu = torch.device("cpu")
    rounded, digits = compact(scene, (one + two) / 2, False, 64, 64, cpu)
    assert digits == 1 and rounded.segments == scene.segments
    simplified, _ = compact(scene, one / 2, False, 64, 64, cpu)
    assert simplified.segments < scene.segments
