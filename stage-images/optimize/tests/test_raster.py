"""The rasterizer against resvg on the corpus, and its gradients against finite differences."""

from pathlib import Path

import pytest
import torch

from chat2svg_optimize.optimize import psnr
from chat2svg_optimize.raster import Crops, coverage, render, to_tensors
from chat2svg_optimize.reference import render_resvg
from chat2svg_optimize.svg import parse_svg

CORPUS = sorted((Path(__file__).parent / "corpus").glob("*.svg"))


@pytest.mark.parametrize("size", [256, 512])
@pytest.mark.parametrize("path", CORPUS, ids=lambda p: p.stem)
def test_render_matches_resvg(path: Path, size: int) -> None:
    text = path.read_text()
    scene = parse_svg(text)
    height = round(size * scene.height / scene.width)
    reference = render_resvg(text, size, height)
    ours = render(to_tensors(scene), size, height).image.numpy()
    assert psnr(ours, reference) >= 35


def test_corpus_covers_the_features() -> None:
    text = " ".join(p.read_text() for p in CORPUS)
    for feature in ("<rect", "<circle", "<ellipse", "<line", "<polyline", "<polygon", " A ", "evenodd",
                    "rotate(", "skewX(", "matrix(", "opacity=", "stroke-width", "style="):  # fmt: skip
        assert feature in text, feature
    assert len(CORPUS) >= 10


def tiny_scene() -> str:
    # Generic positions: no collinear control points (the stroke's bevel side is a kink there), no alpha at its clamp.
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 12 12">'
        '<path d="M2.3 2.1 C 6 1.2 9.7 3.3 9.6 9.4 L 3.1 8.7 Z" fill="#c84" fill-opacity="0.8" opacity="0.95"/>'
        '<path d="M2.2 3.1 C 5 1.3 8 5.2 9.3 8.4 C 6 9.6 4.1 6.2 2.6 10.1" fill="none" stroke="#248" '
        'stroke-width="1.3" stroke-opacity="0.7" stroke-linecap="round" opacity="0.9"/></svg>'
    )


def test_gradients_match_finite_differences() -> None:
    st = to_tensors(parse_svg(tiny_scene()), dtype=torch.float64)
    weights = torch.rand(12, 12, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(0))

    def loss(points, fill, stroke, width, opacity):
        st.points, st.fill, st.stroke, st.stroke_width, st.opacity = points, fill, stroke, width, opacity
        return (render(st, 12, 12, steps=6).image * weights).sum()

    inputs = tuple(t.clone().requires_grad_(True) for t in (st.points, st.fill, st.stroke, st.stroke_width, st.opacity))
    assert torch.autograd.gradcheck(loss, inputs, eps=1e-6, atol=1e-5, rtol=1e-3, fast_mode=True)


def test_control_points_get_gradient_toward_the_target() -> None:
    # A square one pixel left of its target: the loss gradient moves every point right.
    svg = (
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect x="9.5" y="8" width="12" height="12"/></svg>'
    )
    target = render(to_tensors(parse_svg(svg.replace('x="9.5"', 'x="10.5"'))), 32, 32).image
    st = to_tensors(parse_svg(svg))
    st.points.requires_grad_(True)
    ((render(st, 32, 32).image - target) ** 2).sum().backward()
    assert st.points.grad is not None
    assert (st.points.grad[:, 0] <= 1e-9).all() and st.points.grad[:, 0].sum() < 0


# A shallow edge whose even split into 27 one-pixel sub-edges puts a split point exactly on the row
# boundary y = 5, and a triangle with that edge (flattened in six, its fourth vertex lands on y = 5): a point
# on a grid line used to move its neighbor's whole height into the wrong row.
SHALLOW = ((3.96, 3.72), (30.0, 5.64))
TRIANGLE = (
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 40 40">'
    '<path d="M3.3 3.1 L 25 4.7 L 20.2 36.6 Z" fill="#248" fill-opacity="0.6"/></svg>'
)


def central_differences(loss, x: torch.Tensor, h: float = 1e-6) -> torch.Tensor:
    out = torch.zeros_like(x)
    for i in range(x.numel()):
        step = torch.zeros_like(x).reshape(-1)
        step[i] = h
        step = step.reshape(x.shape)
        with torch.no_grad():
            out.reshape(-1)[i] = (loss(x + step) - loss(x - step)) / (2 * h)
    return out


