"""Detail stage benchmark: time and peak memory of the stage per tier config (tiny random-weight
models unless --model-dir names real ones), and the vectorization fidelity table.

    .venv/bin/python bench/detail_bench.py [--device cpu|cuda] [--model-dir DIR] [--out bench.json]

Each tier runs in a fresh process so its peak RSS is its own. Markdown on stdout, JSON to --out.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
STAGE = REPO / "stage-images" / "detail"
sys.path[:0] = [str(STAGE), str(REPO / "stage-images" / "worker")]

from chat2svg_worker.contracts import tiers

# The detail row of the tier table (docs/architecture.md §7), generated from functions/contracts/tiers.ts.
TIERS = {tier: stages["detail"] for tier, stages in tiers().items()}


def one(tier: str) -> dict:
    """Runs the stage core once in this process and reports its metrics and wall time."""
    from chat2svg_detail.stage import enhance

    stage_input = json.loads(
        (STAGE / "tests" / "fixtures" / "stage-input.json").read_text()
    )
    stage_input["config"] = TIERS[tier]
    started = time.perf_counter()
    result = enhance(stage_input)
    return {
        "tier": tier,
        "wallMs": round((time.perf_counter() - started) * 1000),
        **result.metrics,
    }


def fidelity() -> list[dict]:
    from chat2svg_detail.fidelity import round_trip, synthetic_shapes

    rows = []
    for name, mask in synthetic_shapes(512).items():
        started = time.perf_counter()
        iou, d = round_trip(mask)
        rows.append(
            {
                "shape": name,
                "iou": round(iou, 4),
                "paths": 1 if d else 0,
                "subpaths": d.count("M"),
                "cubics": d.count("C"),
                "ms": round((time.perf_counter() - started) * 1000, 1),
            }
        )
    return rows


def table(rows: list[dict], columns: list[str]) -> str:
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += [
        "| " + " | ".join(str(r.get(c, "")) for c in columns) + " |" for r in rows
    ]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    parser.add_argument(
        "--model-dir", type=Path, help="MODEL_DIR (default: tiny models built now)"
    )
    parser.add_argument("--tiers", default="low,medium,high")
    parser.add_argument("--out", type=Path)
    parser.add_argument("--one", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(one(args.one)))
        return 0

    with tempfile.TemporaryDirectory() as tmp:
        model_dir = args.model_dir
        if model_dir is None:
            model_dir = Path(tmp) / "models"
            subprocess.run(
                [str(STAGE / "tiny-models"), str(model_dir)],
                check=True,
                capture_output=True,
            )
        env = {
            **os.environ,
            "MODEL_DIR": str(model_dir),
            "DETAIL_DEVICE": args.device,
            "TRANSFORMERS_VERBOSITY": "error",
            "DIFFUSERS_VERBOSITY": "error",
            "HF_HUB_OFFLINE": "1",
        }
        runs = []
        for tier in args.tiers.split(","):
            proc = subprocess.run(
                [sys.executable, __file__, "--one", tier],
                env=env,
                capture_output=True,
                text=True,
                check=False,
            )
            if proc.returncode != 0:
                print(proc.stderr[-3000:], file=sys.stderr)
                return 1
            runs.append(json.loads(proc.stdout.strip().splitlines()[-1]))

    shapes = fidelity()
    columns = [
        "tier",
        "device",
        "dtype",
        "steps",
        "wallMs",
        "loadDiffusionMs",
        "diffusionMs",
        "samMs",
        "vectorizeMs",
        "peakRssMb",
        "peakCudaMb",
        "masksFound",
        "pathsAdded",
    ]
    print(
        f"## Detail stage ({'tiny models' if args.model_dir is None else model_dir}, {args.device})\n"
    )
    print(table(runs, columns))
    print("\n## Vectorization fidelity (512 px masks, rendered back with resvg)\n")
    print(table(shapes, ["shape", "iou", "paths", "subpaths", "cubics", "ms"]))
    if args.out:
        args.out.write_text(
            json.dumps(
                {"device": args.device, "runs": runs, "fidelity": shapes}, indent=2
            )
            + "\n"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
