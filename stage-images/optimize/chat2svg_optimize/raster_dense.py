"""A fixed-shape formulation of the rasterizer in raster.py, for CUDA.

The sparse path cuts edges into per-pixel pieces and composites only the (shape, pixel) entries
that are touched: its tensor shapes depend on the data, so every render pays for host syncs and
hundreds of small kernel launches. Here every shape is known from the scene's structure alone:

- cubics are flattened with the sparse path's step count (one value read back to the host);
- every polygon edge is clipped to each of a window of K pixel rows from its top row. Inside one row
  the box-filtered coverage an edge adds to pixel column i is a piecewise quadratic function of i,
  a sum of truncated powers s·(i − t)₊ᵏ. Each term is scattered as its polynomial coefficients
  at column ⌈t⌉; a cumulative sum along the row and one polynomial evaluation per pixel then give
  the exact signed winding of each (shape, pixel), in float64 because the polynomial terms cancel;
- shapes are composited in document order with a reverse cumulative sum of log transmittance.

The result equals the sparse path's up to rounding. Two values are read back per render (the
step count and the row window K), against dozens in the sparse path.
"""

from __future__ import annotations

import torch
from torch import Tensor

from chat2svg_optimize import raster as sparse

_VERTICAL = 5e-3  # below this x extent inside a row, the midpoint rule replaces the exact quotient
_BUFFER = 1 << 24  # pixels (× 3 float64 coefficients) per group of shapes: 400 MB


def _clamp_to_row(y: Tensor, r: Tensor) -> Tensor:
    """y clamped to the row band [r, r + 1], with the gradient of a tie on the band's lower line."""
    return torch.where(y < r, r, torch.where(y >= r + 1, r + 1, y))


