"""Which SAM masks of the enhanced image count as new parts (Chat2SVG's rule)."""

from __future__ import annotations

import numpy as np

from chat2svg_detail.segment import AREA_MIN_PX, iou, select_new_masks

SIZE = 128


def box(x0: int, y0: int, x1: int, y1: int) -> np.ndarray:
    m = np.zeros((SIZE, SIZE), bool)
    m[y0:y1, x0:x1] = True
    return m


BACKGROUND = ~box(0, 0, 0, 0)  # everything: the largest mask, usually the background
BODY = box(20, 20, 108, 108)  # the second largest sets the upper bound (half of it)


def test_a_new_part_of_moderate_size_is_kept():
    eye = box(40, 40, 56, 56)

    selection = select_new_masks([BACKGROUND, BODY], [BACKGROUND, BODY, eye])

    assert len(selection.kept) == 1 and np.array_equal(selection.kept[0], eye)
    assert selection.rejected == {"area": 2, "overlap": 0, "hidden": 0}


def test_masks_too_small_or_too_large_are_rejected():
    tiny = box(0, 0, 5, 5)  # 25 px < 30
    over_half = box(20, 20, 108, 66)  # 88*46 = 4048 > 0.5 * 7744

    selection = select_new_masks([], [BACKGROUND, BODY, tiny, over_half])

    assert tiny.sum() < AREA_MIN_PX
    assert selection.kept == []
    assert selection.rejected["area"] == 4


def test_a_mask_that_redraws_a_template_part_is_rejected():
    leaf = box(60, 60, 90, 90)
    redrawn_leaf = box(62, 60, 92, 90)  # IoU about 0.88 with the template's leaf

    selection = select_new_masks([leaf], [BACKGROUND, BODY, redrawn_leaf])

    assert iou(leaf, redrawn_leaf) > 0.4
    assert selection.kept == [] and selection.rejected["overlap"] == 1


def test_a_mask_mostly_covered_by_smaller_masks_is_rejected_but_they_are_kept():
    patch = box(30, 30, 70, 70)
    covers = [box(30, 30, 70, 50), box(30, 50, 66, 70)]  # leave 4x20 of 1600 px visible

    selection = select_new_masks([], [BACKGROUND, BODY, patch, *covers])

    assert selection.rejected["hidden"] == 1
    assert len(selection.kept) == 2
    assert all(not np.array_equal(k, patch) for k in selection.kept)


def test_visible_parts_exclude_smaller_kept_masks_for_coloring():
    cheek = box(30, 30, 70, 70)
    freckle = box(40, 40, 50, 50)

    selection = select_new_masks([], [BACKGROUND, BODY, cheek, freckle])

    assert len(selection.kept) == 2
    assert selection.visible[0].sum() == cheek.sum() - freckle.sum()
    assert not (selection.visible[0] & freckle).any()


def test_no_masks_means_nothing_new():
    assert select_new_masks([BODY], []).kept == []
