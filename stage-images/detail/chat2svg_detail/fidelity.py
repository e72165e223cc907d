"""Vectorization fidelity: masks of known shapes, vectorized, rendered back and compared (used by the
tests and bench/detail_bench.py)."""

from __future__ import annotations

import math

import cv2
import numpy as np

from chat2svg_detail.svgdoc import Canvas, render_svg
from chat2svg_detail.vectorize import mask_to_path


def synthetic_shapes(size: int = 512) -> dict[str, np.ndarray]:
    """Boolean masks of a circle, a rectangle, a triangle, a five-point star and a ring."""
    c, s = size // 2, size / 512

    def blank() -> np.ndarray:
        return np.zeros((size, size), np.uint8)

    circle = cv2.circle(blank(), (c, c), round(120 * s), 1, -1)
    rect = cv2.rectangle(blank(), (round(100 * s), round(150 * s)), (round(400 * s), round(350 * s)), 1, -1)
    triangle = cv2.fillPoly(
        blank(), [np.round(np.array([[256, 80], [440, 420], [72, 420]]) * s).astype(np.int32)], 1
    )
    star_pts = [
        (
            c + (200 if i % 2 == 0 else 85) * s * math.cos(-math.pi / 2 + i * math.pi / 5),
            c + (200 if i % 2 == 0 else 85) * s * math.sin(-math.pi / 2 + i * math.pi / 5),
        )
        for i in range(10)
    ]
    star = cv2.fillPoly(blank(), [np.round(np.array(star_pts)).astype(np.int32)], 1)
    ring = cv2.circle(cv2.circle(blank(), (c, c), round(180 * s), 1, -1), (c, c), round(100 * s), 0, -1)
    shapes = {"circle": circle, "rectangle": rect, "triangle": triangle, "star": star, "ring": ring}
    return {name: m.astype(bool) for name, m in shapes.items()}


def round_trip(mask: np.ndarray, canvas: Canvas | None = None) -> tuple[float, str]:
    """IoU between `mask` and the render of its vectorized path, and the path data."""
    h, w = mask.shape
    canvas = canvas or Canvas(0, 0, w, h)
    d = mask_to_path(mask, canvas) or ""
    svg = (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="{canvas.x} {canvas.y} {canvas.width} '
        f'{canvas.height}"><path d="{d}" fill="#000" fill-rule="evenodd"/></svg>'
    )
    drawn = render_svg(svg, (w, h), None)[..., 3] > 127
    union = np.logical_or(drawn, mask).sum()
    return float(np.logical_and(drawn, mask).sum() / union) if union else 1.0, d
