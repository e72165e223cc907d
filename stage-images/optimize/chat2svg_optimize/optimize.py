"""Fits a scene to a target image ("for quality") and shrinks it ("for size"), as in Chat2SVG's
final stage: Adam over control points, colors, stroke widths and opacities, coarse then fine."""

from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass, replace

import numpy as np
import torch
import torch.nn.functional as F
from chat2svg_worker.contracts import validate_stage_config
from torch import Tensor

from chat2svg_optimize.raster import SceneTensors, render, to_scene, to_tensors
from chat2svg_optimize.refine import refine
from chat2svg_optimize.svg import Scene, Shape, Subpath, write_svg


@dataclass(frozen=True)
class OptimizeConfig:
    iterations: int = 500
    learning_rate: float = 0.005
    opt_for_size: bool = True
    opt_for_quality: bool = True
    resolution: int = 256
    size_budget: float = 0.0  # × the input's compact size; 0: no refinement, no cap
    add_paths: int = 0

    @classmethod
    def from_stage_config(cls, cfg: dict) -> OptimizeConfig:
        """The optimize keys of docs/architecture.md §7, checked against the generated OptimizeConfig
        schema (keys and ranges); `resolution`, `sizeBudget` and `addPaths` may be left out."""
        cfg = validate_stage_config("optimize", cfg)
        return cls(
            iterations=int(cfg["iterations"]),
            learning_rate=float(cfg["learningRate"]),
            opt_for_size=cfg["optForSize"],
            opt_for_quality=cfg["optForQuality"],
            resolution=int(cfg.get("resolution", cls.resolution)),
            size_budget=float(cfg.get("sizeBudget", cls.size_budget)),
            add_paths=int(cfg.get("addPaths", cls.add_paths)),
        )


# Relative learning rates per parameter group: points move in canvas units, colors in [0, 1].
POINT_LR = 0.5  # × learningRate × canvas size
COLOR_LR = 2.0
WIDTH_LR = 0.05  # × canvas size
OPACITY_LR = 1.0
CURVATURE_WEIGHT = 0.05
COARSE_SHARE = 0.4  # of the iterations at half resolution; the rest in REFINE_ROUNDS fine phases
REFINE_ROUNDS = 2  # refinement before each fine phase, each spending its share of the size budget
QUALITY_ROUNDING_PSNR = 50.0  # dB against the unrounded render: rounding a quality-first result over budget


def configure_torch(seed: int, device: torch.device) -> None:
    torch.manual_seed(seed)
    np.random.seed(seed % 2**32)
    # Only CUDA has nondeterministic kernels among the ops used here (index_add, scatter). The
    # switch also imports torch's compiler stack, 2.8 s of every CPU run's start when set there.
    if device.type == "cuda":
        torch.use_deterministic_algorithms(True, warn_only=True)
        # Deterministic mode also fills every new tensor with NaN, a debugging aid that cost about a
        # tenth of each rasterizer iteration (hundreds of allocations per step); no op here reads
        # memory it did not write.
        torch.utils.deterministic.fill_uninitialized_memory = False  # type: ignore[attr-defined]
    # One intra-op thread by default: the rasterizer's ops are many and small, and on a 2-core
    # machine shared with other processes a second thread measured 2-4x slower (bench/optimize_bench.py).
    threads = int(os.environ.get("CHAT2SVG_TORCH_THREADS", "1"))
    torch.set_num_threads(max(1, min(threads, len(os.sched_getaffinity(0)))))


def pick_device() -> torch.device:
    wanted = os.environ.get("CHAT2SVG_DEVICE")
    if wanted:
        return torch.device(wanted)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def canvas_size(scene: Scene, resolution: int) -> tuple[int, int]:
    """(width, height) in pixels with the longer side at `resolution`."""
    _, _, vw, vh = scene.view_box
    if vw >= vh:
        return resolution, max(1, round(resolution * vh / vw))
    return max(1, round(resolution * vw / vh)), resolution


