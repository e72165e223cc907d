"""Optimize-stage benchmarks: rasterizer forward+backward speed, one 20-element SVG end to end at
the medium tier, and fidelity gained per tier on (template SVG, detailed target image) pairs.

    .venv/bin/python bench/optimize_bench.py --out out/optimize-cpu.json
    .venv/bin/python bench/optimize_bench.py --device cuda --out $OUT/optimize-cuda.json  # sparse and dense

With --chat2svg DIR it runs only Chat2SVG's six published examples instead (see bench_chat2svg):

    .venv/bin/python bench/optimize_bench.py --chat2svg /tmp/chat2svg-examples --tiers high medium

Targets: the pipeline's detail stage needs SDXL weights, which a CPU machine does not have, so the
detailed targets are made from the offline composer's templates (bench/optimize_templates.ts) by
jittering their outlines, shifting their colors, adding highlight and shadow shapes and a slight
blur, then rendering with resvg.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "stage-images/optimize"), str(REPO / "stage-images/worker")]

import numpy as np
import torch
from chat2svg_optimize.optimize import OptimizeConfig, optimize, psnr
from chat2svg_optimize.raster import render, to_tensors
from chat2svg_optimize.reference import render_resvg
from chat2svg_optimize.svg import Scene, Shape, Subpath, parse_svg, write_svg
from chat2svg_worker.contracts import tiers
from PIL import Image, ImageFilter

# The optimize row of the tier table (docs/architecture.md §7), generated from functions/contracts/tiers.ts.
TIERS = {tier: stages["optimize"] for tier, stages in tiers().items()}
CHAT2SVG_EXAMPLES = ["apple", "bonsai", "daisy", "ice_cream", "lighthouse", "penguin"]
PROMPTS = ["a red fox", "a cup of coffee", "a house under the sun", "a cat wearing a hat"]


def blob_scene(paths: int, size: int, segments: int = 10, seed: int = 0) -> Scene:
    """`paths` closed blobs of `segments` cubics each, semi-transparent, spread over the canvas."""
    g = np.random.default_rng(seed)
    scene = Scene(size, size, (0, 0, size, size))
    for _ in range(paths):
        c = g.uniform(0.2 * size, 0.8 * size, 2)
        r = g.uniform(0.05 * size, 0.25 * size)
        ang = np.sort(g.uniform(0, 2 * np.pi, segments))
        anchors = c + r * np.stack([np.cos(ang), np.sin(ang)], 1) * g.uniform(0.7, 1.3, (segments, 1))
        pts = [anchors[0]]
        for k in range(segments):
            a, b = anchors[k], anchors[(k + 1) % segments]
            pts += [a + (b - a) / 3 + g.normal(0, 3, 2), a + 2 * (b - a) / 3 + g.normal(0, 3, 2), b]
        fill = (*g.uniform(0, 1, 3), 0.8)
        scene.shapes.append(Shape([Subpath(np.array(pts), True)], fill=fill))  # type: ignore[arg-type]
    return scene


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def bench_raster(device: torch.device, repeat: int, method: str) -> list[dict]:
    rows = []
    for size in (256, 512):
        for paths in (8, 32, 128):
            st = to_tensors(blob_scene(paths, size), device=device)
            for t in (st.points, st.fill, st.opacity):
                t.requires_grad_(True)
            walls, cpus = [], []
            for i in range(repeat + 2):
                sync(device)
                w0, c0 = time.perf_counter(), time.process_time()
                render(st, size, size, method=method).image.sum().backward()
                sync(device)
                if i >= 2:  # warm-up
                    walls.append((time.perf_counter() - w0) * 1000)
                    cpus.append((time.process_time() - c0) * 1000)
            rows.append(
                {
                    "method": method,
                    "size": size,
                    "paths": paths,
                    "segments": paths * 10,
                    "ms": round(statistics.median(walls), 2),
                    "msMin": round(min(walls), 2),
                    "cpuMs": round(statistics.median(cpus), 2),
                }
            )
            if device.type == "cuda":
                rows[-1]["peakMiB"] = round(torch.cuda.max_memory_allocated(device) / 2**20)
                torch.cuda.reset_peak_memory_stats(device)
            print(f"  raster {method} {size}² × {paths} paths: {rows[-1]['ms']} ms", file=sys.stderr)
    return rows


def detail_target(svg: str, size: int, seed: int) -> np.ndarray:
    """A 'detailed' version of a template: wobbly outlines, shifted colors, highlights, shadows,
    a slight blur. (H, W, 3) float in [0, 1]."""
    g = np.random.default_rng(seed)
    scene = parse_svg(svg)
    vb = max(scene.view_box[2], scene.view_box[3])
    freq, phase = g.uniform(1, 3, (2, 2)), g.uniform(0, 2 * np.pi, (2, 2))
    out = Scene(scene.width, scene.height, scene.view_box)
    for s in scene.shapes:
        subpaths = []
        for sp in s.subpaths:
            p = sp.points / vb
            wobble = np.stack([np.sin(2 * np.pi * freq[i, 0] * p[:, 1] + phase[i, 0]) for i in range(2)], 1)
            subpaths.append(Subpath(sp.points + 0.015 * vb * wobble, sp.closed))

        def shift(c):
            return None if c is None else (*np.clip(np.array(c[:3]) + g.normal(0, 0.06, 3), 0, 1), c[3])

        out.shapes.append(Shape(subpaths, fill=shift(s.fill), fill_rule=s.fill_rule, stroke=shift(s.stroke),
                                stroke_width=s.stroke_width, opacity=s.opacity, id=s.id))  # fmt: skip
        pts = np.concatenate([sp.points for sp in subpaths])
        lo, hi = pts.min(0), pts.max(0)
        if s.fill is not None and (hi - lo).min() > 0.05 * vb:
            c = lo + (hi - lo) * g.uniform(0.3, 0.5, 2)
            r = (hi - lo) * g.uniform(0.08, 0.15, 2)
            k = 0.5522847498307936
            ell = np.array([[c[0] + r[0], c[1]], [c[0] + r[0], c[1] + k * r[1]], [c[0] + k * r[0], c[1] + r[1]],
                            [c[0], c[1] + r[1]], [c[0] - k * r[0], c[1] + r[1]], [c[0] - r[0], c[1] + k * r[1]],
                            [c[0] - r[0], c[1]], [c[0] - r[0], c[1] - k * r[1]], [c[0] - k * r[0], c[1] - r[1]],
                            [c[0], c[1] - r[1]], [c[0] + k * r[0], c[1] - r[1]], [c[0] + r[0], c[1] - k * r[1]],
                            [c[0] + r[0], c[1]]])  # fmt: skip
            light = tuple(np.clip(np.array(s.fill[:3]) * 0.5 + 0.5, 0, 1))
            out.shapes.append(Shape([Subpath(ell, True)], fill=(*light, 0.55)))  # type: ignore[arg-type]
    w = size
    h = round(size * scene.height / scene.width)
    img = (render_resvg(write_svg(out, 3), w, h) * 255).round().astype(np.uint8)
    blurred = Image.fromarray(img).filter(ImageFilter.GaussianBlur(0.7 * size / 256))
    return np.asarray(blurred, dtype=np.float32) / 255


def twenty_element_svg() -> str:
    g = np.random.default_rng(20)
    parts = [
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 512 512">',
        '<rect width="512" height="512" fill="#dff3ff"/>',
    ]
    for i in range(19):
        color = "#" + "".join(f"{v:02x}" for v in g.integers(30, 230, 3))
        x, y = g.uniform(60, 450, 2)
        r = g.uniform(20, 70)
        kind = i % 4
        if kind == 0:
            parts.append(f'<circle id="e{i}" cx="{x:.1f}" cy="{y:.1f}" r="{r:.1f}" fill="{color}"/>')
        elif kind == 1:
            parts.append(
                f'<rect id="e{i}" x="{x - r:.1f}" y="{y - r / 2:.1f}" width="{2 * r:.1f}" height="{r:.1f}" rx="8" fill="{color}"/>'
            )
        elif kind == 2:
            pts = " ".join(
                f"{x + r * math.cos(a):.1f},{y + r * math.sin(a):.1f}" for a in np.linspace(0, 2 * np.pi, 6)[:-1]
            )
            parts.append(
                f'<polygon id="e{i}" points="{pts}" fill="{color}" stroke="#222" stroke-width="3" stroke-linejoin="round"/>'
            )
        else:
            parts.append(
                f'<path id="e{i}" d="M{x - r:.1f} {y:.1f} C{x - r / 2:.1f} {y - r:.1f} {x + r / 2:.1f} {y - r:.1f} {x + r:.1f} {y:.1f} '
                f'S{x:.1f} {y + r:.1f} {x - r:.1f} {y:.1f}Z" fill="{color}" fill-opacity="0.85"/>'
            )
    parts.append("</svg>")
    return "".join(parts)


def bench_end_to_end(device: torch.device, resolution: int | None) -> dict:
    svg = twenty_element_svg()
    target = torch.from_numpy(detail_target(svg, 512, seed=3))
    cfg = dict(TIERS["medium"])
    if resolution:
        cfg["resolution"] = resolution
    config = OptimizeConfig.from_stage_config(cfg)
    start = time.perf_counter()
    result = optimize(parse_svg(svg), target, config, seed=0, device=device)
    seconds = time.perf_counter() - start
    print(f"  end to end: {seconds:.1f} s", file=sys.stderr)
    return {"elements": len(parse_svg(svg).shapes), "config": cfg, "seconds": round(seconds, 2), **result.metrics}


def templates(prompts: list[str]) -> list[dict]:
    tsx = REPO / "node_modules/.bin/tsx"
    done = subprocess.run([str(tsx), str(REPO / "bench/optimize_templates.ts"), *prompts], cwd=REPO,
                          capture_output=True, text=True, timeout=300, check=True)  # fmt: skip
    return json.loads(done.stdout)


def bench_fidelity(device: torch.device, resolution: int, pairs: int, eval_size: int = 256) -> list[dict]:
    rows = []
    for i, tpl in enumerate(templates(PROMPTS[:pairs])):
        target_hi = detail_target(tpl["svg"], eval_size, seed=i)
        before = psnr(render_resvg(tpl["svg"], eval_size, eval_size), target_hi)
        for tier, cfg in TIERS.items():
            config = OptimizeConfig.from_stage_config({**cfg, "resolution": resolution})
            start = time.perf_counter()
            result = optimize(parse_svg(tpl["svg"]), torch.from_numpy(target_hi), config, seed=0, device=device)
            after = psnr(render_resvg(result.svg, eval_size, eval_size), target_hi)
            rows.append({"prompt": tpl["prompt"], "tier": tier, "psnrBefore": round(before, 2),
                         "psnrAfter": round(after, 2), "bytesBefore": len(tpl["svg"]), "bytes": len(result.svg),
                         "segmentsBefore": result.metrics["segmentsBefore"], "segments": result.metrics["segments"],
                         "seconds": round(time.perf_counter() - start, 1)})  # fmt: skip
            print(f"  fidelity {tpl['prompt']!r} {tier}: {before:.2f} → {after:.2f} dB", file=sys.stderr)
    return rows


def bench_chat2svg(
    folder: Path, names: list[str], tiers: list[str], device: torch.device, size: int = 512
) -> list[dict]:
    """Chat2SVG's published examples (kingnobro/Chat2SVG, output/example_generation/<name>/): its
    stage-2 SVG (`<name>_with_new_path.svg`) fitted to its target (`<name>_target.png`), against its
    own final SVG (`<name>_optim_point.svg`); every SVG is scored rendered by resvg at `size` px."""
    rows = []
    for name in names:
        start = (folder / f"{name}_with_new_path.svg").read_text()
        theirs = (folder / f"{name}_optim_point.svg").read_text()
        image = Image.open(folder / f"{name}_target.png").convert("RGB").resize((size, size), Image.LANCZOS)
        target = np.asarray(image, dtype=np.float32) / 255
        theirs_psnr = psnr(render_resvg(theirs, size, size), target)
        start_psnr = psnr(render_resvg(start, size, size), target)
        for tier in tiers:
            config = OptimizeConfig.from_stage_config(TIERS[tier])
            t0 = time.perf_counter()
            result = optimize(parse_svg(start), torch.from_numpy(target), config, seed=0, device=device)
            seconds = time.perf_counter() - t0
            ours = psnr(render_resvg(result.svg, size, size), target)
            size_ours, size_theirs = len(result.svg.encode()), len(theirs.encode())
            rows.append({"example": name, "tier": tier, "psnrStart": round(start_psnr, 2), "psnr": round(ours, 2),
                         "psnrTheirs": round(theirs_psnr, 2), "bytes": size_ours, "bytesTheirs": size_theirs,
                         "elements": result.metrics["elements"], "segments": result.metrics["segments"],
                         "seconds": round(seconds, 1)})  # fmt: skip
            print(f"  chat2svg {name} {tier}: {ours:.2f} vs {theirs_psnr:.2f} dB, {size_ours} vs {size_theirs} "
                  f"bytes, {seconds:.0f} s", file=sys.stderr, flush=True)  # fmt: skip
    return rows


def markdown(results: dict) -> str:
    lines = [
        f"device: {results['device']} ({results['deviceName']}), torch {results['torch']}, threads {results['threads']}",
        "",
    ]
    if results.get("raster"):
        lines += ["| method | canvas | paths (×10 cubics) | fwd+bwd ms (median) | min ms | CPU ms | peak MiB |",
                  "|---|---|---|---|---|---|---|"]  # fmt: skip
        lines += [
            f"| {r['method']} | {r['size']}² | {r['paths']} | {r['ms']} | {r['msMin']} | {r['cpuMs']} | "
            f"{r.get('peakMiB', '')} |"
            for r in results["raster"]
        ]
        lines.append("")
    if results.get("endToEnd"):
        e = results["endToEnd"]
        lines += ["| 20-element SVG, medium tier | seconds | PSNR before → after | segments | bytes | it/s |",
                  "|---|---|---|---|---|---|",
                  (f"| {e['config']} | {e['seconds']} | {e.get('psnrBefore')} → {e.get('psnr')} | "
                  f"{e['segmentsBefore']} → {e['segments']} | {e['bytesBefore']} → {e['bytes']} | {e['itersPerSecond']} |"), ""]  # fmt: skip
    if results.get("fidelity"):
        lines += ["| template | tier | PSNR before → after (dB) | segments | bytes | s |", "|---|---|---|---|---|---|"]
        lines += [f"| {r['prompt']} | {r['tier']} | {r['psnrBefore']} → {r['psnrAfter']} | "
                  f"{r['segmentsBefore']} → {r['segments']} | {r['bytesBefore']} → {r['bytes']} | {r['seconds']} |"
                  for r in results["fidelity"]]  # fmt: skip
    if results.get("chat2svg"):
        lines += ["", "| example | tier | PSNR start → ours | Chat2SVG | Δ dB | bytes ours / theirs | elements | segments | s |",
                  "|---|---|---|---|---|---|---|---|---|"]  # fmt: skip
        lines += [f"| {r['example']} | {r['tier']} | {r['psnrStart']} → {r['psnr']} | {r['psnrTheirs']} | "
                  f"{r['psnr'] - r['psnrTheirs']:+.2f} | {r['bytes']} / {r['bytesTheirs']} "
                  f"({100 * r['bytes'] / r['bytesTheirs']:.0f} %) | {r['elements']} | {r['segments']} | {r['seconds']} |"
                  for r in results["chat2svg"]]  # fmt: skip
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--out", type=Path)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--skip", nargs="*", default=[], choices=["raster", "e2e", "fidelity"])
    ap.add_argument("--chat2svg", type=Path, help="a folder of Chat2SVG's examples (<name>_with_new_path.svg, "
                    "<name>_target.png, <name>_optim_point.svg from output/example_generation/<name>/): runs only them")
    ap.add_argument("--examples", nargs="*", default=CHAT2SVG_EXAMPLES)
    ap.add_argument("--tiers", nargs="*", default=["high", "medium"], choices=list(TIERS))
    ap.add_argument("--resolution", type=int, default=None, help="optimize resolution for e2e (default: stage default)")
    ap.add_argument("--fidelity-resolution", type=int, default=None, help="default 256 on CUDA, 128 on CPU")
    ap.add_argument("--pairs", type=int, default=4)
    ap.add_argument("--method", default=None, choices=["auto", "sparse", "dense", "both"],
                    help="rasterizer for the raster rows (default: both on CUDA, sparse on CPU); e2e and fidelity use auto")  # fmt: skip
    args = ap.parse_args()
    os.environ["CHAT2SVG_TORCH_THREADS"] = str(args.threads)
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    results: dict = {
        "device": device.type,
        "deviceName": torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor() or "cpu",
        "torch": torch.__version__,
        "threads": args.threads,
        "command": " ".join(sys.argv),
    }
    if args.chat2svg:
        results["chat2svg"] = bench_chat2svg(args.chat2svg, args.examples, args.tiers, device)
        args.skip = ["raster", "e2e", "fidelity"]
    if "raster" not in args.skip:
        method = args.method or ("both" if device.type == "cuda" else "sparse")
        methods = ["sparse", "dense"] if method == "both" else [method]
        results["raster"] = [row for m in methods for row in bench_raster(device, args.repeat, m)]
    if "e2e" not in args.skip:
        results["endToEnd"] = bench_end_to_end(device, args.resolution)
    if "fidelity" not in args.skip:
        res = args.fidelity_resolution or (256 if device.type == "cuda" else 128)
        results["fidelityResolution"] = res
        results["fidelity"] = bench_fidelity(device, res, args.pairs)
    print(markdown(results))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
