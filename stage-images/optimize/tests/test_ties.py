"""Gradients of edges and vertices that lie exactly on pixel boundaries, for both rasterizers.

An axis-aligned edge on a pixel boundary is a kink of the exact coverage; both rasterizers sample
on a grid 1/1024 px past the viewBox's (raster.GRID_OFFSET), so that at whole and half-pixel
coordinates their render is smooth and central differences are the reference.

Lines are flattened in one piece per cubic here: inside a flattened cubic the stroke is a chain of
quads with bevel joins, which has a kink of its own where the chain is straight."""

import pytest
import torch
from hypothesis import given, strategies

from chat2svg_optimize.optimize import fit, psnr, render_scene
from chat2svg_optimize.raster import clamp_unit, render, to_tensors
from chat2svg_optimize.reference import render_resvg
from chat2svg_optimize.svg import parse_svg

SIZE = 16


def svg(body: str) -> str:
    return f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {SIZE} {SIZE}">{body}</svg>'


SHAPES = {
    "rect": '<rect x="{a}" y="{b}" width="6" height="7" fill="#3060c0" fill-opacity="0.8"/>',
    "rect-evenodd": '<path d="M{a} {b}h7v6h-7z M{c} {d}h3v2h-3z" fill="#3060c0" fill-rule="evenodd"/>',
    "line": '<line x1="{a}" y1="{b}" x2="{a}" y2="{d}" stroke="#c03020" stroke-width="2"/>',
    "hline": '<line x1="{a}" y1="{b}" x2="{c}" y2="{b}" stroke="#c03020" stroke-width="3" stroke-linecap="square"/>',
    "polygon": '<polygon points="{a},{b} {c},{b} {c},{d} {e},{d}" fill="#20a040"/>',
    "diamond": '<polygon points="{e},{b} {c},{e} {e},{d} {a},{e}" fill="#20a040" opacity="0.9"/>',
}
WHOLE = {"a": 3, "b": 4, "c": 11, "d": 12, "e": 7}
HALF = {k: v + 0.5 for k, v in WHOLE.items()}


def loss_fn(text: str, method: str, steps: int):
    st = to_tensors(parse_svg(text), dtype=torch.float64)
    target = torch.rand(SIZE, SIZE, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(0))

    def loss(points: torch.Tensor) -> torch.Tensor:
        st.points = points
        return ((render(st, SIZE, SIZE, steps=steps, method=method).image - target) ** 2).sum()

    return st.points.detach().clone(), loss


def central_differences(loss, x: torch.Tensor, h: float = 1e-7) -> torch.Tensor:
    out = torch.zeros_like(x).reshape(-1)
    with torch.no_grad():
        for i in range(x.numel()):
            step = torch.zeros_like(x).reshape(-1)
            step[i] = h
            step = step.reshape(x.shape)
            out[i] = (loss(x + step) - loss(x - step)) / (2 * h)
    return out.reshape(x.shape)


@pytest.mark.parametrize("method", ["sparse", "dense"])
@pytest.mark.parametrize("place", ["whole", "half"])
@pytest.mark.parametrize("shape", list(SHAPES))
def test_point_gradients_match_differences(shape: str, place: str, method: str) -> None:
    coords = WHOLE if place == "whole" else HALF
    points, loss = loss_fn(svg(SHAPES[shape].format(**coords)), method, 1 if "line" in shape else 3)
    x = points.clone().requires_grad_(True)
    loss(x).backward()
    fd = central_differences(loss, points)
    assert fd.abs().max() > 1e-3
    assert (x.grad - fd).abs().max() <= 1e-4 * fd.abs().max(), (x.grad - fd).abs().max()


@pytest.mark.parametrize("method", ["sparse", "dense"])
def test_every_edge_of_a_whole_pixel_rect_gets_a_gradient(method: str) -> None:
    # A rect one pixel smaller than its target on every side: each side must be pushed outward.
    start = svg('<rect x="4" y="5" width="6" height="7" fill="#3060c0"/>')
    target = render(to_tensors(parse_svg(start.replace('x="4" y="5" width="6" height="7"',
                    'x="3" y="4" width="8" height="9"'))), SIZE, SIZE).image.double()  # fmt: skip
    st = to_tensors(parse_svg(start), dtype=torch.float64)
    st.points.requires_grad_(True)
    ((render(st, SIZE, SIZE, steps=3, method=method).image - target) ** 2).sum().backward()
    g, p = st.points.grad, st.points.detach()
    for axis, lo, hi in ((0, 4, 10), (1, 5, 12)):
        # The control points inside each side (a corner moved along its flat neighbor adds no area).
        inner = (p[:, 1 - axis] > (5, 4)[axis]) & (p[:, 1 - axis] < (12, 10)[axis])
        assert (g[inner & (p[:, axis] == lo), axis] > 0).all(), (axis, lo)  # the low side moves toward lower values
        assert (g[inner & (p[:, axis] == hi), axis] < 0).all(), (axis, hi)


def test_whole_pixel_rect_fits_a_disc() -> None:
    # The reproduction (a 90² rect at x=60 y=120 on 256² fitted to a red disc at (150, 110),
    # r = 64) at half scale: the rect used to stay where it was, only its color drifting.
    start = svg('<rect x="30" y="60" width="45" height="45" fill="#3060c0"/>').replace(f" {SIZE} {SIZE}", " 128 128")
    disc = svg('<circle cx="75" cy="55" r="32" fill="#ff0000"/>').replace(f" {SIZE} {SIZE}", " 128 128")
    target = torch.from_numpy(render_resvg(disc, 128, 128)).float()
    scene = parse_svg(start)
    before = psnr(render_scene(scene, 128, 128, torch.device("cpu")), target)
    fitted, _ = fit(scene, target, 150, 0.01, 128, 128, torch.device("cpu"))
    after = psnr(render_scene(fitted, 128, 128, torch.device("cpu")), target)
    moved = abs(fitted.shapes[0].subpaths[0].points - scene.shapes[0].subpaths[0].points).max()
    assert before < 10 and moved > 10 and after > 25


@given(strategies.floats(-2, 3, allow_nan=False) | strategies.sampled_from([0.0, 1.0]))
def test_unit_clamp_passes_the_inside_gradient_at_its_bounds(x: float) -> None:
    v = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    out = clamp_unit(v)
    out.backward()
    assert out.item() == min(max(x, 0.0), 1.0)
    assert float(v.grad) == (1.0 if 0 <= x <= 1 else 0.0)


@pytest.mark.parametrize("method", ["sparse", "dense"])
def test_colors_on_their_bounds_get_a_gradient_and_opaque_stays_opaque(method: str) -> None:
    # A white, fully opaque square (every channel on a bound, as #fff and #000 are) fitted to a
    # pale blue one: the channels must be told to move inside, not be frozen. Alpha and opacity
    # keep torch's clamp: the fit does not turn an opaque shape translucent.
    start = svg('<rect x="3" y="4" width="8" height="9" fill="#ffffff"/>')
    st_ = to_tensors(parse_svg(start), dtype=torch.float64)
    target = render(to_tensors(parse_svg(start.replace("#ffffff", "#e8f5f7"))), SIZE, SIZE).image.double()
    for t in (st_.fill, st_.opacity):
        t.requires_grad_(True)
    background = (0.2, 0.2, 0.2)  # so that a lower alpha darkens the square, toward the target
    ((render(st_, SIZE, SIZE, background, method=method).image - target) ** 2).sum().backward()
    assert (st_.fill.grad[0, :3] > 0).all()  # every channel is too bright: pushed down
    assert st_.fill.grad[0, 3] == 0 and st_.opacity.grad[0] == 0
