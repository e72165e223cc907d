"""The stage on a CUDA device with tiny models (RUN_GPU=1): fp16, memory plans, OOM classification."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from chat2svg_detail.svgdoc import SvgDoc
from chat2svg_worker import OutOfMemory

pytestmark = pytest.mark.gpu
FIXTURE = json.loads((Path(__file__).parent / "fixtures" / "stage-input.json").read_text())


@pytest.fixture
def on_gpu(tiny_models, monkeypatch):
    monkeypatch.setenv("MODEL_DIR", str(tiny_models))
    monkeypatch.delenv("DETAIL_DEVICE", raising=False)
    monkeypatch.delenv("DETAIL_MEMORY", raising=False)
    return tiny_models


def test_the_stage_runs_on_cuda_in_fp16(on_gpu):
    from chat2svg_detail.stage import enhance

    result = enhance(FIXTURE)

    metrics = result.metrics
    assert (metrics["device"], metrics["dtype"], metrics["memoryPlan"]) == ("cuda", "float16", "resident")
    assert metrics["peakCudaMb"] > 0
    size = metrics["diffusionSize"]
    assert result.target.shape == (size, size, 3)
    assert {f"path_{i}" for i in range(5)} <= {el.get("id") for el in SvgDoc(result.svg).root.iter()}


def test_the_smallest_memory_plan_offloads_and_still_runs(on_gpu, monkeypatch):
    from chat2svg_detail.stage import enhance

    monkeypatch.setenv("DETAIL_MEMORY", "minimal")

    metrics = enhance(FIXTURE).metrics

    assert metrics["memoryPlan"] == "offload+attention_slicing+vae_tiling"
    assert metrics["device"] == "cuda"


def test_cuda_sdedit_is_reproducible_for_a_seed(on_gpu):
    import torch

    from chat2svg_detail.models import check_models, memory_plan
    from chat2svg_detail.sdedit import Enhancer

    enhancer = Enhancer.load(check_models(on_gpu), "cuda", torch.float16, memory_plan("cuda", 80 * 2**30, 16))
    template = SvgDoc(FIXTURE["svg"]["inline"]).render(512)

    def once(seed: int) -> np.ndarray:
        return enhancer(
            template, "a red apple", steps=4, strength=0.9, guidance=6.5, seed=seed, device="cuda"
        )

    assert np.array_equal(once(5), once(5))


def test_gpu_out_of_memory_is_reported_as_stage_out_of_memory(on_gpu):
    import torch

    from chat2svg_detail.stage import run
    from chat2svg_worker import execute

    torch.cuda.empty_cache()
    torch.cuda.set_per_process_memory_fraction(1e-6)
    try:
        with pytest.raises(OutOfMemory):
            execute(run, FIXTURE)
    finally:
        torch.cuda.set_per_process_memory_fraction(1.0)
        torch.cuda.empty_cache()