def resize_image(image: Tensor, width: int, height: int) -> Tensor:
    """(H, W, 3) → (height, width, 3) with area averaging when shrinking."""
    if image.shape[0] == height and image.shape[1] == width:
        return image
    x = image.permute(2, 0, 1)[None]
    mode = "area" if image.shape[0] >= height and image.shape[1] >= width else "bilinear"
    kwargs = {} if mode == "area" else {"align_corners": False}
    return F.interpolate(x, size=(height, width), mode=mode, **kwargs)[0].permute(1, 2, 0).clamp(0, 1)


def psnr(a: Tensor, b: Tensor) -> float:
    mse = float(((a - b) ** 2).mean())
    return 10 * math.log10(1 / max(mse, 1e-12))


def ssim(a: Tensor, b: Tensor) -> float:
    """Mean SSIM over RGB channels, 11-tap Gaussian window (σ = 1.5)."""
    g = torch.exp(-((torch.arange(11, dtype=a.dtype, device=a.device) - 5) ** 2) / (2 * 1.5**2))
    g = g / g.sum()
    win = (g[:, None] * g[None, :]).expand(3, 1, 11, 11).contiguous()
    x, y = a.permute(2, 0, 1)[None], b.permute(2, 0, 1)[None]

    def blur(t: Tensor) -> Tensor:
        return F.conv2d(t, win, groups=3)

    mx, my = blur(x), blur(y)
    sxx, syy, sxy = blur(x * x) - mx**2, blur(y * y) - my**2, blur(x * y) - mx * my
    c1, c2 = 0.01**2, 0.03**2
    s = ((2 * mx * my + c1) * (2 * sxy + c2)) / ((mx**2 + my**2 + c1) * (sxx + syy + c2))
    return float(s.mean())


# ---- scene surgery ---------------------------------------------------------------------------
def _map_subpaths(scene: Scene, fn) -> Scene:
    shapes = []
    for s in scene.shapes:
        subpaths = [fn(sp) for sp in s.subpaths]
        subpaths = [sp for sp in subpaths if sp is not None and len(sp.points) >= 4]
        if subpaths:
            shapes.append(replace(s, subpaths=subpaths))
    return Scene(scene.width, scene.height, scene.view_box, shapes)