def test_shallow_edge_gradient_matches_finite_differences() -> None:
    crops = Crops.build(torch.tensor([[0, 0]]), torch.tensor([[48, 48]]), 48)
    weights = torch.rand(crops.size, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    owner = torch.zeros(1, dtype=torch.long)

    def loss(edge: torch.Tensor) -> torch.Tensor:
        return (coverage(edge[None], owner, crops, 48, 48) * weights).sum()

    edge = torch.tensor(SHALLOW, dtype=torch.float64, requires_grad=True)
    loss(edge).backward()
    fd = central_differences(loss, edge.detach())
    assert (edge.grad - fd).abs().max() <= 1e-6 * fd.abs().max()


def test_triangle_gradients_match_finite_differences() -> None:
    st = to_tensors(parse_svg(TRIANGLE), dtype=torch.float64)
    target = torch.rand(48, 48, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(0))

    def loss(points: torch.Tensor) -> torch.Tensor:
        st.points = points
        return ((render(st, 48, 48, steps=6, method="sparse").image - target) ** 2).sum()

    points = st.points.clone().requires_grad_(True)
    loss(points).backward()
    fd = central_differences(loss, points.detach())
    assert (points.grad - fd).abs().max() <= 1e-6 * fd.abs().max()


def test_sparse_gradients_match_dense() -> None:
    # The curves of test_raster_dense's BLOBS at 256²: many flattened vertices land on pixel boundaries.
    svg = (
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 40 40">'
        '<path d="M5.3 8.1 C 16 2.2 31.7 6.3 33.6 19.4 C 30 28 24 36 12.1 30.7 Z" fill="#c84" fill-opacity="0.8" '
        'opacity="0.96"/>'
        '<path d="M14.2 13.1 C 25 7.3 38 15.2 29.3 28.4 C 26 35.6 14.1 36.2 8.6 24.1 Z" fill="#2a6" '
        'fill-opacity="0.7" opacity="0.9"/>'
        '<path d="M4.2 33.1 C 12 21.3 22 35.2 35.3 20.4" fill="none" stroke="#d22" stroke-width="2.3" '
        'stroke-opacity="0.7" stroke-linecap="round" stroke-linejoin="round" opacity="0.9"/></svg>'
    )
    target = torch.rand(256, 256, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    grads = {}
    for method in ("sparse", "dense"):
        st = to_tensors(parse_svg(svg), dtype=torch.float64)
        st.points.requires_grad_(True)
        ((render(st, 256, 256, method=method).image - target) ** 2).sum().backward()
        grads[method] = st.points.grad
    assert (grads["sparse"] - grads["dense"]).norm() <= 1e-3 * grads["dense"].norm()


@pytest.mark.parametrize("path", CORPUS, ids=lambda p: p.stem)
def test_cached_crops_give_the_same_image_and_gradients(path: Path) -> None:
    # A fit's renders share a cache: its crops (with a margin) serve while the shapes stay inside
    # them, and are rebuilt once one leaves; either way the image and gradients are the uncached ones.
    st = to_tensors(parse_svg(path.read_text()), dtype=torch.float64)
    start = st.points.detach().clone()
    target = torch.rand(64, 64, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    cache: dict = {}
    built = []
    for shift in (0.0, 0.3, -0.2, 3.0, 9.0):
        out = {}
        for cached in (True, False):
            st.points = (start + shift * st.view_box[2] / 64).requires_grad_(True)
            image = render(st, 64, 64, cache=cache if cached else None).image
            ((image - target) ** 2).sum().backward()
            out[cached] = (image.detach(), st.points.grad)
        built.append(id(cache["crops"]))
        assert torch.allclose(out[True][0], out[False][0], atol=1e-9)
        assert torch.allclose(out[True][1], out[False][1], atol=1e-7 * (1 + out[False][1].abs().max()))
    assert built[0] == built[1] and len(set(built)) > 1  # kept for small moves, rebuilt for large ones


@pytest.mark.gpu
def test_cuda_render_matches_cpu() -> None:
    for path in CORPUS:
        scene = parse_svg(path.read_text())
        cpu = render(to_tensors(scene), 256, 256).image
        gpu = render(to_tensors(scene, device="cuda"), 256, 256).image.cpu()
        assert psnr(gpu.numpy(), cpu.numpy()) >= 60, path.stem
