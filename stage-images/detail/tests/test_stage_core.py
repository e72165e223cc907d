"""The stage core around the models: config parsing, adding detail paths, seeded SDEdit."""

from __future__ import annotations

import numpy as np
import pytest

from chat2svg_detail.fidelity import synthetic_shapes
from chat2svg_detail.stage import DetailConfig, add_detail_paths
from chat2svg_detail.svgdoc import SvgDoc
from chat2svg_worker import InvalidInput

TEMPLATE = """<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 512 512">
  <rect id="path_0" width="512" height="512" fill="#ffffff"/>
  <circle id="path_1" cx="256" cy="256" r="200" fill="#e53935"/>
</svg>"""


def test_config_parses_the_tier_keys():
    config = DetailConfig.parse(
        {"numInferenceSteps": 25, "strength": 0.9, "guidanceScale": 6.5, "samPointsPerSide": 32}
    )

    assert config == DetailConfig(25, 0.9, 6.5, 32)


@pytest.mark.parametrize(
    "change",
    [
        {"numInferenceSteps": 2.5},
        {"strength": 1.5},
        {"guidanceScale": True},
        {"extra": 1},
        {"samPointsPerSide": None},
    ],
)
def test_config_rejects_bad_values(change):
    config = {
        "numInferenceSteps": 25,
        "strength": 0.9,
        "guidanceScale": 6.5,
        "samPointsPerSide": 32,
        **change,
    }

    with pytest.raises(InvalidInput):
        DetailConfig.parse(config)


def test_a_new_part_found_in_the_target_becomes_a_colored_path_above_the_body():
    doc = SvgDoc(TEMPLATE)
    body = doc.shape_masks(512)[1]
    star = np.zeros((512, 512), bool)
    star[128:384, 128:384] = synthetic_shapes(256)["star"]  # a quarter of the body: clearly new
    # The enhanced image: the body red, a yellow star on it, a little noise.
    target = np.zeros((512, 512, 3), np.uint8)
    target[:] = (255, 255, 255)
    target[body] = (229, 57, 53)
    target[star] = (250, 210, 40)
    target = np.clip(target + np.random.default_rng(0).normal(0, 3, target.shape), 0, 255).astype(np.uint8)
    background = np.ones((512, 512), bool)

    counts = add_detail_paths(doc, target, [background, body], [background, body, star])

    assert counts["pathsAdded"] == 1 and counts["masksKept"] == 1
    added = doc.root.find(".//{http://www.w3.org/2000/svg}path[@id='path_2']")
    assert added is not None
    r, g, b = (int(added.get("fill")[i : i + 2], 16) for i in (1, 3, 5))
    assert abs(r - 250) <= 6 and abs(g - 210) <= 6 and abs(b - 40) <= 6
    assert [el.get("id") for el in doc.shapes()] == ["path_0", "path_1", "path_2"]
    drawn = np.all(doc.render(512) == (r, g, b), axis=-1)
    assert (drawn & star).sum() / (drawn | star).sum() >= 0.95


def test_sdedit_is_reproducible_for_a_seed(tiny_models):
    import torch

    from chat2svg_detail.models import check_models, memory_plan
    from chat2svg_detail.sdedit import Enhancer

    enhancer = Enhancer.load(check_models(tiny_models), "cpu", torch.float32, memory_plan("cpu", 0, 16))
    template = SvgDoc(TEMPLATE).render(512)

    def once(seed: int) -> np.ndarray:
        return enhancer(template, "a red ball", steps=4, strength=0.9, guidance=6.5, seed=seed, device="cpu")

    first, again, other = once(3), once(3), once(4)

    assert first.shape == (enhancer.size, enhancer.size, 3) and first.dtype == np.uint8
    assert np.array_equal(first, again)
    assert not np.array_equal(first, other)
