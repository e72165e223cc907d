"""The stage core: run(StageInput) -> StageOutput (docs/architecture.md §6) over render → SDEdit → SAM →
vectorize."""

from __future__ import annotations

import gc
import io
import os
import resource
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image

from chat2svg_detail.models import check_models, memory_plan
from chat2svg_detail.segment import PRED_IOU_TARGET, PRED_IOU_TEMPLATE, MaskGenerator, select_new_masks
from chat2svg_detail.svgdoc import SvgDoc
from chat2svg_detail.vectorize import dominant_color, mask_to_path
from chat2svg_worker import (
    BUDGETS,
    InvalidInput,
    ModelUnavailable,
    OutOfMemory,
    as_stage_error,
    make_output_payload,
    read_payload,
)
from chat2svg_worker.contracts import validate_stage_config
from chat2svg_worker.payload import json_size

# SAM, vectorization and the target image work at 512 px on the longest side, as Chat2SVG does;
# the optimize stage resamples the target to its own resolution.
WORK_SIZE = 512
# Room left in the StageOutput for metrics and keys once svg and target are placed
# (docs/architecture.md §5: ≤ 128 KiB).
OUTPUT_RESERVE = 8 * 1024


@dataclass(frozen=True)
class DetailConfig:
    num_inference_steps: int
    strength: float
    guidance_scale: float
    sam_points_per_side: int

    @classmethod
    def parse(cls, config: dict[str, Any]) -> DetailConfig:
        """The detail keys of docs/architecture.md §7, checked against the generated DetailConfig schema."""
        config = validate_stage_config("detail", config)
        return cls(
            num_inference_steps=int(config["numInferenceSteps"]),
            strength=float(config["strength"]),
            guidance_scale=float(config["guidanceScale"]),
            sam_points_per_side=int(config["samPointsPerSide"]),
        )


def pick_device() -> str:
    import torch

    wanted = os.environ.get("DETAIL_DEVICE")
    if wanted:
        if wanted == "cuda" and not torch.cuda.is_available():
            raise ModelUnavailable("DETAIL_DEVICE=cuda but no CUDA device is visible")
        return wanted
    return "cuda" if torch.cuda.is_available() else "cpu"


def _loading(what: str, load: Any) -> Any:
    """Loads a model; a failure other than running out of memory means the weights are unusable."""
    try:
        return load()
    except Exception as exc:
        error = as_stage_error(exc)
        if isinstance(error, OutOfMemory):
            raise error from exc
        raise ModelUnavailable(f"cannot load {what}: {type(exc).__name__}: {exc}"[:1000]) from exc


def _square(image: np.ndarray, size: int) -> np.ndarray:
    """Pads a render onto a white square canvas (diffusion and SAM work on squares), top-left aligned."""
    out = np.full((size, size, 3), 255, dtype=np.uint8)
    out[: image.shape[0], : image.shape[1]] = image
    return out


def add_detail_paths(
    doc: SvgDoc, target: np.ndarray, known: list[np.ndarray], found: list[np.ndarray]
) -> dict[str, Any]:
    """Vectorizes the masks of `found` that are new relative to `known` into `doc`; `target` is the
    enhanced image the fill colors come from. Returns counts for the metrics."""
    selection = select_new_masks(known, found)
    paths = []
    for mask, shown in zip(selection.kept, selection.visible, strict=True):
        d = mask_to_path(mask, doc.canvas)
        if d:
            paths.append((d, dominant_color(target[shown]), mask))
    ids = doc.insert_paths(paths, max(target.shape[:2])) if paths else []
    return {
        "masksKept": len(selection.kept),
        "pathsAdded": len(ids),
        **{f"masksRejected{k.capitalize()}": v for k, v in selection.rejected.items()},
    }


def _peak_memory_mb(device: str) -> dict[str, float]:
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kilobytes on Linux
    out = {"peakRssMb": round(rss_mb, 1)}
    if device == "cuda":
        import torch

        out["peakCudaMb"] = round(torch.cuda.max_memory_allocated() / 2**20, 1)
    return out