def _segments(sp: Subpath) -> list[np.ndarray]:
    p = np.asarray(sp.points)
    return [p[3 * k : 3 * k + 4] for k in range((len(p) - 1) // 3)]


def _join_segments(segs: list[np.ndarray], closed: bool) -> Subpath:
    pts = [segs[0][0]] + [q for s in segs for q in s[1:]]
    return Subpath(np.array(pts), closed)


def _bezier(seg: np.ndarray, n: int = 16) -> np.ndarray:
    t = np.linspace(0, 1, n)[:, None]
    return (1 - t) ** 3 * seg[0] + 3 * (1 - t) ** 2 * t * seg[1] + 3 * (1 - t) * t**2 * seg[2] + t**3 * seg[3]


def _to_polyline(points: np.ndarray, line: np.ndarray) -> np.ndarray:
    """Distance from each point to the polyline `line`."""
    a, b = line[:-1], line[1:]
    ab = b - a
    t = np.clip(((points[:, None] - a) * ab).sum(-1) / np.maximum((ab * ab).sum(-1), 1e-18), 0, 1)
    closest = a + t[..., None] * ab
    return np.linalg.norm(points[:, None] - closest, axis=-1).min(1)


def _deviation(a: np.ndarray, b: np.ndarray) -> float:
    """Symmetric max distance between two sampled curves (Hausdorff against the polylines)."""
    return float(max(_to_polyline(a, b).max(), _to_polyline(b, a).max()))


def _fit_cubic(samples: np.ndarray, start_dir: np.ndarray, end_dir: np.ndarray) -> np.ndarray | None:
    """Least-squares cubic through `samples` with fixed ends and end tangent directions
    (Schneider's step, chord-length parameters); None when the fit degenerates."""
    p0, p3 = samples[0], samples[-1]
    chord = np.concatenate([[0], np.cumsum(np.linalg.norm(np.diff(samples, axis=0), axis=1))])
    if chord[-1] <= 0:
        return None
    t = chord / chord[-1]
    b0, b1, b2, b3 = (1 - t) ** 3, 3 * (1 - t) ** 2 * t, 3 * (1 - t) * t**2, t**3
    a1, a2 = start_dir[None] * b1[:, None], end_dir[None] * b2[:, None]
    rest = samples - (p0[None] * (b0 + b1)[:, None] + p3[None] * (b2 + b3)[:, None])
    c = np.array([[(a1 * a1).sum(), (a1 * a2).sum()], [(a1 * a2).sum(), (a2 * a2).sum()]])
    x = np.array([(rest * a1).sum(), (rest * a2).sum()])
    if abs(np.linalg.det(c)) < 1e-12:
        return None
    alpha = np.linalg.solve(c, x)
    if (alpha <= 1e-9).any():
        return None
    return np.array([p0, p0 + alpha[0] * start_dir, p3 + alpha[1] * end_dir, p3])


def _merge(a: np.ndarray, b: np.ndarray, samples: np.ndarray) -> np.ndarray:
    """One cubic from a's start to b's end keeping the outer tangent directions, fitted to
    `samples` of the curves it replaces; a length-scaled guess when the fit degenerates."""

    def direction(v: np.ndarray) -> np.ndarray | None:
        n = np.linalg.norm(v)
        return v / n if n > 1e-9 else None

    d1 = direction(a[1] - a[0]) if direction(a[1] - a[0]) is not None else direction(a[2] - a[0])
    d2 = direction(b[2] - b[3]) if direction(b[2] - b[3]) is not None else direction(b[1] - b[3])
    if d1 is not None and d2 is not None:
        fitted = _fit_cubic(samples, d1, d2)
        if fitted is not None:
            return fitted
    la = np.linalg.norm(np.diff(a, axis=0), axis=1).sum()
    lb = np.linalg.norm(np.diff(b, axis=0), axis=1).sum()
    total = la + lb
    c1 = a[0] + (a[1] - a[0]) * (total / la if la > 0 else 1)
    c2 = b[3] + (b[2] - b[3]) * (total / lb if lb > 0 else 1)
    return np.array([a[0], c1, c2, b[3]])


def _straighten(seg: np.ndarray, tol: float) -> np.ndarray:
    line = np.array([seg[0], seg[0] + (seg[3] - seg[0]) / 3, seg[0] + 2 * (seg[3] - seg[0]) / 3, seg[3]])
    return line if _deviation(_bezier(seg), _bezier(line)) <= tol else seg


def simplify(scene: Scene, tol: float) -> Scene:
    """Fewer segments within `tol` (viewBox units): nearly straight cubics become lines, and
    neighbours merge greedily while one cubic stays within `tol` of the pair."""

    def fn(sp: Subpath) -> Subpath | None:
        segs = [_straighten(s, tol) for s in _segments(sp)]
        segs = [s for s in segs if np.linalg.norm(s[3] - s[0]) > tol / 4 or np.ptp(s, axis=0).max() > tol / 4]
        if not segs:
            return None
        out = [segs[0]]
        covered = [_bezier(segs[0])]  # samples of the input curves each output segment replaces
        for seg in segs[1:]:
            reference = np.concatenate([covered[-1], _bezier(seg)[1:]])
            merged = _straighten(_merge(out[-1], seg, reference), tol)
            if _deviation(_bezier(merged, 32), reference) <= tol:
                out[-1], covered[-1] = merged, reference
            else:
                out.append(seg)
                covered.append(_bezier(seg))
        # Reconnect: dropped tiny segments leave gaps; snap each start to the previous end.
        for i in range(1, len(out)):
            out[i] = out[i].copy()
            out[i][0] = out[i - 1][3]
        if sp.closed and len(out) > 1:
            out[-1] = out[-1].copy()
            out[-1][3] = out[0][0]
        return _join_segments(out, sp.closed)

    return _map_subpaths(scene, fn)


def drop_invisible(scene: Scene, min_extent: float) -> Scene:
    keep: list[Shape] = []
    for s in scene.shapes:
        pts = np.concatenate([sp.points for sp in s.subpaths])
        visible_fill = s.fill is not None and s.fill[3] > 0.01
        visible_stroke = s.stroke is not None and s.stroke[3] > 0.01 and s.stroke_width > 0
        if s.opacity > 0.01 and (visible_fill or visible_stroke) and np.ptp(pts, axis=0).max() >= min_extent:
            keep.append(s)
    return Scene(scene.width, scene.height, scene.view_box, keep)


# ---- the fit ---------------------------------------------------------------------------------
def _curvature(st: SceneTensors) -> Tensor:
    seg = st.points[st.seg_index]  # (S, 4, 2)
    d = seg[:, :-2] - 2 * seg[:, 1:-1] + seg[:, 2:]
    size = max(st.view_box[2], st.view_box[3])
    return ((d / size) ** 2).sum(-1).mean()


def _schedule(total: int, warmup_share: float = 0.05, floor: float = 0.1):
    warmup = max(1, int(total * warmup_share))

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        progress = (step - warmup) / max(1, total - warmup)
        return floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * progress))

    return factor


