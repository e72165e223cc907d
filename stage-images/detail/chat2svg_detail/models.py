"""The model directory (MODEL_DIR): where the weights live, whether they are complete, how they load,
and the memory settings each load uses."""

from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chat2svg_worker import ModelUnavailable

MANIFEST = "models.json"
SDXL_DIR = "sdxl"
CONTROLNET_DIR = "controlnet-tile"
SAM_DIR = "sam"

# The image ships its weights here (Dockerfile); run-local defaults to a folder in the user's cache.
DEFAULT_MODEL_DIR = "/opt/chat2svg/models"

# The pinned set, and the one statement of the MODEL_DIR layout: each component's `required` files
# (read by the local runtime's capabilities.ts too).
PINNED_MANIFEST = Path(__file__).resolve().parent.parent / MANIFEST


def pinned_components() -> dict[str, Any]:
    return json.loads(PINNED_MANIFEST.read_text())["components"]


@dataclass(frozen=True)
class ModelSet:
    root: Path
    manifest: dict[str, Any]

    def path(self, component: str) -> Path:
        return self.root / self.manifest["components"][component]["dir"]

    def has(self, component: str) -> bool:
        entry = self.manifest["components"].get(component)
        return bool(entry) and entry.get("enabled", True)

    def variant(self, component: str) -> str | None:
        return self.manifest["components"][component].get("variant")

    @property
    def tiny(self) -> bool:
        return bool(self.manifest.get("tiny"))


def model_dir() -> Path:
    return Path(os.environ.get("MODEL_DIR") or DEFAULT_MODEL_DIR)


def check_models(root: Path | None = None) -> ModelSet:
    """The models under `root`, or Stage.ModelUnavailable naming what is missing."""
    root = root or model_dir()
    manifest_path = root / MANIFEST
    if not manifest_path.is_file():
        raise ModelUnavailable(
            f"no {MANIFEST} in MODEL_DIR={root}: run stage-images/detail/fetch-models "
            "(or stage-images/detail/tiny-models for a CPU test set)"
        )
    try:
        manifest = json.loads(manifest_path.read_text())
        components = manifest["components"]
    except (ValueError, KeyError, TypeError) as exc:
        raise ModelUnavailable(f"{manifest_path} is not a model manifest: {exc}") from exc
    models = ModelSet(root, manifest)
    missing: list[str] = []
    for name, pinned in pinned_components().items():
        if name not in components:
            if not pinned.get("optional"):
                missing.append(f"{name} (not in manifest)")
            continue
        if not models.has(name):
            continue
        base = models.path(name)
        missing += [f"{name}/{p}" for p in pinned["required"] if not any(base.glob(p))]
    if missing:
        raise ModelUnavailable(f"incomplete MODEL_DIR={root}: missing {', '.join(missing[:6])}")
    return models


@dataclass(frozen=True)
class MemoryPlan:
    """How much of the pipeline stays resident; chosen from the device's memory and the tier's load."""

    offload: bool
    attention_slicing: bool
    vae_tiling: bool
    sam_points_per_batch: int

    def describe(self) -> str:
        on = [n for n in ("offload", "attention_slicing", "vae_tiling") if getattr(self, n)]
        return "+".join(on) or "resident"


GIB = 1024**3


def memory_plan(device: str, gpu_bytes: int, points_per_side: int) -> MemoryPlan:
    """SDXL in fp16 needs about 10 GiB resident with its text encoders and VAE decode at 1024 px;
    SAM ViT-H adds about 3 GiB plus its batch of point prompts. High tiers (64 points per side, the
    most prompts) get smaller prompt batches so the masks of one batch fit next to the model."""
    override = os.environ.get("DETAIL_MEMORY", "auto")
    if device != "cuda":
        return MemoryPlan(False, False, False, 64)
    if override == "minimal" or (override == "auto" and gpu_bytes < 12 * GIB):
        plan = MemoryPlan(True, True, True, 32)
    elif override == "offload" or (override == "auto" and gpu_bytes < 20 * GIB):
        plan = MemoryPlan(True, False, True, 64)
    else:
        plan = MemoryPlan(False, False, False, 128)
    if points_per_side >= 64:
        plan = dataclasses.replace(plan, sam_points_per_batch=plan.sam_points_per_batch // 2)
    return plan