def winding(edges: Tensor, owner: Tensor, shapes: int, width: int, height: int) -> Tensor:
    """Signed box-filtered winding (shapes, height, width) of edges (E, 2, 2) owned by `owner`."""
    e = edges.double()
    x0, y0, x1, y1 = e[:, 0, 0], e[:, 0, 1], e[:, 1, 0], e[:, 1, 1]
    dy = y1 - y0
    flat = dy.abs() <= 1e-12
    slope = torch.where(flat, torch.zeros_like(dy), (x1 - x0) / torch.where(flat, torch.ones_like(dy), dy))
    with torch.no_grad():
        # Each edge visits a window of K rows from its top row on the canvas. K is the one value
        # read back to the host (rounded up to a power of two, so shapes repeat between renders).
        top = torch.floor(torch.minimum(y0, y1)).clamp(0, height - 1)
        bottom = torch.floor(torch.maximum(y0, y1)).clamp(0, height - 1)
        span = int((bottom - top).max().item()) + 1 if e.shape[0] else 1
        K = min(1 << (span - 1).bit_length(), height)
        r = top[:, None] + torch.arange(K, dtype=e.dtype, device=e.device)  # (E, K) rows
        on_canvas = r < height
    # The part of each edge inside each row band, as (xa, ya) → (xb, yb). A point on a row line
    # belongs to the row after it (as in the sparse path): min/max would split its gradient
    # between the two rows at the tie.
    ya = _clamp_to_row(y0[:, None], r)
    yb = _clamp_to_row(y1[:, None], r)
    d = yb - ya  # (E, K) signed height inside the row
    # An end inside the row is the edge's own end: through the slope its x would lose the
    # gradient of a flat edge's y, which tilts it across the row.
    xa = torch.where(ya == y0[:, None], x0[:, None], x0[:, None] + (ya - y0[:, None]) * slope[:, None])
    xb = torch.where(yb == y1[:, None], x1[:, None], x0[:, None] + (yb - y0[:, None]) * slope[:, None])
    dx = xb - xa
    with torch.no_grad():
        vertical = dx.abs() < _VERTICAL
    # Coverage of pixel i: d · mean over the piece of clamp(i + 1 − x, 0, 1), which is
    # w·[Q(i+1−xa) − Q(i−xa) − Q(i+1−xb) + Q(i−xb)] with Q(v) = v₊²/2 and w = d / dx; near
    # vertical pieces use d·[(i+1−xm)₊ − (i−xm)₊] instead.
    w = torch.where(vertical, torch.zeros_like(d), d / torch.where(vertical, torch.ones_like(dx), dx)) / 2
    lin = torch.where(vertical, d, torch.zeros_like(d))
    xm = (xa + xb) / 2
    t = torch.stack([xa - 1, xa, xb - 1, xb, xm - 1, xm], -1)  # (E, K, 6) kinks
    zero = torch.zeros_like(w)
    s2 = torch.stack([w, -w, -w, w, zero, zero], -1)  # weights of (i − t)₊²
    s1 = torch.stack([zero, zero, zero, zero, lin, -lin], -1)  # weights of (i − t)₊
    coef = torch.stack([s2, s1 - 2 * s2 * t, (s2 * t - s1) * t], -1)  # (E, K, 6, 3) in basis i², i, 1
    coef = coef.reshape(-1, 3)
    with torch.no_grad():
        col = torch.ceil(t).clamp(0, width).long()  # columns ≥ width fall into a spare column
        pos = (r.long().clamp(max=height - 1) * (width + 1))[:, :, None] + col  # (E, K, 6) inside a shape
    cols = torch.arange(width, dtype=e.dtype, device=e.device)
    # Shapes in groups of a fixed size bound the float64 buffers (3 coefficients per pixel).
    group = max(1, min(shapes, _BUFFER // (height * (width + 1))))
    out = []
    for g0 in range(0, shapes, group):
        with torch.no_grad():
            mine = on_canvas & ((owner >= g0) & (owner < g0 + group))[:, None]
            dump = group * height * (width + 1)
            idx = ((owner - g0) * height * (width + 1))[:, None, None] + pos
            idx = torch.where(mine[:, :, None], idx, torch.full_like(idx, dump)).reshape(-1)
        acc = e.new_zeros(dump + 1, 3).index_add(0, idx, coef)[:-1]
        cum = acc.view(group, height, width + 1, 3).cumsum(2)[:, :, :width]
        win = cum[..., 2] + cols * (cum[..., 1] + cols * cum[..., 0])
        out.append(win.to(edges.dtype))
    return torch.cat(out)[:shapes]


def render_dense(
    st: sparse.SceneTensors,
    width: int,
    height: int,
    background: tuple[float, float, float] | Tensor | None = (1.0, 1.0, 1.0),
    steps: int | None = None,
) -> sparse.RenderResult:
    dev, dt = st.points.device, st.points.dtype
    P = st.num_shapes
    if P == 0 or st.seg_index.numel() == 0:
        return sparse.render(st, width, height, background, steps, method="sparse")
    seg_px, scale = sparse.segments_in_pixels(st, width, height)  # (S, 4, 2)
    n = steps or sparse.flatten_steps(seg_px)
    poly = torch.einsum("tk,skd->std", sparse._bernstein(n, seg_px), seg_px)  # (S, n+1, 2)
    seg_shape = st.sub_shape[st.seg_subpath]

    # Fill outlines of every shape (shapes without a fill get zero fill alpha below).
    fill_edges = torch.stack([poly[:, :-1], poly[:, 1:]], 2).reshape(-1, 2, 2)
    fill_owner = seg_shape[:, None].expand(-1, n).reshape(-1)
    B, S = st.sub_shape.shape[0], st.seg_subpath.shape[0]
    with torch.no_grad():
        seg_ids = torch.arange(S, device=dev)
        first_seg = torch.full((B,), S, dtype=torch.long, device=dev).scatter_reduce(0, st.seg_subpath, seg_ids, "amin")
        last_seg = torch.zeros(B, dtype=torch.long, device=dev).scatter_reduce(0, st.seg_subpath, seg_ids, "amax")
    closing = torch.stack([poly[last_seg, -1], poly[first_seg, 0]], 1)
    fill_edges = torch.cat([fill_edges, closing])
    fill_owner = torch.cat([fill_owner, st.sub_shape])

    fill_w = winding(fill_edges, fill_owner, P, width, height)
    cov = fill_w.abs().clamp(max=1)
    evenodd = 1 - ((fill_w.abs() % 2) - 1).abs()
    fill_cov = torch.where(st.evenodd[:, None, None], evenodd, cov)
    op = st.opacity.clamp(0, 1)  # alpha and opacity: as raster.render
    fa = (st.fill[:, 3].clamp(0, 1) * st.has_fill * op)[:, None, None] * fill_cov
    # Stroke outlines come from the sparse path's geometry, which has data-dependent shapes:
    # scenes without strokes (the common case when optimizing fills) skip it after one sync.
    stroke_seg = st.has_stroke[seg_shape]
    if bool(stroke_seg.any()):
        sub_st = sparse._restrict(st, stroke_seg)
        stroke_edges, stroke_owner = sparse._stroke_geometry(sub_st, poly[stroke_seg], seg_shape[stroke_seg], scale)
        stroke_cov = winding(stroke_edges, stroke_owner, P, width, height).abs().clamp(max=1)
        sa = (st.stroke[:, 3].clamp(0, 1) * st.has_stroke)[:, None, None] * stroke_cov
        wf, ws = fa * (1 - sa), sa * op[:, None, None]
        a = wf + ws
    else:
        wf, ws = fa, None
        a = fa

    # Transmittance as a sum of logs (cumprod's backward divides by its input and checks it for
    # zeros on the host); the same 1e-4 leak as the sparse path keeps the log finite.
    log_t = torch.log1p(-a * (1 - 1e-4))  # (P, H, W)
    above = log_t.flip(0).cumsum(0).flip(0)  # Σ over shapes q ≥ p
    after = torch.exp(torch.cat([above[1:], torch.zeros_like(above[:1])]))  # Π over shapes q > p
    image = torch.einsum("phw,pc->hwc", wf * after, sparse.clamp_unit(st.fill[:, :3]))
    if ws is not None:
        image = image + torch.einsum("phw,pc->hwc", ws * after, sparse.clamp_unit(st.stroke[:, :3]))
    total = torch.exp(above[0])
    if background is not None:
        bg = torch.as_tensor(background, dtype=dt, device=dev).reshape(1, 1, 3)
        image = image + bg * total[:, :, None]
    return sparse.RenderResult(image, 1 - total)