def fit(
    scene: Scene, target: Tensor, iterations: int, lr: float, width: int, height: int, device: torch.device
) -> tuple[Scene, int]:
    """Adam with warmup and cosine decay over points, colors, widths and opacities."""
    if iterations <= 0 or not scene.shapes:
        return scene, 0
    st = to_tensors(scene, device=device)
    size = max(scene.view_box[2], scene.view_box[3])
    params = {
        "points": st.points.requires_grad_(True),
        "fill": st.fill.requires_grad_(True),
        "stroke": st.stroke.requires_grad_(True),
        "stroke_width": st.stroke_width.requires_grad_(True),
        "opacity": st.opacity.requires_grad_(True),
    }
    opt = torch.optim.Adam(
        [
            {"params": [params["points"]], "lr": lr * POINT_LR * size},
            {"params": [params["fill"], params["stroke"]], "lr": lr * COLOR_LR},
            {"params": [params["stroke_width"]], "lr": lr * WIDTH_LR * size},
            {"params": [params["opacity"]], "lr": lr * OPACITY_LR},
        ]
    )
    sched = torch.optim.lr_scheduler.LambdaLR(opt, _schedule(iterations))
    target = target.to(device=device, dtype=st.points.dtype)
    cache: dict = {}  # the rasterizer's crops, kept while the shapes stay inside them
    for _ in range(iterations):
        opt.zero_grad(set_to_none=True)
        image = render(st, width, height, cache=cache).image
        loss = F.mse_loss(image, target) + CURVATURE_WEIGHT * _curvature(st)
        loss.backward()
        opt.step()
        sched.step()
        with torch.no_grad():
            st.fill.clamp_(0, 1)
            st.stroke.clamp_(0, 1)
            st.stroke_width.clamp_(min=0)
            st.opacity.clamp_(0, 1)
    return to_scene(st, scene), iterations


def render_scene(scene: Scene, width: int, height: int, device: torch.device) -> Tensor:
    with torch.no_grad():
        return render(to_tensors(scene, device=device), width, height).image


def choose_digits(scene: Scene, reference: Tensor, width: int, height: int, device, min_psnr: float = 40.0) -> int:
    """Fewest decimals whose rounding keeps the render within `min_psnr` of the unrounded one."""
    from chat2svg_optimize.svg import parse_svg

    for digits in range(0, 3):
        rounded = parse_svg(write_svg(scene, digits))
        if psnr(render_scene(rounded, width, height, device), reference) >= min_psnr:
            return digits
    return 3


