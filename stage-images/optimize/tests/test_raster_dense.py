"""The fixed-shape (dense) rasterizer against the sparse one and resvg, images and gradients."""

import re
from pathlib import Path

import pytest
import torch

from chat2svg_optimize import raster_dense
from chat2svg_optimize.optimize import psnr
from chat2svg_optimize.raster import render, to_tensors
from chat2svg_optimize.reference import render_resvg
from chat2svg_optimize.svg import parse_svg

CORPUS = sorted((Path(__file__).parent / "corpus").glob("*.svg"))
# Generic positions (no vertex on a pixel boundary, no opacity at its clamp), where both paths are
# differentiable.
BLOBS = (
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 40 40">'
    '<path d="M5.3 8.1 C 16 2.2 31.7 6.3 33.6 19.4 C 30 28 24 36 12.1 30.7 Z" fill="#c84" fill-opacity="0.8" '
    'opacity="0.96"/>'
    '<path d="M14.2 13.1 C 25 7.3 38 15.2 29.3 28.4 C 26 35.6 14.1 36.2 8.6 24.1 Z" fill="#2a6" fill-opacity="0.7" '
    'opacity="0.9"/><path d="M3.3 3.1 L 37.1 4.7 L 20.2 36.6 Z M 12.4 10.3 L 28.3 11.2 L 20.1 26.7 Z" fill="#248" '
    'fill-rule="evenodd" fill-opacity="0.6" opacity="0.93"/>'
    '<path d="M4.2 33.1 C 12 21.3 22 35.2 35.3 20.4" fill="none" stroke="#d22" stroke-width="2.3" '
    'stroke-opacity="0.7" stroke-linecap="round" stroke-linejoin="round" opacity="0.9"/></svg>'
)


@pytest.mark.parametrize("size", [64, 128])
@pytest.mark.parametrize("path", CORPUS, ids=lambda p: p.stem)
def test_dense_matches_sparse(path: Path, size: int) -> None:
    scene = parse_svg(path.read_text())
    height = round(size * scene.height / scene.width)
    st = to_tensors(scene)
    dense = render(st, size, height, method="dense")
    sparse = render(st, size, height, method="sparse")
    assert dense.image.shape == sparse.image.shape
    assert psnr(dense.image.numpy(), sparse.image.numpy()) >= 60
    # With the same flattening the two formulations compute the same coverage.
    same_d = render(st, size, height, steps=8, method="dense")
    same_s = render(st, size, height, steps=8, method="sparse")
    assert psnr(same_d.image.numpy(), same_s.image.numpy()) >= 80
    assert torch.allclose(same_d.alpha, same_s.alpha, atol=1e-3)


@pytest.mark.parametrize("name", ["curves", "evenodd", "strokes", "landscape", "transforms"])
def test_dense_matches_resvg(name: str) -> None:
    text = (Path(__file__).parent / "corpus" / f"{name}.svg").read_text()
    scene = parse_svg(text)
    height = round(128 * scene.height / scene.width)
    ours = render(to_tensors(scene), 128, height, method="dense").image.numpy()
    assert psnr(ours, render_resvg(text, 128, height)) >= 35


