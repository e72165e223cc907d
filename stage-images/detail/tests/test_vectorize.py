"""Masks to cubic paths: fidelity on known shapes, holes, canvas mapping, fill color."""

from __future__ import annotations

import numpy as np
import pytest

from chat2svg_detail.fidelity import round_trip, synthetic_shapes
from chat2svg_detail.svgdoc import Canvas
from chat2svg_detail.vectorize import dominant_color, mask_to_path

SHAPES = synthetic_shapes(512)
# name -> closed subpaths the path must have (the ring's hole is its own subpath).
SUBPATHS = {"circle": 1, "rectangle": 1, "triangle": 1, "star": 1, "ring": 2}


@pytest.mark.parametrize("name", sorted(SHAPES))
def test_each_known_shape_round_trips_with_iou_of_at_least_0_95(name):
    iou, d = round_trip(SHAPES[name])

    assert iou >= 0.95, f"{name}: IoU {iou:.4f}"
    assert d.count("M") == SUBPATHS[name]
    assert d.count("Z") == SUBPATHS[name]
    assert set(
        d.replace("M", "")
        .replace("C", "")
        .replace("Z", "")
        .replace(" ", "")
        .replace(".", "")
        .replace("-", "")
    ) <= set("0123456789")


def test_corners_stay_few_segments_and_curves_stay_smooth():
    assert round_trip(SHAPES["rectangle"])[1].count("C") == 4
    assert round_trip(SHAPES["triangle"])[1].count("C") == 3
    assert round_trip(SHAPES["star"])[1].count("C") == 10
    assert 8 <= round_trip(SHAPES["circle"])[1].count("C") <= 48


def test_paths_are_in_viewbox_units_including_an_offset_origin():
    canvas = Canvas(-100, 50, 1024, 1024)

    iou, d = round_trip(SHAPES["star"], canvas)

    assert iou >= 0.95
    ends = np.array([[float(v) for v in seg.split()[4:6]] for seg in d.rstrip("Z").split("C")[1:]])
    ys, xs = np.nonzero(SHAPES["star"])
    # Pixel (i + 0.5) maps to origin + 2 * (i + 0.5) on a 1024-unit canvas drawn at 512 px.
    expected_min = [-100 + 2 * (xs.min() + 0.5), 50 + 2 * (ys.min() + 0.5)]
    expected_max = [-100 + 2 * (xs.max() + 0.5), 50 + 2 * (ys.max() + 0.5)]
    assert ends.min(axis=0) == pytest.approx(expected_min, abs=3)
    assert ends.max(axis=0) == pytest.approx(expected_max, abs=3)


def test_speckle_yields_no_path():
    mask = np.zeros((64, 64), bool)
    mask[10:14, 10:14] = True

    assert mask_to_path(mask, Canvas(0, 0, 64, 64)) is None


def test_dominant_color_ignores_edge_blend_and_noise():
    rng = np.random.default_rng(0)
    body = np.clip(rng.normal([200, 40, 30], 6, size=(900, 3)), 0, 255)
    edge = np.tile([120, 120, 120], (200, 1))
    speckle = rng.integers(0, 256, size=(60, 3))

    color = dominant_color(np.vstack([body, edge, speckle]).astype(np.uint8))

    r, g, b = (int(color[i : i + 2], 16) for i in (1, 3, 5))
    assert abs(r - 200) <= 4 and abs(g - 40) <= 4 and abs(b - 30) <= 4


def test_dominant_color_of_one_flat_color_is_exact():
    assert dominant_color(np.tile([18, 52, 86], (50, 1)).astype(np.uint8)) == "#123456"