def _png(image: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(image).save(buf, format="PNG", optimize=True)
    return buf.getvalue()


@dataclass(frozen=True)
class Enhanced:
    svg: str
    target: np.ndarray
    metrics: dict[str, Any]


def enhance(stage_input: dict[str, Any]) -> Enhanced:
    """The stage's work without the payload transport: the enhanced SVG, the target image, metrics."""
    config = DetailConfig.parse(stage_input["config"])
    try:
        doc = SvgDoc(read_payload(stage_input["svg"]).decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise InvalidInput(f"template SVG is not UTF-8: {exc}") from exc
    models = check_models()
    # torch and diffusers take seconds to import: only once the inputs and the weights look usable.
    import torch

    from chat2svg_detail.sdedit import Enhancer, build_prompt

    device = pick_device()
    gpu_bytes = torch.cuda.get_device_properties(0).total_memory if device == "cuda" else 0
    memory = memory_plan(device, gpu_bytes, config.sam_points_per_side)
    dtype = torch.float16 if device == "cuda" else torch.float32
    if device == "cuda":
        torch.cuda.reset_peak_memory_stats()
    timings: dict[str, float] = {}

    width, height = doc.canvas.pixel_size(WORK_SIZE)
    template = _square(doc.render(WORK_SIZE), WORK_SIZE)

    t = time.perf_counter()
    enhancer = _loading("SDXL", lambda: Enhancer.load(models, device, dtype, memory))
    timings["loadDiffusionMs"] = (time.perf_counter() - t) * 1000
    t = time.perf_counter()
    # Rendered afresh at the diffusion size: sharper edges than resampling the 512 px render.
    enhanced = enhancer(
        _square(doc.render(enhancer.size), enhancer.size),
        build_prompt(stage_input["prompt"], stage_input["style"]),
        steps=config.num_inference_steps,
        strength=config.strength,
        guidance=config.guidance_scale,
        seed=stage_input["seed"],
        device=device,
    )
    timings["diffusionMs"] = (time.perf_counter() - t) * 1000
    controlnet, diffusion_size = enhancer.controlnet, enhancer.size
    # SAM needs the memory SDXL held.
    del enhancer
    gc.collect()
    if device == "cuda":
        torch.cuda.empty_cache()
    target_square = np.asarray(
        Image.fromarray(enhanced).resize((WORK_SIZE, WORK_SIZE), Image.Resampling.LANCZOS)
    )

    t = time.perf_counter()
    generator = _loading(
        "SAM", lambda: MaskGenerator(models.path("sam"), device, memory.sam_points_per_batch)
    )
    template_masks = generator(template, config.sam_points_per_side, PRED_IOU_TEMPLATE)
    target_masks = generator(target_square, config.sam_points_per_side, PRED_IOU_TARGET)
    del generator
    timings["samMs"] = (time.perf_counter() - t) * 1000

    t = time.perf_counter()
    target = target_square[:height, :width]
    # The template's own shapes count as known as well as what SAM sees of them: a new mask that
    # redraws an existing shape is not a new part.
    known = [m[:height, :width] for m in template_masks] + doc.shape_masks(WORK_SIZE)
    counts = add_detail_paths(doc, target, known, [m[:height, :width] for m in target_masks])
    timings["vectorizeMs"] = (time.perf_counter() - t) * 1000

    steps_run = min(config.num_inference_steps, int(config.num_inference_steps * config.strength))
    metrics: dict[str, Any] = {
        "masksTemplate": len(template_masks),
        "masksFound": len(target_masks),
        **counts,
        "steps": steps_run,
        "device": device,
        "dtype": str(dtype).removeprefix("torch."),
        "memoryPlan": memory.describe(),
        "controlnet": controlnet,
        "diffusionSize": diffusion_size,
        "tinyModels": models.tiny,
        **{k: round(v, 1) for k, v in timings.items()},
        **_peak_memory_mb(device),
    }
    # The target goes out at 512 px, or at the diffusion size when that is smaller (tiny models):
    # upscaling would add bytes to the payload and nothing for the optimize stage to fit.
    if diffusion_size < WORK_SIZE:
        small_w, small_h = doc.canvas.pixel_size(diffusion_size)
        target = enhanced[:small_h, :small_w]
    return Enhanced(doc.to_string(), target, metrics)


def run(stage_input: dict[str, Any]) -> dict[str, Any]:
    # chat2svg_worker.execute fills schemaVersion and durationMs.
    result = enhance(stage_input)
    svg_ref = make_output_payload(result.svg.encode("utf-8"), "image/svg+xml", stage_input, "detail.svg")
    # The target takes what the SVG leaves of the StageOutput budget, so both are inline when they fit.
    target_ref = make_output_payload(
        _png(result.target),
        "image/png",
        stage_input,
        "target.png",
        budget=max(0, BUDGETS["stageOutput"] - json_size(svg_ref) - OUTPUT_RESERVE),
    )
    return {"stage": "detail", "svg": svg_ref, "target": target_ref, "metrics": result.metrics}