def compact(scene: Scene, budget: float, for_size: bool, width: int, height: int, device) -> tuple[Scene, int]:
    """`scene` made smaller, and the decimals to write it with. For size: invisible shapes dropped,
    segments simplified within a third of a pixel (when that keeps 35 dB), fewest decimals. For
    quality (a result over its `budget` bytes), the cheapest loss first: fewer decimals, kept
    near-lossless, and only when that does not bring it under the budget, the same as for size."""
    px = max(scene.view_box[2], scene.view_box[3]) / max(width, height)
    scene = drop_invisible(scene, 0.5 * px)
    reference = render_scene(scene, width, height, device)
    if not for_size:
        digits = choose_digits(scene, reference, width, height, device, min_psnr=QUALITY_ROUNDING_PSNR)
        if len(write_svg(scene, digits).encode()) <= budget:
            return scene, digits
    simplified = simplify(scene, 0.35 * px)
    simplified_image = render_scene(simplified, width, height, device)
    if psnr(simplified_image, reference) >= 35:
        scene, reference = simplified, simplified_image
    return scene, choose_digits(scene, reference, width, height, device)


@dataclass
class Result:
    scene: Scene
    svg: str
    metrics: dict[str, float | int | str | bool]


def optimize(scene: Scene, target: Tensor | None, config: OptimizeConfig, seed: int, device: torch.device) -> Result:
    configure_torch(seed, device)
    width, height = canvas_size(scene, config.resolution)
    start_svg = write_svg(scene)
    budget = config.size_budget * len(start_svg.encode())
    metrics: dict[str, float | int | str | bool] = {
        "device": device.type,
        "resolution": config.resolution,
        "elementsBefore": len(scene.shapes),
        "segmentsBefore": scene.segments,
        "bytesBefore": len(start_svg.encode()),
    }
    fine_target = resize_image(target.to(device), width, height) if target is not None else None
    start = time.perf_counter()
    iterations_done = 0
    best = scene
    if config.opt_for_quality and fine_target is not None and config.iterations > 0:
        before = psnr(render_scene(scene, width, height, device), fine_target)
        metrics["psnrBefore"] = round(before, 3)
        coarse_iters = int(config.iterations * COARSE_SHARE)
        cw, ch = max(width // 2, 16), max(height // 2, 16)
        fitted, iterations_done = fit(
            scene, resize_image(fine_target, cw, ch), coarse_iters, config.learning_rate, cw, ch, device
        )
        left = config.iterations - coarse_iters
        for round_ in range(REFINE_ROUNDS):
            if budget:
                image = render_scene(fitted, width, height, device).cpu()
                size = len(write_svg(fitted).encode())
                share = size + (budget - size) / (REFINE_ROUNDS - round_)  # keeps room for later rounds
                paths = config.add_paths // REFINE_ROUNDS + (config.add_paths % REFINE_ROUNDS if round_ == 0 else 0)
                fitted = refine(fitted, image, fine_target.cpu(), share, paths)
            n = left // (REFINE_ROUNDS - round_)
            fitted, done = fit(fitted, fine_target, n, config.learning_rate, width, height, device)
            left -= n
            iterations_done += done
        after = psnr(render_scene(fitted, width, height, device), fine_target)
        # The stage may only improve on its input: keep the start when the fit made it worse.
        best = fitted if after >= before else scene
    elapsed = time.perf_counter() - start
    digits = 2
    if config.opt_for_size or (budget and len(write_svg(best, digits).encode()) > budget):
        best, digits = compact(best, budget, config.opt_for_size, width, height, device)
    svg = write_svg(best, digits)
    if fine_target is not None:
        final = render_scene(best, width, height, device)
        metrics["psnr"] = round(psnr(final, fine_target), 3)
        metrics["ssim"] = round(ssim(final, fine_target), 4)
    metrics.update(
        {
            "elements": len(best.shapes),
            "segments": best.segments,
            "bytes": len(svg.encode()),
            "digits": digits,
            "iterations": iterations_done,
            "itersPerSecond": round(iterations_done / elapsed, 2) if iterations_done else 0.0,
        }
    )
    return Result(best, svg, metrics)
