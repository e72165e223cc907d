"""The template SVG: canvas, shapes, per-shape coverage and insertion of new paths in z-order."""

from __future__ import annotations

import numpy as np
import pytest

from chat2svg_detail.svgdoc import SvgDoc
from chat2svg_worker import InvalidInput

TEMPLATE = """<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 100 100">
  <rect id="path_0" width="100" height="100" fill="#ffffff"/>
  <g transform="translate(50 0)">
    <circle id="path_1" cx="0" cy="30" r="20" fill="#ff0000"/>
  </g>
  <rect id="path_7" x="0" y="70" width="30" height="30" fill="#0000ff"/>
</svg>"""


def square(x0: int, y0: int, x1: int, y1: int, size: int = 100) -> np.ndarray:
    m = np.zeros((size, size), bool)
    m[y0:y1, x0:x1] = True
    return m


def ids_in_order(doc: SvgDoc) -> list[str]:
    return [el.get("id") for el in doc.shapes()]


def test_shape_masks_follow_inherited_transforms():
    masks = SvgDoc(TEMPLATE).shape_masks(100)

    assert len(masks) == 3
    assert masks[1][30, 50] and not masks[1][30, 20]  # the circle is translated to x = 50
    assert masks[0].all()


def test_new_paths_continue_the_numbering_and_sit_above_what_they_overlap():
    doc = SvgDoc(TEMPLATE)
    on_circle = square(45, 25, 55, 35)
    on_background_only = square(70, 70, 90, 90)

    ids = doc.insert_paths(
        [("M45 25H55V35H45Z", "#00ff00", on_circle), ("M70 70H90V90H70Z", "#000", on_background_only)], 100
    )

    assert ids == ["path_8", "path_9"]
    # path_8 lands right above the circle's group (not inside: its transform would move it); path_9
    # right above the background, below the blue square it does not overlap.
    assert ids_in_order(doc) == ["path_0", "path_9", "path_1", "path_8", "path_7"]
    pixels = doc.render(100)
    assert tuple(pixels[30, 50]) == (0, 255, 0)
    assert tuple(pixels[80, 80]) == (0, 0, 0)


def test_a_new_path_over_an_added_path_goes_above_it():
    doc = SvgDoc(TEMPLATE)
    big, small = square(60, 60, 95, 95), square(70, 70, 80, 80)

    doc.insert_paths([("M60 60H95V95H60Z", "#111111", big), ("M70 70H80V80H70Z", "#222222", small)], 100)

    assert ids_in_order(doc) == ["path_0", "path_8", "path_9", "path_1", "path_7"]


def test_numbering_without_path_ids_starts_after_the_shapes():
    doc = SvgDoc(
        '<svg xmlns="http://www.w3.org/2000/svg" width="64" height="32">'
        '<circle r="4"/><rect width="2" height="2"/></svg>'
    )

    assert doc.next_path_number() == 2
    assert doc.canvas.pixel_size(512) == (512, 256)


@pytest.mark.parametrize(
    "text", ["<svg", "<html/>", '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 0 10"/>']
)
def test_bad_templates_are_invalid_input(text):
    with pytest.raises(InvalidInput):
        SvgDoc(text)


def test_the_document_round_trips_without_namespace_prefixes():
    text = SvgDoc(TEMPLATE).to_string()

    assert "ns0:" not in text and text.startswith("<svg")
    assert np.array_equal(SvgDoc(text).render(50), SvgDoc(TEMPLATE).render(50))
