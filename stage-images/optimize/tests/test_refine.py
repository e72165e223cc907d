"""Adaptive refinement: segments split where the error is, paths added over what no shape draws,
all within the size budget."""

import numpy as np
import torch

from chat2svg_optimize.optimize import OptimizeConfig, optimize, render_scene
from chat2svg_optimize.reference import render_resvg
from chat2svg_optimize.refine import add_paths, error_map, refine, split_where_wrong
from chat2svg_optimize.svg import parse_svg, write_svg

CPU = torch.device("cpu")
SQUARE = '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64"><path d="M16 16H48V48H16Z" fill="#3060c0"/></svg>'
# The square with its right side bulging out, and a small dark spot no shape of SQUARE draws.
TARGET = (
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64">'
    '<path d="M16 16H48C60 24 60 40 48 48H16Z" fill="#3060c0"/><circle cx="10" cy="54" r="5" fill="#202020"/></svg>'
)


def target(size: int) -> torch.Tensor:
    return torch.from_numpy(render_resvg(TARGET, size, size)).float()


def test_segments_split_where_the_error_is() -> None:
    scene = parse_svg(SQUARE)
    err = error_map(render_scene(scene, 64, 64, CPU), target(64))
    out = split_where_wrong(scene, err, room=1e9, per_segment=1)
    sides = [np.asarray(out.shapes[0].subpaths[0].points)]
    assert out.segments > scene.segments
    # Only the right side (x = 48 at both ends) was split.
    pts = sides[0]
    split_ends = [pts[3 * k + 3] for k in range(out.segments) if not np.allclose(pts[3 * k + 3] % 32, 16)]
    assert split_ends and all(abs(p[0] - 48) < 1e-9 for p in split_ends)


def test_split_stops_at_the_room_left() -> None:
    scene = parse_svg(SQUARE)
    err = error_map(render_scene(scene, 64, 64, CPU), target(64))
    assert split_where_wrong(scene, err, room=0, per_segment=30).segments == scene.segments
    assert split_where_wrong(scene, err, room=30, per_segment=30).segments == scene.segments + 1


def test_a_path_is_added_over_what_no_shape_draws() -> None:
    scene = parse_svg(SQUARE)
    tgt = target(64)
    err = error_map(render_scene(scene, 64, 64, CPU), tgt)
    room = add_paths(scene, err, tgt, count=1, room=1000, per_segment=30)
    assert len(scene.shapes) == 2 and room < 1000
    added = np.asarray(scene.shapes[1].subpaths[0].points)
    centre = (added.max(0) + added.min(0)) / 2
    # At the dark spot or on the bulge, never inside the square, and colored from the target there.
    assert not ((centre > 17) & (centre < 47)).all()
    assert scene.shapes[1].fill is not None


def test_refine_keeps_the_size_budget() -> None:
    scene = parse_svg(SQUARE)
    image = render_scene(scene, 64, 64, CPU)
    size = len(write_svg(scene).encode())
    assert refine(scene, image, target(64), budget=size, paths=4).segments == scene.segments
    grown = refine(scene, image, target(64), budget=3 * size, paths=1)
    assert len(grown.shapes) == 2 and size < len(write_svg(grown).encode()) <= 3 * size * 1.3


def test_refinement_fits_better_within_its_budget() -> None:
    tgt = target(64)
    plain = OptimizeConfig(iterations=120, learning_rate=0.02, opt_for_size=False, resolution=64)
    refined = OptimizeConfig(**{**plain.__dict__, "size_budget": 4.0, "add_paths": 2})
    a = optimize(parse_svg(SQUARE), tgt, plain, 0, CPU)
    b = optimize(parse_svg(SQUARE), tgt, refined, 0, CPU)
    assert b.metrics["psnr"] > a.metrics["psnr"] + 1
    assert b.metrics["bytes"] <= 4.0 * b.metrics["bytesBefore"]
    assert b.metrics["elements"] > a.metrics["elements"]


def test_config_reads_the_refinement_keys() -> None:
    cfg = OptimizeConfig.from_stage_config(
        {
            "iterations": 10,
            "learningRate": 0.01,
            "optForSize": False,
            "optForQuality": True,
            "sizeBudget": 3,
            "addPaths": 8,
            "resolution": 512,
        }  # fmt: skip
    )
    assert (cfg.size_budget, cfg.add_paths, cfg.resolution) == (3.0, 8, 512)
    base = {"iterations": 10, "learningRate": 0.01, "optForSize": False, "optForQuality": True}
    assert OptimizeConfig.from_stage_config(base).size_budget == 0
