"""Masks to SVG paths: contours, Douglas–Peucker polygons, cubic Béziers that stay sharp at corners and
smooth elsewhere, and a fill color that survives anti-aliased and noisy edges."""

from __future__ import annotations

import cv2
import numpy as np

from chat2svg_detail.svgdoc import Canvas

# Douglas–Peucker tolerance as a fraction of the contour length (Chat2SVG uses 0.002), floored so
# small masks keep their shape and capped so large ones do not lose their corners.
SIMPLIFY_RATIO = 0.002
SIMPLIFY_MIN_PX = 0.5
SIMPLIFY_MAX_PX = 2.0
# Turns sharper than this stay corners; gentler ones become smooth Catmull-Rom joints.
CORNER_DEGREES = 40.0
# Contours (outer or holes) smaller than this many pixels are speckle (Chat2SVG's fine
# min_mask_region_area).
MIN_REGION_PX = 30
# Clusters for the fill color; the largest one wins so edge pixels blended with neighbours do not.
COLOR_CLUSTERS = 3


def _fmt(v: float) -> str:
    s = f"{v:.2f}".rstrip("0").rstrip(".")
    return "0" if s in ("-0", "") else s


def _simplify(contour: np.ndarray) -> np.ndarray:
    eps = float(np.clip(SIMPLIFY_RATIO * cv2.arcLength(contour, True), SIMPLIFY_MIN_PX, SIMPLIFY_MAX_PX))
    return cv2.approxPolyDP(contour, eps, True).reshape(-1, 2).astype(np.float64)


def _cubic_subpath(points: np.ndarray) -> str:
    """A closed cubic path through `points`: corner vertices get straight handles, the others
    Catmull-Rom tangents (a third of the chord to each neighbour's opposite side)."""
    n = len(points)
    prev, nxt = np.roll(points, 1, axis=0), np.roll(points, -1, axis=0)
    a, b = points - prev, nxt - points
    norms = np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1)
    cos = np.where(norms > 0, (a * b).sum(axis=1) / np.maximum(norms, 1e-12), 1.0)
    corner = np.degrees(np.arccos(np.clip(cos, -1.0, 1.0))) > CORNER_DEGREES
    tangent = np.where(corner[:, None], 0.0, (nxt - prev) / 6.0)
    parts = [f"M{_fmt(points[0, 0])} {_fmt(points[0, 1])}"]
    for i in range(n):
        j = (i + 1) % n
        p1, p2 = points[i], points[j]
        c1 = p1 + tangent[i] if not corner[i] else p1 + (p2 - p1) / 3.0
        c2 = p2 - tangent[j] if not corner[j] else p2 - (p2 - p1) / 3.0
        parts.append("C" + " ".join(_fmt(v) for v in (c1[0], c1[1], c2[0], c2[1], p2[0], p2[1])))
    return "".join(parts) + "Z"


def mask_to_path(mask: np.ndarray, canvas: Canvas) -> str | None:
    """Path data (viewBox units, even-odd fill so holes stay holes) of a boolean mask that covers the
    canvas; None when nothing of it is larger than speckle."""
    h, w = mask.shape
    contours, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_CCOMP, cv2.CHAIN_APPROX_NONE)
    sx, sy = canvas.width / w, canvas.height / h
    subpaths = []
    for contour in contours:
        if cv2.contourArea(contour) < MIN_REGION_PX:
            continue
        poly = _simplify(contour)
        if len(poly) < 3:
            continue
        # Contours run through pixel centres; +0.5 puts them in continuous pixel coordinates.
        pts = np.column_stack([canvas.x + (poly[:, 0] + 0.5) * sx, canvas.y + (poly[:, 1] + 0.5) * sy])
        subpaths.append(_cubic_subpath(pts))
    return "".join(subpaths) or None


def dominant_color(pixels: np.ndarray, seed: int = 0) -> str:
    """Hex color of the largest k-means cluster of RGB `pixels` (N x 3), its median for robustness."""
    pixels = pixels.reshape(-1, 3).astype(np.float32)
    if len(pixels) == 0:
        return "#000000"
    k = min(COLOR_CLUSTERS, len(np.unique(pixels, axis=0)))
    if k > 1:
        cv2.setRNGSeed(seed)
        criteria = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 20, 0.5)
        _, labels, _ = cv2.kmeans(pixels, k, None, criteria, 3, cv2.KMEANS_PP_CENTERS)
        labels = labels.ravel()
        pixels = pixels[labels == np.bincount(labels).argmax()]
    r, g, b = np.clip(np.round(np.median(pixels, axis=0)), 0, 255).astype(int)
    return f"#{r:02x}{g:02x}{b:02x}"
