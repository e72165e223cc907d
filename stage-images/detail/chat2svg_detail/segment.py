"""SAM automatic masks (transformers) and the choice of the masks that are new in the enhanced image."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

# Chat2SVG's defaults (2_detail_enhancement/main.py): a target mask is new when it is at least 30 px,
# at most half the second-largest target mask (the largest is usually the background), overlaps no
# template mask with IoU above 0.4, and more than 20 % of it stays visible under the smaller masks.
AREA_MIN_PX = 30
AREA_MAX_RATIO = 0.5
IOU_MAX = 0.4
VISIBLE_MIN_RATIO = 0.2
# SAM's mask quality filters as Chat2SVG sets them: coarse on the template, stricter on the target.
PRED_IOU_TEMPLATE = 0.86
PRED_IOU_TARGET = 0.87
STABILITY_MIN = 0.95


@dataclass(frozen=True)
class Selection:
    kept: list[np.ndarray]  # full masks, largest first
    visible: list[np.ndarray]  # the part of each kept mask not covered by smaller target masks
    rejected: dict[str, int]


class MaskGenerator:
    def __init__(self, sam_dir: Path, device: str, points_per_batch: int) -> None:
        from transformers import SamModel, SamProcessor, pipeline

        model = SamModel.from_pretrained(sam_dir).to(device).eval()
        processor = SamProcessor.from_pretrained(sam_dir)
        self._pipe = pipeline(
            "mask-generation", model=model, image_processor=processor.image_processor, device=device
        )
        self._points_per_batch = points_per_batch

    def __call__(self, image: np.ndarray, points_per_side: int, pred_iou: float) -> list[np.ndarray]:
        result: dict[str, Any] = self._pipe(
            Image.fromarray(image),
            points_per_crop=points_per_side,
            points_per_batch=self._points_per_batch,
            pred_iou_thresh=pred_iou,
            stability_score_thresh=STABILITY_MIN,
        )
        return [_as_bool(m) for m in result["masks"]]


def _as_bool(mask: Any) -> np.ndarray:
    if hasattr(mask, "detach"):
        mask = mask.detach().cpu().numpy()
    return np.asarray(mask).astype(bool)


def iou(a: np.ndarray, b: np.ndarray) -> float:
    union = np.logical_or(a, b).sum()
    return float(np.logical_and(a, b).sum() / union) if union else 0.0


def select_new_masks(template: list[np.ndarray], target: list[np.ndarray]) -> Selection:
    """Target masks that are new relative to the template masks (Chat2SVG's rule, thresholds above)."""
    ordered = sorted(target, key=lambda m: int(m.sum()), reverse=True)
    areas = [int(m.sum()) for m in ordered]
    reference = areas[1] if len(areas) > 1 else (ordered[0].size if ordered else 0)
    area_max = AREA_MAX_RATIO * reference
    rejected = {"area": 0, "overlap": 0, "hidden": 0}
    kept, visible = [], []
    for i, mask in enumerate(ordered):
        if not AREA_MIN_PX <= areas[i] <= area_max:
            rejected["area"] += 1
            continue
        if any(iou(mask, t) > IOU_MAX for t in template):
            rejected["overlap"] += 1
            continue
        shown = mask.copy()
        for smaller in ordered[i + 1 :]:
            shown &= ~smaller
        if shown.sum() / areas[i] <= VISIBLE_MIN_RATIO:
            rejected["hidden"] += 1
            continue
        kept.append(mask)
        visible.append(shown)
    return Selection(kept, visible, rejected)
