"""SVG ⇄ scene: parsing every element and path command, transforms, styles, compact writing."""

from pathlib import Path

import numpy as np
import pytest
from chat2svg_worker import InvalidInput

from chat2svg_optimize.reference import render_resvg
from chat2svg_optimize.svg import fmt, parse_path_data, parse_svg, write_svg

CORPUS = sorted((Path(__file__).parent / "corpus").glob("*.svg"))
SVG = '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 100 100">{}</svg>'


def ends(d: str) -> list[list[float]]:
    return [sp.points[-1].round(6).tolist() for sp in parse_path_data(d)]


def test_relative_and_absolute_commands_reach_the_same_points() -> None:
    absolute = "M10 10 L20 10 H30 V20 C30 25 25 30 20 30 S10 25 10 20 Q10 15 15 15 T20 10 Z"
    relative = "m10 10 l10 0 h10 v10 c0 5-5 10-10 10 s-10-5-10-10 q0-5 5-5 t5-5 z"
    a, r = parse_path_data(absolute), parse_path_data(relative)
    assert len(a) == len(r) == 1 and a[0].closed
    np.testing.assert_allclose(a[0].points, r[0].points, atol=1e-9)


def test_smooth_curves_reflect_the_previous_control_point() -> None:
    (sp,) = parse_path_data("M0 0 C10 0 20 10 20 20 S30 40 40 40")
    np.testing.assert_allclose(sp.points[4], [20, 30])  # reflection of (20, 10) about (20, 20)


def test_arcs_with_packed_flags_land_on_their_endpoint_and_radius() -> None:
    (sp,) = parse_path_data("M10 50a40 40 0 1180 0")  # flags written without separators
    np.testing.assert_allclose(sp.points[-1], [90, 50], atol=1e-9)
    t = np.linspace(0, 1, 9)[:, None]
    for k in range(0, len(sp.points) - 1, 3):
        p0, c1, c2, p1 = sp.points[k : k + 4]
        curve = (1 - t) ** 3 * p0 + 3 * (1 - t) ** 2 * t * c1 + 3 * (1 - t) * t**2 * c2 + t**3 * p1
        np.testing.assert_allclose(np.hypot(*(curve - [50, 50]).T), 40, atol=0.05)


def test_implicit_lineto_after_moveto_and_several_subpaths() -> None:
    subpaths = parse_path_data("M0 0 10 0 10 10z m20 20 h5 v5")
    assert [sp.closed for sp in subpaths] == [True, False]
    assert ends("M0 0 10 0 10 10z m20 20 h5 v5")[1] == [25.0, 25.0]


def test_bad_path_data_is_invalid_input() -> None:
    with pytest.raises(InvalidInput):
        parse_svg(SVG.format('<path d="M10 10 L20"/>'))
    with pytest.raises(InvalidInput):
        parse_svg("<svg")
    with pytest.raises(InvalidInput):  # numbers after z: read "z" again forever before (Hypothesis found it)
        parse_path_data("M0 0 L1 1 z 5")


def test_nested_transforms_and_group_styles_are_applied() -> None:
    scene = parse_svg(
        SVG.format(
            '<g transform="translate(10 20)" fill="#f00" stroke="blue" style="stroke-width:2" opacity="0.5">'
            '<g transform="scale(2)"><rect id="r" x="1" y="1" width="5" height="5" opacity="0.5"/></g></g>'
        )
    )
    (shape,) = scene.shapes
    assert shape.id == "r"
    np.testing.assert_allclose(shape.subpaths[0].points[0], [12, 22])
    assert shape.fill == (1.0, 0.0, 0.0, 1.0) and shape.stroke == (0.0, 0.0, 1.0, 1.0)
    assert shape.stroke_width == pytest.approx(4.0)  # scaled with the transform
    assert shape.opacity == pytest.approx(0.25)


def test_every_element_kind_parses() -> None:
    scene = parse_svg(
        SVG.format(
            '<rect width="10" height="10"/><rect x="1" width="10" height="10" rx="2"/><circle r="3"/>'
            '<ellipse rx="3" ry="2"/><line x2="5" y2="5" stroke="#000"/><polyline points="0,0 5,5 9,0" />'
            '<polygon points="0,0 5,5 9,0"/><path d="M0 0h5v5z"/><text>skipped</text>'
        )
    )
    assert len(scene.shapes) == 8


def test_numbers_are_written_short() -> None:
    assert [fmt(v) for v in (0.5, -0.25, 10.0, -0.001, 3.14159)] == [".5", "-.25", "10", "0", "3.14"]


@pytest.mark.parametrize("path", CORPUS, ids=lambda p: p.stem)
def test_write_then_render_matches_the_original(path: Path) -> None:
    text = path.read_text()
    scene = parse_svg(text)
    written = write_svg(scene)
    assert len(written) < len(text) * 2  # circles and rects become paths
    height = round(256 * scene.height / scene.width)
    a, b = render_resvg(text, 256, height), render_resvg(written, 256, height)
    assert 10 * np.log10(1 / max(np.mean((a - b) ** 2), 1e-12)) >= 45


def test_ids_survive_a_round_trip() -> None:
    text = SVG.format('<path id="fox-ear" d="M0 0h5v5z"/><circle id="eye" r="2"/>')
    assert [s.id for s in parse_svg(write_svg(parse_svg(text))).shapes] == ["fox-ear", "eye"]
