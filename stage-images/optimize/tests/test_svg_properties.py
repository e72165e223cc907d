"""Property-based tests of the SVG reader (Hypothesis): whatever the input, it either reads it into
finite geometry or refuses it with InvalidInput, the worker's named error — never another
exception, never NaN or infinity in a scene."""

import contextlib
import math

import numpy as np
from chat2svg_worker import InvalidInput
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chat2svg_optimize.svg import parse_color, parse_path_data, parse_svg, parse_transform, write_svg

FAST = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])

numbers = st.one_of(
    st.integers(-1000, 1000).map(str),
    st.floats(allow_nan=False, allow_infinity=False, width=32).map(lambda v: f"{v:g}"),
    st.sampled_from(["1e308", "-1e308", "1e-320", ".5", "-.5e3", "0", "00", "1.", "9" * 40]),
)
path_tokens = st.one_of(st.sampled_from(list("MmLlHhVvCcSsQqTtAaZz") + [" ", ",", "-", "."]), numbers)
path_data = st.lists(path_tokens, max_size=40).map(" ".join)


def finite(points: np.ndarray) -> bool:
    return bool(np.isfinite(points).all())


@FAST
@given(path_data)
def test_path_data_reads_to_finite_cubics_or_is_refused(d: str) -> None:
    try:
        subpaths = parse_path_data(d)
    except InvalidInput:
        return
    for sp in subpaths:
        assert sp.points.ndim == 2 and sp.points.shape[1] == 2
        assert (len(sp.points) - 1) % 3 == 0
        assert finite(sp.points)


@FAST
@given(
    st.lists(
        st.one_of(
            st.sampled_from(["matrix(", "translate(", "scale(", "rotate(", "skewX(", "skewY(", ")", ","]), numbers
        ),
        max_size=20,
    ).map(" ".join)
)
def test_transforms_read_to_finite_matrices_or_are_refused(text: str) -> None:
    try:
        m = parse_transform(text)
    except InvalidInput:
        return
    assert m.shape == (3, 3) and finite(m)


@FAST
@given(
    st.one_of(
        st.text(max_size=30),
        st.sampled_from(
            ["#abc", "#aabbcc80", "rgb(1,2,3)", "rgba(1,2,3,.5)", "hsl(1,2%,3%)", "none", "currentColor", "url(#g) red"]
        ),
    )
)
def test_colors_read_to_rgba_in_range_or_none(value: str) -> None:
    try:
        color = parse_color(value)
    except InvalidInput:
        return
    assert color is None or (len(color) == 4 and all(0.0 <= c <= 1.0 for c in color))


elements = st.recursive(
    st.builds(
        lambda tag, attrs: f"<{tag} {attrs}/>",
        st.sampled_from(
            ["rect", "circle", "ellipse", "line", "polyline", "polygon", "path", "g", "svg:rect", "use", "text"]
        ),
        st.lists(
            st.builds(
                lambda name, value: f'{name}="{value}"',
                st.sampled_from(
                    [
                        "x",
                        "y",
                        "width",
                        "height",
                        "r",
                        "rx",
                        "cx",
                        "d",
                        "points",
                        "transform",
                        "fill",
                        "stroke",
                        "stroke-width",
                        "opacity",
                        "style",
                        "viewBox",
                    ]
                ),
                st.one_of(
                    numbers,
                    path_data,
                    st.sampled_from(
                        [
                            "red",
                            "none",
                            "url(#a)",
                            "fill:blue;opacity:.5",
                            "scale(1e308)",
                            "translate(1e308 1e308)",
                            "-1",
                        ]
                    ),
                ),
            ),
            max_size=4,
        ).map(" ".join),
    ),
    lambda kids: st.lists(kids, max_size=4).map(lambda items: f"<g>{''.join(items)}</g>"),
    max_leaves=12,
)


@FAST
@given(
    st.lists(elements, max_size=6),
    st.sampled_from(["", 'viewBox="0 0 100 100"', 'width="0" height="-1"', 'viewBox="0 0 1e308 1e308"']),
)
def test_documents_read_to_a_finite_scene_that_writes_back_or_are_refused(children: list[str], root_attrs: str) -> None:
    namespaces = 'xmlns="http://www.w3.org/2000/svg" xmlns:svg="http://www.w3.org/2000/svg"'
    text = f"<svg {namespaces} {root_attrs}>{''.join(children)}</svg>"
    try:
        scene = parse_svg(text)
    except InvalidInput:
        return
    assert all(math.isfinite(v) for v in scene.view_box)
    for shape in scene.shapes:
        for sp in shape.subpaths:
            assert finite(sp.points)
    assert write_svg(scene).startswith("<svg")


@FAST
@given(st.text(max_size=200))
def test_arbitrary_text_is_refused_with_the_named_error(text: str) -> None:
    with contextlib.suppress(InvalidInput):
        parse_svg(text)
