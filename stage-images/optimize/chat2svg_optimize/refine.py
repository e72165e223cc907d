"""Adaptive refinement between fit phases: more segments where the error stays high, and new
paths over regions no shape explains (as LIVE and Chat2SVG add paths), within a byte budget."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import replace

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from chat2svg_optimize.raster import view_transform
from chat2svg_optimize.svg import Scene, Shape, Subpath, write_svg

BLUR_PX = 5  # box window over the squared error: an edge's error reaches the segment drawing it
PATH_BYTES = 60  # a new path's attributes, beyond its segments
MIN_SPLIT_PX = 6.0  # shorter segments are left whole
KAPPA = 0.5522847498307936  # a quarter circle as one cubic


def error_map(image: Tensor, target: Tensor) -> Tensor:
    """(H, W) squared error averaged over channels and a BLUR_PX box."""
    err = ((image - target) ** 2).mean(-1)[None, None]
    return F.avg_pool2d(err, BLUR_PX, stride=1, padding=BLUR_PX // 2, count_include_pad=False)[0, 0]


def _circle(cx: float, cy: float, r: float) -> np.ndarray:
    """Four cubics around (cx, cy), starting and ending at angle 0."""
    k = KAPPA
    quarter = [(1, 0), (1, k), (k, 1)]  # then rotated by 90° three times
    unit = [(x * c - y * s, x * s + y * c) for c, s in ((1, 0), (0, 1), (-1, 0), (0, -1)) for x, y in quarter]
    unit.append((1, 0))
    return np.array([(cx + r * x, cy + r * y) for x, y in unit])


def _split(seg: np.ndarray) -> list[np.ndarray]:
    a, b, c, d = seg
    ab, bc, cd = (a + b) / 2, (b + c) / 2, (c + d) / 2
    abc, bcd = (ab + bc) / 2, (bc + cd) / 2
    m = (abc + bcd) / 2
    return [np.array([a, ab, abc, m]), np.array([m, bcd, cd, d])]


def add_paths(scene: Scene, err: Tensor, target: Tensor, count: int, room: float, per_segment: float) -> float:
    """Adds up to `count` circles (in place, on top) at the peaks of `err`, each the size of the
    high-error region around its peak and the target's mean color there. Returns the room left."""
    h, w = err.shape
    scale, ox, oy = view_transform(scene.view_box, w, h)
    err = err.clone()
    mean = float(err.mean())
    ys, xs = torch.meshgrid(torch.arange(h, dtype=err.dtype), torch.arange(w, dtype=err.dtype), indexing="ij")
    cost = 4 * per_segment + PATH_BYTES
    for _ in range(count):
        peak = float(err.max())
        if room < cost or peak <= 4 * mean:
            break
        i = int(err.argmax())
        py, px = i // w, i % w
        # The region: pixels within reach of the peak whose error is at least a quarter of it.
        reach = max(h, w) / 8
        near = (xs - px) ** 2 + (ys - py) ** 2 <= reach**2
        r = min(max(math.sqrt(float((near & (err >= peak / 4)).sum()) / math.pi), 2.0), reach)
        disc = (xs - px) ** 2 + (ys - py) ** 2 <= r**2
        color = target[disc].mean(0).clamp(0, 1).tolist()
        cx, cy, rv = (px + 0.5 - ox) / scale, (py + 0.5 - oy) / scale, r / scale
        scene.shapes.append(Shape([Subpath(_circle(cx, cy, rv), True)], fill=(*color, 1.0)))  # type: ignore[arg-type]
        err[(xs - px) ** 2 + (ys - py) ** 2 <= (2 * r) ** 2] = 0
        room -= cost
    return room


def split_where_wrong(scene: Scene, err: Tensor, room: float, per_segment: float) -> Scene:
    """Splits the segments whose neighbourhood holds the most error (mean error along the curve ×
    its length, above the image's mean), as many as `room` bytes allow."""
    h, w = err.shape
    scale, ox, oy = view_transform(scene.view_box, w, h)
    mean = float(err.mean())
    t = np.linspace(0, 1, 16)[:, None]
    basis = np.concatenate([(1 - t) ** 3, 3 * (1 - t) ** 2 * t, 3 * (1 - t) * t**2, t**3], 1)  # (16, 4)
    err_np = err.numpy()
    scored: list[tuple[float, int, int, int]] = []
    for si, shape in enumerate(scene.shapes):
        for bi, sp in enumerate(shape.subpaths):
            p = np.asarray(sp.points)
            for k in range((len(p) - 1) // 3):
                curve = basis @ (p[3 * k : 3 * k + 4] * scale + (ox, oy))  # (16, 2) pixels
                length = float(np.linalg.norm(np.diff(curve, axis=0), axis=1).sum())
                cols = np.clip(curve[:, 0].astype(int), 0, w - 1)
                rows = np.clip(curve[:, 1].astype(int), 0, h - 1)
                along = float(err_np[rows, cols].mean())
                if length >= MIN_SPLIT_PX and along > mean:
                    scored.append((along * length, si, bi, k))
    scored.sort(reverse=True)
    chosen = {key[1:] for key in scored[: max(0, int(room // per_segment))]}
    return split_segments(scene, lambda si, bi, k: (si, bi, k) in chosen) if chosen else scene


def split_segments(scene: Scene, chosen: Callable[[int, int, int], bool]) -> Scene:
    """Each cubic (shape, subpath, segment) that `chosen` names, split in two at t = 1/2."""
    shapes = []
    for si, shape in enumerate(scene.shapes):
        subpaths = []
        for bi, sp in enumerate(shape.subpaths):
            p = np.asarray(sp.points)
            segs: list[np.ndarray] = []
            for k in range((len(p) - 1) // 3):
                seg = p[3 * k : 3 * k + 4]
                segs += _split(seg) if chosen(si, bi, k) else [seg]
            points = [segs[0][0]] + [q for s in segs for q in s[1:]] if segs else list(p)
            subpaths.append(Subpath(np.array(points), sp.closed))
        shapes.append(replace(shape, subpaths=subpaths))
    return Scene(scene.width, scene.height, scene.view_box, shapes)


def refine(scene: Scene, image: Tensor, target: Tensor, budget: float, paths: int) -> Scene:
    """`scene` (rendered as `image`) with detail added where it differs from `target` (both
    (H, W, 3) on the CPU), keeping its estimated size under `budget` bytes."""
    size = len(write_svg(scene).encode())
    room = budget - size
    if room <= 0 or not scene.shapes:
        return scene
    header = len(write_svg(Scene(scene.width, scene.height, scene.view_box)).encode())
    per_segment = max((size - header - PATH_BYTES * len(scene.shapes)) / max(scene.segments, 1), 8.0)
    err = error_map(image, target)
    scene = Scene(scene.width, scene.height, scene.view_box, list(scene.shapes))
    if paths:
        room = add_paths(scene, err, target, paths, room, per_segment)
    return split_where_wrong(scene, err, room, per_segment)