def gradients(svg: str, method: str) -> dict[str, torch.Tensor]:
    st = to_tensors(parse_svg(svg), dtype=torch.float64)
    target = torch.rand(48, 48, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    for t in (st.points, st.fill, st.stroke, st.opacity):
        t.requires_grad_(True)
    ((render(st, 48, 48, steps=8, method=method).image - target) ** 2).sum().backward()
    return {"points": st.points.grad, "fill": st.fill.grad, "stroke": st.stroke.grad, "opacity": st.opacity.grad}


def test_dense_gradients_match_sparse() -> None:
    dense, sparse = gradients(BLOBS, "dense"), gradients(BLOBS, "sparse")
    for name, g in sparse.items():
        d = dense[name]
        assert g.abs().max() > 0, name
        assert (d - g).norm() <= 1e-3 * g.norm(), name
        big = g.abs() > 1e-2 * g.abs().max()
        assert (torch.sign(d[big]) == torch.sign(g[big])).all(), name


def test_dense_point_gradients_match_sparse_when_vertices_lie_on_row_lines() -> None:
    # At 256² with 8 steps per cubic, flattened vertices of the straight closing cubic land exactly
    # on row lines: both paths must give such a tie's gradient to the row after it.
    grads = {}
    for method in ("dense", "sparse"):
        st = to_tensors(parse_svg(BLOBS), dtype=torch.float64)
        st.points.requires_grad_(True)
        target = torch.rand(256, 256, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
        ((render(st, 256, 256, steps=8, method=method).image - target) ** 2).sum().backward()
        grads[method] = st.points.grad
    assert (grads["dense"] - grads["sparse"]).norm() <= 1e-6 * grads["sparse"].norm()


def test_dense_gradients_match_finite_differences() -> None:
    dense = gradients(BLOBS, "dense")["points"]
    st = to_tensors(parse_svg(BLOBS), dtype=torch.float64)
    target = torch.rand(48, 48, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    for i in (0, 5, 20, 21, 22, 36):  # curve points and the polygon's straight edges
        for axis in (0, 1):
            step = torch.zeros_like(st.points)
            step[i, axis] = 1e-5
            losses = []
            for sign in (1, -1):
                st.points = to_tensors(parse_svg(BLOBS), dtype=torch.float64).points + sign * step
                losses.append(((render(st, 48, 48, steps=8, method="dense").image - target) ** 2).sum())
            fd = (losses[0] - losses[1]) / 2e-5
            assert abs(fd - dense[i, axis]) <= 1e-4 * (1 + abs(fd)), (i, axis)


def test_dense_gradcheck() -> None:
    st = to_tensors(parse_svg(BLOBS), dtype=torch.float64)
    weights = torch.rand(20, 20, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(1))

    def loss(points, fill, opacity):
        st.points, st.fill, st.opacity = points, fill, opacity
        return (render(st, 20, 20, steps=5, method="dense").image * weights).sum()

    inputs = tuple(t.clone().requires_grad_(True) for t in (st.points, st.fill, st.opacity))
    assert torch.autograd.gradcheck(loss, inputs, eps=1e-6, atol=1e-5, rtol=1e-3, fast_mode=True)


def test_shape_groups_give_the_same_image(monkeypatch: pytest.MonkeyPatch) -> None:
    st = to_tensors(parse_svg((Path(__file__).parent / "corpus" / "landscape.svg").read_text()))
    st.points.requires_grad_(True)
    whole = render(st, 64, 64, method="dense").image
    (grad,) = torch.autograd.grad(whole.sum(), st.points)
    monkeypatch.setattr(raster_dense, "_BUFFER", 3 * 64 * 65)  # groups of 3 shapes, the last one padded
    assert st.num_shapes % 3
    grouped = render(st, 64, 64, method="dense").image
    assert torch.allclose(grouped, whole, atol=1e-6)
    assert torch.allclose(torch.autograd.grad(grouped.sum(), st.points)[0], grad, atol=1e-5)


def test_unknown_method_is_refused() -> None:
    with pytest.raises(ValueError):
        render(to_tensors(parse_svg(BLOBS)), 8, 8, method="fast")


@pytest.mark.gpu
def test_cuda_dense_matches_sparse() -> None:
    for path in CORPUS:
        scene = parse_svg(path.read_text())
        dense = render(to_tensors(scene, device="cuda"), 256, 256, method="dense").image.cpu().numpy()
        sparse = render(to_tensors(scene, device="cuda"), 256, 256, method="sparse").image.cpu().numpy()
        cpu = render(to_tensors(scene), 256, 256, method="dense").image.numpy()
        assert psnr(dense, sparse) >= 60, path.stem
        assert psnr(dense, cpu) >= 60, path.stem
    # Gradients in float64 against the CPU's sparse path, an independent algorithm (in float32 the
    # two sum many pixels' terms in different orders).
    svg = re.sub(r'<path d="M3.3[^>]*>', "", BLOBS)  # curves only
    target = torch.rand(256, 256, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    grads = {}
    for device, method in (("cuda", "dense"), ("cpu", "sparse")):
        st = to_tensors(parse_svg(svg), device=device, dtype=torch.float64)
        for t in (st.points, st.fill, st.opacity):
            t.requires_grad_(True)
        ((render(st, 256, 256, method=method).image - target.to(device)) ** 2).sum().backward()
        grads[method] = [t.grad.cpu() for t in (st.points, st.fill, st.opacity)]
    for d, g in zip(grads["dense"], grads["sparse"], strict=True):
        assert (d - g).norm() <= 1e-2 * g.norm()
