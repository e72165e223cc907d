"""The optimize stage's core: StageInput → StageOutput (docs/architecture.md §6, §7)."""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import torch
from chat2svg_worker import InvalidInput, log, make_output_payload, note_model_load, read_payload
from PIL import Image, UnidentifiedImageError

from chat2svg_optimize.optimize import OptimizeConfig, optimize, pick_device
from chat2svg_optimize.svg import parse_svg


def decode_image(data: bytes) -> torch.Tensor:
    """PNG/JPEG/WebP bytes → (H, W, 3) float in [0, 1], transparency composited over white."""
    try:
        img = Image.open(io.BytesIO(data))
        img.load()
    except (UnidentifiedImageError, OSError) as exc:
        raise InvalidInput(f"target is not an image: {exc}") from exc
    rgba = img.convert("RGBA")
    white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
    rgb = Image.alpha_composite(white, rgba).convert("RGB")
    return torch.from_numpy(np.asarray(rgb, dtype=np.float32) / 255)


def load() -> None:
    """Pool mode: the stage has no weights; a warm worker pays torch's first-use costs (device pick,
    autograd set-up) once instead of on its first request."""
    device = pick_device()
    probe = torch.zeros(8, device=device, requires_grad=True)
    (probe * 2).sum().backward()
    note_model_load("rasterizer")


def run(stage_input: dict[str, Any]) -> dict[str, Any]:
    if stage_input["stage"] != "optimize":
        raise InvalidInput(f"this worker runs the optimize stage, not {stage_input['stage']}")
    config = OptimizeConfig.from_stage_config(stage_input["config"])
    try:
        scene = parse_svg(read_payload(stage_input["svg"]))
    except UnicodeDecodeError as exc:
        raise InvalidInput(f"svg is not UTF-8: {exc}") from exc
    target = decode_image(read_payload(stage_input["target"])) if "target" in stage_input else None
    device = pick_device()
    log("optimizing", shapes=len(scene.shapes), segments=scene.segments, device=device.type, target=target is not None)
    result = optimize(scene, target, config, stage_input["seed"], device)
    svg = make_output_payload(result.svg.encode(), "image/svg+xml", stage_input, "optimized.svg")
    return {"svg": svg, "metrics": result.metrics}
